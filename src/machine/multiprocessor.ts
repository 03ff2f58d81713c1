// The multiprocessor machinery (docs/machine.md "Multiprocessor"): a machine
// with `cpus` > 1 has one Cpu object, whose loop is the uniprocessor's, and a
// CpuContext per CPU (cpu-context.ts) switched into it. CPUs run in a fixed
// order (0, 1, …) in epochs of `quantum` cycles, each from its own clock up
// to the epoch's end (`runEpochs`, `slice`), with hlt, a hypervisor's sleep
// and descheduling as run states.
//
// Consumes the machine it belongs to (MultiprocessorHost: machine.ts, which
// creates a Multiprocessor only when cpus > 1 and keeps its public API —
// startCpu, inCpu, wake, … — as delegations to it) and the CPU contexts the
// machine built. Produces the interleaved run: CPU switches, per-CPU idle and
// descheduled cycles, the multiprocessor's stops (max-cycles, hlt-deadlock)
// and its lines of the diagnosis and the counters (`otherCpus`, `sumStats`).
// With one CPU none of this exists.

import { UserError } from "../guest-isa/diagnostics.js";
import { CAUSE, PSR } from "../guest-isa/registers.js";
import type { CpuContext, CpuRunState } from "./cpu-context.js";
import { justAbove, type Cpu } from "./cpu.js";
import type { ConsoleDevice } from "./devices/console.js";
import type { DiagnosisContext, StopReason } from "./diagnosis.js";
import type { JitEngine } from "./jit/engine.js";
import type { Monitor } from "./monitor.js";
import type { SpinAccounting } from "./spin-accounting.js";
import type { MachineStats } from "./stats.js";

/** The most CPUs a machine has. */
export const MAX_CPUS = 8;
/**
 * Default interleaving quantum in cycles (docs/machine.md "Multiprocessor"):
 * short enough that CPUs interleave many times per timer tick and lock hold
 * time of the kernel, long enough that switching CPUs (16 registers, 8
 * control registers and a 64-word ring copied, the TLB re-pointed) costs the
 * emulator under 10 % of a 4-CPU run (bench: machine-smp).
 */
export const DEFAULT_QUANTUM = 10_000;

/** Checks `cpus` and `quantum` (UserErrors, so the CLI and back ends report them in one line). */
export function checkSmpOptions(cpus: number | undefined, quantum: number | undefined): void {
  if (cpus !== undefined && (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS)) {
    throw new UserError(`the number of CPUs must be a whole number from 1 to ${MAX_CPUS}, not ${cpus}`);
  }
  if (quantum !== undefined && (!Number.isInteger(quantum) || quantum < 1 || quantum > 1e9)) {
    throw new UserError(`the quantum must be a whole number of cycles from 1 to 1000000000, not ${quantum}`);
  }
}

/** A CPU's architectural state, loaded (the Cpu) or not (its context). */
export type CpuView = Pick<Cpu, "regs" | "pc" | "psr" | "cr" | "cycles" | "instret" | "pauses" | "trace" | "traceIdx">;

/** What the multiprocessor needs from its machine (machine.ts). */
export interface MultiprocessorHost {
  readonly cpu: Cpu;
  readonly console: ConsoleDevice;
  readonly spin: SpinAccounting;
  readonly monitor: Monitor | undefined;
  readonly externalEvents: boolean;
  /** Whether the run has ended. */
  readonly stopped: boolean;
  /** The executing CPU (set by `useContext`). */
  readonly cpuId: number;
  /** Delivers an exception or interrupt (the CpuHost slow path, with the monitor's hook). */
  raise(cause: number, epc: number): void;
  /** Counts an interrupt taken on `line`. */
  countInterrupt(line: number): void;
  counterId(name: string): number;
  countAt(id: number, n: number): void;
  stop(reason: StopReason, message: string): void;
  /** Ends the run stopped, diagnosed as `diagnosis` says (the executing CPU's registers, then `otherCpus`). */
  stopWith(reason: StopReason, message: string, diagnosis: DiagnosisContext): void;
  /** Makes a context's CPU the executing one: the machine's executing-CPU references (TLB, port bus, lines, timer, fault memory) point at it. */
  useContext(c: CpuContext): void;
  /** The reset state in the executing CPU: registers 0, supervisor, IE=0, paging off, pc = entry, its TLB empty. */
  resetCpu(entry: number): void;
}

