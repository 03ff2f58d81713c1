// One cell of the matrix (matrix.ts): an image run on one back end, given as
// an object, or, in a matrix worker thread (parallel/matrix-jobs.ts), by
// name and loaded on demand (registry.ts), so that a worker loads the back
// ends of the cells it runs and not all five (issue 16). Imports no back end.

import { runElfOn, type Backend } from "./backend.js";
import type { MatrixCellArg, MatrixRun } from "./matrix-verdicts.js";
import { loadBackend } from "./registry.js";

/** Runs the image on `backend` (`arg.backend` names it in the result): the run, its console, counters, sites and wall time. */
export function runMatrixCell(backend: Backend, arg: MatrixCellArg): MatrixRun {
  const started = performance.now();
  const out = runElfOn(backend, arg.image, { ...arg.options, disk: arg.disk });
  const seconds = (performance.now() - started) / 1e3;
  return { backend: arg.backend, result: out.result, console: out.console, stats: out.stats, sites: { ...out.rewrite.counts }, seconds };
}

/** A matrix worker's task: loads the cell's back end by name, then runs it. */
export async function loadedMatrixCell(arg: MatrixCellArg): Promise<MatrixRun> {
  return runMatrixCell(await loadBackend(arg.backend), arg);
}
