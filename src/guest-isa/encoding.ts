// Encoder and decoder for G32 instruction words, driven by the ISA table
// (isa-table.ts, which draws the field layout). The emulator decodes with the
// same field positions inline for speed; test/guest-isa/encoding.test.ts keeps
// the two in step by round-tripping every row.

import { BY_OPCODE, FORMATS, immRange, lookupInstruction, type Field, type FormatName, type InstructionRow } from "./isa-table.js";

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
    if (op.field === "imm18" || op.field === "imm22" || op.field === "imm20") {
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
      word |= imf.field === "imm20" ? (imm & 0xfffff) << 12 : (imm & 0x3ffff) << 14;
    }
  } else if (imm !== 0) {
    throw new Error(`encodeInstruction: ${row.mnemonic} takes no immediate`);
  }
  return (word & (FORMATS[row.format].usedMask | 0x3f)) >>> 0;
}

/** Decodes a word; undefined for an illegal instruction (unknown opcode or non-zero unused bits). */
export function decodeInstruction(word: number): DecodedInstruction | undefined {
  word >>>= 0;
  const row = BY_OPCODE[word & 0x3f];
  if (!row) return undefined;
  const fmt = FORMATS[row.format];
  if ((word & ~(fmt.usedMask | 0x3f)) !== 0) return undefined;
  let imm = 0;
  const imf = immField(row);
  if (imf) {
    if (imf.field === "imm22") imm = (word >> 10) * 4;
    else if (imf.field === "imm20") imm = word >>> 12;
    else if (imf.pcRelative) imm = (word >> 14) * 4;
    else imm = immRange(row).min < 0 ? word >> 14 : word >>> 14;
    if (!imf.pcRelative) {
      const r = immRange(row);
      if (imm < r.min || imm > r.max) return undefined; // e.g. a shift amount above 31
    }
  }
  // Report only the register fields the format has: C overlaps imm18, B overlaps imm20 and imm22.
  const regs = REGISTER_FIELDS[row.format];
  const a = regs.A ? fieldA(word) : 0;
  const b = regs.B ? fieldB(word) : 0;
  const c = regs.C ? fieldC(word) : 0;
  return { row, word, a, b, c, imm };
}

/** Per format: which of the register fields A, B, C hold registers ("mem" keeps its base in B). */
const REGISTER_FIELDS = Object.fromEntries(
  Object.entries(FORMATS).map(([name, fmt]) => {
    const has = (f: Field) => fmt.operands.some((o) => (o.kind === "reg" && o.field === f) || (o.kind === "mem" && f === "B"));
    return [name, { A: has("A"), B: has("B"), C: has("C") }];
  }),
) as Record<FormatName, { A: boolean; B: boolean; C: boolean }>;

