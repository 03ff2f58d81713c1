// The matrix: one ELF image, every back end, compared. Runs the image on each
// back end in turn (each rewrites its own copy; the input is never
// modified), compares console output and exit status with the reference
// back end (bare), and collects what each run cost. Formatting is the CLI's
// (src/cli/commands/matrix.ts); this module only runs and compares.

import type { ElfImage } from "../guest-isa/elf-types.js";
import type { RunResult } from "../machine/diagnosis.js";
import type { MachineStats } from "../machine/stats.js";
import type { Strategy } from "../rewriter/index.js";
import { getBackend, runElf, type RunElfOptions } from "./index.js";

export interface MatrixOptions extends Omit<RunElfOptions, "backend" | "onOutput" | "disk"> {
  /** Back ends to run, in order; the first is the reference. */
  backends: readonly string[];
  /** A fresh disk image per run (runs must not see each other's writes). */
  disk?: () => Uint8Array | undefined;
}

export type Verdict =
  | { kind: "reference" }
  | { kind: "same" }
  /** Console output differs: `line` is the first differing line (1-based). */
  | { kind: "diverged"; line: number; expected: string | undefined; actual: string | undefined }
  /** Same console output, different ending. */
  | { kind: "ended-differently"; expected: string; actual: string };

export interface MatrixRow {
  backend: string;
  verdict: Verdict;
  result: RunResult;
  console: string;
  stats: MachineStats;
  sites: Readonly<Record<Strategy, number>>;
  /** Wall-clock seconds of the run (host speed, not the simulated cost). */
  seconds: number;
}

/** How a run ended, as one comparable string. */
export function describeEnding(r: RunResult): string {
  return r.kind === "poweroff" ? `exit ${r.exitCode}` : `${r.reason} (${r.message})`;
}

export function compareRuns(reference: { console: string; result: RunResult }, run: { console: string; result: RunResult }): Verdict {
  if (run.console !== reference.console) {
    const want = reference.console.split("\n");
    const got = run.console.split("\n");
    let i = 0;
    while (i < want.length && i < got.length && want[i] === got[i]) i++;
    return { kind: "diverged", line: i + 1, expected: want[i], actual: got[i] };
  }
  const expected = describeEnding(reference.result);
  const actual = describeEnding(run.result);
  // Stop messages carry cycle counts, which legitimately differ: compare the kind of ending.
  const same = reference.result.kind === run.result.kind && reference.result.exitCode === run.result.exitCode;
  return same ? { kind: "same" } : { kind: "ended-differently", expected, actual };
}

export function runMatrix(image: ElfImage, options: MatrixOptions): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const name of options.backends) {
    const backend = getBackend(name);
    const started = process.hrtime.bigint();
    const out = runElf(image, { ...options, backend, disk: options.disk?.() });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const verdict: Verdict = rows.length === 0 ? { kind: "reference" } : compareRuns(rows[0], out);
    rows.push({ backend: name, verdict, result: out.result, console: out.console, stats: out.stats, sites: out.rewrite.counts, seconds });
  }
  return rows;
}
