// The annotate pass inside `previrt build` (src/cli/build-pipeline.ts calls it
// between compiling and assembling, unless --no-annotate).
//
// Consumes: the assembly sources of a build (compiled .ts, .s inputs, the
// start-up). Produces: the same sources annotated — an input that is already
// annotated (the output of `previrt annotate`) goes through unchanged, so
// a build may mix both — and, when the assembler then fails, its diagnostics
// moved back to the lines and columns of the files the user wrote.

import type { ParsedSource, Statement } from "../guest-isa/assembler/ast.js";
import { DiagnosticError, type Diagnostic } from "../guest-isa/diagnostics.js";
import { annotate, annotateStatements, canStream, isAnnotated, type AnnotateResult } from "./annotate.js";

export interface AsmSource {
  file: string;
  text: string;
}

const annotatedBuilds = new WeakMap<readonly AsmSource[], Map<string, { result: AnnotateResult; original: string }>>();

/** A source for the assembler whose statements the annotator produces (AssemblySource.statements). */
export interface StreamedSource extends AsmSource {
  statements?: (onStatement: (st: Statement) => void) => { source: ParsedSource; diagnostics: Diagnostic[] };
}

export interface StreamedAnnotation {
  /** For assemble(): each source annotated as the assembler reads it; `text` is the annotated text, written only when read. */
  sources: StreamedSource[];
  /**
   * After assemble() (whether it returned or threw `error`): throws the
   * annotation's diagnostics when there are any (they come first, as if the
   * files had been annotated before assembling), else the assembler's error
   * with diagnostics in the table marked as such; returns when all went well.
   */
  finish(error?: unknown): void;
}

/**
 * The annotate pass fused with assembling (what `previrt build` does): the
 * annotator's statements stream into the assembler's pass 1, so neither the
 * annotated text nor the input's statements are ever held whole. The image is
 * the one assembling annotateSources()'s output gives (test/annotator/build-stream.test.ts).
 */
export function streamAnnotation(sources: readonly AsmSource[]): StreamedAnnotation {
  const diagnostics: Diagnostic[][] = sources.map(() => []); // per file, reported in file order
  const streamed = new Map<string, { lines: number; text: () => string }>();
  const asText: AsmSource[] = []; // annotated as text (input without a final newline): positions mapped as annotateSources' are
  const textResults = new Map<string, { result: AnnotateResult; original: string }>();
  const collect = (i: number, e: unknown) => {
    if (!(e instanceof DiagnosticError)) throw e;
    diagnostics[i].push(...e.diagnostics);
  };
  const out = sources.map((s, i): StreamedSource => {
    if (isAnnotated(s.file, s.text)) return s;
    if (!canStream(s.text)) {
      try {
        const result = annotate(s.file, s.text);
        textResults.set(s.file, { result, original: s.text });
        const annotated = { file: s.file, text: result.text };
        asText.push(annotated);
        return annotated;
      } catch (e) {
        collect(i, e);
        return s;
      }
    }
    let result: AnnotateResult | undefined;
    return {
      file: s.file,
      get text() {
        return (result ??= annotate(s.file, s.text)).text;
      },
      statements: (onStatement) => {
        try {
          const r = annotateStatements(s.file, s.text, onStatement);
          result = r;
          streamed.set(s.file, { lines: r.lines, text: () => r.text });
          return { source: r.source, diagnostics: [] };
        } catch (e) {
          collect(i, e);
          return { source: { file: s.file, text: s.text, statements: [], lineStarts: [0] }, diagnostics: [] };
        }
      },
    };
  });
  if (asText.length) annotatedBuilds.set(asText, textResults);
  return {
    sources: out,
    finish(error?: unknown) {
      const annotation = diagnostics.flat();
      if (annotation.length) throw new DiagnosticError(annotation);
      if (error === undefined) return;
      const mapped = asText.length ? toInputPositions(asText, error) : error;
      if (!(mapped instanceof DiagnosticError)) throw mapped;
      throw new DiagnosticError(
        mapped.diagnostics.map((d) => {
          const t = streamed.get(d.file);
          if (!t || d.line <= t.lines) return d;
          // A line past the input's is in the table the annotator appended: show that line.
          const sourceLine = t.text().split("\n")[d.line - 1]?.replace(/\r$/, "");
          return { ...d, sourceLine, message: `${d.message} (in the .softlayer table the annotator wrote)` };
        }),
      );
    },
  };
}

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
