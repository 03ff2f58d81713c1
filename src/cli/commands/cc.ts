// `previrt cc FILE.ts… -o OUT.s`: compile guest TypeScript to one assembly
// file (src/compiler). Several inputs compile together (they may import each
// other) and are written one after the other; no start-up is added (`previrt
// build` and `previrt as` link it in when the program needs it, docs/abi.md).
import { UserError } from "../../guest-isa/diagnostics.js";
import { compile } from "../../compiler/index.js";
import { paravirtTarget } from "../../hypervisors/paravirt.js";
import { checkNotDeclarationFile } from "../build-assembly.js";
import { checkDistinctInputs, checkOutputs, readInputText, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = (args, options, io) => {
  const output = options.output as string;
  for (const f of args) {
    if (!/\.(ts|mts)$/.test(f)) throw new UserError(`${f}: not a TypeScript file (cc compiles .ts)`);
    checkNotDeclarationFile(f);
  }
  checkDistinctInputs(args);
  checkOutputs([["-o", output, "text"]], args);
  const sources = args.map((file) => ({ file, text: readInputText(file) }));
  const paravirt = typeof options.paravirt === "string" ? paravirtTarget(options.paravirt) : undefined;
  const compiled = compile(sources, { paravirt });
  writeOutput(output, compiled.map((c) => c.asm).join("\n"), io);
  return 0;
};
