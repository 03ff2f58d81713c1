// The G32 CPU: architectural state and the interpreter loop.
//
// Consumes physical memory, the TLB (for the fast paths) and the machine
// around it (`CpuHost`: exceptions, the MMU slow path, ports, monitor exits).
// Produces: executed instructions, cycles (each instruction charged its cost
// class) and the state changes of docs/design.md §2.
//
// Shape of the loop (why it looks like this):
// - `run(limit)` returns at `limit` (the next device event or the cycle
//   budget) or right after any instruction that may change what the machine
//   must check between instructions (system instructions, traps, port I/O):
//   the machine loop then fires device events, takes interrupts and calls
//   `run` again.
// - The hot loop is `exec`, with pc, cycles and the instruction count in
//   (untagged) locals. No path that loops back in it calls out: a TLB miss
//   on fetch, load or store *returns* an EXIT code to `run`, which does the
//   slow path (walk, fault, watched store) and calls `exec` again. V8 then
//   keeps the loop's knowledge of its arrays across iterations (with a call
//   on a back edge it re-checked every typed array's map at every use).
// - One Int32Array, `heap32`, holds the registers (indexes 0–15, so a
//   register is `H[r]`), the TLB's fast tags and addends, the trace ring,
//   the legality table, and RAM (memory.ts): one map check per instruction.
//   TLB addends and the code-page cache give heap byte indexes, not
//   physical addresses (physical + RAM_BASE).
// - Instruction fetch goes through a one-entry code-page cache (`codeTag`,
//   `codeAdd`), refilled from the TLB when pc leaves the page; `run` resets
//   it at every entry and after every slow path, so anything that changes
//   translations or the mode invalidates it for free. Fetch reads the word
//   from RAM each time (no predecoded copy), so stores — the guest's own,
//   the loader's, a monitor's through `machine.memory` — are seen by the
//   next fetch with nothing to invalidate.
// - Loads and stores check one TLB tag per access; the tag compare also
//   rejects misaligned addresses, so the fast path is one compare and one
//   typed-array access.
// - Pages with no read tag (protection-checked frames, e.g. the in-place
//   VMM's code) are fetched through the TLB's `fetchTag` (fetches are never
//   checked), so entering them does not leave the loop.
// - Before the first guest, machine.ts runs warm-up.ts's training program so
//   V8 optimizes this loop once, with feedback from every path.
// - Legality: `ILLEGAL_BITS[op]` (decode.ts, copied into the heap) plus the `default:` case.
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
import { RAM_BASE, type PhysicalMemory } from "./memory.js";
import { ACCESS, type Access, type Fault } from "./monitor.js";
import { PAGE_MASK, TAG_INVALID, Tlb } from "./mmu/tlb.js";
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
  amoswap: 58, amoadd: 59, pause: 60,
};
for (const [m, op] of Object.entries(HANDLED)) {
  if (OP[m as Mnemonic] !== op) throw new Error(`cpu.ts: opcode of ${m} is ${OP[m as Mnemonic]} in the ISA table, ${op} in the interpreter`);
}

/** Ring of control transfers (from, to) for the crash diagnosis; a power of two. */
export const TRACE_PAIRS = 32;
const TRACE_MASK = TRACE_PAIRS * 2 - 1;

/**
 * The smallest limit above `cycles` that float64 can tell from it: `run`
 * to it executes one instruction, at any clock (reference slicing, safe points).
 */
export function justAbove(cycles: number): number {
  return cycles + Math.max(1e-9, Math.abs(cycles) * 4 * Number.EPSILON);
}

/** Why `exec` returned to `run`. */
const EXIT = {
  /** `run` returns to the machine loop (limit reached, system instruction done, exception raised). */
  RETURN: 0,
  /** The fetch at `pc` missed the TLB's fast tag. */
  FETCH: 1,
  /** The load at `pc` (`exitWord`) needs the slow path; the instruction is charged. */
  LOAD: 2,
  /** The store at `pc` (`exitWord`) needs the slow path; the instruction is charged. */
  STORE: 3,
} as const;

