// `previrt as FILE.s… -o OUT.elf` (docs/design.md §6): reads the sources, assembles
// and links them (src/guest-isa/assembler) and writes the ELF (elf.ts).
// A missing input is `previrt: error: FILE: no such file or directory`;
// assembly errors come back as a DiagnosticError that main.ts prints as
// `file:line:col: error: message` with the source line and a caret.
//
// Like a C toolchain's driver linking crt0, it links in the runtime `previrt
// build` adds (compiler/startup.ts, docs/abi.md "Start-up") when the inputs
// need it and do not bring their own: the start-up when none defines `_start`
// and one exports `main`, the stack when none defines `__stack_top` and the
// start-up or an input uses it, the multiprocessor start-up when an input
// calls it. So `previrt cc` → `annotate` → `as` builds what `previrt build`
// does (docs/design.md §1). The runtime is annotated when the inputs are.

import { runtimeSources, STACK_FILE, STARTUP_FILE, type AsmSource } from "../../compiler/startup.js";
import { assemble } from "../../guest-isa/assembler/index.js";
import { UserError } from "../../guest-isa/diagnostics.js";
import { writeElf } from "../../guest-isa/elf.js";
import { PARAVIRT_MARKER } from "../../guest-isa/paravirt.js";
import { definesOption } from "../defines-option.js";
import { checkDistinctInputs, checkOutputs, readInputText, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";

const EXPORTS_MAIN = /^\s*\.global\s+main\s*$/m;

/** The runtime sources `sources` need and do not define (none for a complete program). */
export async function linkedRuntime(sources: readonly AsmSource[]): Promise<AsmSource[]> {
  let extra = runtimeSources(sources);
  const startup = extra.some((s) => s.file === STARTUP_FILE) && sources.some((s) => EXPORTS_MAIN.test(s.text));
  if (!startup) extra = extra.filter((s) => s.file !== STARTUP_FILE);
  if (!startup && !sources.some((s) => s.text.includes("__stack_top"))) extra = extra.filter((s) => s.file !== STACK_FILE);
  if (!extra.length) return extra;
  // Loaded only when a runtime is linked: `as` of a complete program loads no back end (test/cli/start-up.test.ts) nor the annotator.
  // A para-virtualized program (`previrt cc --paravirt xen`) powers off with a hypercall, as its build does.
  if (startup && sources.some((s) => s.text.includes(PARAVIRT_MARKER))) {
    const [{ paravirtStartup }, { paravirtTarget }] = await Promise.all([import("../../compiler/paravirt.js"), import("../../hypervisors/paravirt.js")]);
    const abi = paravirtTarget("xen").abi;
    extra = extra.map((s) => (s.file === STARTUP_FILE ? { ...s, text: paravirtStartup(s.text, abi) } : s));
  } else {
    const [{ isAnnotated }, { annotateSources }] = await Promise.all([import("../../annotator/annotate.js"), import("../../annotator/build-pass.js")]);
    if (sources.some((s) => isAnnotated(s.file, s.text))) extra = annotateSources(extra);
  }
  return extra;
}

export const run: CommandRunner = async (files, options, io) => {
  checkDistinctInputs(files);
  checkOutputs([["-o", options.output, "binary"]], files);
  // Assembled as G32, TypeScript gave errors about its own syntax ("operands are separated by commas").
  const ts = files.find((f) => /\.[cm]?tsx?$/.test(f));
  if (ts !== undefined) throw new UserError(`${ts}: previrt as takes G32 assembly; build TypeScript with previrt build (or previrt cc, then as)`);
  const defines = definesOption(options.define as string[] | undefined);
  const sources = files.map((file) => ({ file, text: readInputText(file) }));
  const image = assemble([...sources, ...(await linkedRuntime(sources))], { defines });
  writeOutput(String(options.output), writeElf(image), io);
  return 0;
};
