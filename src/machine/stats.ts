// Counters of one run: what `--stats` prints and `--json` emits.
//
// Produced by the machine (instructions and cycles are kept in the CPU's
// locals during a run and folded in here when it stops); monitors add their
// own counts with `machine.charge(event, n)` (priced) or `countEvent(name)`
// (unpriced, e.g. exits by reason). Consumers: the CLI, `previrt matrix`,
// benchmarks.

import { CAUSE } from "../guest-isa/registers.js";
import type { CostEvent } from "./cost-model.js";

export interface MachineStats {
  instructions: number;
  cycles: number;
  /** Exceptions taken (delivered to the guest or intercepted by a monitor), by cause name. */
  exceptions: Record<string, number>;
  /** Interrupts taken, by line number. */
  interrupts: Record<string, number>;
  tlbMisses: number;
  tlbFlushes: number;
  deviceAccesses: number;
  /** Every event charged through the cost model, with its count. */
  events: Partial<Record<CostEvent, number>>;
  /** Free-form counts a monitor adds (exits by reason, …). Not priced. */
  counts: Record<string, number>;
  /** A multiprocessor's CPUs (absent with one CPU): `cycles` above is the largest of their clocks, `instructions` their sum. */
  perCpu?: PerCpuStats[];
}

export interface PerCpuStats {
  /** The CPU's clock when the run ended. */
  cycles: number;
  instructions: number;
  /** Cycles halted (waiting for an interrupt). */
  idleCycles: number;
  /** Cycles without a physical CPU (a hypervisor's vCPU scheduler, `--pcpus`). */
  descheduledCycles: number;
}

export function emptyStats(): MachineStats {
  return {
    instructions: 0,
    cycles: 0,
    exceptions: {},
    interrupts: {},
    tlbMisses: 0,
    tlbFlushes: 0,
    deviceAccesses: 0,
    events: {},
    counts: {},
  };
}

const CAUSE_NAMES: Record<number, string> = {
  [CAUSE.ILLEGAL_INSTRUCTION]: "illegal-instruction",
  [CAUSE.PRIVILEGED_INSTRUCTION]: "privileged-instruction",
  [CAUSE.MISALIGNED]: "misaligned",
  [CAUSE.PAGE_FAULT_FETCH]: "page-fault-fetch",
  [CAUSE.PAGE_FAULT_LOAD]: "page-fault-load",
  [CAUSE.PAGE_FAULT_STORE]: "page-fault-store",
  [CAUSE.SYSCALL]: "syscall",
  [CAUSE.BREAKPOINT]: "breakpoint",
  [CAUSE.BUS_ERROR]: "bus-error",
  [CAUSE.PROTECTION_FAULT]: "protection-fault",
};

/** A cause code's name: "page-fault-load", "interrupt-0", … */
export function causeName(cause: number): string {
  if (cause >= CAUSE.INTERRUPT_BASE) return `interrupt-${cause - CAUSE.INTERRUPT_BASE}`;
  return CAUSE_NAMES[cause] ?? `cause-${cause}`;
}

/** The readable block `--stats` prints. */
export function formatStats(s: MachineStats): string {
  const lines = [
    `instructions     ${s.instructions}`,
    `cycles           ${s.cycles}`,
    `exceptions       ${sum(s.exceptions)}${detail(s.exceptions)}`,
    `interrupts       ${sum(s.interrupts)}${detail(s.interrupts, "line ")}`,
    `tlb misses       ${s.tlbMisses}`,
    `tlb flushes      ${s.tlbFlushes}`,
    `device accesses  ${s.deviceAccesses}`,
  ];
  const events = Object.entries(s.events).filter(([, n]) => n);
  if (events.length) lines.push(`events           ${events.map(([k, n]) => `${k}=${n}`).join(" ")}`);
  const counts = Object.entries(s.counts);
  if (counts.length) lines.push(`counts           ${counts.map(([k, n]) => `${k}=${n}`).join(" ")}`);
  s.perCpu?.forEach((c, n) => {
    lines.push(`cpu ${n}            cycles=${c.cycles} instructions=${c.instructions} idle=${c.idleCycles} descheduled=${c.descheduledCycles}`);
  });
  return lines.join("\n") + "\n";
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}
function detail(r: Record<string, number>, prefix = ""): string {
  const e = Object.entries(r);
  return e.length ? `  (${e.map(([k, n]) => `${prefix}${k}: ${n}`).join(", ")})` : "";
}