/** The value a load opcode reads at physical `pa` (the load slow path). */
function loadValue(mem: PhysicalMemory, op: number, pa: number): number {
  switch (op) {
    case 27: return mem.i32[pa >> 2]; // lw
    case 28: return (mem.u16[pa >> 1] << 16) >> 16; // lh
    case 29: return mem.u16[pa >> 1]; // lhu
    case 30: return (mem.u8[pa] << 24) >> 24; // lb
    default: return mem.u8[pa]; // lbu
  }
}

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
  /** Per physical frame: 1 if a protection domain restricts a word in it (protection/). */
  readonly checked: Uint8Array;
  /** Whether the instruction at `pc` may load (`write` false) or store at physical `pa`: the protection check. */
  allows(pc: number, pa: number, write: boolean): boolean;
  /** `allows`' answer without its side effects (no counter, no PLB fill, no charge). */
  permits(pc: number, pa: number, write: boolean): boolean;
  /** Privileged and sensitive instructions, syscall/brk/hcall: executed by the machine at this.pc. */
  system(op: number, word: number): void;
  /**
   * A load (`store` false: returns the value) or store of `size` bytes at
   * physical `pa` beyond RAM — the device window (docs/machine.md "MMIO") —
   * or the Fault it raises (a bus error for a size or mode the device refuses).
   */
  mmio(pa: number, size: number, store: boolean, value: number, user: boolean): number | Fault;
}

export class Cpu {
  /** r0–r15: a view into physical memory's tail (memory.ts), so the loop reaches it through `heap32`. */
  readonly regs: Int32Array;
  pc = 0;
  psr: number = PSR.SU;
  /** Control registers, indexed by CR number. */
  readonly cr = new Int32Array(8);
  /** Cost-model cycles so far (instructions + events + idle). */
  cycles = 0;
  /** Instructions completed. */
  instret = 0;
  /** `pause` instructions completed (a hypervisor may look at spinning; no architectural effect). */
  pauses = 0;
  /**
   * Called after every amoswap/amoadd when set (spin accounting, spin-accounting.ts):
   * pc, the word's index in `heap32`, old and new value, the cycles so far (the atomic charged).
   */
  amoHook: ((pc: number, word: number, old: number, value: number, cycles: number) => void) | null = null;
  /**
   * Called after every `pause` when set (a monitor's pause-loop exiting): pc, the cycles so far.
   * True: the CPU leaves its run loop at once (the hook set `leaveTurn`).
   */
  pauseHook: ((pc: number, cycles: number) => boolean) | null = null;
  /** Set by the machine when the CPU gives up the rest of its turn (machine.endTurn): run loops return. */
  leaveTurn = false;
  /** (from, to) pairs of taken branches, jumps and traps; `traceIdx` is the next slot. */
  readonly trace: Int32Array;
  traceIdx = 0;
  /** The one-entry code-page cache: `pc & 0xFFFFF003` of the cached page (TAG_INVALID: none) and its addend. */
  private codeTag = TAG_INVALID;
  private codeAdd = 0;
  /** The instruction word `exec` left for a slow path. */
  private exitWord = 0;
  /** Cycles the last successful `checkedAccess` charged (a PLB miss), for the translation to add. */
  checkCharge = 0;
  /** Successful `checkedAccess` calls: a host-side count (the JIT's counters), not simulated. */
  checkedAccesses = 0;

