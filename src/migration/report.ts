// The migration report (docs/design.md §8): what one
// move of a running guest cost, in simulated cycles, for stderr and --json.
// Produced by stop-and-copy.ts and live.ts; consumed by the CLI.

import type { SafePointResult } from "./safe-point.js";

export interface RoundReport {
  /** Pages sent in this round (round 1: every non-zero guest page; later: those dirtied in the round before), less those skipped. */
  pages: number;
  /** Bytes those pages put on the wire: 4,096 for a whole page, a delta's record for a page sent before. */
  bytes: number;
  /** How many of the pages went as deltas (page-sender.ts; 0 with delta compression off). */
  deltas: number;
  /** Cycles the round lasted (the sender's cycles for its pages, and any wait for the guest); the guest ran on meanwhile. */
  cycles: number;
  /** Pages of the round's set not sent because the guest dirtied them again before their turn (Clark's skip; absent when none). */
  skipped?: number;
  /** Pages the guest dirtied during the round (sent in the next round, or in the final stop). */
  dirtied: number;
}

/** A report's account of the search for the safe point (`sp`; none: the guest ended before the search began). */
export function deferralOf(sp: SafePointResult | undefined): Pick<MigrationReport, "deferredSteps" | "deferredUnit" | "deferredBecause"> {
  return { deferredSteps: sp?.deferredSteps ?? 0, ...(sp?.deferredUnit === "epoch" ? { deferredUnit: sp.deferredUnit } : {}), deferredBecause: sp?.deferredBecause };
}

export interface MigrationReport {
  from: string;
  to: string;
  mode: "stop-and-copy" | "live";
  /** The requested cycle N. */
  at: number;
  /** false: the guest ended before it could be moved (no migration happened). */
  migrated: boolean;
  /** The cycle the guest was stopped at (live: after the rounds), or where it ended. */
  stoppedAt: number;
  /** Instructions run past the requested point to reach a safe point, and the first reason a point was refused. */
  deferredSteps: number;
  deferredBecause?: string;
  /** What a deferred step is: an instruction (one CPU, the default) or an epoch of a multiprocessor's interleaving. */
  deferredUnit?: "instruction" | "epoch";
  /**
   * Live: the cycle pre-copy began — the first instruction boundary at or
   * after `at`, or where the guest was when it was past `at` already (a
   * route's move after a live one that ended past the next point).
   */
  precopyStart?: number;
  /** Pre-copy rounds (live only). */
  rounds: RoundReport[];
  /**
   * Live: why pre-copy ended — what was left fitted the downtime budget; or,
   * past Xen's limits (MAX_ROUNDS rounds, MAX_FACTOR × the footprint sent),
   * at the first point no worse than the best one seen; or at twice those limits.
   */
  precopyStop?: "budget" | "best-seen" | "limit";
  /** Live: the downtime budget in whole pages of pageTransfer, the state page included. */
  budgetPages?: number;
  /** Live: the downtime budget in cycles. */
  budgetCycles?: number;
  /** Live: whether pages sent before went again as XBZRLE deltas. */
  deltaCompression?: boolean;
  /** Live: pages sent as deltas, in the rounds and the stop. */
  deltaPages?: number;
  /** Pages sent in all (rounds + the final stop), whole or as deltas. */
  totalPages: number;
  /** Bytes sent in all: 4,096 per whole page (the state page included), a delta's record per delta. */
  totalBytes: number;
  /** Pages sent while the guest was stopped (plus one page of CPU, device and neutral state). */
  downtimePages: number;
  /** Bytes sent while the guest was stopped, the state page included. */
  downtimeBytes: number;
  /**
   * Cycles the guest was stopped: stop-and-copy, downtimePages × pageTransfer;
   * live, the sender's cycles for each page of the stop (deltaEncode and the
   * bytes' share of pageTransfer with deltas on) plus the state page.
   */
  downtimeCycles: number;
  /** Cycles from the start of the migration to the guest running on the target. */
  totalCycles: number;
  /** Sites restored and rewritten for the target (0 when the target is the same back end). */
  sitesRepatched: number;
  /** Stop-and-copy at the same starting point, for comparison. */
  stopAndCopy: { pages: number; bytes: number; downtimeCycles: number };
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");

const STOPS = {
  budget: "when what was left was expected to fit the downtime budget",
  "best-seen": "past the round and page limits, at a point no worse than the best one seen",
  limit: "at twice the round and page limits",
} as const;

/**
 * Why a guest that ended gave no safe point at or after `at`: it ended before
 * `at`, or — stopped by --max-cycles in the step that crossed `at`, or while
 * the point was deferred — after it, before any safe point.
 */
export function endedBefore(cycle: number, at: number, fmt: (x: number) => string = String): string {
  return cycle < at ? `before cycle ${fmt(at)}` : `before a safe point at or after cycle ${fmt(at)}`;
}

/** `count` and its noun, singular for 1. */
const count = (x: number, noun: string) => `${n(x)} ${noun}${x === 1 ? "" : "s"}`;

/** One line for stderr (stop-and-copy), four for live. */
export function formatReport(r: MigrationReport): string {
  if (!r.migrated) {
    // Ended once pre-copy had begun: there were safe points after `at`, but the move was still sending memory.
    const why = r.precopyStart !== undefined ? `during live pre-copy (${count(r.rounds.length, "round")} from cycle ${n(r.precopyStart)}), before it could be stopped and moved` : endedBefore(r.stoppedAt, r.at, n);
    return `previrt: no migration ${r.from} -> ${r.to}: the guest ended at cycle ${n(r.stoppedAt)}, ${why}\n`;
  }
  const unit = r.deferredUnit ?? "instruction";
  const deferred = r.deferredSteps ? ` (${r.deferredSteps} ${unit}${r.deferredSteps === 1 ? "" : "s"} past a point that was not safe: ${r.deferredBecause})` : "";
  const head = `migration ${r.from} -> ${r.to} at cycle ${n(r.stoppedAt)}${deferred}`;
  const sites = r.sitesRepatched ? `, ${r.sitesRepatched} sites re-patched` : "";
  if (r.mode === "stop-and-copy") {
    return `${head}: stop-and-copy, ${count(r.totalPages, "page")}, downtime ${n(r.downtimeCycles)} cycles${sites}\n`;
  }
  return (
    `${head}: live, ${r.rounds.length} round${r.rounds.length === 1 ? "" : "s"} (pages ${r.rounds.map((x) => n(x.pages)).join(", ")}), ` +
    `${count(r.totalPages, "page")} in all, downtime ${n(r.downtimeCycles)} cycles (${count(r.downtimePages, "page")}, ${n(r.downtimeBytes)} bytes), total ${n(r.totalCycles)} cycles${sites}\n` +
    `  ${n(r.totalBytes)} bytes sent; ${r.deltaCompression ? `${count(r.deltaPages ?? 0, "page")} sent before went again as XBZRLE deltas` : "every page whole (no delta compression)"}\n` +
    `  pre-copy stopped ${STOPS[r.precopyStop ?? "budget"]} (budget ${n(r.budgetCycles ?? 0)} cycles, ${n(r.budgetPages ?? 0)} pages)\n` +
    `  stop-and-copy from cycle ${n(r.precopyStart ?? r.at)} would stop the guest for ${n(r.stopAndCopy.downtimeCycles)} cycles (${count(r.stopAndCopy.pages, "page")}, ${n(r.stopAndCopy.bytes)} bytes)\n`
  );
}
