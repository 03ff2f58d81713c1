// Diagnostics are data: stages collect {file, line, col, message} and carry on
// where they can; the CLI prints them as `file:line:col: error: message`
// followed by a source frame (@babel/code-frame: the line with its number and
// a caret under the column, tabs kept so the caret lines up). The frame is
// never coloured, so the output is the same on a terminal, in a pipe and in
// tests.

import { codeFrameColumns } from "./code-frame.js";

export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units of the source line. */
  col: number;
  message: string;
  severity?: "error" | "warning";
  /** The source line, for the source frame. */
  sourceLine?: string;
}

export function formatDiagnostic(d: Diagnostic, withSource = true): string {
  const head = `${d.file}:${d.line}:${d.col}: ${d.severity ?? "error"}: ${d.message}`;
  if (!withSource || d.sourceLine === undefined) return head;
  return `${head}\n${sourceFrame(d.sourceLine, d.line, d.col)}`;
}

/**
 *     > 12 | \tlw a0, 0(a1)
 *          | \t       ^
 */
export function sourceFrame(sourceLine: string, line: number, col: number): string {
  // One line only: a stray line terminator in it would start a second one.
  const text = sourceLine.replace(/\r\n|[\n\r\u2028\u2029]/g, " ");
  return codeFrameColumns(text, { start: { line: Math.max(1, line), column: Math.max(1, col) } }, { highlightCode: false, linesAbove: 0, linesBelow: 0, startLine: Math.max(1, line) });
}

/** Thrown by a stage that collected errors: carries every diagnostic, not just the first. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => formatDiagnostic(d, false)).join("\n"));
    this.name = "DiagnosticError";
  }
}

/**
 * A failure caused by the user's input (a bad file, a bad binary, a bad option):
 * the CLI prints `previrt: error: <message>` and exits non-zero, no stack trace.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "UserError";
  }
}
