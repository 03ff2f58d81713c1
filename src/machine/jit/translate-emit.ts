// The translator's instruction table: per ISA-table mnemonic, how the
// JavaScript code generator (translate-generate.ts) emits the instruction,
// or null when only the interpreter runs it.
//
// Consumes the ISA table (guest-isa/isa-table.ts), the decoder's legality
// table (decode.ts ILLEGAL_BITS) and the PSR layout. Produces `BY_OP` (per
// opcode: the instruction's kind and, for ALU operations, branches, loads
// and stores, its expression or access size), `translatable` (whether a
// word is translated at all: block discovery, translate-blocks.ts, ends a
// block before any other), and the register, load and store expressions
// the generator writes. `EMIT` is a Record<Mnemonic, …>, the one place a
// new instruction must be translated or refused: it is a type error until
// it is one or the other, and a check at load compares the translated set
// with the ISA table's groups.

import { BY_OPCODE, OP, type Mnemonic } from "../../guest-isa/isa-table.js";
import { CR, PSR } from "../../guest-isa/registers.js";
import { ILLEGAL_BITS } from "../decode.js";

type Kind = "alu" | "load" | "store" | "amo" | "pause" | "branch" | "jal" | "jalr" | "sys" | "sysret";

/** Per mnemonic: how the translator emits it, or null when only the interpreter runs it. */
interface Emit {
  kind: Kind;
  /** alu: the int32 expression of the result from B, C (registers as JS expressions) and the immediate fields. */
  expr?: (b: string, c: string, w: number) => string;
  /** load/store: access size, alignment mask for the tag compare, and the heap access. */
  size?: 1 | 2 | 4;
  /** branch: the condition on (A, B). */
  cond?: (a: string, b: string) => string;
}

export const imm = (w: number) => w >> 14;
const uimm = (w: number) => w >>> 14;
const alu = (expr: (b: string, c: string, w: number) => string): Emit => ({ kind: "alu", expr });

/** The interpreter's expressions (cpu.ts exec), as code. */
const EMIT: Readonly<Record<Mnemonic, Emit | null>> = {
  add: alu((b, c) => `(${b} + ${c}) | 0`),
  sub: alu((b, c) => `(${b} - ${c}) | 0`),
  and: alu((b, c) => `${b} & ${c}`),
  or: alu((b, c) => `${b} | ${c}`),
  xor: alu((b, c) => `${b} ^ ${c}`),
  sll: alu((b, c) => `${b} << (${c} & 31)`),
  srl: alu((b, c) => `(${b} >>> (${c} & 31)) | 0`),
  sra: alu((b, c) => `${b} >> (${c} & 31)`),
  slt: alu((b, c) => `${b} < ${c} ? 1 : 0`),
  sltu: alu((b, c) => `${b} >>> 0 < ${c} >>> 0 ? 1 : 0`),
  mul: alu((b, c) => `Math.imul(${b}, ${c})`),
  mulhu: alu((b, c) => `mulhu(${b}, ${c})`),
  div: alu((b, c) => `div(${b}, ${c})`),
  divu: alu((b, c) => `divu(${b}, ${c})`),
  rem: alu((b, c) => `rem(${b}, ${c})`),
  remu: alu((b, c) => `remu(${b}, ${c})`),
  addi: alu((b, _, w) => `(${b} + ${imm(w)}) | 0`),
  andi: alu((b, _, w) => `${b} & ${imm(w)}`),
  ori: alu((b, _, w) => `${b} | ${imm(w)}`),
  xori: alu((b, _, w) => `${b} ^ ${imm(w)}`),
  slli: alu((b, _, w) => `${b} << ${uimm(w)}`),
  srli: alu((b, _, w) => `(${b} >>> ${uimm(w)}) | 0`),
  srai: alu((b, _, w) => `${b} >> ${uimm(w)}`),
  slti: alu((b, _, w) => `${b} < ${imm(w)} ? 1 : 0`),
  sltiu: alu((b, _, w) => `${b} >>> 0 < ${imm(w) >>> 0} ? 1 : 0`),
  lui: alu((_, __, w) => `${w & 0xfffff000}`),
  lw: { kind: "load", size: 4 },
  lh: { kind: "load", size: 2 },
  lhu: { kind: "load", size: 2 },
  lb: { kind: "load", size: 1 },
  lbu: { kind: "load", size: 1 },
  sw: { kind: "store", size: 4 },
  sh: { kind: "store", size: 2 },
  sb: { kind: "store", size: 1 },
  amoswap: { kind: "amo" },
  amoadd: { kind: "amo" },
  pause: { kind: "pause" },
  beq: { kind: "branch", cond: (a, b) => `${a} === ${b}` },
  bne: { kind: "branch", cond: (a, b) => `${a} !== ${b}` },
  blt: { kind: "branch", cond: (a, b) => `${a} < ${b}` },
  bge: { kind: "branch", cond: (a, b) => `${a} >= ${b}` },
  bltu: { kind: "branch", cond: (a, b) => `${a} >>> 0 < ${b} >>> 0` },
  bgeu: { kind: "branch", cond: (a, b) => `${a} >>> 0 >= ${b} >>> 0` },
  jal: { kind: "jal" },
  jalr: { kind: "jalr" },
  // System instructions that touch only the CPU's psr and control registers: translated, with
  // a run-time check for the monitor's exit mask and (privileged ones) supervisor mode.
  // "sysret": the translation returns to the machine loop after it (interrupts, mode).
  cli: { kind: "sys" },
  mfcr: { kind: "sys" },
  mtcr: { kind: "sys" }, // not of ptbr or pgctl (TLB flush): `translatable`
  rdpsr: { kind: "sys" },
  sti: { kind: "sysret" },
  wrpsr: { kind: "sysret" },
  // Traps, the other privileged instructions: the machine's slow path, always.
  syscall: null, brk: null, hcall: null,
  hlt: null, iret: null, tlbflush: null, tlbinv: null, in: null, out: null,
};

