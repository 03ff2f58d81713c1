// The matrix: one ELF image, every back end, compared. Runs the image on each
// back end in turn (each rewrites its own copy; the input is never
// modified), compares console output and exit status with the reference
// back end (bare), and collects what each run cost. Formatting is the CLI's
// (src/cli/commands/matrix.ts); this module only runs and compares.
// runMatrixJobs() runs the back ends in worker threads (parallel/pool.ts,
// `--jobs`): each back end is one task (matrixCell), the verdicts are made
// afterwards in back-end order, so the rows are those of a serial run.

import type { ElfImage } from "../guest-isa/elf-types.js";
import type { RunResult } from "../machine/diagnosis.js";
import type { MachineStats } from "../machine/stats.js";
import type { Strategy } from "../rewriter/index.js";
import { getBackend, runElf, type RunElfOptions } from "./index.js";
import { runPool, workersAvailable } from "./parallel/pool.js";

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

/** One back end's run, as sent back from a worker (everything but the verdict). */
export type MatrixRun = Omit<MatrixRow, "verdict">;

/** What a worker needs for one back end's run: structured-cloneable (the disk as bytes, no callbacks). */
export interface MatrixCellArg {
  image: ElfImage;
  backend: string;
  options: Omit<RunElfOptions, "backend" | "onOutput" | "disk" | "monitor" | "stdin">;
  disk?: Uint8Array;
}

/** Runs the image on one back end (the task of a matrix worker, and the serial loop's body). */
export function matrixCell(arg: MatrixCellArg): MatrixRun {
  const backend = getBackend(arg.backend);
  const started = process.hrtime.bigint();
  const out = runElf(arg.image, { ...arg.options, backend, disk: arg.disk });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { backend: arg.backend, result: out.result, console: out.console, stats: out.stats, sites: { ...out.rewrite.counts }, seconds };
}

/** Verdicts against the first run, in order. */
function withVerdicts(runs: readonly MatrixRun[]): MatrixRow[] {
  return runs.map((r, i) => ({ ...r, verdict: i === 0 ? { kind: "reference" } : compareRuns(runs[0], r) }));
}

function cellArgs(image: ElfImage, options: MatrixOptions): MatrixCellArg[] {
  const { backends, disk, ...rest } = options;
  return backends.map((name) => {
    getBackend(name); // an unknown name is refused before anything runs
    return { image, backend: name, options: name === "bare" ? { ...rest, spinlocks: undefined } : rest, disk: disk?.() }; // bare: the native reference
  });
}

export function runMatrix(image: ElfImage, options: MatrixOptions): MatrixRow[] {
  const { backends, disk, ...rest } = options;
  const runs: MatrixRun[] = [];
  for (const name of backends) runs.push(matrixCell({ image, backend: name, options: name === "bare" ? { ...rest, spinlocks: undefined } : rest, disk: disk?.() }));
  return withVerdicts(runs);
}

/**
 * runMatrix on `jobs` worker threads (one back end per task); `jobs` ≤ 1, a
 * single back end, or no compiled worker (sources run without tsc) runs
 * serially in this thread. Same rows as runMatrix, in the same order.
 */
export async function runMatrixJobs(image: ElfImage, options: MatrixOptions & { jobs: number; onDone?: (backend: string) => void }): Promise<MatrixRow[]> {
  const { jobs, onDone, ...matrixOptions } = options;
  if (jobs <= 1 || options.backends.length <= 1 || !workersAvailable(import.meta.url)) {
    const rows = runMatrix(image, matrixOptions);
    for (const r of rows) onDone?.(r.backend);
    return rows;
  }
  const args = cellArgs(image, matrixOptions);
  const runs = await runPool<MatrixCellArg, MatrixRun>(
    args.map((arg) => ({ module: import.meta.url, name: "matrixCell", arg })),
    jobs,
    (i) => onDone?.(args[i].backend),
  );
  return withVerdicts(runs);
}
