// The matrix's rows and verdicts (matrix.ts): its options and row types,
// the comparison of each run with the reference (bare: same, diverged,
// ended differently, or unfinished when the cycle limit — MATRIX_MAX_CYCLES
// unless given — stopped a run with the other's output so far), and the
// per-back-end arguments of a run (cellArgs). It loads no back end, so a caller that runs
// the cells itself (parallel/matrix-jobs.ts: in worker threads, or serially
// with registry.ts's loadBackend) loads only the back ends it runs (issue 16);
// matrix.ts re-exports all of it with the serial runMatrix.

import type { ElfImage } from "../guest-isa/elf-types.js";
import type { RunResult } from "../machine/diagnosis.js";
import type { HostStats } from "../machine/machine-options.js";
import type { MachineStats } from "../machine/stats.js";
import type { Strategy } from "../rewriter/index.js";
import type { RunElfOptions } from "./backend.js";
import { BACKEND_NAMES, unknownBackend } from "./registry.js";

export { MATRIX_MAX_CYCLES } from "./matrix-limits.js";

/** A run's cycles over the reference run's: the matrix's "vs bare" column (a reference of 0 cycles counts as 1). */
export function cyclesOverReference(cycles: number, reference: number): number {
  return cycles / Math.max(1, reference);
}

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
  | { kind: "ended-differently"; expected: string; actual: string }
  /**
   * The cycle limit stopped the run (`who`: this one, or the reference)
   * with the other's output so far: it cannot be judged past that point.
   */
  | { kind: "unfinished"; who: "run" | "reference"; message: string };

export interface MatrixRow {
  backend: string;
  verdict: Verdict;
  result: RunResult;
  console: string;
  stats: MachineStats;
  sites: Readonly<Record<Strategy, number>>;
  /** How the emulator ran it (engine, JIT counters, memory; never a simulated result), as `previrt run --json`'s `host`. */
  host: HostStats;
  /** Wall-clock seconds of the run (host speed, not the simulated cost). */
  seconds: number;
}

/** Whether a verdict says the run differed from the reference, or could not be compared to its end (unfinished). */
export function isDivergence(v: Verdict): boolean {
  return v.kind === "diverged" || v.kind === "ended-differently" || v.kind === "unfinished";
}

/** What `previrt matrix` says of a run whose verdict isDivergence, after `previrt: error: BACKEND `. */
export function describeProblem(v: Verdict, reference: string): string {
  if (v.kind !== "unfinished") return `diverged from ${reference}: ${describeVerdict(v)}`;
  const whose = v.who === "run" ? "it" : reference;
  return `was not compared to the end: ${whose} ${v.message} with the same output so far (give a larger --max-cycles)`;
}

export function describeVerdict(v: Verdict): string {
  switch (v.kind) {
    case "reference":
      return "reference";
    case "same":
      return "same";
    case "diverged":
      return `diverged at line ${v.line}`;
    case "ended-differently":
      return `ended differently: ${v.actual}`;
    case "unfinished":
      return v.who === "run" ? "unfinished, same so far" : "reference unfinished";
  }
}

/** How a run ended, as one comparable string. */
export function describeEnding(r: RunResult): string {
  return r.kind === "poweroff" ? `exit ${r.exitCode}` : `${r.reason} (${r.message})`;
}

export function compareRuns(reference: { console: string; result: RunResult }, run: { console: string; result: RunResult }): Verdict {
  // A run the cycle limit stopped, whose output the other's continues (or equals, the other not stopped so), is
  // unfinished: not a divergence at the line where it was stopped. Both stopped with the same output: the same.
  const unfinished = (who: "run" | "reference", cut: { console: string; result: RunResult }, other: { console: string; result: RunResult }): Verdict | undefined =>
    cut.result.kind === "stopped" && cut.result.reason === "max-cycles" && other.console.startsWith(cut.console) && (other.console !== cut.console || !isCutShort(other.result))
      ? { kind: "unfinished", who, message: cut.result.message }
      : undefined;
  const partial = unfinished("run", run, reference) ?? unfinished("reference", reference, run);
  if (partial) return partial;
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

/** Whether the cycle limit stopped a run (its output may be cut short). */
function isCutShort(r: RunResult): boolean {
  return r.kind === "stopped" && r.reason === "max-cycles";
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

/** Verdicts against the first run, in order. */
export function withVerdicts(runs: readonly MatrixRun[]): MatrixRow[] {
  return runs.map((r, i) => ({ ...r, verdict: i === 0 ? { kind: "reference" } : compareRuns(runs[0], r) }));
}

/**
 * One back end's run options in a matrix. Bare is the reference as bare
 * metal runs it: native locks (no --spinlocks cure) and one physical CPU per
 * CPU (no --pcpus, which it refuses), so `matrix --cpus 4 --pcpus 2` compares
 * the time-sliced hypervisors with it.
 */
export function cellOptions<T extends { spinlocks?: unknown; pcpus?: unknown; timeslice?: unknown }>(name: string, options: T): T {
  return name === "bare" ? { ...options, spinlocks: undefined, pcpus: undefined, timeslice: undefined } : options;
}

export function cellArgs(image: ElfImage, options: MatrixOptions): MatrixCellArg[] {
  const { backends, disk, ...rest } = options;
  return backends.map((name) => {
    if (!BACKEND_NAMES.includes(name)) throw unknownBackend(name); // refused before anything runs (getBackend's error)
    return { image, backend: name, options: cellOptions(name, rest), disk: disk?.() };
  });
}
