// The matrix's cycle limit per run unless given (`previrt matrix
// --max-cycles`, and `matrix --migrate`): a guest that never ends on one
// back end ends the matrix instead of holding it for ever; a run it stops
// with the reference's output so far is "unfinished" (matrix-verdicts.ts).
// Imports nothing, so that the playground's page (src/web/protocol.ts) can
// quote it without bundling a back end.

export const MATRIX_MAX_CYCLES = 2_000_000_000;
