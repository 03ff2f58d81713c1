// The G32 CPU: architectural state and the interpreter loop.
//
// Consumes physical memory, the TLB (for the fast paths) and the machine
// around it (`CpuHost`: exceptions, the MMU slow path, ports, monitor exits).
// Produces: executed instructions, cycles (each instruction charged its cost
// class) and the state changes of DESIGN.md §2.
//
// Shape of the loop (why it looks like this):
// - `run(limit)` keeps pc, cycles and the instruction count in locals and
//   returns at `limit` (the next device event or the cycle budget) or right
//   after any instruction that may change what the machine must check between
//   instructions (system instructions, traps, port I/O): the machine loop then
//   fires device events, takes interrupts and calls `run` again.
// - Instruction fetch goes through a one-entry code-page cache (`codeTag`,
//   `codeAdd`), refilled from the TLB when pc leaves the page; it is reset at
//   every entry to `run`, so anything that changes translations or the mode —
//   all slow paths, which return — invalidates it for free.
// - Loads and stores check one TLB tag per access; the tag compare also
//   rejects misaligned addresses, so the fast path is one compare and one
//   typed-array access. Everything else is a method call (the slow path).
// - Legality: `ILLEGAL_BITS[op]` (decode.ts) plus the `default:` case.
// - The `case` labels are literal opcode numbers so V8 compiles the switch to
//   a jump table (imported constants would make it a chain of compares);
//   `HANDLED` below names each one and is checked against the ISA table at
//   load, and `Record<Mnemonic, …>` makes a missing instruction a type error.
// - Instruction semantics that a block-translating JIT will share live in
//   semantics.ts (the ALU ops with edge cases) and in the CpuHost slow paths;
//   the interpreter stays the reference a JIT is differentially tested against.

import { OP, type Mnemonic } from "../guest-isa/isa-table.js";
import { CAUSE, PSR } from "../guest-isa/registers.js";
import { ILLEGAL_BITS } from "./decode.js";
import type { PhysicalMemory } from "./memory.js";
import { ACCESS, type Access, type Fault } from "./monitor.js";
import { TAG_INVALID, type Tlb } from "./mmu/tlb.js";
import { div, divu, mulhu, rem, remu } from "./semantics.js";

/** Opcode of every instruction as the switch below spells it (checked against the table at load). */
export const HANDLED: Readonly<Record<Mnemonic, number>> = {
  add: 1, sub: 2, and: 3, or: 4, xor: 5, sll: 6, srl: 7, sra: 8, slt: 9, sltu: 10,
  mul: 11, mulhu: 12, div: 13, divu: 14, rem: 15, remu: 16,
  addi: 17, andi: 18, ori: 19, xori: 20, slli: 21, srli: 22, srai: 23, slti: 24, sltiu: 25,
  lui: 26, lw: 27, lh: 28, lhu: 29, lb: 30, lbu: 31, sw: 32, sh: 33, sb: 34,
  beq: 35, bne: 36, blt: 37, bge: 38, bltu: 39, bgeu: 40, jal: 41, jalr: 42,
  syscall: 43, brk: 44, hcall: 45,
  cli: 46, sti: 47, hlt: 48, iret: 49, tlbflush: 50, tlbinv: 51, mfcr: 52, mtcr: 53, in: 54, out: 55,
  rdpsr: 56, wrpsr: 57,
};
for (const [m, op] of Object.entries(HANDLED)) {
  if (OP[m as Mnemonic] !== op) throw new Error(`cpu.ts: opcode of ${m} is ${OP[m as Mnemonic]} in the ISA table, ${op} in the interpreter`);
}

/** Ring of control transfers (from, to) for the crash diagnosis; a power of two. */
export const TRACE_PAIRS = 32;
const TRACE_MASK = TRACE_PAIRS * 2 - 1;

/** What the CPU needs from the machine: the slow paths. All may change CPU state. */
export interface CpuHost {
  /** Raises an exception (after undoing the faulting instruction's charge). */
  raise(cause: number, epc: number, badva?: number): void;
  /** TLB miss / permission check / watched page: the MMU slow path. */
  translateAccess(va: number, access: Access, user: boolean): number | Fault;
  /** A store to a watched frame. Returns after the monitor handled it. */
  watchedStore(pa: number, value: number, size: 1 | 2 | 4, va: number, pc: number): void;
  /** Per physical frame: 1 if watched. */
  readonly watched: Uint8Array;
  /** Privileged and sensitive instructions, syscall/brk/hcall: executed by the machine at this.pc. */
  system(op: number, word: number): void;
}

