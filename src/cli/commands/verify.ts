// `previrt verify OUT.elf` (docs/design.md §6) — the objtool of previrt: every
// sensitive instruction in .text covered by a site (or by a recorded
// `.noannotate` region), and the `.softlayer` table well formed
// (src/annotator/verify.ts over guest-isa/site-validate.ts). Prints one line
// per problem and a summary on stdout; exit 0 when clean, 1 otherwise. A file
// that is not a readable ELF is `previrt: error: FILE: …`.

import { formatVerifyReport, verifyImage } from "../../annotator/verify.js";
import { readElfInput } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = async (args, _options, io) => {
  const file = args[0];
  const report = verifyImage(readElfInput(file));
  io.out(formatVerifyReport(report, file));
  return report.problems.length === 0 ? 0 : 1;
};
