// `node dist/scripts/gen-scale-asm.js LINES OUT.s`: writes the build-at-scale
// benchmark's generated assembly (bench/scale-source.ts) to a file, for
// timing `previrt build`, `annotate` and `as` on it by hand (issue 16).

import { writeFileSync } from "node:fs";
import { generateScaleSource } from "../bench/scale-source.js";

const [linesArg, out] = process.argv.slice(2);
const lines = Number(linesArg);
if (!Number.isInteger(lines) || lines < 32 || !out) {
  console.error("usage: node dist/scripts/gen-scale-asm.js LINES OUT.s   (LINES ≥ 32)");
  process.exit(2);
}
writeFileSync(out, generateScaleSource(lines));
