// `previrt matrix --jobs N`: the matrix (../matrix.ts) with its back ends run
// in worker threads (pool.ts), one task per back end (matrix-cell.ts), the
// verdicts made afterwards in back-end order, so the rows are those of a
// serial run. Node only (worker threads), which is why it is not in
// ../matrix.ts: that one runs in a browser too (the playground).

import type { ElfImage } from "../../guest-isa/elf-types.js";
import { cellArgs, runMatrix, withVerdicts, type MatrixCellArg, type MatrixOptions, type MatrixRow, type MatrixRun } from "../matrix.js";
import { runPool, workersAvailable } from "./pool.js";

/** The module whose loadedMatrixCell the workers call (compiled or not, as this file is): it loads only the cells' back ends. */
const MATRIX_MODULE = new URL(import.meta.url.endsWith(".ts") ? "../matrix-cell.ts" : "../matrix-cell.js", import.meta.url).href;

/**
 * runMatrix on `jobs` worker threads (one back end per task); `jobs` ≤ 1, a
 * single back end, or no compiled worker (sources run without tsc) runs
 * serially in this thread. Same rows as runMatrix, in the same order.
 */
export async function runMatrixJobs(image: ElfImage, options: MatrixOptions & { jobs: number; onDone?: (backend: string) => void }): Promise<MatrixRow[]> {
  const { jobs, onDone, ...matrixOptions } = options;
  if (jobs <= 1 || options.backends.length <= 1 || !workersAvailable(MATRIX_MODULE)) {
    const rows = runMatrix(image, matrixOptions);
    for (const r of rows) onDone?.(r.backend);
    return rows;
  }
  const args = cellArgs(image, matrixOptions);
  const runs = await runPool<MatrixCellArg, MatrixRun>(
    args.map((arg) => ({ module: MATRIX_MODULE, name: "loadedMatrixCell", arg })),
    jobs,
    (i) => onDone?.(args[i].backend),
  );
  return withVerdicts(runs);
}
