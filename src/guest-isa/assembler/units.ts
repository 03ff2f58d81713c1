// The assembler's internal data, shared by its stages:
//
//   parser.ts      text → statements (ast.ts)
//   pass1.ts       statements (streamed from the parser) → per-file FileUnit:
//                  symbols, and per section a Contribution: its bytes as far
//                  as pass 1 can know them, and items to finish in pass 2
//   layout.ts      contributions → output sections with addresses
//   link.ts        symbol resolution across files, .symtab, entry point
//   encode-statement.ts  items → bytes (pass 2: values, ranges, encodings)
//   index.ts       assemble(): the stages in order, diagnostics collected
//
// Pass 1 writes every byte whose value it knows (instructions whose operands
// are registers and constants, constant data, strings, fills, alignment
// nops) straight into the contribution's buffer. An Item is what it leaves
// for pass 2 at a fixed offset: an instruction or a data directive whose
// value needs addresses (labels, `.`). Keeping only those keeps the
// assembler's memory (and its garbage collector's work) small. The commonest
// of them — one operand or data value that is a plain symbol or %hi/%lo of
// one (a branch to a label, `la`'s halves, a site table's `.word label`) —
// are not items at all but a row of Fixups: a few numbers in typed-array
// columns and the symbol, instead of the statement's objects.

import type { Diagnostic } from "../diagnostics.js";
import type { InstructionRow } from "../isa-table.js";
import type { Expr, Loc, Operand, ParsedSource } from "./ast.js";

