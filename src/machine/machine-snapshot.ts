// Saving and restoring a machine's state, and the dirty log: what
// src/migration builds snapshots and live migration on (docs/machine.md
// "Pausing, state and the dirty log").
//
// Consumes a Machine (its public parts: CPU, MMU, memory, devices,
// protection, spin accounting) and what it passes of its own (MachineInternals:
// the multiprocessor's contexts, the fault-loop memory, the counters).
// Produces a MachineState (machine-state.ts, plain data the snapshot codec
// serializes), loads one into a fresh machine, and keeps the log of frames
// written between migration rounds. Machine's saveState, restoreState,
// startDirtyLog, takeDirty and stopDirtyLog call these; the first store to a
// logged frame is caught in machine.ts (`watchedStore`, a slow path).

import { UserError } from "../guest-isa/diagnostics.js";
import type { LastFault } from "./cpu-context.js";
import type { Machine } from "./machine.js";
import type { CpuState, MachineState } from "./machine-state.js";
import type { PhysicalMemory } from "./memory.js";
import type { Mmu } from "./mmu/mmu.js";
import type { Multiprocessor } from "./multiprocessor.js";
import type { MachineStats } from "./stats.js";

/** What a snapshot holds of the machine beyond its public API (machine.ts hands it over). */
export interface MachineInternals {
  /** The multiprocessor, whose contexts hold every CPU but the executing one (undefined with one CPU). */
  readonly mp: Multiprocessor | undefined;
  /** The uniprocessor's fault-loop memory (a multiprocessor's CPUs keep theirs in their contexts). */
  readonly lastFault: LastFault;
  /** The counters, every tally written into them. */
  counters(): MachineStats;
  /** Replaces the counters (the tallies take their totals from them). */
  replaceCounters(counters: MachineStats): void;
}

/** machine.saveState: everything but RAM and the monitor's own state (docs/migration.md), every CPU's. */
export function saveMachineState(m: Machine, own: MachineInternals): MachineState {
  const mp = own.mp;
  const cpus: CpuState[] = [];
  for (let n = 0; n < m.cpuCount; n++) {
    const v = mp ? mp.view(n) : m.cpu;
    const c = mp?.contexts[n];
    const tlb = c ? c.tlb : m.mmu.tlb;
    cpus.push({
      regs: v.regs.slice(), pc: v.pc, psr: v.psr, cr: v.cr.slice(), cycles: v.cycles, instret: v.instret, trace: v.trace.slice(), traceIdx: v.traceIdx,
      pauses: v.pauses,
      run: c ? c.state : "running",
      tlb: tlb.save(),
      lines: (c ? c.lines : m.lines).pending,
      timer: (c ? c.timer : m.timer).saveState(),
      lastFault: { ...(c ? c.lastFault : own.lastFault) },
      startAddress: c ? c.startAddress : m.startAddress,
      idleCycles: c ? c.idleCycles : 0,
      descheduledCycles: c ? c.descheduledCycles : 0,
    });
  }
  return {
    cpus,
    current: m.cpuId,
    quantum: m.quantum,
    watched: m.mmu.monitorWatched.slice(),
    counters: structuredClone(own.counters()),
    guestLimit: m.memory.guestLimit,
    disk: m.disk.saveState(),
    ...(m.nvdisk ? { nvdisk: m.nvdisk.saveState() } : {}),
    console: m.console.saveState(),
    protection: m.protection.saveState(),
    ...(m.supervisor.saveState() ? { supervisor: m.supervisor.saveState() } : {}),
    ...(m.spin.active ? { spin: m.spin.save() } : {}),
  };
}

/**
 * machine.restoreState: loads `s` into `m` (its monitor attached, RAM
 * already loaded; as many CPUs as the state has: a UserError otherwise).
 * `exact`: also the TLBs, the watched frames, psr and the control registers
 * — resuming on the back end that saved them. Otherwise those stay as the
 * new back end's monitor sets them from the neutral form (the TLBs empty).
 * The quantum is the machine's own (a resume may change it).
 */
export function restoreMachineState(m: Machine, own: MachineInternals, s: MachineState, exact: boolean): void {
  if (s.cpus.length !== m.cpuCount) throw new UserError(`snapshot has ${s.cpus.length} CPUs, the machine ${m.cpuCount}`);
  const mp = own.mp;
  for (let n = 0; n < m.cpuCount; n++) {
    const c = s.cpus[n];
    mp?.switchTo(n);
    const cpu = m.cpu;
    cpu.regs.set(c.regs);
    cpu.pc = c.pc;
    cpu.cycles = c.cycles;
    cpu.instret = c.instret;
    cpu.pauses = c.pauses;
    cpu.trace.set(c.trace);
    cpu.traceIdx = c.traceIdx;
    m.lines.pending = c.lines;
    m.timer.restoreState(c.timer);
    const ctx = mp?.contexts[n];
    Object.assign(ctx ? ctx.lastFault : own.lastFault, c.lastFault);
    m.startAddress = c.startAddress;
    if (ctx) Object.assign(ctx, { state: c.run, idleCycles: c.idleCycles, descheduledCycles: c.descheduledCycles, kickOnly: false });
    if (exact) {
      cpu.psr = c.psr;
      cpu.cr.set(c.cr);
      m.mmu.tlb.restore(c.tlb);
    } else {
      m.mmu.tlb.flush();
    }
  }
  mp?.switchTo(s.current);
  own.replaceCounters(structuredClone(s.counters));
  m.disk.restoreState(s.disk);
  if (m.nvdisk && s.nvdisk) m.nvdisk.restoreState(s.nvdisk);
  m.console.restoreState(s.console);
  m.protection.restoreState(s.protection, exact);
  // The guest's call in progress (its arguments written, or its result not yet read).
  m.supervisor.restoreState(s.supervisor);
  // Spin accounting is the guest's (its CPUs and lock words), not the back end's: it continues on any.
  if (s.spin && m.spin.active) m.spin.restore(s.spin);
  if (exact) {
    const mmu = m.mmu;
    for (let f = 0; f < s.watched.length; f++) if (s.watched[f] !== mmu.monitorWatched[f]) mmu.setWatched(f << 12, s.watched[f] === 1);
    // setWatched re-derived the tags of entries already restored; nothing else to do.
  }
}

/**
 * machine.startDirtyLog: every guest frame write-protected; its first store
 * is logged and charged `dirtyFault` (machine.ts watchedStore), as a
 * hypervisor's log-dirty mode does. Writes by devices and monitors through
 * the memory API are logged by PhysicalMemory.
 */
export function startDirtyLog(memory: PhysicalMemory, mmu: Mmu): void {
  memory.dirty = new Uint8Array(memory.size >>> 12);
  mmu.protectAll(memory.guestLimit);
}

/** machine.takeDirty: the frames written since the log was (re)started, ascending; restarts the log. */
export function takeDirty(memory: PhysicalMemory, mmu: Mmu): number[] {
  const d = memory.dirty!;
  const out: number[] = [];
  const limit = memory.guestLimit >>> 12;
  for (let f = 0; f < limit; f++) if (d[f] === 1) out.push(f);
  startDirtyLog(memory, mmu);
  return out;
}

/** machine.stopDirtyLog: no more logging; the monitor's watches remain (and a host's write tracking). */
export function stopDirtyLog(memory: PhysicalMemory, mmu: Mmu): void {
  memory.dirty = undefined;
  mmu.stopLogging();
}
