// `previrt as FILE.s… -o OUT.elf` (docs/design.md §6): reads the sources, assembles
// and links them (src/guest-isa/assembler) and writes the ELF (elf.ts).
// A missing input is `previrt: error: FILE: no such file or directory`;
// assembly errors come back as a DiagnosticError that main.ts prints as
// `file:line:col: error: message` with the source line and a caret.

import { assemble } from "../../guest-isa/assembler/index.js";
import { writeElf } from "../../guest-isa/elf.js";
import { readInputText, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = (files, options, io) => {
  const sources = files.map((file) => ({ file, text: readInputText(file) }));
  const image = assemble(sources);
  writeOutput(String(options.output), writeElf(image), io);
  return 0;
};
