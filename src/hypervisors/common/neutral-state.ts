// The back-end-neutral form of a guest's virtual state (docs/migration.md):
// what the guest would see in the CPU's psr and control registers if it ran
// on bare metal. Every monitor exports its own representation into this form
// and imports it back — hvm keeps ptbr/pgctl virtual under its shadow pager,
// trap keeps a virtual psr and control registers in monitor memory, xen and
// l4 keep them in the soft-layer window — so a running guest can leave one
// back end for another (src/migration). Pending interrupts are the machine's
// interrupt lines, saved with the machine (machine-state.ts); a held event
// (xen/l4 VPEND) is re-derived from them and the virtual IE on import.
//
// With several CPUs the neutral form is per vCPU (one NeutralState per
// machine CPU, index = CPU): exportNeutral, importNeutral and unsafeReason
// are called in the context of each CPU in turn (machine.inCpu), after one
// beginImport for what the guest's vCPUs share (xen/l4: the window).
//
// Besides the neutral form each monitor saves its exact private state
// (shadow sets, mappings, held events, the window's bytes are in RAM) so a
// snapshot resumed on the same back end continues cycle-exactly.

import type { Machine } from "../../machine/machine.js";
import type { Monitor } from "../../machine/monitor.js";

export interface NeutralState {
  /** The psr bare metal would hold: SU, IE and UF bits. */
  psr: number;
  /** The control registers bare metal would hold, by CR number (tvec, epc, epsr, cause, badva, ptbr, scratch, pgctl). */
  cr: number[];
  /**
   * Where a *halted* vCPU resumes on any back end when its own pc is a point
   * only the source continues from (inside the site whose `hlt` halted it,
   * or in the in-place VMM's return from it): the end of that site
   * (src/migration/safe-point.ts). Absent: at its pc.
   */
  pc?: number;
}

/** A monitor that can hand its guest over to another back end, and be snapshotted exactly. */
export interface MigratableMonitor extends Monitor {
  /** The running vCPU's virtual state in the neutral form (called at a safe point, in each CPU's context). */
  exportNeutral(): NeutralState;
  /**
   * Before importNeutral: installs what the guest's vCPUs share (the
   * in-place VMM in the window). Called once.
   */
  beginImport?(): void;
  /**
   * Takes over a guest whose RAM, registers, pc and devices are already in
   * the machine: sets the running vCPU's virtual state (in each CPU's
   * context, after beginImport); charges nothing.
   */
  importNeutral(state: NeutralState): void;
  /** Why the running vCPU may not be stopped now (a queued page-table update, …), or undefined. */
  unsafeReason?(): string | undefined;
  /**
   * The address where a vCPU stands once an emulated site's work is done
   * and only the return past the site (to the address in k0) is left — the
   * in-place VMM's return from EMULATE — or undefined for a monitor with no
   * such point. A CPU there may be moved: it resumes after the site
   * (migration/safe-point.ts `resumeAfterSite`).
   */
  siteReturnAddress?(): number | undefined;
  /** The monitor's private state, as plain data (numbers, arrays, typed arrays). */
  saveExact(): Record<string, unknown>;
  /** Restores `saveExact`'s data into a freshly attached monitor (RAM and machine state already restored). */
  restoreExact(state: Record<string, unknown>): void;
  /**
   * After restoreExact, with the snapshot's RAM loaded: what in that RAM is
   * not the monitor's to take from a snapshot and differs from what it
   * installs (xen/l4: the in-place VMM's read-only code), or
   * undefined. A snapshot file is input: a copy of the VMM in it is checked.
   */
  exactProblem?(): string | undefined;
}

/**
 * Whether `v` is a whole number from `lo` to `hi`. A monitor's restoreExact
 * checks a snapshot's values (input from a file) with it before a typed
 * array's set would convert them silently (1.5 to 1, 2^32 to 0).
 */
export function isWholeIn(v: unknown, lo: number, hi: number): v is number {
  return Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
}

/** A 32-bit word as a snapshot may hold it, signed or unsigned. */
export const isWord = (v: unknown): v is number => isWholeIn(v, -0x8000_0000, 0xffff_ffff);

/**
 * A snapshot's [key, value] pairs as the Map a monitor keeps (a Map saved as
 * an array), or undefined when they are not pairs whose keys and values pass
 * the checks, or when a key repeats (a Map would keep the last silently).
 */
export function pairsAsMap(v: unknown, isKey: (k: unknown) => boolean, isValue: (x: unknown) => boolean): Map<number, number> | undefined {
  if (!Array.isArray(v) || !v.every((e) => Array.isArray(e) && e.length === 2 && isKey(e[0]) && isValue(e[1]))) return undefined;
  const map = new Map(v as [number, number][]);
  return map.size === v.length ? map : undefined;
}

export function isMigratable(m: Monitor | undefined): m is MigratableMonitor {
  return m !== undefined && typeof (m as Partial<MigratableMonitor>).exportNeutral === "function";
}


/** Bare metal: the neutral form is the machine's own psr and control registers (of the CPU executing now). */
export function bareExport(machine: Machine): NeutralState {
  return { psr: machine.psr, cr: Array.from(machine.cr) };
}

export function bareImport(machine: Machine, s: NeutralState): void {
  machine.psr = s.psr;
  machine.cr.set(s.cr);
}