  constructor(
    private readonly mem: PhysicalMemory,
    /** The TLB of the CPU whose context is loaded (a CPU switch re-points it, cpu-context.ts loadInto; `exec` reads it at entry). */
    public tlb: Tlb,
    /** The machine around it (spin accounting's amoHook reaches its machine through it). */
    readonly host: CpuHost,
    /** Cycles per opcode (decode.ts costTable). */
    readonly cost: Float64Array,
  ) {
    this.regs = mem.regs;
    if (this.regs.byteOffset !== 0) throw new Error("cpu.ts: the registers must sit at heap32[0]");
    this.trace = mem.allocState(TRACE_PAIRS * 2).fill(-1);
    this.illegal = mem.allocState(64);
    this.illegal.set(ILLEGAL_BITS);
    this.traceAt = Tlb.at(this.trace);
    this.illegalAt = Tlb.at(this.illegal);
  }

  /** ILLEGAL_BITS (decode.ts), copied into the tail. */
  private readonly illegal: Int32Array;
  /** Heap indexes of the trace ring and the legality table (`Tlb.at`), for the loop's entry. */
  private readonly traceAt: number;
  private readonly illegalAt: number;

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
    this.codeTag = TAG_INVALID;
    this.refetch((this.psr & PSR.SU) === 0);
    let force = false;
    for (;;) {
      const exit = this.exec(limit, force);
      force = false;
      if (exit === EXIT.RETURN) return;
      const pc = this.pc;
      const w = this.exitWord;
      const user = (this.psr & PSR.SU) === 0;
      // Any TLB fill may have evicted the code page's entry: re-check it on the next fetch.
      this.codeTag = TAG_INVALID;
      if (exit === EXIT.FETCH) {
        if (pc & 3) return this.host.raise(CAUSE.MISALIGNED, pc, pc);
        const r = this.host.translateAccess(pc, ACCESS.FETCH, user);
        if (typeof r !== "number") return this.host.raise(r.cause, pc, r.badva);
        if (r >= this.mem.size) return this.host.raise(CAUSE.BUS_ERROR, pc, pc); // no code in device registers
        this.codeTag = pc & PAGE_MASK;
        this.codeAdd = (r + RAM_BASE - pc) | 0;
        force = true; // the instruction runs even if the walk's charge reached the limit
        continue;
      }
      if (!this.accessSlow(w, user)) return;
      this.refetch(user);
    }
  }

  /**
   * The slow path of the load, store or atomic `w` at `this.pc`, charged
   * already (as `exec` charges an instruction before its slow exit): the
   * checks, the access, pc past it — or the fault raised (and the charge
   * refunded). True when the interpreter goes on with the next instruction
   * (plain RAM); false when it returns to the machine loop (a fault, a
   * device register, a watched store). The one copy of this: `run` calls it
   * after `exec`'s LOAD and STORE exits, the JIT engine after a
   * translation's exit before such an instruction (jit/engine.ts).
   */
  accessSlow(w: number, user: boolean): boolean {
    const op = w & 63;
    const a = (w >>> 6) & 15;
    if (op >= 58) return this.atomicSlow(w, user);
    const va = this.accessAddress(w);
    if (op <= 31) {
      const size = op === 27 ? 4 : op <= 29 ? 2 : 1;
      const pa = this.dataSlow(va, size, ACCESS.LOAD, user, op);
      if (pa < 0) return false;
      if (pa >= this.mem.size) {
        this.deviceAccess(pa, va, size, false, a, 0, user, op);
        return false;
      }
      this.regs[a] = loadValue(this.mem, op, pa);
      this.regs[0] = 0;
    } else {
      const size = op === 32 ? 4 : op === 33 ? 2 : 1;
      if (!this.storeSlow(va, this.regs[a], size, user, op)) return false;
    }
    this.pc = (this.pc + 4) | 0;
    return true;
  }

  /**
   * The virtual address the load, store or atomic `w` accesses: its base
   * register plus its immediate (18 bits up for an atomic, whose third
   * register field comes first). For the slow paths (accessSlow,
   * atomicSlow, the JIT engine's `access`); `exec` decodes it inline.
   */
  accessAddress(w: number): number {
    return (this.regs[(w >>> 10) & 15] + ((w & 63) >= 58 ? w >> 18 : w >> 14)) | 0;
  }

  /**
   * For translated code (jit/translate.ts): a load or store of `size` bytes
   * at `va` by the instruction at `pc` whose fast tag missed, when its slow
   * path would be exactly the protection check and the access — the page in
   * the TLB with the permission (no walk, no fill), aligned, RAM, a frame a
   * protection domain checks and that domain allows it (`permits`, which has
   * no side effect), and for a store not watched. Then this makes the
   * interpreter's check (`allows`: its counters, the PLB fill, the charge
   * of a PLB miss) and returns the heap byte index to access; the cycles the
   * check charged are taken back out of `cycles` into `checkCharge` (the
   * translation keeps the count in a local and adds them itself). Otherwise
   * -1 and nothing changed: the translation exits before the instruction
   * and the interpreter's slow path runs it.
   */
  checkedAccess(va: number, size: number, write: boolean, pc: number): number {
    if ((va & (size - 1)) !== 0) return -1;
    const pa = this.tlb.hit(va, write, (this.psr & PSR.SU) === 0);
    if (pa < 0 || pa >= this.mem.size) return -1;
    const host = this.host;
    const f = pa >>> 12;
    if (host.checked[f] !== 1 || (write && host.watched[f] === 1) || !host.permits(pc, pa, write)) return -1;
    const c0 = this.cycles;
    host.allows(pc, pa, write);
    this.checkCharge = this.cycles - c0;
    this.cycles = c0;
    this.checkedAccesses++;
    return (pa + RAM_BASE) | 0;
  }

  /**
   * At `run`'s entry (anything may have changed since: mode, TLB, monitor),
   * and after a load or store slow path that `run` continues from (plain
   * RAM, same mode, same translations but for the fill it may have made):
   * the next fetch's translation, taken here when it is a TLB hit — exactly what
   * the FETCH exit's `translateAccess` would return (a hit has no charge and
   * no count), without leaving `exec` once more for it. A page with no fast
   * tag (the in-place VMM's protection-checked code) used to cost one more
   * exit per data access. If the fill evicted the code page's entry, the
   * code-page cache stays invalid and the fetch misses as before. The hit
   * is the TLB's fetch tag (mmu/tlb.ts: the page, user permission, RAM), as
   * `exec` checks it.
   */
  private refetch(user: boolean): void {
    const pc = this.pc;
    const tlb = this.tlb;
    const s = (pc >>> 12) & 1023;
    const sup = user ? 0 : 4;
    if (((pc & PAGE_MASK) | sup) !== (tlb.fetchTag[s] | sup)) return; // no code in device registers: the FETCH exit raises the bus error
    this.codeTag = pc & PAGE_MASK;
    this.codeAdd = tlb.addend[s];
  }

  /**
   * The hot loop. Returns EXIT.RETURN when `run` must return (the limit,
   * a system instruction, a raised exception), or another EXIT code with
   * `pc` at an instruction whose fetch or data access needs the slow path
   * (the instruction is charged; `exitWord` holds it). Nothing on a path
   * that loops back calls out, so V8 keeps the typed arrays' checks out of
   * the loop.
   */
  private exec(limit: number, force: boolean): number {
    // One Int32Array for RAM, registers, TLB tags and the trace ring: V8
    // checks its map once per instruction instead of once per table.
    const H = this.mem.heap32;
    const u16 = this.mem.heap16;
    const u8 = this.mem.heap8;
    const cost = this.cost;
    const tlb = this.tlb;
    const user = (this.psr & PSR.SU) === 0;
    const tagR = user ? tlb.atReadUser : tlb.atReadSup;
    const tagW = user ? tlb.atWriteUser : tlb.atWriteSup;
    const ADD = tlb.atAddend;
    // A page with no read tag may still have a fetch tag (mmu/tlb.ts fetchTag); bit 2 set = supervisor only.
    const F = tlb.fetchTag;
    const sup = user ? 0 : 4;
    const T = this.traceAt;
    const ILL = this.illegalAt;
    // Coerced so V8 keeps them untagged (int32 / float64) in the loop.
    let tr = this.traceIdx | 0;
    let pc = this.pc | 0;
    let cyc = +this.cycles;
    let n = +this.instret;
    let codeTag = this.codeTag | 0;
    let codeAdd = this.codeAdd | 0;
    if (!force && !(cyc < limit)) return EXIT.RETURN;

    for (;;) {
      // ---- fetch
      if ((pc & 0xfffff003) !== codeTag) {
        const s = (pc >>> 12) & 1023;
        if ((pc & 0xfffff003) !== H[(tagR + s) | 0] && ((pc & 0xfffff003) | sup) !== (F[s] | sup)) {
          this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
          return EXIT.FETCH;
        }
        codeAdd = H[(ADD + s) | 0];
        codeTag = pc & 0xfffff000;
      }
      const w = H[((pc + codeAdd) | 0) >> 2];
      const op = w & 63;
      if ((w & H[(ILL + op) | 0]) !== 0) {
        this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
        this.host.raise(CAUSE.ILLEGAL_INSTRUCTION, pc);
        return EXIT.RETURN;
      }
      cyc += cost[op];
      n++;
      const a = (w >>> 6) & 15;
      const b = (w >>> 10) & 15;

      switch (op) {
        // ---- ALU, register-register: rd = A, rs1 = B, rs2 = C
        case 1: H[a] = (H[b] + H[((w >>> 14) & 15)]) | 0; H[0] = 0; pc = (pc + 4) | 0; break; // add
        case 2: H[a] = (H[b] - H[((w >>> 14) & 15)]) | 0; H[0] = 0; pc = (pc + 4) | 0; break; // sub
        case 3: H[a] = H[b] & H[((w >>> 14) & 15)]; H[0] = 0; pc = (pc + 4) | 0; break; // and
        case 4: H[a] = H[b] | H[((w >>> 14) & 15)]; H[0] = 0; pc = (pc + 4) | 0; break; // or
        case 5: H[a] = H[b] ^ H[((w >>> 14) & 15)]; H[0] = 0; pc = (pc + 4) | 0; break; // xor
        case 6: H[a] = H[b] << (H[((w >>> 14) & 15)] & 31); H[0] = 0; pc = (pc + 4) | 0; break; // sll
        case 7: H[a] = H[b] >>> (H[((w >>> 14) & 15)] & 31); H[0] = 0; pc = (pc + 4) | 0; break; // srl
        case 8: H[a] = H[b] >> (H[((w >>> 14) & 15)] & 31); H[0] = 0; pc = (pc + 4) | 0; break; // sra
        case 9: H[a] = H[b] < H[((w >>> 14) & 15)] ? 1 : 0; H[0] = 0; pc = (pc + 4) | 0; break; // slt
        case 10: H[a] = H[b] >>> 0 < H[((w >>> 14) & 15)] >>> 0 ? 1 : 0; H[0] = 0; pc = (pc + 4) | 0; break; // sltu
        case 11: H[a] = Math.imul(H[b], H[((w >>> 14) & 15)]); H[0] = 0; pc = (pc + 4) | 0; break; // mul
        case 12: H[a] = mulhu(H[b], H[((w >>> 14) & 15)]); H[0] = 0; pc = (pc + 4) | 0; break; // mulhu
        case 13: H[a] = div(H[b], H[((w >>> 14) & 15)]); H[0] = 0; pc = (pc + 4) | 0; break; // div
        case 14: H[a] = divu(H[b], H[((w >>> 14) & 15)]); H[0] = 0; pc = (pc + 4) | 0; break; // divu
        case 15: H[a] = rem(H[b], H[((w >>> 14) & 15)]); H[0] = 0; pc = (pc + 4) | 0; break; // rem
        case 16: H[a] = remu(H[b], H[((w >>> 14) & 15)]); H[0] = 0; pc = (pc + 4) | 0; break; // remu

        // ---- ALU, immediate: rd = A, rs1 = B, imm18 (signed, or 0–31 for shifts)
        case 17: H[a] = (H[b] + (w >> 14)) | 0; H[0] = 0; pc = (pc + 4) | 0; break; // addi
        case 18: H[a] = H[b] & (w >> 14); H[0] = 0; pc = (pc + 4) | 0; break; // andi
        case 19: H[a] = H[b] | (w >> 14); H[0] = 0; pc = (pc + 4) | 0; break; // ori
        case 20: H[a] = H[b] ^ (w >> 14); H[0] = 0; pc = (pc + 4) | 0; break; // xori
        case 21: H[a] = H[b] << (w >>> 14); H[0] = 0; pc = (pc + 4) | 0; break; // slli
        case 22: H[a] = H[b] >>> (w >>> 14); H[0] = 0; pc = (pc + 4) | 0; break; // srli
        case 23: H[a] = H[b] >> (w >>> 14); H[0] = 0; pc = (pc + 4) | 0; break; // srai
        case 24: H[a] = H[b] < w >> 14 ? 1 : 0; H[0] = 0; pc = (pc + 4) | 0; break; // slti
        case 25: H[a] = H[b] >>> 0 < (w >> 14) >>> 0 ? 1 : 0; H[0] = 0; pc = (pc + 4) | 0; break; // sltiu
        case 26: H[a] = w & 0xfffff000; H[0] = 0; pc = (pc + 4) | 0; break; // lui

        // ---- loads: rd = A, base = B, signed imm18 offset
        case 27: { // lw
          const va = (H[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          let pa: number;
          if ((va & 0xfffff003) === H[(tagR + s) | 0]) pa = (va + H[(ADD + s) | 0]) | 0;
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.LOAD;
          }
          H[a] = H[pa >> 2]; H[0] = 0; pc = (pc + 4) | 0; break;
        }
        case 28: case 29: { // lh, lhu
          const va = (H[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          let pa: number;
          if ((va & 0xfffff001) === H[(tagR + s) | 0]) pa = (va + H[(ADD + s) | 0]) | 0;
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.LOAD;
          }
          H[a] = op === 28 ? (u16[pa >> 1] << 16) >> 16 : u16[pa >> 1]; H[0] = 0; pc = (pc + 4) | 0; break;
        }
        case 30: case 31: { // lb, lbu
          const va = (H[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          let pa: number;
          if ((va & 0xfffff000) === H[(tagR + s) | 0]) pa = (va + H[(ADD + s) | 0]) | 0;
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.LOAD;
          }
          H[a] = op === 30 ? (u8[pa] << 24) >> 24 : u8[pa]; H[0] = 0; pc = (pc + 4) | 0; break;
        }

        // ---- stores: value = A, base = B, signed imm18 offset
        case 32: { // sw
          const va = (H[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff003) === H[(tagW + s) | 0]) H[((va + H[(ADD + s) | 0]) | 0) >> 2] = H[a];
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.STORE;
          }
          pc = (pc + 4) | 0; break;
        }
        case 33: { // sh
          const va = (H[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff001) === H[(tagW + s) | 0]) u16[((va + H[(ADD + s) | 0]) | 0) >> 1] = H[a];
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.STORE;
          }
          pc = (pc + 4) | 0; break;
        }
        case 34: { // sb
          const va = (H[b] + (w >> 14)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff000) === H[(tagW + s) | 0]) u8[(va + H[(ADD + s) | 0]) | 0] = H[a];
          else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.STORE;
          }
          pc = (pc + 4) | 0; break;
        }

        // ---- atomics: rd = A, base = B, value = C, signed imm14 offset (bits 31:18). The write
        // tag (a store's check) implies the read; the whole read-modify-write is one instruction,
        // so no other CPU runs between its read and its write (multiprocessor.ts interleaves at instruction boundaries).
        case 58: case 59: { // amoswap, amoadd
          const va = (H[b] + (w >> 18)) | 0;
          const s = (va >>> 12) & 1023;
          if ((va & 0xfffff003) === H[(tagW + s) | 0]) {
            const p = ((va + H[(ADD + s) | 0]) | 0) >> 2;
            const old = H[p];
            H[p] = op === 58 ? H[((w >>> 14) & 15)] : (old + H[((w >>> 14) & 15)]) | 0;
            H[a] = old; H[0] = 0;
            if (this.amoHook !== null) this.amoHook(pc, p, old, H[p], cyc);
          } else {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr; this.exitWord = w;
            return EXIT.STORE;
          }
          pc = (pc + 4) | 0; break;
        }
        case 60: // pause
          this.pauses++;
          pc = (pc + 4) | 0;
          if (this.pauseHook !== null && this.pauseHook((pc - 4) | 0, cyc)) {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            return EXIT.RETURN;
          }
          break;

        // ---- branches: rs1 = A, rs2 = B, word offset in imm18
        case 35: if (H[a] === H[b]) { const t = (pc + ((w >> 14) << 2)) | 0; H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // beq
        case 36: if (H[a] !== H[b]) { const t = (pc + ((w >> 14) << 2)) | 0; H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bne
        case 37: if (H[a] < H[b]) { const t = (pc + ((w >> 14) << 2)) | 0; H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // blt
        case 38: if (H[a] >= H[b]) { const t = (pc + ((w >> 14) << 2)) | 0; H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bge
        case 39: if (H[a] >>> 0 < H[b] >>> 0) { const t = (pc + ((w >> 14) << 2)) | 0; H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bltu
        case 40: if (H[a] >>> 0 >= H[b] >>> 0) { const t = (pc + ((w >> 14) << 2)) | 0; H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK; pc = t; } else pc = (pc + 4) | 0; break; // bgeu

        // ---- jumps
        case 41: { // jal: rd = A, word offset in imm22
          const t = (pc + ((w >> 10) << 2)) | 0;
          H[a] = (pc + 4) | 0; H[0] = 0;
          H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK;
          pc = t; break;
        }
        case 42: { // jalr: rd = A, base = B, imm18; a misaligned target faults at the jalr
          const t = (H[b] + (w >> 14)) | 0;
          if (t & 3) {
            this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
            this.refund(op);
            this.host.raise(CAUSE.MISALIGNED, pc, t);
            return EXIT.RETURN;
          }
          H[a] = (pc + 4) | 0; H[0] = 0;
          H[(T + tr) | 0] = pc; H[(T + tr + 1) | 0] = t; tr = (tr + 2) & TRACE_MASK;
          pc = t; break;
        }

        // ---- traps, privileged and sensitive instructions: the machine's slow path
        default:
          this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
          if (op < HANDLED.syscall || op > HANDLED.wrpsr) {
            this.refund(op); // cost 0 for unused opcodes, but keep the count right
            this.host.raise(CAUSE.ILLEGAL_INSTRUCTION, pc);
          } else this.host.system(op, w);
          return EXIT.RETURN;
      }
      if (!(cyc < limit)) break;
    }
    this.pc = pc; this.cycles = cyc; this.instret = n; this.traceIdx = tr;
    return EXIT.RETURN;
  }

  /** Load slow path: alignment, TLB miss, permissions, protection domains. A physical address, or -1 once the fault is raised. */
  private dataSlow(va: number, size: number, access: Access, user: boolean, op: number): number {
    if (va & (size - 1)) {
      this.refund(op);
      this.host.raise(CAUSE.MISALIGNED, this.pc, va);
      return -1;
    }
    // A TLB hit that allows the access is what translateAccess would return (a hit has no charge, no
    // count, no monitor call): taken here. Most slow accesses are such hits — the in-place VMM's
    // protection-checked shared-info page has no fast tag (1.4 M of `mixed` at scale 200 under xen).
    const hit = this.tlb.hit(va, access === ACCESS.STORE, user);
    const r = hit >= 0 ? hit : this.host.translateAccess(va, access, user);
    if (typeof r !== "number") {
      this.refund(op);
      this.host.raise(r.cause, this.pc, r.badva);
      return -1;
    }
    // A frame some protection domain restricts never has a fast tag, so its every access is checked here.
    if (this.host.checked[r >>> 12] === 1 && !this.host.allows(this.pc, r, access === ACCESS.STORE)) {
      this.refund(op);
      this.host.raise(CAUSE.PROTECTION_FAULT, this.pc, va);
      return -1;
    }
    return r;
  }

  /**
   * Atomic slow path (amoswap, amoadd at `this.pc`): checked and faulting as
   * a store (misaligned: cause 3; page fault: the store cause). A watched
   * frame (a monitor's, the dirty log) gets the new value through
   * `watchedStore` after the read, and rd the old value. False when the loop must return.
   */
  private atomicSlow(w: number, user: boolean): boolean {
    const op = w & 63;
    const va = this.accessAddress(w);
    const pa = this.dataSlow(va, 4, ACCESS.STORE, user, op);
    if (pa < 0) return false;
    if (pa >= this.mem.size) {
      // Device registers take single loads and stores, never a read-modify-write.
      this.refund(op);
      this.host.raise(CAUSE.BUS_ERROR, this.pc, va);
      return false;
    }
    // dataSlow checked the write; a protection domain must allow the atomic's read too.
    if (this.host.checked[pa >>> 12] === 1 && !this.host.allows(this.pc, pa, false)) {
      this.refund(op);
      this.host.raise(CAUSE.PROTECTION_FAULT, this.pc, va);
      return false;
    }
    const old = this.mem.i32[pa >>> 2];
    const value = op === 58 ? this.regs[(w >>> 14) & 15] : (old + this.regs[(w >>> 14) & 15]) | 0;
    const pc = this.pc;
    if (this.host.watched[pa >>> 12] === 1) {
      this.host.watchedStore(pa, value, 4, va, pc);
      this.regs[(w >>> 6) & 15] = old;
      this.regs[0] = 0;
      this.pc = (pc + 4) | 0;
      if (this.amoHook !== null) this.amoHook(pc, (pa + RAM_BASE) >> 2, old, value, this.cycles);
      return false;
    }
    this.mem.i32[pa >>> 2] = value;
    if (this.amoHook !== null) this.amoHook(pc, (pa + RAM_BASE) >> 2, old, value, this.cycles);
    this.regs[(w >>> 6) & 15] = old;
    this.regs[0] = 0;
    this.pc = (pc + 4) | 0;
    return true;
  }

  /**
   * A load or store that reached the device window (MMIO): the machine
   * performs it or refuses it (a fault). Either way the CPU then returns to
   * the machine loop, as after `in`/`out`: a register write may have
   * scheduled a device event (a doorbell) the loop's limit must take in.
   */
  private deviceAccess(pa: number, va: number, size: number, store: boolean, reg: number, value: number, user: boolean, op: number): void {
    const r = this.host.mmio(pa, size, store, value, user);
    if (typeof r !== "number") {
      this.refund(op);
      this.host.raise(r.cause, this.pc, va);
      return;
    }
    if (!store) {
      this.regs[reg] = r;
      this.regs[0] = 0;
    }
    this.pc = (this.pc + 4) | 0;
  }

  /** Store slow path: also stores to watched frames and device registers. False when the loop must return. */
  private storeSlow(va: number, value: number, size: 1 | 2 | 4, user: boolean, op: number): boolean {
    const pa = this.dataSlow(va, size, ACCESS.STORE, user, op);
    if (pa < 0) return false;
    if (pa >= this.mem.size) {
      this.deviceAccess(pa, va, size, true, 0, value, user, op);
      return false;
    }
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
