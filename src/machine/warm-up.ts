// The interpreter's warm-up: a small training program the machine runs once
// per process (per worker thread) on a scratch machine of its own, before
// the first real guest.
//
// Consumes the ISA table (encodeInstruction) and the page-table format of
// mmu/walk.ts; produces `trainingImage()` — instruction words, page tables
// and control registers — which machine.ts loads into a throwaway Machine and
// runs (`warmUpInterpreter` there). Nothing of the scratch machine survives:
// no guest, counter or device sees it, so simulated results cannot depend
// on it (test/machine/warm-up.test.ts compares runs with and without it).
//
// Why: V8 optimizes the interpreter loop (cpu.ts `exec`, one large switch)
// from the type feedback of the code that has run so far. A path first
// reached after that — an opcode, a TLB miss exit, a branch not yet taken,
// the spin-accounting hook — has no feedback, so the optimized code
// deoptimizes there ("insufficient type feedback") and V8 recompiles the
// whole loop, 25–130 ms of compiler time each. A run of the bundled kernel's
// `mixed` under xen recompiled `exec` 14 times; a fresh `previrt run` spent
// more time warming up than running. Here every path of `exec` and `run`
// runs once first — every opcode, each load, store and atomic missing and
// hitting the TLB, faults of each kind, branches taken and not, both modes,
// fetches that change page without a TLB miss, timer interrupts — so the
// first optimization already sees them (docs/machine.md "The interpreter"; docs/speed-history.md "Warm-up and
// fetch tags (issue 16: host time of exit-heavy runs)").

import { encodeInstruction, type InstructionFields } from "../guest-isa/encoding.js";
import { CAUSE, CR, PGCTL_ENABLE, PSR, REG } from "../guest-isa/registers.js";
import { PORT } from "./bus/ports.js";
import { PTE_U, PTE_V, PTE_W } from "./mmu/walk.js";

let pending = true;

/** True the first time it is called in this process (worker), false after: the caller then runs the warm-up. */
export function claimWarmUp(): boolean {
  const p = pending;
  pending = false;
  return p;
}

/** No warm-up in this process (the differential test's cold side). */
export function skipWarmUp(): void {
  pending = false;
}

/** The scratch machine's program: RAM size, words to store, where to start, control registers, how long to run. */
export interface TrainingImage {
  readonly ramSize: number;
  /** [physical address, word] pairs. */
  readonly words: readonly (readonly [number, number])[];
  readonly entry: number;
  /** [control register, value] pairs, set after reset (paging on, the trap vector). */
  readonly cr: readonly (readonly [number, number])[];
  /** Addresses of amoswaps the machine reports as lock sites (trains the spin-accounting hook's call). */
  readonly lockSites: readonly number[];
  readonly maxCycles: number;
  /** Cycles per runUntil step (the interpreter loop's limit exits). */
  readonly step: number;
  /** The page the body jumps to and back from (fetches that change page on TLB hits). */
  readonly secondCodePage: number;
}

// Physical (= virtual: identity-mapped) layout, one page each.
const PD = 0x0000;
const PT = 0x1000;
const CODE = 0x2000;
/** A second code page: the body jumps there and back, fetches that change page and hit the TLB. */
const CODE2 = 0x3000;
const DATA = 0x4000; // read-write
const READ_ONLY = 0x5000;
const UNMAPPED = 0x6000;

const { zero, a0, a1, a2, t0, t1, s0, s1, lr } = REG;

/** Cycles between the scratch machine's timer interrupts: five in a run (an interrupt, with its acknowledging `out`, costs ≈ 1,350). */
const TIMER_PERIOD = 9973;

