// Writes a file's `.softlayer` table as assembly data, in exactly the layout
// of guest-isa/softlayer.ts (header, 20-byte records, string area), so the
// assembler needs no knowledge of sites: it assembles the data, resolves the
// site labels, and the linker merges the per-file tables into one sorted
// table (mergeSoftlayerTables).
//
// Consumes: the annotator's planned records (addresses as labels, lengths as
// numbers or label differences, immediates as numbers or expressions only
// the assembler can fold). Produces: the text appended to the annotated file
// — or, for the build, the same table as statements (streamSoftlayerTable).

import type { DirectiveStatement, Expr, Loc, Operand, Statement } from "../guest-isa/assembler/ast.js";
import { parseAssembly } from "../guest-isa/assembler/parser.js";
import { SOFTLAYER_MAGIC, SOFTLAYER_RECORD_SIZE, SOFTLAYER_VERSION } from "../guest-isa/softlayer.js";
import { ChunkWriter, collectText } from "./chunks.js";
import { LABEL_PREFIX, SLOT_LABEL } from "./labels.js";
import { blankRecord } from "./site-store.js";

export interface PlannedRecord {
  /** Label on the first byte of the site or exempt region. */
  addrLabel: string;
  /** Length in bytes, or an expression (`.end - .start`) for exempt regions. */
  length: number | string;
  kind: number;
  flags: number;
  regA: number;
  regB: number;
  /** The low 16 bits of the immediate, or an expression the assembler folds (then masked). */
  imm: number | string;
  line: number;
  file: string;
}

/** The records in address order, each made when read (site-store.ts). */
export interface RecordList {
  readonly length: number;
  at(i: number): PlannedRecord | undefined;
  /**
   * Record i, written into `into` (or returned as kept): reading the table
   * makes no object per record. `withLabel` false: a site's `addrLabel` is
   * left empty (its label is known by its number, siteIndex).
   */
  read(i: number, into: PlannedRecord, withLabel?: boolean): PlannedRecord;
  /** Record i's file (what read() gives as `file`), making nothing. */
  file(i: number): string;
  /** The site record i is for (its number, which is its label slot when slots are used), or negative for an exempt piece. */
  siteIndex(i: number): number;
}

export const TABLE_LABEL = `${LABEL_PREFIX}table`;
export const STRINGS_LABEL = `${LABEL_PREFIX}strings`;

interface TableParts {
  header: string[];
  footer: string[];
  fileOffsets: Map<string, number>;
}

/** (TextEncoder, not Node's Buffer: the annotator runs in a browser too.) */
const UTF8 = new TextEncoder();

function tableParts(records: RecordList, comment: string): TableParts {
  const fileOffsets = new Map<string, number>();
  const names: string[] = [];
  let stringBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const file = records.file(i);
    if (fileOffsets.has(file)) continue;
    fileOffsets.set(file, stringBytes);
    names.push(file);
    stringBytes += UTF8.encode(file).length + 1;
  }
  const header: string[] = [
    "",
    `# .softlayer table${comment ? `: ${comment}` : ""} (written by previrt annotate; layout: docs/softlayer.md)`,
    "\t.section .softlayer",
    "\t.align 4",
    `${TABLE_LABEL}:`,
    `\t.word 0x${SOFTLAYER_MAGIC.toString(16)}`,
    `\t.half ${SOFTLAYER_VERSION}, ${SOFTLAYER_RECORD_SIZE}`,
    `\t.word ${records.length}`,
    `\t.word ${STRINGS_LABEL} - ${TABLE_LABEL}`,
  ];
  const footer = [`${STRINGS_LABEL}:`];
  for (const name of names) footer.push(`\t.asciz "${escapeString(name)}"`);
  footer.push("\t.align 4", "");
  return { header, footer, fileOffsets };
}

const immText = (r: PlannedRecord) => (typeof r.imm === "number" ? String(r.imm & 0xffff) : `(${r.imm}) & 0xffff`);

/** One record's five lines. */
function recordText(r: PlannedRecord, fileOffset: number, nl: string): string {
  return (
    `\t.word ${r.addrLabel}${nl}\t.half ${r.length}${nl}\t.byte ${r.kind}, ${r.flags}, ${r.regA}, ${r.regB}${nl}` +
    `\t.half ${immText(r)}${nl}\t.word ${r.line >>> 0}, ${fileOffset}`
  );
}

/** The table as assembly text (starts and ends with a newline). */
export function emitSoftlayerTable(records: RecordList, nl = "\n", comment = ""): string {
  return collectText((write) => {
    const out = new ChunkWriter(write);
    writeSoftlayerTable(records, nl, comment, nl, (s) => out.push(s));
    out.flush();
  });
}

/**
 * emitSoftlayerTable's text piece by piece into `push` (one record's lines
 * at a time, the table never held whole), with `start` in place of its
 * first newline.
 */
export function writeSoftlayerTable(records: RecordList, nl: string, comment: string, start: string, push: (s: string) => void): void {
  const { header, footer, fileOffsets } = tableParts(records, comment);
  push(start + header.slice(1).join(nl));
  const scratch = blankRecord();
  for (let i = 0; i < records.length; i++) {
    const r = records.read(i, scratch);
    push(nl + recordText(r, fileOffsets.get(r.file)!, nl));
  }
  push(nl + footer.join(nl));
}

