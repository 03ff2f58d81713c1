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

import type { DirectiveStatement, Expr, Loc, Statement } from "../guest-isa/assembler/ast.js";
import { parseAssembly } from "../guest-isa/assembler/parser.js";
import { SOFTLAYER_MAGIC, SOFTLAYER_RECORD_SIZE, SOFTLAYER_VERSION } from "../guest-isa/softlayer.js";
import { LABEL_PREFIX } from "./labels.js";

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

/** The records in address order: an array, or a list that makes each record when read. */
export interface RecordList {
  readonly length: number;
  at(i: number): PlannedRecord | undefined;
}

export const TABLE_LABEL = `${LABEL_PREFIX}table`;
export const STRINGS_LABEL = `${LABEL_PREFIX}strings`;

interface TableParts {
  header: string[];
  footer: string[];
  fileOffsets: Map<string, number>;
}

function tableParts(records: RecordList, comment: string): TableParts {
  const fileOffsets = new Map<string, number>();
  const names: string[] = [];
  let stringBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records.at(i)!;
    if (fileOffsets.has(r.file)) continue;
    fileOffsets.set(r.file, stringBytes);
    names.push(r.file);
    stringBytes += Buffer.byteLength(r.file, "utf8") + 1;
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
  const { header, footer, fileOffsets } = tableParts(records, comment);
  const out = header;
  for (let i = 0; i < records.length; i++) {
    const r = records.at(i)!;
    out.push(recordText(r, fileOffsets.get(r.file)!, nl));
  }
  out.push(...footer);
  return out.join(nl);
}

/**
 * The statements parsing emitSoftlayerTable's text gives (without its first,
 * empty line), streamed into `sink` without writing or parsing the records'
 * text — for the build, which assembles the annotated statements directly.
 * `firstLine` is the line the table's comment would have in the annotated
 * text: every statement's location is its line there (column 1).
 */
export function streamSoftlayerTable(
  records: RecordList,
  comment: string,
  file: string,
  firstLine: number,
  sink: (s: Statement) => void,
): void {
  const { header, footer, fileOffsets } = tableParts(records, comment);
  let line = firstLine;
  const parseLines = (lines: readonly string[]) => {
    const at = line;
    parseAssembly(file, lines.join("\n"), { onStatement: (s) => sink(relocate(s, at)) });
    line += lines.length;
  };
  parseLines(header.slice(1));
  for (let i = 0; i < records.length; i++) {
    const r = records.at(i)!;
    const fileOffset = fileOffsets.get(r.file)!;
    if (typeof r.length !== "number" || typeof r.imm !== "number") {
      parseLines(recordText(r, fileOffset, "\n").split("\n"));
      continue;
    }
    const loc = (k: number): Loc => ({ file, line: line + k, col: 2, offset: 0 });
    const l0 = loc(0), l1 = loc(1), l2 = loc(2), l3 = loc(3), l4 = loc(4);
    sink(directive(".word", l0, [{ kind: "sym", name: r.addrLabel, loc: l0 }]));
    sink(directive(".half", l1, [num(r.length, l1)]));
    sink(directive(".byte", l2, [num(r.kind, l2), num(r.flags, l2), num(r.regA, l2), num(r.regB, l2)]));
    sink(directive(".half", l3, [num(r.imm & 0xffff, l3)]));
    sink(directive(".word", l4, [num(r.line >>> 0, l4), num(fileOffset, l4)]));
    line += 5;
  }
  parseLines(footer.slice(0, -1));
}

const num = (value: number, loc: Loc): Expr => ({ kind: "num", value, loc });

function directive(name: string, loc: Loc, exprs: Expr[]): DirectiveStatement {
  return { kind: "directive", name, args: exprs.map((expr) => ({ kind: "expr", expr, loc: expr.loc })), loc, end: 0 };
}

/** A statement parsed from a snippet, moved to the snippet's first line in the annotated text. */
function relocate(s: Statement, firstLine: number): Statement {
  return { ...s, loc: { ...s.loc, line: s.loc.line + firstLine - 1 } };
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
