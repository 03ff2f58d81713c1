// Encoder and decoder for G32 instruction words, driven by the ISA table
// (isa-table.ts, which draws the field layout). The emulator decodes with the
// same field positions inline for speed; test/guest-isa/encoding.test.ts keeps
// the two in step by round-tripping every row.

import { BY_OPCODE, FORMATS, immRange, lookupInstruction, type Field, type InstructionRow } from "./isa-table.js";

/** The raw fields of an instruction word. Unused fields are 0. */
export interface InstructionFields {
  a: number;
  b: number;
  c: number;
  /** The immediate as a number: sign-extended for signed ranges and pc-relative fields (in bytes for labels). */
  imm: number;
}

export interface DecodedInstruction extends InstructionFields {
  readonly row: InstructionRow;
  readonly word: number;
}

export const opcodeOf = (word: number): number => word & 0x3f;
export const fieldA = (word: number): number => (word >>> 6) & 0xf;
export const fieldB = (word: number): number => (word >>> 10) & 0xf;
export const fieldC = (word: number): number => (word >>> 14) & 0xf;

/** Which immediate field a row uses, if any, and whether it is pc-relative (a word offset). */
export function immField(row: InstructionRow): { field: Field; pcRelative: boolean } | undefined {
  for (const op of FORMATS[row.format].operands) {
    if (op.field === "imm18" || op.field === "imm22" || op.field === "imm20" || op.field === "imm14") {
      return { field: op.field, pcRelative: op.kind === "label" };
    }
  }
  return undefined;
}

/** The byte-offset range a pc-relative field reaches (branch ±512 KiB, jal ±8 MiB). */
export function pcRelativeRange(field: Field): { min: number; max: number } {
  const bits = field === "imm22" ? 22 : 18;
  return { min: -(2 ** (bits - 1)) * 4, max: (2 ** (bits - 1) - 1) * 4 };
}

/**
 * Encodes one instruction. For a pc-relative operand, `imm` is the byte
 * offset from the instruction's own address. Throws on values the caller was
 * supposed to have checked (the assembler reports ranges as diagnostics first).
 */
export function encodeInstruction(mnemonicOrRow: string | InstructionRow, f: Partial<InstructionFields> = {}): number {
  const row = typeof mnemonicOrRow === "string" ? lookupInstruction(mnemonicOrRow) : mnemonicOrRow;
  if (!row) throw new Error(`encodeInstruction: unknown mnemonic ${String(mnemonicOrRow)}`);
  const a = f.a ?? 0, b = f.b ?? 0, c = f.c ?? 0, imm = f.imm ?? 0;
  for (const [name, v] of [["a", a], ["b", b], ["c", c]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 15) throw new Error(`encodeInstruction: ${row.mnemonic}: register field ${name}=${v}`);
  }
  let word = row.opcode | (a << 6) | (b << 10) | (c << 14);
  const imf = immField(row);
  if (imf) {
    if (imf.pcRelative) {
      const r = pcRelativeRange(imf.field);
      if (imm % 4 !== 0 || imm < r.min || imm > r.max) throw new Error(`encodeInstruction: ${row.mnemonic}: offset ${imm} out of range`);
      const words = imm / 4;
      word |= imf.field === "imm22" ? (words & 0x3fffff) << 10 : (words & 0x3ffff) << 14;
    } else {
      const r = immRange(row);
      if (!Number.isInteger(imm) || imm < r.min || imm > r.max) {
        throw new Error(`encodeInstruction: ${row.mnemonic}: immediate ${imm} out of range ${r.min}..${r.max}`);
      }
      word |= imf.field === "imm20" ? (imm & 0xfffff) << 12 : imf.field === "imm14" ? (imm & 0x3fff) << 18 : (imm & 0x3ffff) << 14;
    }
  } else if (imm !== 0) {
    throw new Error(`encodeInstruction: ${row.mnemonic} takes no immediate`);
  }
  return (word & (FORMATS[row.format].usedMask | 0x3f)) >>> 0;
}

/** How to decode one opcode, worked out once from its row: what `decodeInstruction` does per word. */
interface DecodePlan {
  readonly row: InstructionRow;
  /** Bits that must be zero. */
  readonly mustBeZero: number;
  readonly imm: "none" | "imm22" | "imm20" | "pcrel18" | "signed18" | "unsigned18" | "signed14";
  readonly min: number;
  readonly max: number;
  readonly a: boolean;
  readonly b: boolean;
  readonly c: boolean;
}

const DECODE_PLANS: readonly (DecodePlan | undefined)[] = BY_OPCODE.map((row) => {
  if (!row) return undefined;
  const fmt = FORMATS[row.format];
  const imf = immField(row);
  const range = immRange(row);
  const has = (f: Field) => fmt.operands.some((o) => (o.kind === "reg" && o.field === f) || (o.kind === "mem" && f === "B"));
  const imm: DecodePlan["imm"] = !imf
    ? "none"
    : imf.field === "imm22"
      ? "imm22"
      : imf.field === "imm20"
        ? "imm20"
        : imf.field === "imm14"
          ? "signed14"
          : imf.pcRelative
          ? "pcrel18"
          : range.min < 0
            ? "signed18"
            : "unsigned18";
  // Report only the register fields the format has: C overlaps imm18, B overlaps imm20 and imm22 (imm14 overlaps none).
  return { row, mustBeZero: ~(fmt.usedMask | 0x3f), imm, min: range.min, max: range.max, a: has("A"), b: has("B"), c: has("C") };
});

/** Decodes a word; undefined for an illegal instruction (unknown opcode or non-zero unused bits). */
export function decodeInstruction(word: number): DecodedInstruction | undefined {
  const d: MutableDecoded = { row: undefined!, word: 0, a: 0, b: 0, c: 0, imm: 0 };
  return decodeInstructionInto(word, d) ? d : undefined;
}

export type MutableDecoded = { -readonly [K in keyof DecodedInstruction]: DecodedInstruction[K] };

/**
 * decodeInstruction without allocating: fills `d` and returns true, or
 * returns false for an illegal word (leaving `d` unspecified). For loops
 * over many words (the site-table validator).
 */
export function decodeInstructionInto(word: number, d: MutableDecoded): boolean {
  word >>>= 0;
  const plan = DECODE_PLANS[word & 0x3f];
  if (!plan || (word & plan.mustBeZero) !== 0) return false;
  let imm = 0;
  switch (plan.imm) {
    case "none":
      break;
    case "imm22":
      imm = (word >> 10) * 4;
      break;
    case "imm20":
      imm = word >>> 12;
      break;
    case "pcrel18":
      imm = (word >> 14) * 4;
      break;
    case "signed14":
      imm = word >> 18;
      break;
    case "signed18":
    case "unsigned18":
      imm = plan.imm === "signed18" ? word >> 14 : word >>> 14;
      if (imm < plan.min || imm > plan.max) return false; // e.g. a shift amount above 31
      break;
  }
  d.row = plan.row;
  d.word = word;
  d.a = plan.a ? fieldA(word) : 0;
  d.b = plan.b ? fieldB(word) : 0;
  d.c = plan.c ? fieldC(word) : 0;
  d.imm = imm;
  return true;
}
