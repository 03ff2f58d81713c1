// Stage 1 of `previrt cc`: guest TypeScript text → Babel AST.
//
// Consumes {file, text}; produces the File node (with line/column locations)
// or diagnostics in the `file:line:col` format: syntax errors, and input
// nested deeper than the limit of nesting.ts (checked before Babel runs, so
// its recursive parser cannot overflow the host's stack, and again on the
// tree). check.ts walks the tree next; a file with a diagnostic here goes no
// further.
//
// A file parsed without a diagnostic is kept, by its name and exact text, and
// handed out again to a later compile of the same text: the later stages only
// read the tree, and the bundled kernel compiles the same files several times
// in one thread (each user program with ulib.ts; the kernel natively and
// para-virtualized), where Babel's parse was a third of the compile (issue 16).

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

/** Files parsed without a diagnostic, by name and text (the last PARSED_KEPT, oldest dropped first). */
const parsedFiles = new Map<string, ParsedFile>();
const PARSED_KEPT = 32;

/** Counts of parses and of files handed out again (for tests). */
export const parseCounts = { parsed: 0, reused: 0 };

/**
 * The file's tree, or undefined with its diagnostics. The tree may be one
 * handed out before for the same name and text: callers must not change it.
 */
export function parseSource(source: SourceFile, diagnostics: Diagnostic[]): ParsedFile | undefined {
  const key = `${source.file}\0${source.text}`;
  const kept = parsedFiles.get(key);
  if (kept) {
    parseCounts.reused++;
    return kept;
  }
  const parsed = parseFresh(source, diagnostics);
  if (parsed) {
    if (parsedFiles.size >= PARSED_KEPT) parsedFiles.delete(parsedFiles.keys().next().value!);
    parsedFiles.set(key, parsed);
  }
  return parsed;
}

/** Forgets every kept file, so that the next compiles parse afresh (tests compare the two). */
export function forgetParsedFiles(): void {
  parsedFiles.clear();
}

function parseFresh(source: SourceFile, diagnostics: Diagnostic[]): ParsedFile | undefined {
  parseCounts.parsed++;
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
      // Decorators are TypeScript (5.0's standard ones): parsed, so that the class they decorate is refused as
      // guest code refuses a class, rather than as Babel's "requires enabling … parser plugin(s)".
      plugins: ["typescript", ["decorators", {}]],
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
    // Babel's advice to enable a parser plugin (`do` expressions, `|>`, records) is not the user's to follow: TypeScript has no such syntax.
    const message = err.message
      .replace(/\s*\(\d+:\d+\)\s*$/, "")
      .replace(/\s*\n[\s-]*/g, " ")
      .replace(/^This experimental syntax requires enabling (?:the parser plugin|one of the following parser plugin\(s\)): (.*?)\.?$/, "experimental JavaScript syntax (Babel's $1) that TypeScript does not have");
    at(line, column + 1, `syntax error: ${message}`);
    return undefined;
  }
  const deep: Node | undefined = firstTooDeep(ast);
  if (deep) {
    at(deep.loc?.start.line ?? 1, (deep.loc?.start.column ?? 0) + 1, NESTING_MESSAGE);
    return undefined;
  }
  return { file: source.file, text: source.text, ast, lines };
}
