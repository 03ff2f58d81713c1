// `previrt build FILE.ts/.s… -o OUT.elf`: compile the .ts inputs, add the
// start-up when no input defines `_start`, assemble and link everything
// (src/cli/build-pipeline.ts). The annotate step joins in build-assembly.ts.
// Assembly alone loads only build-assembly.ts: the compiler and its
// TypeScript parser are imported when a .ts input is there to compile.
import { UserError } from "../../guest-isa/diagnostics.js";
import { writeElf } from "../../guest-isa/elf.js";
import { checkNotDeclarationFile, isTypeScript } from "../build-assembly.js";
import { definesOption } from "../defines-option.js";
import { checkDistinctInputs, checkOutputs, readInputText, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = async (args, options, io) => {
  const output = options.output as string;
  for (const f of args) {
    if (!/\.(ts|mts|s|S|asm)$/.test(f)) throw new UserError(`${f}: unknown input type (expected .ts or .s)`);
    checkNotDeclarationFile(f);
  }
  checkDistinctInputs(args);
  checkOutputs([["-o", output, "binary"]], args);
  const inputs = args.map((file) => ({ file, text: readInputText(file) }));
  const build = args.some(isTypeScript) ? (await import("../build-pipeline.js")).buildSources : (await import("../build-assembly.js")).buildAssembly;
  const { image } = build(inputs, {
    defines: definesOption(options.define as string[] | undefined),
    paravirt: options.paravirt as string | undefined,
    annotate: options.annotate as boolean | undefined,
  });
  writeOutput(output, writeElf(image), io);
  return 0;
};
