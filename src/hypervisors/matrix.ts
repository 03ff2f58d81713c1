// The matrix: one ELF image, every back end, compared. Runs the image on each
// back end in turn (each rewrites its own copy; the input is never
// modified), compares console output and exit status with the reference
// back end (bare), and collects what each run cost. Formatting is the CLI's
// (src/cli/commands/matrix.ts); this module only runs and compares.
// runMatrixJobs() (parallel/matrix-jobs.ts, Node only) runs the back ends in
// worker threads (`--jobs`): each back end is one task (matrixCell), the
// verdicts are made afterwards in back-end order, so the rows are those of a
// serial run. This module itself uses no Node API: it runs in a browser too.
// The rows, verdicts and cell arguments are matrix-verdicts.ts's (no back end
// loaded); this module adds the serial run with every back end loaded
// (index.ts), for the playground, `previrt demo` and the tests.

import type { ElfImage } from "../guest-isa/elf-types.js";
import { getBackend } from "./index.js";
import { runMatrixCell } from "./matrix-cell.js";
import { cellOptions, withVerdicts, type MatrixCellArg, type MatrixOptions, type MatrixRow, type MatrixRun } from "./matrix-verdicts.js";

export * from "./matrix-verdicts.js";

/** Runs the image on one back end (the serial loop's body; a matrix worker runs matrix-cell.ts's loadedMatrixCell). */
export function matrixCell(arg: MatrixCellArg): MatrixRun {
  return runMatrixCell(getBackend(arg.backend), arg);
}

export function runMatrix(image: ElfImage, options: MatrixOptions): MatrixRow[] {
  const { backends, disk, ...rest } = options;
  const runs: MatrixRun[] = [];
  for (const name of backends) runs.push(matrixCell({ image, backend: name, options: cellOptions(name, rest), disk: disk?.() }));
  return withVerdicts(runs);
}
