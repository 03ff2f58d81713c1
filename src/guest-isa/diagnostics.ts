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

/**
 * Control characters shown as their Unicode pictures (NUL ␀, ESC ␛, DEL ␡):
 * one character each, so the caret stays under its column, and a binary
 * file given as a source (an ELF as `a.s`) cannot drive the terminal. Tabs
 * stay (the caret's line keeps them).
 */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
const visible = (s: string) => s.replace(CONTROL, (c) => (c === "\x7f" ? "\u2421" : String.fromCharCode(0x2400 + c.charCodeAt(0))));

/** The longest quoted token a message shows whole (`undefined symbol 'qqq…'` for a 5 MB name). */
const QUOTE_WIDTH = 60;
const LONG_QUOTE = new RegExp(`'[^'\\n]{${QUOTE_WIDTH + 1},}'`, "g");

export function formatDiagnostic(d: Diagnostic, withSource = true): string {
  const message = visible(d.message.replace(LONG_QUOTE, (q) => `${q.slice(0, QUOTE_WIDTH + 1)}…'`));
  // The file name as the user's shell gave it, but on the one line: `$'a\nb.s'` is "a\nb.s" (shownName).
  const head = `${shownName(d.file)}:${d.line}:${d.col}: ${d.severity ?? "error"}: ${message}`;
  if (!withSource || d.sourceLine === undefined) return head;
  return `${head}\n${sourceFrame(d.sourceLine, d.line, d.col)}`;
}

/** The longest source line a frame shows whole: a longer one is cut to this much around the column (a 20 MB line was 20 MB of stderr). */
export const FRAME_WIDTH = 160;

/**
 *     > 12 | \tlw a0, 0(a1)
 *          | \t       ^
 */
export function sourceFrame(sourceLine: string, line: number, col: number): string {
  // One line only: a stray line terminator in it would start a second one.
  let text = visible(sourceLine.replace(/\r\n|[\n\r\u2028\u2029]/g, " "));
  let column = Math.max(1, col);
  if (text.length > FRAME_WIDTH) {
    // A window around the column, "…" where it was cut; the caret moves with it.
    const start = Math.max(0, Math.min(column - 1 - FRAME_WIDTH / 2, text.length - FRAME_WIDTH));
    const end = start + FRAME_WIDTH;
    text = (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "");
    column = column - start + (start > 0 ? 1 : 0);
  }
  return codeFrameColumns(text, { start: { line: Math.max(1, line), column } }, { highlightCode: false, linesAbove: 0, linesBelow: 0, startLine: Math.max(1, line) });
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

/**
 * A name read from the user's input (an ELF's section or symbol, a site
 * table's file, a key of a JSON file, a guest's name) as a message or a
 * listing's comment shows it: as it is, or quoted with its control
 * characters escaped when it has any — an ELF may name a section or symbol
 * with any bytes, and a message must stay one line.
 */
export function shownName(name: string): string {
  return /[\x00-\x1f\x7f]/.test(name) ? JSON.stringify(name) : name;
}

/** `shownName` where a message puts the name in quotes: 'name', or the escaped form, which has its own ("a\nb"). */
export function quotedName(name: string): string {
  const shown = shownName(name);
  return shown === name ? `'${name}'` : shown;
}
