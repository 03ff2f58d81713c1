// The half of `previrt build` that needs no compiler: assembly sources (the
// .s inputs, or the compiler's output) plus the start-up and stack when no
// input defines them, annotated and assembled into one ElfImage.
// build-pipeline.ts puts the compiler in front of it; `previrt build` of
// assembly alone loads only this module (src/cli/commands/build.ts), so it
// does not pay for the compiler and its TypeScript parser at start-up.
//
//   withStartup()      adds the start-up/stack (compiler/startup.ts) when needed
//   assembleBuild()    the annotate pass streamed into the assembler
//                      (src/annotator/build-pass.ts), or the plain assembler
//
// Consumed by build-pipeline.ts and src/cli/commands/build.ts.

import { streamAnnotation, toInputPositions } from "../annotator/build-pass.js";
import { runtimeSources, STARTUP_FILE, type AsmSource } from "../compiler/startup.js";
import { assemble } from "../guest-isa/assembler/index.js";
import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";

export interface AssemblyBuildOptions {
  /** Assembler symbols (`-D NAME=VALUE`). */
  defines?: Record<string, number>;
  /** `--paravirt HV`: refused here (it needs TypeScript inputs; build-pipeline.ts handles it). */
  paravirt?: string;
  /** Whether to annotate (default true; `--no-annotate` passes false). */
  annotate?: boolean;
}

export function isTypeScript(file: string): boolean {
  return /\.(ts|mts)$/.test(file) && !isDeclarationFile(file);
}

const isDeclarationFile = (file: string) => /\.d\.m?ts$/.test(file);

/** `cc` and `build` refuse a declaration file: it defines nothing (`build` assembled it as assembly, `cc` compiled it to an empty file). */
export function checkNotDeclarationFile(file: string): void {
  if (isDeclarationFile(file)) throw new UserError(`${file}: a declaration file, which defines nothing to compile (give the .ts or .s that defines its names)`);
}

/** The error for `--paravirt` with no TypeScript input (nothing to lower the intrinsics of). */
export function checkParavirtInputs(inputs: readonly AsmSource[], paravirt: string | undefined): void {
  if (paravirt !== undefined && !inputs.some((s) => isTypeScript(s.file))) {
    throw new UserError("--paravirt needs TypeScript inputs: hand-written assembly cannot be para-virtualized automatically");
  }
}

/**
 * The inputs plus the start-up and stack when no input defines them;
 * `startup` rewrites the start-up's text (the para-virtualized build's).
 */
export function withStartup(assembly: readonly AsmSource[], startup?: (text: string) => string): AsmSource[] {
  const extra = runtimeSources(assembly);
  if (extra.some((s) => s.file === STARTUP_FILE) && !assembly.some((s) => /^\s*\.global\s+main\s*$/m.test(s.text))) {
    throw new UserError("no input defines _start or an exported main() (export function main(): number { … })");
  }
  if (startup) return [...assembly, ...extra.map((s) => (s.file === STARTUP_FILE ? { ...s, text: startup(s.text) } : s))];
  return [...assembly, ...extra];
}

/**
 * Assembles `sources` (start-up included), annotating them first when
 * `annotate` is true; returns the image and the sources as assembled.
 */
export function assembleBuild(sources: readonly AsmSource[], annotate: boolean, defines?: Record<string, number>): { image: ElfImage; assembly: AsmSource[] } {
  if (annotate) {
    // The annotate pass streamed into the assembler (build-pass.ts): the same
    // image as assembling annotateSources()'s text, without writing or
    // re-parsing that text (issue 16: a million-line input in bounded memory).
    const streamed = streamAnnotation(sources);
    let image: ElfImage | undefined;
    try {
      image = assemble(streamed.sources, { defines });
    } catch (e) {
      streamed.finish(e);
    }
    streamed.finish();
    return { image: image!, assembly: streamed.sources };
  }
  try {
    return { image: assemble(sources, { defines }), assembly: [...sources] };
  } catch (e) {
    throw toInputPositions(sources, e);
  }
}

/** `previrt build` of assembly sources only (no .ts among them). */
export function buildAssembly(inputs: readonly AsmSource[], options: AssemblyBuildOptions = {}): { image: ElfImage; assembly: AsmSource[] } {
  checkParavirtInputs(inputs, options.paravirt);
  return assembleBuild(withStartup(inputs), options.annotate !== false, options.defines);
}