export const enum ItemKind {
  Insn,
  Data,
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

export type Item = InsnItem | DataItem;

/** One file's part of one output section. */
export interface Contribution {
  section: string;
  size: number;
  /** The contents known after pass 1 (capacity ≥ size; unused for .bss). */
  bytes: Uint8Array;
  /** The largest `.align` seen (at least DEFAULT_ALIGN). */
  align: number;
  items: Item[];
  /** The symbol fixups (one per value): pass 2 finishes them after the items. */
  fixups: Fixups;
  /** Assigned by layout: the address (or, for non-allocated sections, the section offset) of offset 0. */
  base: number;
  /** Where the file first switched to this section (for diagnostics about the contribution). */
  firstLoc: Loc;
  /** Some label points into it (so the output section exists even when empty). */
  hasLabels?: boolean;
  /** A `.sensitive` waiting for its load/store in this section. */
  pendingSensitive?: Loc;
}

/**
 * Pass-2 work in columns, one row per value that is a plain symbol (or
 * %hi/%lo of one) at `offset`: either data (`meta` = its width, 1, 2 or 4) or
 * one instruction operand (`meta` = (row id + 1) << 8 | operand index << 2 |
 * FixupFn; `word` = the instruction with that operand 0 and every other one
 * encoded). `target` is the Sym pass 1 found in the file (which pass 2's
 * lookup would find first), else its name. `line`, `symCol`, `opCol` place
 * the diagnostics exactly where the statement's nodes would have.
 */
export class Fixups {
  length = 0;
  offset = new Int32Array(0);
  word = new Int32Array(0);
  meta = new Int32Array(0);
  line = new Int32Array(0);
  symCol = new Int32Array(0);
  opCol = new Int32Array(0);
  /** A number: a label slot of the file (LabelSlots). */
  readonly target: (Sym | string | number)[] = [];

  push(offset: number, word: number, meta: number, line: number, symCol: number, opCol: number, target: Sym | string | number): void {
    const n = this.length;
    if (n === this.offset.length) this.grow(Math.max(16, n * 2));
    this.offset[n] = offset;
    this.word[n] = word;
    this.meta[n] = meta;
    this.line[n] = line;
    this.symCol[n] = symCol;
    this.opCol[n] = opCol;
    this.target.push(target);
    this.length = n + 1;
  }

  private grow(cap: number): void {
    const g = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.offset = g(this.offset);
    this.word = g(this.word);
    this.meta = g(this.meta);
    this.line = g(this.line);
    this.symCol = g(this.symCol);
    this.opCol = g(this.opCol);
  }
}

/** What a fixup applies to its symbol's value before placing it. */
export const enum FixupFn {
  None,
  Hi,
  Lo,
}

/** Contributions start on this boundary unless a `.align` asks for more. */
export const DEFAULT_ALIGN = 4;

/** Makes room for `extra` more bytes after `c.size` in `c.bytes`. */
export function reserve(c: Contribution, extra: number): Uint8Array {
  const need = c.size + extra;
  if (need > c.bytes.length) {
    const grown = new Uint8Array(Math.max(need, c.bytes.length * 2, 256));
    grown.set(c.bytes.subarray(0, c.size));
    c.bytes = grown;
  }
  return c.bytes;
}

export function writeWord(buf: Uint8Array, pos: number, word: number): void {
  buf[pos] = word;
  buf[pos + 1] = word >>> 8;
  buf[pos + 2] = word >>> 16;
  buf[pos + 3] = word >>> 24;
}

export const enum SymKind {
  /** A label: contribution + offset, an address after layout. */
  Label,
  /** An absolute value known in pass 1 (`.equ` of a constant, `-D`). */
  Abs,
  /** An `.equ` whose expression needs addresses: evaluated after layout, on first use. */
  Deferred,
}

/**
 * A symbol. Its location is kept as two numbers, not a Loc (a label per site
 * in a million-line build: the Loc objects were a tenth of the assembler's
 * memory); `loc` builds one for the (rare) diagnostics that need it.
 * `expr` and `resolving` are only ever set on deferred `.equ`s.
 */
export class Sym {
  contrib: Contribution | undefined;
  resolved: boolean;
  global: boolean;
  /** The value once known (Abs: from the start; Label: after layout; Deferred: once evaluated). */
  value: number;
  // Declared, not initialised: only deferred `.equ`s get them (a field on
  // every label would cost 16 bytes each).
  /** Under evaluation (cycle detection for Deferred). */
  declare resolving?: boolean;
  declare expr?: Expr;
  private readonly file: string | undefined;
  private readonly line: number;
  private readonly col: number;

  constructor(
    readonly name: string,
    readonly kind: SymKind,
    /** Defining file; undefined for command-line defines. */
    readonly unit: FileUnit | undefined,
    loc: Loc | undefined,
    contrib: Contribution | undefined,
    readonly offset: number,
    value: number,
    global: boolean,
  ) {
    this.contrib = contrib;
    this.value = value;
    this.resolved = kind === SymKind.Abs;
    this.global = global;
    this.file = loc && unit && loc.file === unit.file ? undefined : loc?.file;
    this.line = loc ? loc.line : 0;
    this.col = loc ? loc.col : 0;
  }

  /** Where it is defined (file, line, column; offset 0: diagnostics do not use it). */
  get loc(): Loc | undefined {
    if (this.line === 0) return undefined;
    return { file: this.file ?? this.unit!.file, line: this.line, col: this.col, offset: 0 };
  }
}

/**
 * The positions of a file's label slots (ast.ts LabelStatement.slot): per
 * slot, its contribution (an index into `contribs`) and offset — two
 * numbers instead of a symbol and a symbol-table entry per site label of a
 * million-line build.
 */
export class LabelSlots {
  private readonly contribs: Contribution[] = [];
  private which = new Int32Array(0);
  private offset = new Int32Array(0);

  define(slot: number, c: Contribution, offset: number): void {
    if (slot >= this.which.length) {
      const cap = Math.max(64, slot + 1, this.which.length * 2);
      const w = new Int32Array(cap).fill(-1);
      w.set(this.which);
      const o = new Int32Array(cap);
      o.set(this.offset);
      this.which = w;
      this.offset = o;
    }
    let k = this.contribs.indexOf(c);
    if (k < 0) k = this.contribs.push(c) - 1;
    this.which[slot] = k;
    this.offset[slot] = offset;
  }

  /** The slot's address (after layout), or undefined when no label took it. */
  value(slot: number): number | undefined {
    const k = slot < this.which.length ? this.which[slot] : -1;
    return k < 0 ? undefined : (this.contribs[k].base + this.offset[slot]) | 0;
  }
}

export interface FileUnit {
  index: number;
  file: string;
  symbols: Map<string, Sym>;
  /** Label slots (streamed statements only). */
  slots?: LabelSlots;
  /** In order of first use. */
  contributions: Map<string, Contribution>;
  /** `.global` names with the location of the operand that named them. */
  globals: { name: string; loc: Loc }[];
}

/** Collects diagnostics; their source lines are filled in at the end (withSourceLines). */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly sources = new Map<string, ParsedSource>();

  addSource(source: ParsedSource): void {
    this.sources.set(source.file, source);
  }

  error(loc: Loc, message: string): void {
    this.diagnostics.push({ file: loc.file, line: loc.line, col: loc.col, message });
  }

  /** The diagnostics, each with its source line (for the caret display). */
  withSourceLines(): Diagnostic[] {
    return this.diagnostics.map((d) => (d.sourceLine !== undefined ? d : { ...d, sourceLine: this.sourceLine(d.file, d.line) }));
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
