// The pipeline behind `previrt build`: guest sources (.ts and .s, mixed) →
// one linked ElfImage. It sits above the parts it chains (compiler,
// annotator, assembler, and the hypervisor that owns a para-virtual ABI),
// so none of them depends on another.
//
//   compileSources()     every .ts through compile() (src/compiler); .s as is
//   prepareAssembly()    adds the start-up/stack (compiler/startup.ts) when needed,
//                        then the annotate pass (src/annotator/build-pass.ts)
//   assemble()           src/guest-isa/assembler, then writeElf() in the CLI
//
// Consumed by src/cli/commands/build.ts, the bundled kernel, tests and benchmarks.

import { annotateSources, streamAnnotation, toInputPositions } from "../annotator/build-pass.js";
import { compile, type CompiledFile } from "../compiler/index.js";
import { paravirtStartup } from "../compiler/paravirt.js";
import { runtimeSources, STARTUP_FILE, type AsmSource } from "../compiler/startup.js";
import { assemble } from "../guest-isa/assembler/index.js";
import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { paravirtTarget } from "../hypervisors/paravirt.js";

export interface BuildOptions {
  /** Assembler symbols (`-D NAME=VALUE`). */
  defines?: Record<string, number>;
  /** `--paravirt xen`: intrinsics lowered to hypercalls and shared memory (paravirt.ts); no annotation. */
  paravirt?: string;
  /** Whether to annotate (default true; `--no-annotate` passes false). */
  annotate?: boolean;
}

export interface BuildResult {
  image: ElfImage;
  /** The assembly sources that were assembled, in order (compiled .ts, .s inputs, start-up). */
  assembly: AsmSource[];
  compiled: CompiledFile[];
}

/** Compiles the .ts inputs (all together, so they may import each other); keeps .s inputs in place. */
export function compileSources(inputs: readonly AsmSource[], options: BuildOptions = {}): { assembly: AsmSource[]; compiled: CompiledFile[] } {
  const tsInputs = inputs.filter((s) => isTypeScript(s.file));
  if (options.paravirt !== undefined && tsInputs.length === 0) {
    throw new UserError("--paravirt needs TypeScript inputs: hand-written assembly cannot be para-virtualized automatically");
  }
  const paravirt = options.paravirt === undefined ? undefined : paravirtTarget(options.paravirt);
  const compiled = tsInputs.length ? compile(tsInputs, { paravirt }) : [];
  const byName = new Map(compiled.map((c) => [c.source, c]));
  const assembly = inputs.map((s) => {
    const c = byName.get(s.file);
    return c ? { file: c.file, text: c.asm } : s;
  });
  return { assembly, compiled };
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
  const extra = runtimeSources(assembly);
  if (extra.some((s) => s.file === STARTUP_FILE) && !assembly.some((s) => /^\s*\.global\s+main\s*$/m.test(s.text))) {
    throw new UserError("no input defines _start or an exported main() (export function main(): number { … })");
  }
  if (options.paravirt !== undefined) {
    // Para-virtualized: no sites to annotate; the start-up powers off with a hypercall.
    return [...assembly, ...extra.map((s) => (s.file === STARTUP_FILE ? { ...s, text: paravirtStartup(s.text, paravirtTarget(options.paravirt!).abi) } : s))];
  }
  return [...assembly, ...extra];
}

export function buildSources(inputs: readonly AsmSource[], options: BuildOptions = {}): BuildResult {
  const { assembly, compiled } = compileSources(inputs, options);
  return buildCompiled(assembly, compiled, options);
}

/**
 * buildSources after its compile step: `assembly` is compileSources()'s
 * (the .ts inputs compiled, with the same `paravirt`). The bundled kernel
 * (kernel-recipe.ts) compiles its sources once and assembles them once per
 * workload and scale: the compiler does not read the assembler's defines.
 */
export function buildCompiled(assembly: readonly AsmSource[], compiled: CompiledFile[], options: BuildOptions = {}): BuildResult {
  if (options.annotate !== false && options.paravirt === undefined) {
    // The annotate pass streamed into the assembler (build-pass.ts): the same
    // image as assembling annotateSources()'s text, without writing or
    // re-parsing that text (issue 16: a million-line input in bounded memory).
    const streamed = streamAnnotation(withRuntime(assembly, options));
    let image: ElfImage | undefined;
    try {
      image = assemble(streamed.sources, { defines: options.defines });
    } catch (e) {
      streamed.finish(e);
    }
    streamed.finish();
    return { image: image!, assembly: streamed.sources, compiled };
  }
  const prepared = prepareAssembly(assembly, options);
  // ─── annotate pass (annotator, issue 5): assembler errors reported at the input's lines ───
  let image: ElfImage;
  try {
    image = assemble(prepared, { defines: options.defines });
  } catch (e) {
    throw toInputPositions(prepared, e);
  }
  // ─── end annotate pass ───
  return { image, assembly: prepared, compiled };
}

export function isTypeScript(file: string): boolean {
  return /\.(ts|mts)$/.test(file) && !file.endsWith(".d.ts");
}
