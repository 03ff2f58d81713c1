// The assembler's internal data, shared by its stages:
//
//   parser.ts      text → statements (ast.ts)
//   pass1.ts       statements → per-file FileUnit: symbols, and per section a
//                  Contribution (size, alignment, items to emit)
//   layout.ts      contributions → output sections with addresses
//   link.ts        symbol resolution across files, .symtab, entry point
//   encode-statement.ts  items → bytes (pass 2: values, ranges, encodings)
//   index.ts       assemble(): the stages in order, diagnostics collected
//
// An Item is what pass 1 leaves for pass 2 at a fixed offset: an instruction
// with checked operand kinds, a data directive's expressions, literal bytes,
// a fill, or alignment nops.

import type { Diagnostic } from "../diagnostics.js";
import type { InstructionRow } from "../isa-table.js";
import type { Expr, Loc, Operand, ParsedSource } from "./ast.js";

export const enum ItemKind {
  Insn,
  Data,
  Bytes,
  Fill,
  Nops,
}

export interface InsnItem {
  kind: ItemKind.Insn;
  row: InstructionRow;
  ops: Operand[];
  /** Offset of the instruction in its contribution. */
  offset: number;
  /** Offset of the source statement (the value of `.`; differs for a pseudo's later instructions). */
  here: number;
  loc: Loc;
}

export interface DataItem {
  kind: ItemKind.Data;
  /** 1, 2 or 4 bytes per value. */
  width: number;
  args: Operand[];
  offset: number;
  loc: Loc;
}

export interface BytesItem {
  kind: ItemKind.Bytes;
  bytes: Uint8Array;
  offset: number;
}

export interface FillItem {
  kind: ItemKind.Fill;
  size: number;
  value: number;
  offset: number;
}

export interface NopsItem {
  kind: ItemKind.Nops;
  count: number;
  offset: number;
}

export type Item = InsnItem | DataItem | BytesItem | FillItem | NopsItem;

/** One file's part of one output section. */
export interface Contribution {
  section: string;
  size: number;
  /** The largest `.align` seen (at least DEFAULT_ALIGN). */
  align: number;
  items: Item[];
  /** Assigned by layout: the address (or, for non-allocated sections, the section offset) of offset 0. */
  base: number;
  /** Where the file first switched to this section (for diagnostics about the contribution). */
  firstLoc: Loc;
  /** Some label points into it (so the output section exists even when empty). */
  hasLabels?: boolean;
  /** A `.sensitive` waiting for its load/store in this section. */
  pendingSensitive?: Loc;
}

/** Contributions start on this boundary unless a `.align` asks for more. */
export const DEFAULT_ALIGN = 4;

export const enum SymKind {
  /** A label: contribution + offset, an address after layout. */
  Label,
  /** An absolute value known in pass 1 (`.equ` of a constant, `-D`). */
  Abs,
  /** An `.equ` whose expression needs addresses: evaluated after layout, on first use. */
  Deferred,
}

export interface Sym {
  name: string;
  kind: SymKind;
  /** Defining file; undefined for command-line defines. */
  unit: FileUnit | undefined;
  loc: Loc | undefined;
  contrib?: Contribution;
  offset: number;
  /** The value once known (Abs: from the start; Label: after layout; Deferred: once evaluated). */
  value: number;
  resolved: boolean;
  /** Under evaluation (cycle detection for Deferred). */
  resolving?: boolean;
  global: boolean;
  expr?: Expr;
}

export interface FileUnit {
  index: number;
  file: string;
  source: ParsedSource;
  symbols: Map<string, Sym>;
  /** In order of first use. */
  contributions: Map<string, Contribution>;
  /** `.global` names with the location of the operand that named them. */
  globals: { name: string; loc: Loc }[];
}

/** Collects diagnostics with their source lines. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly sources = new Map<string, ParsedSource>();

  addSource(source: ParsedSource): void {
    this.sources.set(source.file, source);
  }

  error(loc: Loc, message: string): void {
    this.diagnostics.push({ file: loc.file, line: loc.line, col: loc.col, message, sourceLine: this.sourceLine(loc.file, loc.line) });
  }

  sourceLine(file: string, line: number): string | undefined {
    const src = this.sources.get(file);
    if (!src || line < 1 || line > src.lineStarts.length) return undefined;
    const start = src.lineStarts[line - 1];
    let end = line < src.lineStarts.length ? src.lineStarts[line] - 1 : src.text.length;
    if (end > start && src.text.charCodeAt(end - 1) === 13) end--;
    return src.text.slice(start, end);
  }
}

/** An error found while evaluating, reported at `loc` by whoever catches it. */
export class AsmError {
  constructor(
    readonly loc: Loc,
    readonly message: string,
  ) {}
}