export class Multiprocessor {
  private readonly idleCyclesId: number;
  private readonly descheduledCyclesId: number;

  constructor(
    private readonly host: MultiprocessorHost,
    /** One per CPU, by number; CPU 0's is loaded at the start. */
    readonly contexts: readonly CpuContext[],
    private readonly quantum: number,
    private readonly jit: JitEngine | undefined,
    private readonly referenceSlicing: boolean,
  ) {
    this.idleCyclesId = host.counterId("idleCycles");
    this.descheduledCyclesId = host.counterId("descheduledCycles");
  }

  /** The CPU loaded into the machine's Cpu: the one executing (the machine holds it, `cpuId`). */
  get current(): number {
    return this.host.cpuId;
  }

  /** The executing CPU's context (its architectural state is in the Cpu, not here, while it is loaded). */
  get executing(): CpuContext {
    return this.contexts[this.current];
  }

  /**
   * Loads CPU `n`'s context into the one Cpu (saving the executing one's).
   * Only the machine switches, at epoch boundaries, around startCpu, for
   * inCpu and restores; a monitor hook always runs in the context of the
   * CPU that caused it.
   */
  switchTo(n: number): void {
    if (n === this.current) return;
    const cpu = this.host.cpu;
    this.contexts[this.current].saveFrom(cpu);
    const c = this.contexts[n];
    c.loadInto(cpu);
    this.host.useContext(c);
  }

  /** CPU `n`'s architectural state whether or not it is loaded (for stats, snapshots, diagnoses). */
  view(n: number): CpuView {
    return n === this.current ? this.host.cpu : this.contexts[n];
  }

  /** machine.startCpu: CPU `n`, stopped, starts at `entry` with its clock no earlier than the starter's. */
  startCpu(n: number, entry: number): boolean {
    const ctxs = this.contexts;
    if (!Number.isInteger(n) || n < 0 || n >= ctxs.length || ctxs[n].state !== "stopped") return false;
    const from = this.current;
    const cpu = this.host.cpu;
    const now = cpu.cycles;
    this.switchTo(n);
    this.host.resetCpu(entry);
    if (cpu.cycles < now) cpu.cycles = now;
    Object.assign(ctxs[n].lastFault, { cause: -1, epc: 0, badva: 0, repeats: 0 });
    ctxs[n].state = "running";
    this.host.monitor?.onCpuStart?.(n, entry);
    this.switchTo(from);
    return true;
  }

  /** machine.inCpu: `fn` in CPU `n`'s context, then back. */
  inCpu<T>(n: number, fn: () => T): T {
    if (n === this.current) return fn();
    const from = this.current;
    this.switchTo(n);
    try {
      return fn();
    } finally {
      this.switchTo(from);
    }
  }

  /** The executing CPU's clock (`clock`) less the cycles it spent halted or descheduled. */
  executedCycles(clock: number): number {
    const c = this.contexts[this.current];
    return clock - c.idleCycles - c.descheduledCycles;
  }

  /** executedCycles of CPU `n`, loaded or not. */
  executedCyclesOf(n: number): number {
    const c = this.contexts[n];
    return this.view(n).cycles - c.idleCycles - c.descheduledCycles;
  }

  /** machine.descheduleUntil: the executing CPU's clock moves to `t`, the cycles counted as descheduled. */
  descheduleUntil(t: number): void {
    const cpu = this.host.cpu;
    const d = t - cpu.cycles;
    if (d <= 0) return;
    this.contexts[this.current].descheduledCycles += d;
    this.host.countAt(this.descheduledCyclesId, d);
    cpu.cycles = t;
  }

  /** machine.wake: CPU `n`, if halted, runs on; a sleeper's kick. */
  wake(n: number): void {
    const c = this.contexts[n];
    if (c && c.state === "halted") c.state = "running";
    if (c) c.kickOnly = false;
  }

  /** hlt on the executing CPU with no line pending: it waits in `slice`, where another CPU's IPI can wake it. */
  halt(): void {
    this.contexts[this.current].state = "halted";
  }

