// Writes a file's `.softlayer` table as assembly data, in exactly the layout
// of guest-isa/softlayer.ts (header, 20-byte records, string area), so the
// assembler needs no knowledge of sites: it assembles the data, resolves the
// site labels, and the linker merges the per-file tables into one sorted
// table (mergeSoftlayerTables).
//
// Consumes: the annotator's planned records (addresses as labels, lengths as
// numbers or label differences, immediates as numbers or expressions only
// the assembler can fold). Produces: the text appended to the annotated file.

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

export const TABLE_LABEL = `${LABEL_PREFIX}table`;
export const STRINGS_LABEL = `${LABEL_PREFIX}strings`;

/** The table as assembly text (starts and ends with a newline). */
export function emitSoftlayerTable(records: readonly PlannedRecord[], nl = "\n", comment = ""): string {
  const fileOffsets = new Map<string, number>();
  const names: string[] = [];
  let stringBytes = 0;
  for (const r of records) {
    if (fileOffsets.has(r.file)) continue;
    fileOffsets.set(r.file, stringBytes);
    names.push(r.file);
    stringBytes += Buffer.byteLength(r.file, "utf8") + 1;
  }
  const out: string[] = [
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
  for (const r of records) {
    const imm = typeof r.imm === "number" ? String(r.imm & 0xffff) : `(${r.imm}) & 0xffff`;
    out.push(
      `\t.word ${r.addrLabel}${nl}\t.half ${r.length}${nl}\t.byte ${r.kind}, ${r.flags}, ${r.regA}, ${r.regB}${nl}` +
        `\t.half ${imm}${nl}\t.word ${r.line >>> 0}, ${fileOffsets.get(r.file)!}`,
    );
  }
  out.push(`${STRINGS_LABEL}:`);
  for (const name of names) out.push(`\t.asciz "${escapeString(name)}"`);
  out.push("\t.align 4", "");
  return out.join(nl);
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
