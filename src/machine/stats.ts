// Counters of one run: what `--stats` prints and `--json` emits.
//
// Produced by the machine (instructions and cycles are kept in the CPU's
// locals during a run and folded in here when it stops); monitors add their
// own counts with `machine.charge(event, n)` (priced) or `countEvent(name)`
// (unpriced, e.g. exits by reason). Consumers: the CLI, `previrt matrix`,
// benchmarks.

import { CAUSE } from "../guest-isa/registers.js";
import { COST_EVENTS, type CostEvent } from "./cost-model.js";

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

/** Each cost event's index in COST_EVENTS: `machine.chargeAt(EVENT_ID.vmExit)` (a constant-named property, no keyed lookup). */
export const EVENT_ID: Readonly<Record<CostEvent, number>> = (() => {
  const ids = {} as Record<CostEvent, number>;
  COST_EVENTS.forEach((e, i) => (ids[e] = i));
  return ids;
})();

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

/**
 * Counters by index (issue 16): a monitor's `machine.count(name)` and the
 * machine's `charge(event)` run millions of times a run, and a string-keyed
 * update of a record (`counts[name] = (counts[name] ?? 0) + n`) was 4–5 % of
 * a bench's time. A Tally keeps each counter's total in an array slot, in the
 * same order of additions as the record had (so the sums are bit-identical,
 * cycles being fractional under some cost models), creates the record's key
 * at the first addition (so the record's key order is unchanged), and writes
 * the totals into the record when it is read (`flush`). After the record is
 * replaced (a snapshot restored), `reload` takes the totals back from it.
 */
export class Tally {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly values: number[] = [];
  /** Per slot: 1 once the record has the key. */
  private readonly seen: number[] = [];

  /** `record()`: the record the totals belong to (looked up each time: a restore may replace it). */
  constructor(private readonly record: () => Record<string, number>) {}

  /** The slot of counter `name` (made on first use). */
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
      const v = this.record()[name];
      this.values.push(v ?? 0);
      this.seen.push(v === undefined ? 0 : 1);
    }
    return id;
  }

  add(id: number, n: number): void {
    if (this.seen[id] === 0) this.touch(id);
    this.values[id] += n;
  }

  /** The counter's total so far (0 before its first addition). */
  total(id: number): number {
    return this.values[id];
  }

  /** Writes every total into the record. */
  flush(): void {
    const r = this.record();
    for (let id = 0; id < this.names.length; id++) if (this.seen[id] !== 0) r[this.names[id]] = this.values[id];
  }

  /** Takes the totals back from the record (after it was replaced). */
  reload(): void {
    const r = this.record();
    for (let id = 0; id < this.names.length; id++) {
      const v = r[this.names[id]];
      this.values[id] = v ?? 0;
      this.seen[id] = v === undefined ? 0 : 1;
    }
  }

  private touch(id: number): void {
    const r = this.record();
    const name = this.names[id];
    if (r[name] === undefined) r[name] = 0;
    this.seen[id] = 1;
  }
}