  /** machine.sleep: halted until a kick (`wake`), whatever lines are pending. */
  sleep(): void {
    const c = this.contexts[this.current];
    c.state = "halted";
    c.kickOnly = true;
  }

  /** machine.wakeTime for CPU `n`. */
  wakeTime(n: number): number {
    const c = this.contexts[n];
    if (c.kickOnly) return Infinity; // only a kick wakes it
    return c.lines.pending !== 0 ? this.view(n).cycles : c.bus.nextEvent();
  }

  /**
   * The multiprocessor's run loop (machine.runUntil with cpus > 1). Epoch
   * boundaries are the multiples of the quantum; each epoch ends at the
   * first boundary above the lowest CPU clock, so the schedule is a function
   * of the clocks alone (a snapshot resumes it exactly). In each epoch the
   * CPUs take turns in order: a stopped CPU's clock moves to the epoch's end;
   * a CPU the monitor does not let run (`runnable`) too, counted as
   * descheduled; every other CPU runs `slice` up to the end. `pause` is
   * honoured at epoch boundaries only.
   */
  runEpochs(pause: number, maxCycles: number): boolean {
    const host = this.host;
    const ctxs = this.contexts;
    const q = this.quantum;
    this.jit?.memoryMayHaveChanged();
    while (!host.stopped) {
      let low = Infinity;
      for (let n = 0; n < ctxs.length; n++) low = Math.min(low, this.view(n).cycles);
      const start = Math.floor(low / q) * q;
      const end = start + q;
      if (low >= pause) return false;
      if (low >= maxCycles) {
        // Every CPU is past the budget without having run into it (descheduled by a monitor's `runnable`, or stopped).
        host.stop("max-cycles", `stopped after ${Math.floor(low)} cycles (--max-cycles ${maxCycles})`);
        break;
      }
      let anyRunning = false;
      for (let n = 0; n < ctxs.length && !host.stopped; n++) {
        const c = ctxs[n];
        if (c.state === "stopped") {
          if (n === this.current) host.cpu.cycles = Math.max(host.cpu.cycles, end);
          else c.cycles = Math.max(c.cycles, end);
          continue;
        }
        this.switchTo(n);
        const cpu = host.cpu;
        const executed = this.executedCycles(cpu.cycles);
        const monitor = host.monitor;
        const runs = !monitor?.runnable || monitor.runnable(n, start);
        // The hook may write memory (xen applies the other vCPUs' queued page-table updates): translations verify again.
        if (monitor?.runnable) this.jit?.memoryMayHaveChanged();
        // The scheduler may charge the vCPU (a switch): hypervisor time, not the guest spinning.
        if (host.spin.active) host.spin.scheduled(n, runs, this.executedCycles(cpu.cycles) - executed);
        if (!runs) {
          this.descheduleUntil(end);
          if (c.state === "running") anyRunning = true;
          continue;
        }
        this.slice(c, end, maxCycles);
        if (c.state === "running") anyRunning = true;
      }
      // (A CPU may have been woken after its turn: a hypervisor's kick, machine.wake.)
      if (!host.stopped && !anyRunning && !ctxs.some((c) => c.state === "running") && !this.anyCpuCanWake()) {
        this.stopAll("hlt-deadlock", "every CPU is halted or stopped, and no interrupt can ever wake one");
      }
    }
    host.console.flush();
    return true;
  }

