// The machine's state apart from RAM and the monitor, as plain data: what a
// snapshot (src/migration) saves and a fresh machine restores. Produced by
// `Machine.saveState()`, consumed by `Machine.restoreState()`; the snapshot
// codec serializes it (typed arrays as binary, numbers as JSON).

import type { DiskState, } from "./devices/disk.js";
import type { NvdiskState } from "./devices/nvdisk.js";
import type { TimerState } from "./devices/timer.js";
import type { ProtectionState } from "./protection/protection.js";
import type { MachineStats } from "./stats.js";
import type { CpuRunState } from "./cpu-context.js";
import type { SpinState } from "./spin-accounting.js";

/** One CPU: its architectural state and what it owns (TLB, interrupt lines, timer). */
export interface CpuState {
  regs: Int32Array;
  pc: number;
  psr: number;
  cr: Int32Array;
  cycles: number;
  instret: number;
  trace: Int32Array;
  traceIdx: number;
  /** `pause` instructions completed. */
  pauses: number;
  /** stopped (not started yet), running, or halted (after hlt, until a line is pending). */
  run: CpuRunState;
  /** The TLB's architectural entries (page, frame, perm per slot). */
  tlb: { page: Int32Array; frame: Int32Array; perm: Int32Array };
  /** Asserted interrupt lines (bit n = line n). */
  lines: number;
  timer: TimerState;
  lastFault: { cause: number; epc: number; badva: number; repeats: number };
  /** Port 0x43. */
  startAddress: number;
  idleCycles: number;
  descheduledCycles: number;
}

export interface MachineState {
  /** Every CPU (one for a uniprocessor), by number. */
  cpus: CpuState[];
  /** The CPU that was executing (the machine's `cpuId`). */
  current: number;
  /** The interleaving quantum in cycles (part of the schedule). */
  quantum: number;
  /** Per frame: 1 when the monitor watches it (its write-protected page tables). */
  watched: Uint8Array;
  counters: MachineStats;
  /** The first byte the guest cannot address (a monitor's reservation lowers it). */
  guestLimit: number;
  disk: DiskState;
  /** The memory-mapped disk's registers and request in flight, when one is attached (its image is saved apart). */
  nvdisk?: NvdiskState;
  console: { rxIrq: boolean };
  /** The protection unit's PLB and counters (absent in snapshots from before protection domains). */
  protection?: ProtectionState;
  /** The memory supervisor's ARG0..ARG3 and last result (absent: all 0). */
  supervisor?: Int32Array;
  /** Spin accounting (spin-accounting.ts), when the image has lock sites: waits, holders, counters. */
  spin?: SpinState;
}