/** Builds the training program (a pure function of the ISA table). */
export function trainingImage(): TrainingImage {
  const code: number[] = [];
  const lockSites: number[] = [];
  const here = (): number => CODE + 4 * code.length;
  const I = (m: string, f: Partial<InstructionFields> = {}): void => {
    code.push(encodeInstruction(m, f));
  };
  const nop = (): void => I("addi", { a: zero, b: zero, imm: 0 });

  // Set-up (supervisor, paging already on): data pointers and operands.
  I("lui", { a: a0, imm: DATA >>> 12 });
  I("lui", { a: a1, imm: READ_ONLY >>> 12 });
  I("lui", { a: a2, imm: UNMAPPED >>> 12 });
  I("addi", { a: s0, b: zero, imm: 7 });
  I("addi", { a: s1, b: zero, imm: 3 });
  // The timer: its events, the interrupt path of the machine loop (taken in user mode, and between sti and cli).
  I("addi", { a: t0, b: zero, imm: TIMER_PERIOD });
  I("out", { b: t0, imm: PORT.TIMER_PERIOD });

  // The body runs once in supervisor mode, then over and over in user mode.
  const body = here();
  // A plain loop, long enough that many runUntil steps end inside it (the loop's limit exit).
  I("addi", { a: t1, b: zero, imm: 300 });
  I("addi", { a: t1, b: t1, imm: -1 });
  I("bne", { a: t1, b: zero, imm: -4 });
  // Over to the second code page and back: after the first round both pages are in the TLB, so the
  // fetch loop changes page without an exit (the code-page cache refilled from the fast tags).
  const away = here();
  I("jal", { a: zero, imm: CODE2 - away });
  const back = here();
  for (const m of ["add", "sub", "and", "or", "xor", "sll", "srl", "sra", "slt", "sltu", "mul", "mulhu", "div", "divu", "rem", "remu"]) {
    I(m, { a: t0, b: s0, c: s1 });
  }
  for (const m of ["addi", "andi", "ori", "xori", "slti", "sltiu"]) I(m, { a: t0, b: s0, imm: 5 });
  for (const m of ["slli", "srli", "srai"]) I(m, { a: t0, b: s0, imm: 3 });
  I("lui", { a: t0, imm: 5 });
  // Each access misses the TLB (after tlbflush, a trapped no-op in user mode), then hits.
  for (const m of ["sw", "sh", "sb", "lw", "lh", "lhu", "lb", "lbu"]) {
    I("tlbflush");
    I(m, { a: t0, b: a0, imm: 8 });
    I(m, { a: t0, b: a0, imm: 8 });
  }
  for (const m of ["amoswap", "amoadd"]) {
    I("tlbflush");
    if (m === "amoswap") lockSites.push(here());
    I(m, { a: t0, b: a0, c: s1, imm: 16 });
    if (m === "amoswap") lockSites.push(here());
    I(m, { a: t0, b: a0, c: s1, imm: 16 });
  }
  // Faults, each skipped by the handler: page faults, a read-only page, misalignment.
  I("sw", { a: t0, b: a1, imm: 0 });
  I("lw", { a: t0, b: a2, imm: 0 });
  I("sb", { a: t0, b: a2, imm: 0 });
  I("amoadd", { a: t0, b: a1, c: s1, imm: 0 });
  I("lw", { a: t0, b: a0, imm: 2 });
  I("lh", { a: t0, b: a0, imm: 1 });
  I("sw", { a: t0, b: a0, imm: 2 });
  I("jalr", { a: lr, b: a2, imm: 0 }); // fetch page fault: the handler returns to lr
  I("jalr", { a: lr, b: a0, imm: 2 }); // misaligned target: faults at the jalr
  code.push(0xffffffff); // illegal bits (the legality table)
  code.push(0); // an unused opcode (the switch's default)
  I("pause");
  for (const m of ["beq", "bne", "blt", "bge", "bltu", "bgeu"]) {
    for (const [x, y] of [[s0, s0], [s0, s1], [s1, s0]]) {
      I(m, { a: x, b: y, imm: 8 });
      nop();
    }
  }
  I("jal", { a: lr, imm: 8 });
  nop();
  I("rdpsr", { a: t0 });
  I("wrpsr", { b: t0 });
  I("mfcr", { a: t0, imm: CR.scratch });
  I("mtcr", { b: t0, imm: CR.scratch });
  I("sti");
  I("cli");
  I("tlbinv", { b: a0 });
  I("in", { a: t0, imm: PORT.CYCLE_COUNTER });
  I("out", { b: zero, imm: PORT.CONSOLE_DATA });
  I("syscall");
  I("brk");
  // Into user mode at the body (in user mode these trap and are skipped), then round again.
  I("addi", { a: t0, b: zero, imm: PSR.IE });
  I("mtcr", { b: t0, imm: CR.epsr });
  I("lui", { a: t0, imm: body >>> 12 });
  I("ori", { a: t0, b: t0, imm: body & 0xfff });
  I("mtcr", { b: t0, imm: CR.epc });
  I("iret");
  I("jal", { a: zero, imm: body - here() });

  // The trap handler: syscall and brk resume at epc (already the next
  // instruction), an interrupt too after acknowledging the timer, a fetch
  // fault at lr, every other cause after the faulting instruction.
  const handler = here();
  I("mfcr", { a: t0, imm: CR.cause });
  I("addi", { a: t1, b: zero, imm: 4 });
  I("beq", { a: t0, b: t1, imm: 4 * 12 });
  I("addi", { a: t1, b: zero, imm: CAUSE.INTERRUPT_BASE });
  I("blt", { a: t0, b: t1, imm: 4 * 3 });
  I("out", { b: zero, imm: PORT.TIMER_ACK });
  I("iret");
  I("addi", { a: t1, b: zero, imm: 7 });
  I("bge", { a: t0, b: t1, imm: 4 * 4 });
  I("mfcr", { a: t0, imm: CR.epc });
  I("addi", { a: t0, b: t0, imm: 4 });
  I("mtcr", { b: t0, imm: CR.epc });
  I("iret"); // (the syscall/brk branch lands here)
  nop();
  I("mtcr", { b: lr, imm: CR.epc }); // (the fetch-fault branch lands here)
  I("iret");
  if (here() > CODE2) throw new Error("internal: the warm-up program outgrew its code page");
  const code2 = [encodeInstruction("addi", { a: zero, b: zero, imm: 0 }), encodeInstruction("jal", { a: zero, imm: back - (CODE2 + 4) })];

  const words: [number, number][] = [];
  words.push([PD, PT | PTE_V]);
  const map = (page: number, perm: number): void => {
    words.push([PT + (page >>> 12) * 4, page | perm]);
  };
  map(CODE, PTE_V | PTE_W | PTE_U);
  map(CODE2, PTE_V | PTE_W | PTE_U);
  map(DATA, PTE_V | PTE_W | PTE_U);
  map(READ_ONLY, PTE_V | PTE_U);
  code.forEach((w, i) => words.push([CODE + 4 * i, w]));
  code2.forEach((w, i) => words.push([CODE2 + 4 * i, w]));
  return {
    ramSize: 64 * 1024,
    words,
    entry: CODE,
    cr: [
      [CR.tvec, handler],
      [CR.ptbr, PD],
      [CR.pgctl, PGCTL_ENABLE],
    ],
    lockSites,
    maxCycles: 55_000,
    step: 997,
    secondCodePage: CODE2,
  };
}
