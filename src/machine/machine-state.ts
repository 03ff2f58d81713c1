// The machine's state apart from RAM and the monitor, as plain data: what a
// snapshot (src/migration) saves and a fresh machine restores. Produced by
// `Machine.saveState()`, consumed by `Machine.restoreState()`; the snapshot
// codec serializes it (typed arrays as binary, numbers as JSON).

import type { DiskState, } from "./devices/disk.js";
import type { TimerState } from "./devices/timer.js";
import type { ProtectionState } from "./protection/protection.js";
import type { MachineStats } from "./stats.js";

export interface CpuState {
  regs: Int32Array;
  pc: number;
  psr: number;
  cr: Int32Array;
  cycles: number;
  instret: number;
  trace: Int32Array;
  traceIdx: number;
}

export interface MachineState {
  cpu: CpuState;
  /** The TLB's architectural entries (page, frame, perm per slot). */
  tlb: { page: Int32Array; frame: Int32Array; perm: Int32Array };
  /** Per frame: 1 when the monitor watches it (its write-protected page tables). */
  watched: Uint8Array;
  /** Asserted interrupt lines (bit n = line n). */
  lines: number;
  counters: MachineStats;
  lastFault: { cause: number; epc: number; badva: number; repeats: number };
  /** The first byte the guest cannot address (a monitor's reservation lowers it). */
  guestLimit: number;
  timer: TimerState;
  disk: DiskState;
  console: { rxIrq: boolean };
  /** The protection unit's PLB and counters (absent in snapshots from before protection domains). */
  protection?: ProtectionState;
}
