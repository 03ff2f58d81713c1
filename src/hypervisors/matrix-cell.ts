// One cell of the matrix (matrix.ts): an image run on one back end, given as
// an object, or, in a matrix worker thread (parallel/matrix-jobs.ts), by
// name and loaded on demand (registry.ts), so that a worker loads the back
// ends of the cells it runs and not all five (issue 16). Imports no back end.
// A serial matrix that the user's Ctrl-C may stop runs its cells in slices
// (loadedMatrixCellSliced): a stopped cell's result is `interrupted`.

import type { BetweenSlices } from "../machine/run-image.js";
import { runElfOn, runElfOnSliced, type Backend, type RunElfOutcome } from "./backend.js";
import type { MatrixCellArg, MatrixRun } from "./matrix-verdicts.js";
import { loadBackend } from "./registry.js";

/** Runs the image on `backend` (`arg.backend` names it in the result): the run, its console, counters, sites and wall time. */
export function runMatrixCell(backend: Backend, arg: MatrixCellArg): MatrixRun {
  const started = performance.now();
  return cellRun(arg, runElfOn(backend, arg.image, { ...arg.options, disk: arg.disk }), started);
}

/** A matrix worker's task: loads the cell's back end by name, then runs it. */
export async function loadedMatrixCell(arg: MatrixCellArg): Promise<MatrixRun> {
  return runMatrixCell(await loadBackend(arg.backend), arg);
}

/**
 * loadedMatrixCell in this thread, run in slices with `between` awaited
 * after each (the serial matrix's Ctrl-C: a stopped cell's result is
 * `interrupted`). Same run otherwise (run-image.ts runSliced).
 */
export async function loadedMatrixCellSliced(arg: MatrixCellArg, between: BetweenSlices): Promise<MatrixRun> {
  const backend = await loadBackend(arg.backend);
  const started = performance.now();
  return cellRun(arg, await runElfOnSliced(backend, arg.image, { ...arg.options, disk: arg.disk }, between), started);
}

function cellRun(arg: MatrixCellArg, out: RunElfOutcome, started: number): MatrixRun {
  const seconds = (performance.now() - started) / 1e3;
  const run = { backend: arg.backend, result: out.result, console: out.console, stats: out.stats, sites: { ...out.rewrite.counts }, host: out.host, seconds };
  // Only the outcome's data is kept (as the bench's runCell keeps it): the run's RAM goes back for the next cell or
  // the next machine of the process (PhysicalMemory.recycle; a recycled buffer is zeroed, no simulated result
  // changes). Ownership: the cell made the machine (runElfOn) and hands out no reference to it; the verdicts,
  // counters and diagnosis are made from the row above (result, console, stats: plain data), not from RAM.
  out.machine.memory.recycle();
  return run;
}
