// Live migration by iterative pre-copy (Clark et al., "Live Migration of
// Virtual Machines", NSDI 2005), with the guest running on its back end
// while its memory is sent — page by page, interleaved with the guest's
// execution, not as one instantaneous copy per round:
//
//   - Round 1's set is every non-zero guest page; each later round's set is
//     the pages dirtied during the round before (the machine's dirty log:
//     write protection, a page's first store in a round is a dirtyFault
//     charged to the guest; DMA and monitor writes are logged by the memory
//     API).
//   - Within a round the pages go one at a time; each is read when its turn
//     comes and takes the sender's cycles for it (page-sender.ts) of the
//     guest's clock to send.
//   - A page sent before goes as an XBZRLE delta against the version sent
//     last (QEMU's XBZRLE; Svärd et al., VEE 2011): the kernel's writable
//     working set — trap frames, a stack, a counter — changes a few dozen
//     bytes between sends, so a re-send costs its changed bytes and the
//     encoder's pass, not a page (`deltas: false` sends every page whole).
//   - Clark's per-page skip: a page of the round's set that the guest has
//     dirtied again since the round began is not sent in this round — its
//     contents will change again and it is in the next round's set anyway.
//   - Hot pages last: a later round's set goes in order of how many rounds
//     found each page dirty, so the writable working set comes at the end.
//   - The stop condition is the downtime budget, checked before each page:
//     what still has to go (the round's unsent pages and every page dirtied
//     since the round began — exactly the pages whose last copy is stale —
//     each estimated from its last record, plus the state) must fit
//     `downtimeBudget` cycles (QEMU's downtime limit, where the first
//     rule was "the dirty set stops shrinking", which stopped at arbitrary
//     points of a fluctuating set).
//   - A writable working set that never fits: past Xen's xc_domain_save
//     limits (MAX_ROUNDS rounds, MAX_FACTOR × the footprint sent) the stop
//     comes at the first point no worse than the best one seen so far, and
//     at twice those limits in any case.
//
// Then the guest runs on to a safe point (still logged), is stopped, and the
// pages still to go are sent with its state — the downtime, every byte of it
// — and it continues on the target.
//
// Consumes a booted Guest; produces the guest on the target, the report,
// and (for tests) the page contents the target received.

import { PAGE_SIZE } from "../machine/memory.js";
import type { Guest } from "./guest.js";
import { PageSender } from "./page-sender.js";
import { deferralOf, type MigrationReport, type RoundReport } from "./report.js";
import { runToSafePoint, type SafePointResult } from "./safe-point.js";
import { captureSnapshot, restoreGuest } from "./snapshot.js";
import { guestPages, STATE_PAGES, type MoveResult } from "./stop-and-copy.js";

/** Xen's default iteration limit (xc_domain_save: max_iters 29, plus the last round). */
export const MAX_ROUNDS = 30;

/** Xen's max_factor: pre-copy gives up once it has sent 3× the guest's memory (here: its non-zero pages at the start). */
export const MAX_FACTOR = 3;

/**
 * The default downtime budget, in pages of pageTransfer: the state page and
 * one page of memory (13,108 cycles, 6.6 µs at 2 GHz with the default cost
 * model). The kernel's writable working set is a handful of pages that go
 * quiet between bursts (docs/migration.md, "The writable working set"), and
 * re-sent as deltas they cost a fraction of a page each, so waiting for a
 * moment when this much is left costs a few more pages of pre-copy, not a
 * longer stop.
 */
export const BUDGET_PAGES = STATE_PAGES + 1;

export interface LiveOptions {
  maxCycles?: number;
  maxRounds?: number;
  /** Pre-copy stops once what is left to send (and the state) fits this many cycles (default BUDGET_PAGES × pageTransfer). */
  downtimeBudget?: number;
  /** Pre-copy gives up once it has sent this many times the guest's non-zero pages (default MAX_FACTOR). */
  maxFactor?: number;
  /** Send a page sent before as an XBZRLE delta (default true); false: every page whole. */
  deltas?: boolean;
  /** Called at the end of each pre-copy round with the frames logged dirty in it (tests compare memory). */
  onRound?: (round: number, dirty: readonly number[], guest: Guest) => void;
  /** Called when pre-copy starts, before the first round's copy (tests take their reference there). */
  onStart?: (guest: Guest) => void;
}

