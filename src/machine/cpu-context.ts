// One CPU of a multiprocessor machine, while it is not the one executing:
// its architectural state (registers, pc, psr, control registers, clock,
// trace ring) as plain arrays, plus what it owns for good — its TLB, its
// interrupt lines, its timer, its port bus — and its run state.
//
// Made by machine.ts, which keeps ONE Cpu (cpu.ts) whose interpreter loop
// is unchanged; multiprocessor.ts holds them and switches them into it at quantum
// boundaries (`saveFrom` / `loadInto`): a switch copies 16 registers, 8
// control registers and the 64-word trace ring, and re-points the CPU, the
// MMU and the JIT at this context's TLB (whose fast arrays sit in the heap's
// state region, so nothing of the TLB is copied).

import { PSR } from "../guest-isa/registers.js";
import type { InterruptLines, PortBus } from "./bus/ports.js";
import type { Cpu } from "./cpu.js";
import { TRACE_PAIRS } from "./cpu.js";
import type { TimerDevice } from "./devices/timer.js";
import type { Tlb } from "./mmu/tlb.js";

/** A CPU's run state (machine.cpuState): stopped until started, halted after `hlt` until a line is pending for it. */
export type CpuRunState = "stopped" | "running" | "halted";

export interface LastFault {
  cause: number;
  epc: number;
  badva: number;
  repeats: number;
}

export class CpuContext {
  readonly regs = new Int32Array(16);
  pc = 0;
  psr: number = PSR.SU;
  readonly cr = new Int32Array(8);
  cycles = 0;
  instret = 0;
  pauses = 0;
  readonly trace = new Int32Array(TRACE_PAIRS * 2).fill(-1);
  traceIdx = 0;
  state: CpuRunState;
  /** Port 0x43: where this CPU's next `out 0x42` starts a CPU. */
  startAddress = 0;
  /** Cycles spent halted, and without a physical CPU (monitor.runnable said no). */
  idleCycles = 0;
  descheduledCycles = 0;
  /**
   * Halted until a hypervisor's kick (machine.sleep / machine.wake): a
   * pending line does not wake it (a para-virtual spinlock's waiter, as
   * Xen's SCHEDOP_poll). Not in a snapshot: a resumed sleeper is a plain
   * halted CPU, which wakes on its next line and retries its lock.
   */
  kickOnly = false;
  /** The fault-loop detector's memory (machine.ts crashInsteadOfDelivery), per CPU. */
  lastFault: LastFault = { cause: -1, epc: 0, badva: 0, repeats: 0 };

  constructor(
    readonly id: number,
    readonly tlb: Tlb,
    readonly lines: InterruptLines,
    readonly timer: TimerDevice,
    readonly bus: PortBus,
  ) {
    this.state = id === 0 ? "running" : "stopped";
  }

  /** Copies the executing CPU's state into this context (it stops being loaded). */
  saveFrom(cpu: Cpu): void {
    this.regs.set(cpu.regs);
    this.pc = cpu.pc;
    this.psr = cpu.psr;
    this.cr.set(cpu.cr);
    this.cycles = cpu.cycles;
    this.instret = cpu.instret;
    this.pauses = cpu.pauses;
    this.trace.set(cpu.trace);
    this.traceIdx = cpu.traceIdx;
  }

  /** Loads this context into the CPU (the caller re-points the MMU and the JIT at `tlb`). */
  loadInto(cpu: Cpu): void {
    cpu.regs.set(this.regs);
    cpu.pc = this.pc;
    cpu.psr = this.psr;
    cpu.cr.set(this.cr);
    cpu.cycles = this.cycles;
    cpu.instret = this.instret;
    cpu.pauses = this.pauses;
    cpu.trace.set(this.trace);
    cpu.traceIdx = this.traceIdx;
    cpu.tlb = this.tlb;
  }
}
