// The emulator's fast decoder: per-opcode tables derived from the ISA table
// (src/guest-isa/isa-table.ts), so the CPU decodes with a mask and shifts
// inline and never calls decodeInstruction on the hot path.
//
// Legality is one test: `(word & ILLEGAL_BITS[word & 63]) !== 0` means a
// field the instruction does not use is non-zero, or an unsigned immediate
// is out of its range (a shift amount above 31, a control register above 7,
// a port above 0xFFFF) — exactly the words decodeInstruction rejects. Unused
// opcodes are caught by the CPU's `default:` case (ILLEGAL_BITS is 0 there).
// test/machine/decode.test.ts checks this against decodeInstruction over
// every opcode and many random words.

import { BY_OPCODE, FORMATS, immRange, type InstructionRow } from "../guest-isa/isa-table.js";
import { immField } from "../guest-isa/encoding.js";
import type { CostModel } from "./cost-model.js";

const OPCODE_BITS = 0x3f;
const IMM18_SHIFT = 14;

function allowedBits(row: InstructionRow): number {
  let used = FORMATS[row.format].usedMask | OPCODE_BITS;
  const imf = immField(row);
  if (imf && !imf.pcRelative && imf.field === "imm18") {
    const r = immRange(row);
    if (r.min >= 0 && r.max < (1 << 18) - 1) {
      // An unsigned range 0..2^k-1 is "the low k bits of the field".
      const k = Math.log2(r.max + 1);
      if (!Number.isInteger(k)) throw new Error(`decode: ${row.mnemonic}: range 0..${r.max} is not 0..2^k-1`);
      used = (used & ~(0x3ffff << IMM18_SHIFT)) | (((1 << k) - 1) << IMM18_SHIFT);
    }
  }
  return used;
}

/** Bits that must be zero, per opcode. */
export const ILLEGAL_BITS: Int32Array = (() => {
  const t = new Int32Array(64);
  for (let op = 0; op < 64; op++) {
    const row = BY_OPCODE[op];
    if (row) t[op] = ~allowedBits(row);
  }
  return t;
})();

/** Whether the CPU treats `word` as a legal instruction (same test as its hot loop). */
export function isLegalWord(word: number): boolean {
  const op = word & OPCODE_BITS;
  return BY_OPCODE[op] !== undefined && (word & ILLEGAL_BITS[op]) === 0;
}

// Field extraction, exactly as the CPU writes it inline (see the diagram in isa-table.ts).
export const fieldRd = (w: number): number => (w >>> 6) & 15; // A
export const fieldRs1 = (w: number): number => (w >>> 10) & 15; // B
export const fieldRs2 = (w: number): number => (w >>> 14) & 15; // C
export const immSigned18 = (w: number): number => w >> 14;
export const immUnsigned18 = (w: number): number => w >>> 14;
export const branchOffset = (w: number): number => (w >> 14) << 2;
export const jalOffset = (w: number): number => (w >> 10) << 2;
export const luiValue = (w: number): number => w & 0xfffff000;

/**
 * Cycles per opcode from the cost model (0 for unused opcodes, which never
 * complete). Every instruction costs at least one cycle, whatever the model
 * says: the CPU's loop runs until the cycle budget, which a 0-cycle
 * instruction would never advance (cost-model.ts refuses such a model; this
 * is the second line of defence).
 */
export function costTable(model: CostModel): Float64Array {
  const t = new Float64Array(64);
  for (let op = 0; op < 64; op++) {
    const row = BY_OPCODE[op];
    if (row) t[op] = Math.max(1, model[row.cost]);
  }
  return t;
}
