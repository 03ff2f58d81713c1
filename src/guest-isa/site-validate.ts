// The `.softlayer` table validator, shared by `previrt verify` and the
// load-time rewriter (docs/design.md §3: validate the whole table, then patch).
//
// Consumes: an ElfImage (its .text and .softlayer sections). Produces: every
// problem found, as data — `{record?, addr?, message}` — never an exception
// for a bad binary. No .softlayer section means a plain binary: no problems
// here (whether that is acceptable is the caller's decision).
//
// Checks, per record (exempt records — `.noannotate` regions — only need
// bounds and ordering):
//   - the table parses (magic, version, record size, counts, strings);
//   - the record lies inside .text;
//   - a site is word-aligned, its length ≥ 4 and a multiple of 4;
//   - records are sorted by address and do not overlap;
//   - the site's original word decodes to its recorded kind: an instruction
//     kind's opcode is the word's opcode; pte-/mmio-load is a load and
//     -store a store; lock is `amoswap rd, rd, off(rs1)` (rd = rs2) and
//     unlock `sw`;
//   - regA/regB/imm agree with the word (A, B, and the cr/port number or the
//     low 16 bits of the memory offset);
//   - the original instruction does not use k0 (the rewriter clobbers it);
//   - the padding after it holds exactly what the annotator writes there:
//     `nop`s (so nothing in the slot touches k0, and a record stretched
//     over real instructions is refused instead of having them replaced).
//
// Before any of that, the image's layout (image-check.ts: .text is
// allocated PROGBITS at a word-aligned address, sections in bounds, …) is
// checked, so the offsets computed here are the ones the rewriter uses.

import { disassembleInstruction } from "./disassembler.js";
import { decodeInstructionInto, encodeInstruction, type DecodedInstruction, type MutableDecoded } from "./encoding.js";
import { findSection, SOFTLAYER_SECTION, type ElfImage } from "./elf-types.js";
import { imageLayoutProblem } from "./image-check.js";
import { FORMATS, type FormatName } from "./isa-table.js";
import { K0 } from "./registers.js";
import {
  LOCK_SITE_INSTRUCTION,
  LOCK_SITE_KINDS,
  MEMORY_SITE_KINDS,
  parseSoftlayerColumns,
  parseSoftlayerTable,
  type SiteColumns,
  SITE_FLAG_EXEMPT,
  SoftlayerFormatError,
  siteKindName,
  type SoftlayerTable,
} from "./softlayer.js";

export interface SiteProblem {
  /** Index of the record the problem is about. */
  record?: number;
  addr?: number;
  message: string;
}

export interface SiteValidation {
  problems: SiteProblem[];
  /** The parsed table as columns, when the section exists and parses (what the rewriter reads). */
  columns?: SiteColumns;
  /** The same table as record objects, built on first use. */
  table?: SoftlayerTable;
}

const KNOWN_FLAGS = SITE_FLAG_EXEMPT;
/** Per site kind: 1 when it must hold a load, 2 a store, 0 an instruction of its own opcode. */
const MEMORY_KIND_GROUP = new Uint8Array(256);
for (const [name, k] of Object.entries(MEMORY_SITE_KINDS)) MEMORY_KIND_GROUP[k] = name.endsWith("-load") ? 1 : 2;
const GROUP_NAME = ["", "load", "store"] as const;
/** Per site kind: the mnemonic a lock kind must hold ("" for the other kinds). */
const LOCK_KIND_MNEMONIC: string[] = new Array<string>(256).fill("");
for (const [name, k] of Object.entries(LOCK_SITE_KINDS)) LOCK_KIND_MNEMONIC[k] = LOCK_SITE_INSTRUCTION[name as keyof typeof LOCK_SITE_KINDS];

/** The padding word the annotator writes after a site's instruction (`nop` = `addi zero, zero, 0`). */
export const PADDING_WORD = encodeInstruction("addi", { a: 0, b: 0, imm: 0 });

