// The pipeline behind `previrt build`: guest sources (.ts and .s, mixed) →
// one linked ElfImage. It sits above the parts it chains (compiler,
// annotator, assembler, and the hypervisor that owns a para-virtual ABI),
// so none of them depends on another.
//
//   compileSources()     every .ts through compile() (src/compiler); .s as is
//   prepareAssembly()    adds the start-up/stack (compiler/startup.ts) when needed,
//                        then the annotate pass (src/annotator/build-pass.ts)
//   assembleBuild()      src/guest-isa/assembler (build-assembly.ts), then writeElf() in the CLI
//
// The steps after compiling live in build-assembly.ts, which does not load
// the compiler: `previrt build` of assembly alone uses only that module.
//
// Consumed by src/cli/commands/build.ts, the bundled kernel, tests and benchmarks.

import { annotateSources } from "../annotator/build-pass.js";
import { compile, type CompiledFile } from "../compiler/index.js";
import { paravirtStartup } from "../compiler/paravirt.js";
import type { AsmSource } from "../compiler/startup.js";
import { DiagnosticError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { paravirtTarget } from "../hypervisors/paravirt.js";
import { assembleBuild, checkParavirtInputs, isTypeScript, withStartup, type AssemblyBuildOptions } from "./build-assembly.js";

export { isTypeScript } from "./build-assembly.js";

export type BuildOptions = AssemblyBuildOptions;

export interface BuildResult {
  image: ElfImage;
  /** The assembly sources that were assembled, in order (compiled .ts, .s inputs, start-up). */
  assembly: AsmSource[];
  compiled: CompiledFile[];
}

/** Compiles the .ts inputs (all together, so they may import each other); keeps .s inputs in place. */
export function compileSources(inputs: readonly AsmSource[], options: BuildOptions = {}): { assembly: AsmSource[]; compiled: CompiledFile[] } {
  checkParavirtInputs(inputs, options.paravirt);
  const tsInputs = inputs.filter((s) => isTypeScript(s.file));
  const paravirt = options.paravirt === undefined ? undefined : paravirtTarget(options.paravirt);
  const compiled = tsInputs.length ? namedApart(compile(tsInputs, { paravirt }), inputs) : [];
  const byName = new Map(compiled.map((c) => [c.source, c]));
  const assembly = inputs.map((s) => {
    const c = byName.get(s.file);
    return c ? { file: c.file, text: c.asm } : s;
  });
  return { assembly, compiled };
}

/**
 * The compiled files, named apart from the inputs and from each other: the
 * annotator, the assembler and the error positions tell sources apart by
 * name, so `a.ts` compiles to `a.s` unless an input is named that (`build
 * a.ts a.s`, or `a.mts` beside it), then to `a.ts.s`.
 */
function namedApart(compiled: CompiledFile[], inputs: readonly AsmSource[]): CompiledFile[] {
  const taken = new Set(inputs.map((s) => s.file));
  return compiled.map((c) => {
    let file = c.file;
    for (let n = 1; taken.has(file); n++) file = n === 1 ? `${c.source}.s` : `${c.source}.${n}.s`;
    taken.add(file);
    return file === c.file ? c : { ...c, file };
  });
}

/**
 * The assembly that gets assembled: the inputs plus the start-up and stack
 * when no input defines them, annotated unless `annotate: false`.
 */
export function prepareAssembly(assembly: readonly AsmSource[], options: BuildOptions = {}): AsmSource[] {
  const all = withRuntime(assembly, options);
  // ─── annotate pass (annotator, issue 5): src/annotator/build-pass.ts ───
  return options.annotate === false || options.paravirt !== undefined ? all : annotateSources(all);
  // ─── end annotate pass ───
}

/** The inputs plus the start-up and stack when no input defines them (para-virtualized: its start-up). */
function withRuntime(assembly: readonly AsmSource[], options: BuildOptions): AsmSource[] {
  if (options.paravirt === undefined) return withStartup(assembly);
  // Para-virtualized: no sites to annotate; the start-up powers off with a hypercall.
  const abi = paravirtTarget(options.paravirt).abi;
  return withStartup(assembly, (text) => paravirtStartup(text, abi));
}

export function buildSources(inputs: readonly AsmSource[], options: BuildOptions = {}): BuildResult {
  const { assembly, compiled } = compileSources(inputs, options);
  try {
    return buildCompiled(assembly, compiled, options);
  } catch (e) {
    throw toTypeScriptPositions(inputs, compiled, e);
  }
}

/**
 * For an error assembling compiled code (a bad line in `asm("…")`, a clash
 * with a symbol of an assembly input): each diagnostic in a compiled file
 * moved to its TypeScript position, since the build writes no `.s` to look
 * at — inside an asm() string at the same place on its line, elsewhere at
 * the statement. Other errors are returned as they are.
 */
export function toTypeScriptPositions(inputs: readonly AsmSource[], compiled: readonly CompiledFile[], e: unknown): unknown {
  if (!(e instanceof DiagnosticError)) return e;
  const byAsm = new Map(compiled.map((c) => [c.file, c]));
  /** A position in a compiled file's assembly, at its TypeScript position (undefined: no such line is mapped). */
  const toSource = (file: string, line: number, col: number) => {
    const c = byAsm.get(file);
    const m = c?.sourceMap.find((x) => x.asmLine === line);
    if (!c || !m) return undefined;
    return { c, line: m.line, col: m.asmCol === undefined ? m.col : m.col + Math.max(0, col - m.asmCol) };
  };
  return new DiagnosticError(
    e.diagnostics.map((d) => {
      // A position the message names (the linker's "first defined at b.s:5:1") too.
      let message = d.message.replace(/([^\s(]+):(\d+):(\d+)/g, (whole, file: string, l: string, c: string) => {
        const p = toSource(file, Number(l), Number(c));
        return p ? `${p.c.source}:${p.line}:${p.col}` : whole;
      });
      const p = toSource(d.file, d.line, d.col);
      if (!p) return { ...d, message };
      // A call to a function imported from a module that no input defines: name the module.
      const undefinedName = /^undefined symbol '([^']*)'$/.exec(message)?.[1];
      const from = undefinedName === undefined ? undefined : p.c.externals.get(undefinedName);
      if (from !== undefined) message += ` (imported from '${from}', ${moduleInput(inputs, from) ?? "which is not among the inputs: give its file to build"})`;
      const text = inputs.find((s) => s.file === p.c.source)?.text.split("\n")[p.line - 1];
      return { ...d, message, file: p.c.source, line: p.line, col: p.col, sourceLine: text?.replace(/\r$/, "") };
    }),
  );
}

/** "which missing.s does not define" when an input is named as module `from` is (any extension): it was given, and lacks the name. */
function moduleInput(inputs: readonly AsmSource[], from: string): string | undefined {
  const stem = (name: string) => name.replace(/\\/g, "/").replace(/^.*\//, "").replace(/\.[^.]*$/, "");
  const input = inputs.find((s) => stem(s.file) === stem(from));
  return input === undefined ? undefined : `which ${input.file} does not define`;
}

/**
 * buildSources after its compile step: `assembly` is compileSources()'s
 * (the .ts inputs compiled, with the same `paravirt`). The bundled kernel
 * (kernel-recipe.ts) compiles its sources once and assembles them once per
 * workload and scale: the compiler does not read the assembler's defines.
 */
export function buildCompiled(assembly: readonly AsmSource[], compiled: CompiledFile[], options: BuildOptions = {}): BuildResult {
  // ─── annotate pass (annotator, issue 5): streamed into the assembler, errors at the input's lines (build-assembly.ts) ───
  const annotate = options.annotate !== false && options.paravirt === undefined;
  const { image, assembly: assembled } = assembleBuild(withRuntime(assembly, options), annotate, options.defines);
  // ─── end annotate pass ───
  return { image, assembly: assembled, compiled };
}