  /**
   * One CPU's turn in an epoch (its context loaded): the uniprocessor loop
   * up to `end` — device events, interrupts, the interpreter or the JIT —
   * with hlt as a state: a halted CPU's clock moves to its next device
   * event (or the end) as idle cycles, and it wakes when a line is pending
   * for it (IE=1: the interrupt is taken; IE=0: execution goes on).
   */
  private slice(c: CpuContext, end: number, maxCycles: number): void {
    const host = this.host;
    const cpu = host.cpu;
    const jit = this.jit;
    // Loaded for the whole turn: only the machine switches CPUs, between turns.
    const bus = c.bus;
    const lines = c.lines;
    while (!host.stopped) {
      if (cpu.leaveTurn) {
        // The hypervisor took the physical CPU away for the rest of the epoch (machine.endTurn).
        cpu.leaveTurn = false;
        this.descheduleUntil(end);
        return;
      }
      const now = cpu.cycles;
      if (now >= end) return;
      if (now >= maxCycles) {
        host.stop("max-cycles", `stopped after ${Math.floor(now)} cycles (--max-cycles ${maxCycles})`);
        return;
      }
      let next = bus.nextEvent();
      if (now >= next) {
        bus.fireDue(now);
        next = bus.nextEvent();
        jit?.memoryMayHaveChanged(); // disk DMA
      }
      if (c.state === "halted") {
        // As the uniprocessor's hlt: with no device event to wait for, console input may wake CPU 0.
        if (lines.pending === 0 && c.id === 0 && next === Infinity && host.console.canWake()) host.console.read(0x11);
        if (lines.pending === 0 || c.kickOnly) {
          const target = Math.min(next, end, maxCycles);
          c.idleCycles += target - now;
          host.countAt(this.idleCyclesId, target - now);
          cpu.cycles = target;
          continue;
        }
        c.state = "running";
      }
      if ((cpu.psr & PSR.IE) !== 0 && lines.pending !== 0) {
        const line = lines.lowest()!;
        host.countInterrupt(line);
        host.raise(CAUSE.INTERRUPT_BASE + line, cpu.pc);
        jit?.memoryMayHaveChanged(); // a monitor saw it
        continue;
      }
      if (c.state !== "running") return; // a monitor's idle() halted it, or it stopped
      const limit = Math.min(next, maxCycles, end);
      if (jit) jit.run(limit);
      else cpu.run(this.referenceSlicing ? Math.min(limit, justAbove(cpu.cycles)) : limit);
    }
  }

  /** Whether some halted CPU has a line pending, or a device event or console input can still come. */
  private anyCpuCanWake(): boolean {
    const host = this.host;
    if (host.externalEvents) return true; // the host may raise a line: it judges a deadlock of all its guests
    for (const c of this.contexts) {
      if (c.state !== "halted" || c.kickOnly) continue;
      if (c.lines.pending !== 0 || c.bus.nextEvent() !== Infinity) return true;
    }
    const c0 = this.contexts[0];
    if (c0.state === "halted" && !c0.kickOnly && host.console.canWake()) {
      host.console.read(0x11); // refreshes line 1
      if (c0.lines.pending !== 0) return true;
    }
    return false;
  }

  /** Ends the run for a reason that is no one CPU's (the diagnosis shows the executing CPU). */
  private stopAll(reason: StopReason, message: string): void {
    this.host.stopWith(reason, message, { message });
  }

  /** The diagnosis line naming the other CPUs. */
  otherCpus(): string {
    const others = this.contexts.filter((c) => c.id !== this.current).map((c) => {
      const pc = this.view(c.id).pc;
      return `cpu ${c.id} ${c.state}${c.state === "stopped" ? "" : ` pc=${(pc >>> 0).toString(16).padStart(8, "0")}`}`;
    });
    return `  this is cpu ${this.current}; ${others.join(", ")}\n`;
  }

  /** machine.waitingForever: every CPU halted or stopped, at least one halted, nothing to wake one but a line from outside. */
  get waitingForever(): boolean {
    let halted = 0;
    for (const c of this.contexts) {
      if (c.state === "running") return false;
      if (c.state === "halted") {
        if (c.lines.pending !== 0 || c.bus.nextEvent() !== Infinity) return false;
        halted++;
      }
    }
    return halted > 0 && !(this.contexts[0].state === "halted" && this.host.console.canWake());
  }

  /**
   * The counters of every CPU into `s` (machine.stats): the machine's
   * elapsed time is its furthest clock; work adds up; `perCpu` per CPU.
   */
  sumStats(s: MachineStats): void {
    s.instructions = 0;
    s.cycles = 0;
    let pauses = 0;
    s.perCpu = this.contexts.map((c) => {
      const v = this.view(c.id);
      s.instructions += v.instret;
      s.cycles = Math.max(s.cycles, v.cycles);
      pauses += v.pauses;
      return { cycles: v.cycles, instructions: v.instret, idleCycles: c.idleCycles, descheduledCycles: c.descheduledCycles };
    });
    if (pauses !== 0) s.counts.pauses = (s.counts.pauses ?? 0) + pauses;
  }

  /** A CPU's run state. */
  state(n: number): CpuRunState {
    return this.contexts[n].state;
  }
}
