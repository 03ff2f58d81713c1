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

import { readSiteColumns } from "../rewriter/index.js";
import { SITE_FLAG_EXEMPT } from "../guest-isa/softlayer.js";
import { isMigratable } from "../hypervisors/common/neutral-state.js";
import { justAbove } from "../machine/machine.js";
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

/** Why the guest may not be stopped at its current instruction, or undefined at a safe point. */
export function unsafeReason(guest: Guest, sites: SiteMap): string | undefined {
  const m0 = guest.machine;
  // Every started CPU of a multiprocessor must be at a safe point (its pc; one CPU: as before).
  for (let n = 0; n < m0.cpuCount; n++) {
    if (m0.cpuState(n) === "stopped") continue;
    const pc = m0.pcOf(n) >>> 0;
    const who = m0.cpuCount > 1 ? `cpu ${n}: ` : "";
    if (pc >= WINDOW_BASE) return `${who}pc 0x${pc.toString(16)} is in the soft-layer window`;
    const site = sites.inside(pc);
    if (site >= 0) return `${who}pc 0x${pc.toString(16)} is inside the site at 0x${site.toString(16)}`;
  }
  const m = guest.monitor;
  return isMigratable(m) ? m.unsafeReason?.() : undefined;
}

export interface SafePointResult {
  /** false: the guest ended (power-off or a stop) before reaching a safe point at or after N. */
  reached: boolean;
  /** The cycle the guest stopped at (≥ N when reached). */
  cycle: number;
  /** Instructions (machine steps) run past N to find the safe point. */
  deferredSteps: number;
  /** The first reason a point was refused, if any was. */
  deferredBecause?: string;
}

/** Runs the guest to the first safe point at or after cycle `n` (or to its end). */
export function runToSafePoint(guest: Guest, n: number, maxCycles = Infinity, sites = new SiteMap(guest)): SafePointResult {
  const m = guest.machine;
  if (m.runUntil(n, maxCycles)) return { reached: false, cycle: m.cycles, deferredSteps: 0 };
  let steps = 0;
  let first: string | undefined;
  for (let why = unsafeReason(guest, sites); why !== undefined; why = unsafeReason(guest, sites)) {
    first ??= why;
    steps++;
    if (m.runUntil(justAbove(m.cycles), maxCycles)) return { reached: false, cycle: m.cycles, deferredSteps: steps, deferredBecause: first };
  }
  return { reached: true, cycle: m.cycles, deferredSteps: steps, deferredBecause: first };
}
