// Stop-and-copy migration: run the guest on its back end to the first safe
// point at or after cycle N, stop it, send every non-zero guest page and its
// state (the snapshot of snapshot.ts, in process), and continue it on the
// target back end. The guest's clock does not advance while it is stopped:
// the downtime is reported in simulated cycles (pages × the cost model's
// pageTransfer), not charged to the guest.

import { PAGE_SIZE } from "../machine/memory.js";
import type { Guest } from "./guest.js";
import { deferralOf, type MigrationReport } from "./report.js";
import { runToSafePoint } from "./safe-point.js";
import { captureSnapshot, nonZeroPages, restoreGuest } from "./snapshot.js";

/** One page of registers, control registers, devices and the neutral form travels with the memory. */
export const STATE_PAGES = 1;

/** Non-zero pages of guest RAM (the monitor's reserved pages are the monitor's business). */
export function guestPages(guest: Guest): number[] {
  const mem = guest.machine.memory;
  return nonZeroPages(mem, 0, mem.guestLimit / PAGE_SIZE);
}

export interface MoveResult {
  /** The guest on the target (undefined when it ended first; `source` holds the ended run). */
  guest: Guest | undefined;
  source: Guest;
  report: MigrationReport;
}

export function stopAndCopy(source: Guest, to: string, at: number, maxCycles = Infinity): MoveResult {
  const sp = runToSafePoint(source, at, maxCycles);
  const base = { from: source.backend.name, to, mode: "stop-and-copy" as const, at, stoppedAt: sp.cycle, ...deferralOf(sp), rounds: [] };
  if (!sp.reached) {
    return { guest: undefined, source, report: { ...base, migrated: false, totalPages: 0, totalBytes: 0, downtimePages: 0, downtimeBytes: 0, downtimeCycles: 0, totalCycles: 0, sitesRepatched: 0, stopAndCopy: { pages: 0, bytes: 0, downtimeCycles: 0 } } };
  }
  const snap = captureSnapshot(source, true, false); // the disk itself moves with the guest
  // The guest's non-zero pages (guestPages) are the snapshot's below the monitor's reserved pages: the same memory,
  // not run since, so counted from the snapshot rather than compared again (a second pass over RAM, and under the
  // tests' written-record check a second check).
  const limit = source.machine.memory.guestLimit / PAGE_SIZE;
  const pages = snap.pages.filter((f) => f < limit).length + STATE_PAGES;
  const bytes = pages * PAGE_SIZE; // every page whole: there is no earlier copy to send a delta against
  const downtime = pages * source.costModel.pageTransfer;
  const { guest, info } = restoreGuest(snap, to, { ...source.options, disk: source.disk, image: source.image });
  return {
    guest,
    source,
    report: { ...base, migrated: true, totalPages: pages, totalBytes: bytes, downtimePages: pages, downtimeBytes: bytes, downtimeCycles: downtime, totalCycles: downtime, sitesRepatched: info.sitesRepatched, stopAndCopy: { pages, bytes, downtimeCycles: downtime } },
  };
}
