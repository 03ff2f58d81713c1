// `previrt matrix --jobs N`: the matrix (../matrix.ts) with its back ends run
// in worker threads (pool.ts), one task per back end (matrix-cell.ts), the
// verdicts made afterwards in back-end order, so the rows are those of a
// serial run. Node only (worker threads), which is why it is not in
// ../matrix.ts: that one runs in a browser too (the playground). Given the
// user's Ctrl-C (runMatrixJobsInterruptible), a serial matrix runs each cell
// in slices and stops within one; a parallel one closes its workers at once.

import type { ElfImage } from "../../guest-isa/elf-types.js";
import type { BetweenSlices } from "../../machine/run-image.js";
// Not ../matrix.ts, whose serial runMatrix loads every back end: the cells here load their own (issue 16).
import { loadedMatrixCell, loadedMatrixCellSliced } from "../matrix-cell.js";
import { cellArgs, withVerdicts, type MatrixCellArg, type MatrixOptions, type MatrixRow, type MatrixRun } from "../matrix-verdicts.js";
import { poolSize, runPool, workersAvailable, WorkerPool } from "./pool.js";

/** The module whose loadedMatrixCell the workers call (compiled or not, as this file is): it loads only the cells' back ends. */
const MATRIX_MODULE = new URL(import.meta.url.endsWith(".ts") ? "../matrix-cell.ts" : "../matrix-cell.js", import.meta.url).href;

export type MatrixJobsOptions = MatrixOptions & { jobs: number; onDone?: (backend: string) => void };

/**
 * The user's Ctrl-C (cli/interrupt.ts): a serial matrix awaits `between`
 * after every slice of a cell's run; worker threads are ended when
 * `signalled` settles.
 */
export interface MatrixInterrupt {
  between: BetweenSlices;
  signalled: Promise<string>;
}

/**
 * runMatrix on `jobs` worker threads (one back end per task); `jobs` ≤ 1, a
 * single back end, or no compiled worker (sources run without tsc) runs
 * serially in this thread, each back end loaded as its turn comes
 * (registry.ts). Same rows as runMatrix, in the same order.
 */
export async function runMatrixJobs(image: ElfImage, options: MatrixJobsOptions): Promise<MatrixRow[]> {
  const outcome = await matrixRuns(image, options);
  if (outcome.kind !== "rows") throw new Error("matrix: interrupted without an interrupt"); // no Ctrl-C without one: a bug
  return outcome.rows;
}

/** The rows; or, stopped by a Ctrl-C, how many back ends had finished (no verdicts: the reference may be missing). */
export type MatrixOutcome = { kind: "rows"; rows: MatrixRow[] } | { kind: "interrupted"; done: number };

/** runMatrixJobs that a Ctrl-C stops. */
export function runMatrixJobsInterruptible(image: ElfImage, options: MatrixJobsOptions, interrupt: MatrixInterrupt): Promise<MatrixOutcome> {
  return matrixRuns(image, options, interrupt);
}

async function matrixRuns(image: ElfImage, options: MatrixJobsOptions, interrupt?: MatrixInterrupt): Promise<MatrixOutcome> {
  const { jobs, onDone, ...matrixOptions } = options;
  let done = 0;
  if (jobs <= 1 || options.backends.length <= 1 || !workersAvailable(MATRIX_MODULE)) {
    const runs: MatrixRun[] = [];
    for (const name of matrixOptions.backends) {
      const [arg] = cellArgs(image, { ...matrixOptions, backends: [name] }); // one at a time, as runMatrix: one disk copy alive
      const run = interrupt ? await loadedMatrixCellSliced(arg, interrupt.between) : await loadedMatrixCell(arg);
      if (run.result.kind === "stopped" && run.result.reason === "interrupted") return { kind: "interrupted", done };
      runs.push(run);
      done++;
      onDone?.(name);
    }
    return { kind: "rows", rows: withVerdicts(runs) };
  }
  const args = cellArgs(image, matrixOptions);
  const tasks = args.map((arg) => ({ module: MATRIX_MODULE, name: "loadedMatrixCell", arg }));
  const count = (i: number) => {
    done++;
    onDone?.(args[i].backend);
  };
  if (!interrupt) return { kind: "rows", rows: withVerdicts(await runPool<MatrixCellArg, MatrixRun>(tasks, jobs, count)) };
  // As runPool, raced with the Ctrl-C: closing the pool ends the workers' runs where they are.
  const pool = new WorkerPool(poolSize(jobs, tasks.length));
  try {
    const runs = pool.run<MatrixCellArg, MatrixRun>(tasks, count);
    runs.catch(() => undefined); // rejected by close() after a Ctrl-C: nobody waits for it then
    const first = await Promise.race([runs, interrupt.signalled]);
    return typeof first === "string" ? { kind: "interrupted", done } : { kind: "rows", rows: withVerdicts(first) };
  } finally {
    await pool.close();
  }
}