/**
 * The table as statements that assemble to exactly the bytes of
 * emitSoftlayerTable's text (without its first, empty line), streamed into
 * `sink` without writing or parsing the records' text — for the build, which
 * assembles the annotated statements directly (build-pass.ts). A record whose
 * fields are all numbers is its address word (`.word label`, resolved in
 * pass 2) and one `.ascii` of its 16 constant bytes — the `.half`, `.byte`,
 * `.half`, `.word` of the text, little-endian; their values are in range by
 * construction. That `.ascii` statement and its buffer are reused for every
 * record: pass 1 copies a string's bytes when it handles the statement, and
 * the sink handles each statement before it is given the next.
 * `firstLine` is the line the table's comment has in the annotated text:
 * every statement is located at its line there.
 *
 * Per record nothing is allocated: the record is read into one scratch
 * object, and the `.word label` statement is reused too, its symbol name
 * and line changed — pass 1 keeps nothing of a `.word` whose value is a
 * plain symbol of the file but the numbers of its Fixups row and the
 * symbol (units.ts). The label string is the one the site's label
 * statement defined (SiteStore), so the assembler's lookup of it is a hit
 * on an already hashed string — or, with `slots`, no lookup at all: the
 * `.word` names the label's slot (ast.ts LabelStatement.slot).
 */
export function streamSoftlayerTable(
  records: RecordList,
  comment: string,
  file: string,
  firstLine: number,
  sink: (s: Statement) => void,
  /** The site labels were streamed with slots (their numbers): the `.word`s refer to the slots. */
  slots = false,
): void {
  const { header, footer, fileOffsets } = tableParts(records, comment);
  let line = firstLine;
  /** `slotOf`: the label whose `.word` refers to a slot, and the slot. */
  const parseLines = (lines: readonly string[], slotOf?: { label: string; slot: number }) => {
    const at = line;
    parseAssembly(file, lines.join("\n"), {
      onStatement: (s) => {
        const moved = relocate(s, at);
        if (slotOf && moved.kind === "directive" && moved.name === ".word" && moved.args.length === 1) {
          const a = moved.args[0];
          if (a.kind === "expr" && a.expr.kind === "sym" && a.expr.name === slotOf.label) a.expr.slot = slotOf.slot;
        }
        sink(moved);
      },
    });
    line += lines.length;
  };
  parseLines(header.slice(1));
  const bytes = new Uint8Array(SOFTLAYER_RECORD_SIZE - 4);
  const view = new DataView(bytes.buffer);
  const constLoc: Loc = { file, line, col: 2, offset: 0 };
  const constant: DirectiveStatement = { kind: "directive", name: ".ascii", args: [{ kind: "string", bytes, loc: constLoc }], loc: constLoc, end: 0 };
  const wordLoc: Loc = { file, line, col: 2, offset: 0 };
  const wordExpr: Extract<Expr, { kind: "sym" }> = { kind: "sym", name: "", loc: wordLoc };
  const word: DirectiveStatement = { kind: "directive", name: ".word", args: [{ kind: "expr", expr: wordExpr, loc: wordLoc }], loc: wordLoc, end: 0 };
  const scratch = blankRecord();
  for (let i = 0; i < records.length; i++) {
    // With slots a site's label string is not made: the `.word` names the slot.
    const r = records.read(i, scratch, !slots);
    const fileOffset = fileOffsets.get(r.file)!;
    const site = records.siteIndex(i);
    const slot = slots && site >= 0 ? site : undefined;
    if (typeof r.length !== "number" || typeof r.imm !== "number") {
      if (slot !== undefined) records.read(i, scratch, true); // its text names the label
      parseLines(recordText(r, fileOffset, "\n").split("\n"), slot === undefined ? undefined : { label: r.addrLabel, slot });
      continue;
    }
    wordExpr.name = slot === undefined ? r.addrLabel : SLOT_LABEL;
    wordExpr.slot = slot;
    wordLoc.line = line;
    sink(word);
    view.setUint16(0, r.length, true);
    bytes[2] = r.kind;
    bytes[3] = r.flags;
    bytes[4] = r.regA;
    bytes[5] = r.regB;
    view.setUint16(6, r.imm & 0xffff, true);
    view.setUint32(8, r.line >>> 0, true);
    view.setUint32(12, fileOffset, true);
    constLoc.line = line + 1;
    sink(constant);
    line += 5;
  }
  parseLines(footer.slice(0, -1));
}

/** A statement parsed from a snippet, every location in it moved to the snippet's first line in the annotated text. */
function relocate(s: Statement, firstLine: number): Statement {
  const at = (loc: Loc): Loc => ({ ...loc, line: loc.line + firstLine - 1 });
  const expr = (e: Expr): Expr => {
    switch (e.kind) {
      case "unary":
      case "reloc":
        return { ...e, arg: expr(e.arg), loc: at(e.loc) };
      case "binary":
        return { ...e, left: expr(e.left), right: expr(e.right), loc: at(e.loc) };
      default:
        return { ...e, loc: at(e.loc) };
    }
  };
  const operand = (o: Operand): Operand => {
    if (o.kind === "expr") return { ...o, expr: expr(o.expr), loc: at(o.loc) };
    if (o.kind === "mem") return { ...o, offset: o.offset && expr(o.offset), loc: at(o.loc) };
    return { ...o, loc: at(o.loc) };
  };
  if (s.kind === "label") return { ...s, loc: at(s.loc) };
  if (s.kind === "directive") return { ...s, args: s.args.map(operand), loc: at(s.loc) };
  return { ...s, operands: s.operands.map(operand), loc: at(s.loc) };
}

/** Escapes a file name for `.asciz` (the parser's escapes: \\ \" \xHH). */
function escapeString(s: string): string {
  let r = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\" || ch === '"') r += "\\" + ch;
    else if (c < 0x20 || c === 0x7f) r += "\\x" + c.toString(16).padStart(2, "0");
    else r += ch;
  }
  return r;
}
