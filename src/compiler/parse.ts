// Stage 1 of `previrt cc`: guest TypeScript text → Babel AST.
//
// Consumes {file, text}; produces the File node (with line/column locations)
// or syntax-error diagnostics in the `file:line:col` format. check.ts walks
// the tree next.

import { parse } from "@babel/parser";
import type { File } from "@babel/types";
import type { Diagnostic } from "../guest-isa/diagnostics.js";

export interface SourceFile {
  file: string;
  text: string;
}

export interface ParsedFile extends SourceFile {
  ast: File;
  lines: string[];
}

export function parseSource(source: SourceFile, diagnostics: Diagnostic[]): ParsedFile | undefined {
  const lines = source.text.split(/\r?\n/);
  try {
    const ast = parse(source.text, {
      sourceType: "module",
      sourceFilename: source.file,
      plugins: ["typescript"],
      errorRecovery: false,
    });
    return { ...source, ast, lines };
  } catch (e) {
    const err = e as SyntaxError & { loc?: { line: number; column: number } };
    if (!err.loc) throw e;
    const { line, column } = err.loc;
    diagnostics.push({
      file: source.file,
      line,
      col: column + 1,
      message: `syntax error: ${err.message.replace(/\s*\(\d+:\d+\)\s*$/, "")}`,
      sourceLine: lines[line - 1],
    });
    return undefined;
  }
}