/** Per opcode: the Emit of its row, null for the interpreter only (and for unused opcodes). */
export const BY_OP: readonly (Emit | null)[] = Array.from({ length: 64 }, (_, op) => {
  const row = BY_OPCODE[op];
  return row ? EMIT[row.mnemonic as Mnemonic] : null;
});
for (const row of BY_OPCODE) {
  if (!row) continue;
  const e = EMIT[row.mnemonic as Mnemonic];
  const slow = row.group === "trap" || row.privileged || row.sensitive;
  const sys = e !== null && (e.kind === "sys" || e.kind === "sysret");
  if ((e === null || sys) !== slow) throw new Error(`jit: ${row.mnemonic} is ${slow ? "a slow-path" : "an ordinary"} instruction in the ISA table but ${e ? "translated as one" : "not translated"}`);
}

/** Processor status bits (guest-isa/registers.ts PSR) as the translated system instructions use them. */
export const PSR_IE = PSR.IE;
export const PSR_SU = PSR.SU;
export const UF_AND_MODE = PSR.IE | PSR.SU | PSR.UF_MASK;

/** A guest register as a JavaScript expression (r0 reads 0), and each load and store opcode's heap access. */
export const reg = (r: number) => (r === 0 ? "0" : `r${r}`);
export const LOAD_EXPR: Record<number, (p: string) => string> = {
  27: (p) => `H[${p} >> 2]`,
  28: (p) => `(U16[${p} >> 1] << 16) >> 16`,
  29: (p) => `U16[${p} >> 1]`,
  30: (p) => `(U8[${p}] << 24) >> 24`,
  31: (p) => `U8[${p}]`,
};
export const STORE_STMT: Record<number, (p: string, v: string) => string> = {
  32: (p, v) => `H[${p} >> 2] = ${v};`,
  33: (p, v) => `U16[${p} >> 1] = ${v};`,
  34: (p, v) => `U8[${p}] = ${v};`,
};

/** Whether the translator emits the word (legal, and not an instruction only the interpreter runs). */
export function translatable(word: number): boolean {
  const op = word & 63;
  if (BY_OP[op] === null || (word & ILLEGAL_BITS[op]) !== 0) return false;
  // mtcr ptbr / pgctl flush the TLB: the interpreter's.
  if (op === OP.mtcr) {
    const cr = word >>> 14;
    return cr !== CR.ptbr && cr !== CR.pgctl;
  }
  return true;
}
