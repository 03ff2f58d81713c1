// Run results and the one-screen crash diagnosis.
//
// Consumes the machine's state at the moment it stopped (registers, control
// registers, the ring of recent control transfers kept by the CPU).
// Produces `RunResult` values — never exceptions — and the text the CLI
// prints after `previrt: error: <message>`:
//
//   pc, cause, badva, psr, all 16 registers by ABI name, the control
//   registers (and, under a monitor that keeps some virtual, the psr and
//   control registers as the guest sees them), and the last instructions
//   executed, disassembled.
//
// The recent instructions are rebuilt from the transfer ring: between two
// recorded transfers (taken branch, jump, trap entry, iret) execution is
// straight-line, so the addresses follow. How an executed instruction is
// read and printed (`readCode`, `codeLine`) is the playground's Step view's
// too (src/web/worker.ts), so both list the same for the same state.

import { disassembleInstruction } from "../guest-isa/disassembler.js";
import { ABI_NAMES, CR_NAMES, PSR } from "../guest-isa/registers.js";
import type { GuestRegisters } from "./monitor.js";
import { TRACE_PAIRS } from "./cpu.js";
import type { Machine } from "./machine.js";
import { causeName } from "./stats.js";

export type StopReason = "max-cycles" | "interrupted" | "crash" | "fault-loop" | "hlt-deadlock" | "monitor";

/** Process exit statuses of `previrt run` for runs that did not power off. */
export const EXIT_STATUS: Readonly<Record<StopReason, number>> = {
  "max-cycles": 124, // as timeout(1)
  interrupted: 130, // the user's Ctrl-C (run-image.ts runSliced): 128 + SIGINT, as a shell reports
  crash: 125,
  "fault-loop": 125,
  "hlt-deadlock": 125,
  monitor: 125,
};

export type RunResult =
  | { kind: "poweroff"; exitCode: number }
  | { kind: "stopped"; reason: StopReason; message: string; exitCode: number; diagnosis: string };

/** How many recent instructions the diagnosis shows. */
export const DIAGNOSIS_INSTRUCTIONS = 16;

export interface DiagnosisContext {
  message: string;
  cause?: number;
  badva?: number;
  /** The faulting instruction's address, marked in the listing. */
  faultPc?: number;
  /** Whether the instruction at pc has run (e.g. a hlt that deadlocked). */
  inclusive?: boolean;
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

export function formatDiagnosis(m: Machine, ctx: DiagnosisContext): string {
  const cpu = m.cpu;
  const out: string[] = [];
  const psr = cpu.psr;
  out.push(`  pc     ${hex(cpu.pc)}    psr ${hex(psr)} (${psrFlags(psr)})    cycles ${Math.floor(cpu.cycles)}    instructions ${cpu.instret}`);
  if (ctx.cause !== undefined) {
    out.push(`  cause  ${ctx.cause} (${causeName(ctx.cause)})${ctx.badva !== undefined ? `    badva ${hex(ctx.badva)}` : ""}`);
  }
  for (let row = 0; row < 4; row++) {
    const cells = [];
    for (let col = 0; col < 4; col++) {
      const r = row * 4 + col;
      cells.push(`${ABI_NAMES[r].padStart(4)}=${hex(cpu.regs[r])}`);
    }
    out.push("  " + cells.join("  "));
  }
  out.push("  " + CR_NAMES.map((n, i) => `${n}=${hex(cpu.cr[i])}`).join(" "));
  // Under a monitor the real psr and control registers may be the host's (a deprivileged kernel runs in user
  // mode; a shadow pager's ptbr is its own): the guest's own view too, so that back ends compare.
  const guest = guestRegistersApart(m);
  if (guest) {
    out.push(`  as the guest sees them (${m.monitor!.name} keeps them virtual): psr ${hex(guest.psr)} (${psrFlags(guest.psr)})`);
    out.push("  " + CR_NAMES.map((n, i) => `${n}=${hex(guest.cr[i])}`).join(" "));
  }
  const recent = recentInstructions(m, ctx.faultPc ?? cpu.pc, ctx.faultPc !== undefined || ctx.inclusive === true);
  if (recent.length) {
    out.push("  last instructions:");
    recent.forEach((pc, i) => {
      const mark = i === recent.length - 1 && pc === ctx.faultPc ? "   <-- faulted here" : "";
      out.push(`    ${codeLine(pc, readCode(m, pc))}${mark}`);
    });
  }
  return out.join("\n") + "\n";
}

/**
 * The executing CPU's psr and control registers as its guest sees them
 * (Monitor.guestRegisters) when they differ from the real ones, else
 * undefined: for the diagnosis and the playground's virtual CPU.
 */
export function guestRegistersApart(m: Machine): GuestRegisters | undefined {
  const guest = m.monitor?.guestRegisters?.();
  const cr = m.cpu.cr;
  return guest && (guest.psr !== m.cpu.psr || guest.cr.some((v, i) => v !== cr[i])) ? guest : undefined;
}

function psrFlags(psr: number): string {
  return `${psr & PSR.SU ? "SU" : "user"}${psr & PSR.IE ? " IE" : ""} UF=0x${((psr & PSR.UF_MASK) >>> 8).toString(16)}`;
}

/**
 * Addresses of the last instructions executed, oldest first. `end` is the
 * last one if `inclusive`, else the next one that did not run. Each trace
 * pair is (from, to): `from` is the transferring instruction, or — with bit
 * 0 set — the first instruction that did *not* run (an interrupt's epc).
 */
export function recentInstructions(m: Machine, end: number, inclusive: boolean, limit = DIAGNOSIS_INSTRUCTIONS): number[] {
  const { trace, traceIdx } = m.cpu;
  const result: number[] = [];
  let last = inclusive ? end | 0 : (end - 4) | 0;
  for (let k = 1; k <= TRACE_PAIRS && result.length < limit; k++) {
    const slot = (traceIdx - 2 * k) & (TRACE_PAIRS * 2 - 1);
    const from = trace[slot];
    const to = trace[slot + 1];
    if (from === -1 && to === -1) break; // ring not yet full
    if ((to & 3) !== 0 || last < to - 4 || last - to > limit * 4) break; // not a straight line: stop here
    for (let pc = last; pc >= to && result.length < limit; pc -= 4) result.unshift(pc);
    last = from & 1 ? ((from & ~3) - 4) | 0 : from;
  }
  if (result.length === 0 && inclusive) result.push(end);
  return result;
}

/**
 * The instruction word at `va` as the CPU fetched it (Mmu.probeFetch: the
 * TLB's entry for the page, else the guest's page tables as they are now —
 * an instruction that ran before its mapping changed may then be `<not
 * mapped now>`). Changes nothing (no TLB fill, no counter).
 */
export function readCode(m: Machine, va: number): number | undefined {
  const pa = m.mmu.probeFetch(va);
  if (typeof pa !== "number" || !m.memory.contains(pa, 4) || (pa & 3) !== 0) return undefined;
  return m.memory.i32[pa >>> 2];
}

/** A listing's line for the instruction at `va`: its address, word and disassembly, or `<not mapped now>` (readCode). */
export function codeLine(va: number, word: number | undefined): string {
  return `${hex(va)}:  ${word === undefined ? "<not mapped now>" : `${hex(word).slice(2)}  ${disassembleInstruction(word, va)}`}`;
}