export class Cpu {
  readonly regs = new Int32Array(16);
  pc = 0;
  psr: number = PSR.SU;
  /** Control registers, indexed by CR number. */
  readonly cr = new Int32Array(8);
  /** Cost-model cycles so far (instructions + events + idle). */
  cycles = 0;
  /** Instructions completed. */
  instret = 0;
  /** (from, to) pairs of taken branches, jumps and traps; `traceIdx` is the next slot. */
  readonly trace = new Int32Array(TRACE_PAIRS * 2).fill(-1);
  traceIdx = 0;

  constructor(
    private readonly mem: PhysicalMemory,
    private readonly tlb: Tlb,
    private readonly host: CpuHost,
    /** Cycles per opcode (decode.ts costTable). */
    readonly cost: Float64Array,
  ) {}

  /** Records a control transfer that is not a branch or jump (trap entry, iret). */
  noteTransfer(from: number, to: number): void {
    this.trace[this.traceIdx] = from;
    this.trace[this.traceIdx + 1] = to;
    this.traceIdx = (this.traceIdx + 2) & TRACE_MASK;
  }

  /** Undoes the charge of an instruction that faulted (it did not complete). */
  refund(op: number): void {
    this.cycles -= this.cost[op];
    this.instret--;
  }

  /**
   * Executes instructions until `cycles >= limit` or a slow-path instruction
   * completes. The caller checks interrupts, events and stop conditions.
   */
  run(limit: number): void {
    const regs = this.regs;
    const i32 = this.mem.i32;
    const u16 = this.mem.u16;
    const u8 = this.mem.u8;
    const cost = this.cost;
    const tlb = this.tlb;
    const user = (this.psr & PSR.SU) === 0;
    const tagR = user ? tlb.tagReadUser : tlb.tagReadSup;
    const tagW = user ? tlb.tagWriteUser : tlb.tagWriteSup;
    const addend = tlb.addend;
    const host = this.host;
    const trace = this.trace;
    let tr = this.traceIdx;
    let pc = this.pc;
    let cyc = this.cycles;
    let n = this.instret;
    const illegal = ILLEGAL_BITS;
    const INVALID = TAG_INVALID;
    let codeTag = INVALID;
    let codeAdd = 0;

    while (cyc < limit) {
      // ---- fetch
      if ((pc & 0xfffff003) !== codeTag) {
        const s = (pc >>> 12) & 1023;
        if ((pc & 0xfffff003) === tagR[s]) {
          codeAdd = addend[s];
        } else {
          this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
          if (pc & 3) return host.raise(CAUSE.MISALIGNED, pc, pc);
          const r = host.translateAccess(pc, ACCESS.FETCH, user);
          if (typeof r !== "number") return host.raise(r.cause, pc, r.badva);
          cyc = this.cycles;
          codeAdd = (r - pc) | 0;
        }
        codeTag = pc & 0xfffff000;
      }
      const w = i32[((pc + codeAdd) | 0) >> 2];
      const op = w & 63;
      if ((w & illegal[op]) !== 0) {
        this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
        return host.raise(CAUSE.ILLEGAL_INSTRUCTION, pc);
      }
      cyc += cost[op];
      n++;
      const a = (w >>> 6) & 15;
      const b = (w >>> 10) & 15;

      switch (op) {
        // ---- ALU, register-register: rd = A, rs1 = B, rs2 = C
        case 1: regs[a] = (regs[b] + regs[(w >>> 14) & 15]) | 0; regs[0] = 0; pc = (pc + 4) | 0; break; // add
        case 2: regs[a] = (regs[b] - regs[(w >>> 14) & 15]) | 0; regs[0] = 0; pc = (pc + 4) | 0; break; // sub
        case 3: regs[a] = regs[b] & regs[(w >>> 14) & 15]; regs[0] = 0; pc = (pc + 4) | 0; break; // and
        case 4: regs[a] = regs[b] | regs[(w >>> 14) & 15]; regs[0] = 0; pc = (pc + 4) | 0; break; // or
        case 5: regs[a] = regs[b] ^ regs[(w >>> 14) & 15]; regs[0] = 0; pc = (pc + 4) | 0; break; // xor
        case 6: regs[a] = regs[b] << (regs[(w >>> 14) & 15] & 31); regs[0] = 0; pc = (pc + 4) | 0; break; // sll
        case 7: regs[a] = regs[b] >>> (regs[(w >>> 14) & 15] & 31); regs[0] = 0; pc = (pc + 4) | 0; break; // srl
        case 8: regs[a] = regs[b] >> (regs[(w >>> 14) & 15] & 31); regs[0] = 0; pc = (pc + 4) | 0; break; // sra
        case 9: regs[a] = regs[b] < regs[(w >>> 14) & 15] ? 1 : 0; regs[0] = 0; pc = (pc + 4) | 0; break; // slt
        case 10: regs[a] = regs[b] >>> 0 < regs[(w >>> 14) & 15] >>> 0 ? 1 : 0; regs[0] = 0; pc = (pc + 4) | 0; break; // sltu
        case 11: regs[a] = Math.imul(regs[b], regs[(w >>> 14) & 15]); regs[0] = 0; pc = (pc + 4) | 0; break; // mul
        case 12: regs[a] = mulhu(regs[b], regs[(w >>> 14) & 15]); regs[0] = 0; pc = (pc + 4) | 0; break; // mulhu
        case 13: regs[a] = div(regs[b], regs[(w >>> 14) & 15]); regs[0] = 0; pc = (pc + 4) | 0; break; // div
        case 14: regs[a] = divu(regs[b], regs[(w >>> 14) & 15]); regs[0] = 0; pc = (pc + 4) | 0; break; // divu
        case 15: regs[a] = rem(regs[b], regs[(w >>> 14) & 15]); regs[0] = 0; pc = (pc + 4) | 0; break; // rem
        case 16: regs[a] = remu(regs[b], regs[(w >>> 14) & 15]); regs[0] = 0; pc = (pc + 4) | 0; break; // remu

        // ---- ALU, immediate: rd = A, rs1 = B, imm18 (signed, or 0–31 for shifts)
        case 17: regs[a] = (regs[b] + (w >> 14)) | 0; regs[0] = 0; pc = (pc + 4) | 0; break; // addi
        case 18: regs[a] = regs[b] & (w >> 14); regs[0] = 0; pc = (pc + 4) | 0; break; // andi
        case 19: regs[a] = regs[b] | (w >> 14); regs[0] = 0; pc = (pc + 4) | 0; break; // ori
        case 20: regs[a] = regs[b] ^ (w >> 14); regs[0] = 0; pc = (pc + 4) | 0; break; // xori
        case 21: regs[a] = regs[b] << (w >>> 14); regs[0] = 0; pc = (pc + 4) | 0; break; // slli
        case 22: regs[a] = regs[b] >>> (w >>> 14); regs[0] = 0; pc = (pc + 4) | 0; break; // srli
        case 23: regs[a] = regs[b] >> (w >>> 14); regs[0] = 0; pc = (pc + 4) | 0; break; // srai
        case 24: regs[a] = regs[b] < w >> 14 ? 1 : 0; regs[0] = 0; pc = (pc + 4) | 0; break; // slti
        case 25: regs[a] = regs[b] >>> 0 < (w >> 14) >>> 0 ? 1 : 0; regs[0] = 0; pc = (pc + 4) | 0; break; // sltiu
        case 26: regs[a] = w & 0xfffff000; regs[0] = 0; pc = (pc + 4) | 0; break; // lui

        // ---- loads: rd = A, base = B, signed imm18 offset
        case 27: { // lw
          const va = (regs[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          let pa: number;
          if ((va & 0xfffff003) === tagR[s]) pa = (va + addend[s]) | 0;
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            const r = this.dataSlow(va, 4, ACCESS.LOAD, user, op);
            if (r < 0) return;
            pa = r; cyc = this.cycles; codeTag = INVALID;
          }
          regs[a] = i32[pa >> 2]; regs[0] = 0; pc = (pc + 4) | 0; break;
        }
        case 28: case 29: { // lh, lhu
          const va = (regs[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          let pa: number;
          if ((va & 0xfffff001) === tagR[s]) pa = (va + addend[s]) | 0;
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            const r = this.dataSlow(va, 2, ACCESS.LOAD, user, op);
            if (r < 0) return;
            pa = r; cyc = this.cycles; codeTag = INVALID;
          }
          regs[a] = op === 28 ? (u16[pa >> 1] << 16) >> 16 : u16[pa >> 1]; regs[0] = 0; pc = (pc + 4) | 0; break;
        }
        case 30: case 31: { // lb, lbu
          const va = (regs[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          let pa: number;
          if ((va & 0xfffff000) === tagR[s]) pa = (va + addend[s]) | 0;
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            const r = this.dataSlow(va, 1, ACCESS.LOAD, user, op);
            if (r < 0) return;
            pa = r; cyc = this.cycles; codeTag = INVALID;
          }
          regs[a] = op === 30 ? (u8[pa] << 24) >> 24 : u8[pa]; regs[0] = 0; pc = (pc + 4) | 0; break;
        }

        // ---- stores: value = A, base = B, signed imm18 offset
        case 32: { // sw
          const va = (regs[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff003) === tagW[s]) i32[((va + addend[s]) | 0) >> 2] = regs[a];
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            if (!this.storeSlow(va, regs[a], 4, user, op)) return;
            cyc = this.cycles; codeTag = INVALID;
          }
          pc = (pc + 4) | 0; break;
        }
        case 33: { // sh
          const va = (regs[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff001) === tagW[s]) u16[((va + addend[s]) | 0) >> 1] = regs[a];
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            if (!this.storeSlow(va, regs[a], 2, user, op)) return;
            cyc = this.cycles; codeTag = INVALID;
          }
          pc = (pc + 4) | 0; break;
        }
        case 34: { // sb
          const va = (regs[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff000) === tagW[s]) u8[(va + addend[s]) | 0] = regs[a];
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            if (!this.storeSlow(va, regs[a], 1, user, op)) return;
            cyc = this.cycles; codeTag = INVALID;
          }
          pc = (pc + 4) | 0; break;
        }

        // ---- branches: rs1 = A, rs2 = B, word offset in imm18
        case 35: if (regs[a] === regs[b]) { const t = (pc + ((w >> 14) << 2)) | 0; trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // beq
        case 36: if (regs[a] !== regs[b]) { const t = (pc + ((w >> 14) << 2)) | 0; trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bne
        case 37: if (regs[a] < regs[b]) { const t = (pc + ((w >> 14) << 2)) | 0; trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // blt
        case 38: if (regs[a] >= regs[b]) { const t = (pc + ((w >> 14) << 2)) | 0; trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bge
        case 39: if (regs[a] >>> 0 < regs[b] >>> 0) { const t = (pc + ((w >> 14) << 2)) | 0; trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bltu
        case 40: if (regs[a] >>> 0 >= regs[b] >>> 0) { const t = (pc + ((w >> 14) << 2)) | 0; trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bgeu

        // ---- jumps
        case 41: { // jal: rd = A, word offset in imm22
          const t = (pc + ((w >> 10) << 2)) | 0;
          regs[a] = (pc + 4) | 0; regs[0] = 0;
          trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK;
          pc = t; break;
        }
        case 42: { // jalr: rd = A, base = B, imm18; a misaligned target faults at the jalr
          const t = (regs[b] + (w >> 14)) | 0;
          if (t & 3) {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            this.refund(op);
            return host.raise(CAUSE.MISALIGNED, pc, t);
          }
          regs[a] = (pc + 4) | 0; regs[0] = 0;
          trace[tr] = pc; trace[tr + 1] = t; tr = (tr + 2) & TRACE_MASK;
          pc = t; break;
        }

        // ---- traps, privileged and sensitive instructions: the machine's slow path
        default:
          this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
          if (op < HANDLED.syscall || op > HANDLED.wrpsr) {
            this.refund(op); // cost 0 for unused opcodes, but keep the count right
            return host.raise(CAUSE.ILLEGAL_INSTRUCTION, pc);
          }
          host.system(op, w);
          return;
      }
    }
    this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
  }

  /** Load slow path: alignment, TLB miss, permissions. A physical address, or -1 once the fault is raised. */
  private dataSlow(va: number, size: number, access: Access, user: boolean, op: number): number {
    if (va & (size - 1)) {
      this.refund(op);
      this.host.raise(CAUSE.MISALIGNED, this.pc, va);
      return -1;
    }
    const r = this.host.translateAccess(va, access, user);
    if (typeof r !== "number") {
      this.refund(op);
      this.host.raise(r.cause, this.pc, r.badva);
      return -1;
    }
    return r;
  }

  /** Store slow path: also stores to watched frames. False when the loop must return. */
  private storeSlow(va: number, value: number, size: 1 | 2 | 4, user: boolean, op: number): boolean {
    const pa = this.dataSlow(va, size, ACCESS.STORE, user, op);
    if (pa < 0) return false;
    if (this.host.watched[pa >>> 12] === 1) {
      this.host.watchedStore(pa, value, size, va, this.pc);
      this.pc = (this.pc + 4) | 0;
      return false;
    }
    if (size === 4) this.mem.i32[pa >>> 2] = value;
    else if (size === 2) this.mem.u16[pa >>> 1] = value;
    else this.mem.u8[pa] = value;
    return true;
  }
}