export function liveMigrate(source: Guest, to: string, at: number, options: LiveOptions = {}): MoveResult & { received: Map<number, Uint8Array> } {
  const m = source.machine;
  const maxCycles = options.maxCycles ?? Infinity;
  const maxRounds = options.maxRounds ?? MAX_ROUNDS;
  const cost = source.costModel.pageTransfer;
  const budget = options.downtimeBudget ?? BUDGET_PAGES * cost;
  const sender = new PageSender(m.memory.u8, source.costModel, options.deltas ?? true);
  const received = sender.received;
  const base = { from: source.backend.name, to, mode: "live" as const, at };
  let start: number | undefined; // where pre-copy began (once it has)
  // The guest ended before the move: before the first round, or (`sp`) while looking for the stop's safe
  // point, whose search is reported as stop-and-copy reports it (the steps run past points that were not safe, and why).
  const ended = (rounds: RoundReport[], sp?: SafePointResult): MoveResult & { received: Map<number, Uint8Array> } => ({
    guest: undefined,
    source,
    received,
    report: {
      ...base,
      migrated: false,
      stoppedAt: m.cycles,
      ...deferralOf(sp),
      ...(start !== undefined ? { precopyStart: start } : {}),
      rounds,
      totalPages: 0,
      totalBytes: 0,
      downtimePages: 0,
      downtimeBytes: 0,
      downtimeCycles: 0,
      totalCycles: 0,
      sitesRepatched: 0,
      stopAndCopy: { pages: 0, bytes: 0, downtimeCycles: 0 },
    },
  });
  if (m.runUntil(at, maxCycles)) return ended([]);

  options.onStart?.(source);
  let toSend = guestPages(source);
  const stopAndCopyPages = toSend.length + STATE_PAGES;
  const maxSent = (options.maxFactor ?? MAX_FACTOR) * toSend.length;
  start = m.cycles;
  const rounds: RoundReport[] = [];
  m.startDirtyLog();
  const log = () => m.memory.dirty!; // this round's log, read in place: 1 = written since the round began
  const limit = m.memory.guestLimit / PAGE_SIZE;
  const stateCycles = STATE_PAGES * cost; // the state always goes, as one whole page
  const budgetCycles = Math.max(stateCycles, budget);
  let target = budgetCycles; // cycles the stop may take, state included
  let best = Infinity; // the cheapest stop at any check so far
  // The cycles the stop is expected to take if the guest stopped now: the round's unsent
  // pages not yet dirtied and every dirtied page, each estimated from its last record
  // (page-sender.ts), and the state. Counting stops past `cap` (the answer is then only
  // known to exceed it).
  const left = (next: number, cap: number) => {
    const d = log();
    let c = stateCycles;
    for (let f = 0; f < limit && c <= cap; f++) if (d[f]) c += sender.estimate(f);
    for (let i = next; i < toSend.length && c <= cap; i++) if (!d[toSend[i]]) c += sender.estimate(toSend[i]);
    return c;
  };
  // Per frame: the rounds that found it dirty. A round's set goes coolest first, so the
  // writable working set — the pages the guest keeps rewriting — is left to the end of it.
  const heat = new Uint32Array(limit);
  let settling = false;
  let sent = 0;
  let sentBytes = 0;
  let deltaPages = 0;
  let unsent: number[] = []; // the last round's pages it stopped before sending
  let dirty: number[];
  let fits = false;
  for (;;) {
    const roundStart = m.cycles;
    let pages = 0;
    let skipped = 0;
    let bytes = 0;
    let deltas = 0;
    let clock = roundStart; // the sender's clock: each page's cycles, one after the other
    let i = 0;
    let over = false;
    for (; i < toSend.length; i++) {
      const now = left(i, Math.max(target, best));
      best = Math.min(best, now);
      if ((fits = now <= target)) break;
      const f = toSend[i];
      if (log()[f] === 1) {
        skipped++; // dirtied again this round: the next round sends it
        continue;
      }
      const page = sender.send(f);
      pages++;
      bytes += page.bytes;
      if (page.delta) deltas++;
      clock = Math.max(clock, m.cycles) + page.cycles;
      if ((over = m.runUntil(clock, maxCycles))) break;
    }
    unsent = toSend.slice(over ? i + 1 : i).filter((f) => log()[f] === 0);
    dirty = m.takeDirty();
    sent += pages;
    sentBytes += bytes;
    deltaPages += deltas;
    rounds.push({ pages, bytes, deltas, cycles: m.cycles - roundStart, dirtied: dirty.length, ...(skipped ? { skipped } : {}) });
    options.onRound?.(rounds.length, dirty, source);
    if (over) {
      m.stopDirtyLog();
      return ended(rounds);
    }
    if (fits) break;
    // The round went through its whole set: what is left is what it dirtied.
    let stop = stateCycles;
    for (const f of dirty) stop += sender.estimate(f);
    best = Math.min(best, stop);
    if (!settling && (rounds.length >= maxRounds || sent >= maxSent)) {
      // Past Xen's limits the working set has shown it never fits the budget:
      // stop at the first point no worse than the best one seen.
      settling = true;
      target = Math.max(target, best);
    }
    if ((fits = stop <= target)) break;
    if (rounds.length >= 2 * maxRounds || sent >= 2 * maxSent) break;
    for (const f of dirty) heat[f]++;
    toSend = [...dirty].sort((a, b) => heat[a] - heat[b] || a - b);
  }

  // The stop: the guest runs on to a safe point (still logged); what is left goes with its state.
  const sp = runToSafePoint(source, m.cycles, maxCycles);
  const last = new Set([...unsent, ...dirty, ...m.takeDirty()]);
  m.stopDirtyLog();
  if (!sp.reached) return ended(rounds, sp);
  const finalPages = [...last].sort((a, b) => a - b);
  let downtime = stateCycles;
  let downtimeBytes = STATE_PAGES * PAGE_SIZE;
  for (const f of finalPages) {
    const page = sender.send(f);
    downtime += page.cycles;
    downtimeBytes += page.bytes;
    if (page.delta) deltaPages++;
  }
  const downtimePages = finalPages.length + STATE_PAGES;

  // The target gets what the rounds delivered (guest RAM) and the state; the
  // monitor's own reserved pages travel with its state when it is the same back end.
  const snap = captureSnapshot(source, false, false);
  const mem = m.memory;
  for (let f = mem.guestLimit / PAGE_SIZE; f < mem.size / PAGE_SIZE; f++) {
    const page = mem.u8.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
    if (page.some((b) => b !== 0)) received.set(f, page.slice());
  }
  const frames = [...received.keys()].sort((a, b) => a - b);
  // The target. Ownership: restoreGuest makes it and gives its RAM back itself when it refuses the state (a site the
  // guest rewrote, a page the target reserves: giveBackIfThrows); past it only the report is built, of plain numbers,
  // which cannot throw, so the target leaves only in the result, whose caller owns it (route.ts recycles it once it has
  // moved on from it; test/migration/live-give-back.test.ts). A throw before this point leaves the source alone.
  const { guest, info } = restoreGuest(snap, to, {
    ...source.options,
    disk: source.disk,
    image: source.image,
    memory: { pages: frames, data: (i) => received.get(frames[i])! },
  });
  const report: MigrationReport = {
    ...base,
    migrated: true,
    stoppedAt: sp.cycle,
    ...deferralOf(sp),
    precopyStart: start,
    rounds,
    precopyStop: !fits ? "limit" : settling ? "best-seen" : "budget",
    budgetPages: Math.floor(budgetCycles / cost),
    budgetCycles,
    deltaCompression: sender.deltas,
    deltaPages,
    totalPages: sent + downtimePages,
    totalBytes: sentBytes + downtimeBytes,
    downtimePages,
    downtimeBytes,
    downtimeCycles: downtime,
    totalCycles: sp.cycle - start + downtime,
    sitesRepatched: info.sitesRepatched,
    stopAndCopy: { pages: stopAndCopyPages, bytes: stopAndCopyPages * PAGE_SIZE, downtimeCycles: stopAndCopyPages * cost },
  };
  return { guest, source, received, report };
}
