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

/** Cycles per opcode from the cost model (0 for unused opcodes). */
export function costTable(model: CostModel): Float64Array {
  const t = new Float64Array(64);
  for (let op = 0; op < 64; op++) {
    const row = BY_OPCODE[op];
    if (row) t[op] = model[row.cost];
  }
  return t;
}

// ---- The predecoded code cache (cpu.ts's block loop)
//
// Physical code pages are cached, direct-mapped by frame number, in a region
// after RAM in physical memory's buffer (memory.ts), so the hot loop reads
// them through the same `heap32` as RAM. One cached page is CODE_STRIDE
// int32s:
//
//     [2k]     the word at slot k (0–1023), or 0 (an unused opcode: the CPU
//              raises illegal instruction, uncharged) when the word is illegal
//     [2k+1]   meta: (cycles of slots k..end) << META_LEN_BITS | (end - k + 1),
//              `end` = the first slot ≥ k that ends a block (a branch, jump,
//              trap/system/illegal word, or slot 1023)
//     [2048]   OP_PAGE_END: a pseudo-instruction that sends the loop to the
//              next page's block entry;  [2049] unused
//
// Meta depends only on the words of the page, so a store into a cached page
// re-decodes the words it touched and the metas before them back to the
// previous block end (`predecode`'s backward pass).

/** Cached pages (a power of two). */
export const CODE_SLOTS = 128;
/** Int32s per cached page. */
export const CODE_STRIDE = 2 * 1024 + 2;
export const CODE_CACHE_WORDS = CODE_SLOTS * CODE_STRIDE;
/** The page-end pseudo-opcode (63 is unused; a real word with opcode 63 is stored as 0). */
export const OP_PAGE_END = 63;
/** Low bits of meta holding the block length (up to 1024). */
export const META_LEN_BITS = 11;
const META_LEN_MASK = (1 << META_LEN_BITS) - 1;
/** Opcodes 1–34 (ALU, loads, stores) never end a block. */
const LAST_STRAIGHT_OP = 34;

/**
 * Whether block accounting is exact for this cost table: every cost an
 * integer small enough for meta (sums of integers are exact in float64, so
 * charging a block at once equals charging its instructions one by one).
 */
export function blockCostsExact(cost: Float64Array): boolean {
  return cost.every((c) => Number.isInteger(c) && c >= 0 && c <= 2047);
}

/**
 * Re-decodes slots [lo, hi) of a cached page at heap index `base` from the
 * page in RAM at heap index `ram`, then recomputes the metas that can depend
 * on them: from hi-1 down to the first block end below lo.
 */
export function predecode(H: Int32Array, base: number, ram: number, lo: number, hi: number, cost: Float64Array): void {
  for (let k = lo; k < hi; k++) {
    const w = H[ram + k];
    const op = w & OPCODE_BITS;
    H[base + 2 * k] = op === OP_PAGE_END || (w & ILLEGAL_BITS[op]) !== 0 ? 0 : w;
  }
  H[base + 2048] = OP_PAGE_END;
  for (let k = hi - 1; k >= 0; k--) {
    const op = H[base + 2 * k] & OPCODE_BITS;
    const c = cost[op];
    const ends = op === 0 || op > LAST_STRAIGHT_OP || k === 1023;
    if (ends) H[base + 2 * k + 1] = (c << META_LEN_BITS) | 1;
    else {
      const next = H[base + 2 * k + 3];
      H[base + 2 * k + 1] = (((next >>> META_LEN_BITS) + c) << META_LEN_BITS) | ((next & META_LEN_MASK) + 1);
    }
    if (ends && k < lo) break;
  }
}
