// The annotate pass inside `previrt build` (src/cli/build-pipeline.ts calls it
// between compiling and assembling, unless --no-annotate).
//
// Consumes: the assembly sources of a build (compiled .ts, .s inputs, the
// start-up). Produces: the same sources annotated — an input that is already
// annotated (the output of `previrt annotate`) goes through unchanged, so
// a build may mix both — and, when the assembler then fails, its diagnostics
// moved back to the lines and columns of the files the user wrote.

import { DiagnosticError, type Diagnostic } from "../guest-isa/diagnostics.js";
import { annotate, isAnnotated, type AnnotateResult } from "./annotate.js";

export interface AsmSource {
  file: string;
  text: string;
}

const annotatedBuilds = new WeakMap<readonly AsmSource[], Map<string, { result: AnnotateResult; original: string }>>();

/** Annotates every source; throws one DiagnosticError with the problems of all of them. */
export function annotateSources(sources: readonly AsmSource[]): AsmSource[] {
  const diagnostics: Diagnostic[] = [];
  const results = new Map<string, { result: AnnotateResult; original: string }>();
  const out = sources.map((s) => {
    try {
      if (isAnnotated(s.file, s.text)) return s;
      const result = annotate(s.file, s.text);
      results.set(s.file, { result, original: s.text });
      return { file: s.file, text: result.text };
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      diagnostics.push(...e.diagnostics);
      return s;
    }
  });
  if (diagnostics.length) throw new DiagnosticError(diagnostics);
  annotatedBuilds.set(out, results);
  return out;
}

/**
 * For an error thrown while assembling the output of annotateSources():
 * the same error with every diagnostic in an annotated file moved back to the
 * input's line, column and source line. Anything else is returned as is.
 */
export function toInputPositions(sources: readonly AsmSource[], e: unknown): unknown {
  const results = annotatedBuilds.get(sources);
  if (!results || !(e instanceof DiagnosticError)) return e;
  return new DiagnosticError(
    e.diagnostics.map((d) => {
      const r = results.get(d.file);
      if (!r) return d;
      const pos = r.result.originalPosition(d.line, d.col);
      if (!pos) return { ...d, message: `${d.message} (in the .softlayer table the annotator wrote)` };
      const lines = r.original.split("\n");
      return { ...d, line: pos.line, col: pos.col, sourceLine: (lines[pos.line - 1] ?? "").replace(/\r$/, "") };
    }),
  );
}
