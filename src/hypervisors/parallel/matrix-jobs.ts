// `previrt matrix --jobs N`: the matrix (../matrix.ts) with its back ends run
// in worker threads (pool.ts), one task per back end (matrix-cell.ts), the
// verdicts made afterwards in back-end order, so the rows are those of a
// serial run. Node only (worker threads), which is why it is not in
// ../matrix.ts: that one runs in a browser too (the playground).

import type { ElfImage } from "../../guest-isa/elf-types.js";
// Not ../matrix.ts, whose serial runMatrix loads every back end: the cells here load their own (issue 16).
import { loadedMatrixCell } from "../matrix-cell.js";
import { cellArgs, withVerdicts, type MatrixCellArg, type MatrixOptions, type MatrixRow, type MatrixRun } from "../matrix-verdicts.js";
import { runPool, workersAvailable } from "./pool.js";

/** The module whose loadedMatrixCell the workers call (compiled or not, as this file is): it loads only the cells' back ends. */
const MATRIX_MODULE = new URL(import.meta.url.endsWith(".ts") ? "../matrix-cell.ts" : "../matrix-cell.js", import.meta.url).href;

/**
 * runMatrix on `jobs` worker threads (one back end per task); `jobs` ≤ 1, a
 * single back end, or no compiled worker (sources run without tsc) runs
 * serially in this thread, each back end loaded as its turn comes
 * (registry.ts). Same rows as runMatrix, in the same order.
 */
export async function runMatrixJobs(image: ElfImage, options: MatrixOptions & { jobs: number; onDone?: (backend: string) => void }): Promise<MatrixRow[]> {
  const { jobs, onDone, ...matrixOptions } = options;
  if (jobs <= 1 || options.backends.length <= 1 || !workersAvailable(MATRIX_MODULE)) {
    const runs: MatrixRun[] = [];
    for (const name of matrixOptions.backends) {
      const [arg] = cellArgs(image, { ...matrixOptions, backends: [name] }); // one at a time, as runMatrix: one disk copy alive
      runs.push(await loadedMatrixCell(arg));
      onDone?.(name);
    }
    return withVerdicts(runs);
  }
  const args = cellArgs(image, matrixOptions);
  const runs = await runPool<MatrixCellArg, MatrixRun>(
    args.map((arg) => ({ module: MATRIX_MODULE, name: "loadedMatrixCell", arg })),
    jobs,
    (i) => onDone?.(args[i].backend),
  );
  return withVerdicts(runs);
}
