// Stage 1 of `previrt cc`: guest TypeScript text → Babel AST.
//
// Consumes {file, text}; produces the File node (with line/column locations)
// or diagnostics in the `file:line:col` format: syntax errors, and input
// nested deeper than the limit of nesting.ts (checked before Babel runs, so
// its recursive parser cannot overflow the host's stack, and again on the
// tree). check.ts walks the tree next; a file with a diagnostic here goes no
// further.

import { parse } from "./babel-parser.js";
import type { File, Node } from "@babel/types";
import type { Diagnostic } from "../guest-isa/diagnostics.js";
import { firstTooDeep, NESTING_MESSAGE, scanNesting } from "./nesting.js";

export interface SourceFile {
  file: string;
  text: string;
}

export interface ParsedFile extends SourceFile {
  ast: File;
  /** The source lines, split where Babel counts a line break (so `loc.line` indexes them). */
  lines: string[];
}

/** Line breaks as JavaScript (and Babel's line numbers) count them. */
const LINE_BREAK = /\r\n|[\n\r\u2028\u2029]/;

export function parseSource(source: SourceFile, diagnostics: Diagnostic[]): ParsedFile | undefined {
  const lines = source.text.split(LINE_BREAK);
  const at = (line: number, col: number, message: string) => diagnostics.push({ file: source.file, line, col, message, sourceLine: lines[line - 1] });
  const scan = scanNesting(source.text);
  if (scan.tooDeep) {
    at(scan.tooDeep.line, scan.tooDeep.col, NESTING_MESSAGE);
    return undefined;
  }
  let ast: File;
  try {
    ast = parse(source.text, {
      sourceType: "module",
      sourceFilename: source.file,
      plugins: ["typescript"],
      errorRecovery: false,
    });
  } catch (e) {
    if (e instanceof RangeError) {
      // The host stack ran out inside Babel although the scan stayed within
      // the limit (the caller was already deep): the same refusal.
      at(scan.deepest.line, scan.deepest.col, NESTING_MESSAGE);
      return undefined;
    }
    const err = e as SyntaxError & { loc?: { line: number; column: number } };
    if (!err.loc) throw e;
    const { line, column } = err.loc;
    // Babel appends the position, and some messages carry a hint on a second line ("- Did you mean …"): one line.
    const message = err.message.replace(/\s*\(\d+:\d+\)\s*$/, "").replace(/\s*\n[\s-]*/g, " ");
    at(line, column + 1, `syntax error: ${message}`);
    return undefined;
  }
  const deep: Node | undefined = firstTooDeep(ast);
  if (deep) {
    at(deep.loc?.start.line ?? 1, (deep.loc?.start.column ?? 0) + 1, NESTING_MESSAGE);
    return undefined;
  }
  return { ...source, ast, lines };
}
