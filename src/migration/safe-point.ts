// Safe points (docs/migration.md): where a running guest may be stopped and
// moved, because its whole state is architectural or in the neutral form.
//
// A point is safe unless
//   - pc is in the soft-layer window (0xFFC00000 and up: the in-place VMM or
//     a stub is running, with k0 and the VMM's save area live);
//   - pc is strictly inside a site of the binary's table (past its first
//     word: part of a rewritten sequence has run — on bare or hvm the jump
//     over the padding — and the next words are back-end specific);
//   - the monitor has page-table updates queued that it has not applied
//     (xen/l4: the in-place VMM's queue; the guest's page tables in memory
//     are not yet what the guest believes them to be).
// `runToSafePoint` runs to cycle N, then one instruction at a time (each step
// is one more machine slice: nothing else changes) to the first safe point.
//
// With several CPUs (docs/migration.md, "Several CPUs") the point must be
// safe for every started CPU at once, each checked in its own context; the
// machine pauses only at epoch boundaries, so the search steps one epoch at
// a time (pausing there is what the run does anyway: nothing changes). A
// *halted* CPU is safe where it halted even inside a site or the window —
// after a `hlt` (bare, hvm, trap: the native instruction, pc = the site's
// next word) or in the in-place VMM's return from the EMULATE that halted it
// (xen, l4: the site's return address in k0) — and so is a running CPU at
// that return (EMULATE_RETURN, the monitor's `siteReturnAddress`), where the
// site's work is done and only the jump back past it is left: each resumes,
// on any back end, after that site (`resumeAfterSite`), which the neutral
// form records. (Without the second rule a CPU looping over emulated sites —
// printing, polling a device — stood at that return at nearly every epoch's
// end and could not be moved.)

import { readSiteColumns } from "../rewriter/index.js";
import { SITE_FLAG_EXEMPT } from "../guest-isa/softlayer.js";
import { isMigratable } from "../hypervisors/common/neutral-state.js";
import { REG } from "../guest-isa/registers.js";
import { encodeInstruction } from "../guest-isa/encoding.js";
import { justAbove, type Machine } from "../machine/machine.js";
import type { Guest } from "./guest.js";

const WINDOW_BASE = 0xffc00000;

/** The binary's sites as sorted [start, end) pairs (exempt regions excluded). */
export class SiteMap {
  private readonly start: Int32Array;
  private readonly end: Int32Array;

  constructor(guest: Guest) {
    const c = readSiteColumns(guest.image);
    const pairs: [number, number][] = [];
    if (c) for (let i = 0; i < c.count; i++) if ((c.flags[i] & SITE_FLAG_EXEMPT) === 0) pairs.push([c.addr[i] >>> 0, (c.addr[i] + c.length[i]) >>> 0]);
    pairs.sort((a, b) => a[0] - b[0]);
    this.start = Int32Array.from(pairs, (p) => p[0]);
    this.end = Int32Array.from(pairs, (p) => p[1]);
  }

  /** The end of the site whose first word ends at or before `addr` and whose end is at or after it (start < addr ≤ end), or -1. */
  endAfter(addr: number): number {
    const u = addr >>> 0;
    let lo = 0;
    let hi = this.start.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.start[mid] >>> 0 < u) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && u <= this.end[hi] >>> 0 ? this.end[hi] >>> 0 : -1;
  }

  /** The start of the site `pc` is strictly inside, or -1. */
  inside(pc: number): number {
    let lo = 0;
    let hi = this.start.length - 1;
    const u = pc >>> 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.start[mid] >>> 0 <= u) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && u > this.start[hi] >>> 0 && u < this.end[hi] >>> 0 ? this.start[hi] >>> 0 : -1;
  }
}

/** Why the CPU executing now may not be stopped at its current instruction, or undefined. */
function cpuUnsafeReason(guest: Guest, sites: SiteMap): string | undefined {
  const m = guest.machine;
  const mon = guest.monitor;
  const monitorReason = () => (isMigratable(mon) ? mon.unsafeReason?.() : undefined);
  const pc = m.pc >>> 0;
  // After a site's work (on its final jump, at the VMM's return) a running CPU runs on as anywhere
  // else: its own queue must be empty too. A halted one is safe where it halted.
  if (resumeAfterSite(guest, sites) !== undefined) return m.cpuState(m.cpuId) === "halted" ? undefined : monitorReason();
  if (pc >= WINDOW_BASE) return `pc 0x${pc.toString(16)} is in the soft-layer window`;
  const site = sites.inside(pc);
  if (site >= 0) return `pc 0x${pc.toString(16)} is inside the site at 0x${site.toString(16)}`;
  return monitorReason();
}

