// Diagnostics are data: stages collect {file, line, col, message} and carry on
// where they can; the CLI prints them as `file:line:col: error: message`
// followed by the source line and a caret.

export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  message: string;
  severity?: "error" | "warning";
  /** The source line, for the caret display. */
  sourceLine?: string;
}

export function formatDiagnostic(d: Diagnostic, withSource = true): string {
  const head = `${d.file}:${d.line}:${d.col}: ${d.severity ?? "error"}: ${d.message}`;
  if (!withSource || d.sourceLine === undefined) return head;
  const caret = " ".repeat(Math.max(0, d.col - 1)) + "^";
  return `${head}\n  ${d.sourceLine}\n  ${caret}`;
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