export function validateSiteTable(image: ElfImage): SiteValidation {
  const layout = imageLayoutProblem(image);
  if (layout !== undefined) return { problems: [{ message: layout }] };
  const section = findSection(image, SOFTLAYER_SECTION);
  if (!section) return { problems: [] };
  let c: SiteColumns;
  try {
    c = parseSoftlayerColumns(section.data.subarray(0, section.size));
  } catch (e) {
    if (!(e instanceof SoftlayerFormatError)) throw e;
    return { problems: [{ record: e.record, message: `malformed ${SOFTLAYER_SECTION} table: ${e.message}` }] };
  }
  const problems: SiteProblem[] = [];
  let table: SoftlayerTable | undefined;
  const result: SiteValidation = {
    problems,
    columns: c,
    get table() {
      return (table ??= parseSoftlayerTable(section.data.subarray(0, section.size)));
    },
  };
  const text = findSection(image, ".text");
  if (!text) {
    if (c.count) problems.push({ message: `${c.count} records but no .text section` });
    return result;
  }
  const textStart = text.addr >>> 0;
  const textEnd = textStart + text.size;
  const view = new DataView(text.data.buffer, text.data.byteOffset, text.data.byteLength);

  // Sorted against the previous record; overlap against the furthest-reaching one before it.
  let reachIndex = -1;
  let reachEnd = 0;
  let index = 0;
  const problem = (message: string) => problems.push({ record: index, addr: c.addr[index], message });
  const insn: MutableDecoded = { row: undefined!, word: 0, a: 0, b: 0, c: 0, imm: 0 };
  for (; index < c.count; index++) {
    const flags = c.flags[index];
    const length = c.length[index];
    const kind = c.kind[index];
    const exempt = (flags & SITE_FLAG_EXEMPT) !== 0;
    if (flags & ~KNOWN_FLAGS) problem(`unknown flags 0x${flags.toString(16)}`);
    const addr = c.addr[index];
    const inBounds = addr >= textStart && addr + length <= textEnd && (length > 0 || addr < textEnd || exempt);
    if (!inBounds) problem(`${exempt ? "exempt region" : "site"} [${hex(addr)}, ${hex(addr + length)}) is outside .text [${hex(textStart)}, ${hex(textEnd)})`);
    if (index > 0 && addr < c.addr[index - 1]) {
      problem(`not sorted: below record ${index - 1} (${hex(c.addr[index - 1])})`);
    } else if (reachIndex >= 0 && addr < reachEnd) {
      problem(`overlaps record ${reachIndex} (${hex(c.addr[reachIndex])}, ${c.length[reachIndex]} bytes)`);
    }
    if (reachIndex < 0 || addr + length > reachEnd) {
      reachIndex = index;
      reachEnd = addr + length;
    }
    if (exempt) continue;

    if ((addr & 3) !== 0) problem("site address is not word-aligned");
    if (length < 4 || (length & 3) !== 0) problem(`site length ${length} is not a positive multiple of 4`);
    if (!inBounds || (addr & 3) !== 0) continue;
    const word = view.getUint32(addr - textStart, true);
    if (!decodeInstructionInto(word, insn)) {
      problem(`${siteKindName(kind)} site: word 0x${word.toString(16).padStart(8, "0")} is not a valid instruction`);
      continue;
    }
    const memGroup = MEMORY_KIND_GROUP[kind];
    const lockMnemonic = LOCK_KIND_MNEMONIC[kind];
    if (lockMnemonic) {
      if (insn.row.mnemonic !== lockMnemonic) problem(`${siteKindName(kind)} site holds '${insn.row.mnemonic}', not '${lockMnemonic}'`);
      else if (FORMAT_FACTS[insn.row.format].regC && insn.c !== insn.a) {
        problem(`${siteKindName(kind)} site's '${insn.row.mnemonic}' swaps a register other than its destination (rs2 must be rd: the record carries only rd)`);
      }
    } else if (memGroup) {
      if (insn.row.group !== GROUP_NAME[memGroup]) problem(`${siteKindName(kind)} site holds '${insn.row.mnemonic}', not a ${GROUP_NAME[memGroup]}`);
    } else if (insn.row.opcode !== kind || !insn.row.sensitive) {
      problem(`${siteKindName(kind)} site holds '${insn.row.mnemonic}'`);
    }
    const recordImm = FORMAT_FACTS[insn.row.format].recordsImm ? insn.imm & 0xffff : 0;
    if (c.regA[index] !== insn.a || c.regB[index] !== insn.b || c.imm[index] !== recordImm) {
      problem(
        `operands disagree with the instruction: record has regA=${c.regA[index]} regB=${c.regB[index]} imm=${c.imm[index]}, ` +
          `'${insn.row.mnemonic}' has regA=${insn.a} regB=${insn.b} imm=${recordImm}`,
      );
    }
    if (usesK0(insn)) problem(`the original '${insn.row.mnemonic}' uses k0, which the soft layer clobbers`);
    // The padding: up to the next record (a record reaching into it is reported as an overlap there).
    const next = index + 1 < c.count ? c.addr[index + 1] : textEnd;
    const padEnd = Math.min(addr + (length & ~3), next > addr ? next : textEnd);
    for (let a = addr + 4; a + 4 <= padEnd; a += 4) {
      const w = view.getUint32(a - textStart, true);
      if (w === PADDING_WORD) continue;
      problem(
        `padding word at ${hex(a)} is '${disassembleInstruction(w, a)}' (0x${w.toString(16).padStart(8, "0")}), not the 'nop' the annotator writes ` +
          `(the padding was changed, or the record's ${length}-byte length reaches over real code the rewriter would overwrite)`,
      );
      break;
    }
  }
  return result;
}

/** Per format, what the checks need, worked out once from the ISA table. */
const FORMAT_FACTS = Object.fromEntries(
  Object.entries(FORMATS).map(([name, fmt]) => [
    name,
    {
      /** Whether a record carries the instruction's cr/port number or memory offset in `imm`. */
      recordsImm: fmt.operands.some((o) => o.kind === "cr" || o.kind === "port" || o.kind === "mem"),
      /** Which fields hold registers (a memory operand's base is in B). */
      regA: fmt.operands.some((o) => o.kind === "reg" && o.field === "A"),
      regB: fmt.operands.some((o) => (o.kind === "reg" && o.field === "B") || o.kind === "mem"),
      regC: fmt.operands.some((o) => o.kind === "reg" && o.field === "C"),
    },
  ]),
) as Record<FormatName, { recordsImm: boolean; regA: boolean; regB: boolean; regC: boolean }>;

function usesK0(insn: DecodedInstruction): boolean {
  const f = FORMAT_FACTS[insn.row.format];
  return (f.regA && insn.a === K0) || (f.regB && insn.b === K0) || (f.regC && insn.c === K0);
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