/**
 * For the CPU executing now, stopped where only its back end can continue —
 * halted inside a site or the window, or running at the in-place VMM's
 * return from an emulated site: where it resumes on any back end, after the
 * site that halted it or that it emulated (the site holding pc, or, in the
 * window, the site whose call left its return address in k0). Undefined
 * for a CPU at a safe point anyway, or not at a point these rules cover.
 */
export function resumeAfterSite(guest: Guest, sites: SiteMap): number | undefined {
  const m = guest.machine;
  const pc = m.pc >>> 0;
  if (m.cpuState(m.cpuId) !== "halted") {
    const mon = guest.monitor;
    const ret = isMigratable(mon) ? mon.siteReturnAddress?.() : undefined;
    if (ret === undefined || pc !== ret >>> 0) return m.cpuCount > 1 ? atFinalJump(guest, sites, pc) : undefined;
  }
  const at = pc >= WINDOW_BASE ? m.regs[REG.k0] >>> 0 : pc;
  if (pc < WINDOW_BASE && sites.inside(pc) < 0) return undefined;
  const end = sites.endAfter(at);
  return end >= 0 ? end : undefined;
}

/**
 * A running CPU whose next instruction is a site's jump to the site's end —
 * on bare, hvm and trap the jump over the padding after the native
 * instruction, anywhere the last word of a rewritten sequence — has done the
 * site's work: that site's end, where it resumes on any back end, or
 * undefined. Several CPUs only: their search steps whole epochs, and a CPU
 * whose turns end on a costly site (an hvm exit at cli/sti) stands there at
 * nearly every epoch's end; one CPU steps one instruction and takes the jump.
 * The word is read from memory (sites sit where the binary put them, as
 * snapshot.ts repatchSites writes them), so a site the guest rewrote is not
 * taken for one.
 */
function atFinalJump(guest: Guest, sites: SiteMap, pc: number): number | undefined {
  if (sites.inside(pc) < 0) return undefined;
  const end = sites.endAfter(pc);
  const mem = guest.machine.memory;
  if (end < 0 || !mem.contains(pc, 4)) return undefined;
  return mem.read32(pc) === encodeInstruction("jal", { a: REG.zero, imm: end - pc }) ? end : undefined;
}

/** Why the guest may not be stopped now, or undefined at a point safe for every started CPU. */
export function unsafeReason(guest: Guest, sites: SiteMap): string | undefined {
  const m = guest.machine;
  if (m.cpuCount === 1) return cpuUnsafeReason(guest, sites);
  for (let n = 0; n < m.cpuCount; n++) {
    if (m.cpuState(n) === "stopped") continue;
    const why = m.inCpu(n, () => cpuUnsafeReason(guest, sites));
    if (why !== undefined) return `cpu ${n}: ${why}`;
  }
  return undefined;
}

export interface SafePointResult {
  /** false: the guest ended (power-off or a stop) before reaching a safe point at or after N. */
  reached: boolean;
  /** The cycle the guest stopped at (≥ N when reached). */
  cycle: number;
  /** Steps run past N to find the safe point: instructions (one CPU) or epochs (several; `deferredUnit`). */
  deferredSteps: number;
  /** What a step is: one instruction, or (several CPUs) one epoch of the interleaving. */
  deferredUnit: "instruction" | "epoch";
  /** The first reason a point was refused, if any was. */
  deferredBecause?: string;
}

/** Runs the guest to the first safe point at or after cycle `n` (or to its end). */
export function runToSafePoint(guest: Guest, n: number, maxCycles = Infinity, sites = new SiteMap(guest)): SafePointResult {
  const m = guest.machine;
  const deferredUnit = m.cpuCount === 1 ? "instruction" : "epoch";
  if (m.runUntil(n, maxCycles)) return { reached: false, cycle: m.cycles, deferredSteps: 0, deferredUnit };
  let steps = 0;
  let first: string | undefined;
  for (let why = unsafeReason(guest, sites); why !== undefined; why = unsafeReason(guest, sites)) {
    first ??= why;
    steps++;
    // One CPU: one instruction; several: one epoch (the machine pauses at epoch boundaries only).
    const next = m.cpuCount === 1 ? justAbove(m.cycles) : nextEpoch(m);
    if (m.runUntil(next, maxCycles)) return { reached: false, cycle: m.cycles, deferredSteps: steps, deferredUnit, deferredBecause: first };
  }
  return { reached: true, cycle: m.cycles, deferredSteps: steps, deferredUnit, deferredBecause: first };
}

/** The first epoch boundary above the lowest started CPU's clock: where a multiprocessor run pauses next. */
function nextEpoch(m: Machine): number {
  let low = Infinity;
  for (let n = 0; n < m.cpuCount; n++) low = Math.min(low, m.inCpu(n, () => m.cycles));
  return (Math.floor(low / m.quantum) + 1) * m.quantum;
}
