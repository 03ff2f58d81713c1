// Live migration by iterative pre-copy (Clark et al., "Live Migration of
// Virtual Machines", NSDI 2005): while the guest keeps running on its back
// end, its memory is sent in rounds — round 1 every non-zero guest page,
// each later round the pages dirtied during the one before — with the
// machine's dirty log (write protection: a page's first store in a round is
// a dirtyFault, charged to the guest; DMA and monitor writes are logged by
// the memory API). A round lasts as long as sending its pages takes (pages ×
// pageTransfer cycles of the guest's clock). Pre-copy stops when the dirty
// set stops shrinking, is empty, or MAX_ROUNDS is reached; then the guest
// runs on to a safe point (still logged), is stopped, and the last dirty
// pages go with its state — the downtime — and it continues on the target.
//
// Consumes a booted Guest; produces the guest on the target, the report,
// and (for tests) the page contents the target received.

import { PAGE_SIZE } from "../machine/memory.js";
import type { Guest } from "./guest.js";
import type { RoundReport } from "./report.js";
import { runToSafePoint } from "./safe-point.js";
import { captureSnapshot, restoreGuest } from "./snapshot.js";
import { guestPages, STATE_PAGES, type MoveResult } from "./stop-and-copy.js";

/** Xen's default iteration limit (xc_domain_save: max_iters 29, plus the last round). */
export const MAX_ROUNDS = 30;

/** Non-shrinking rounds tolerated: a dirty set of a few pages fluctuates; one more round often shrinks it again. */
export const PATIENCE = 0;

export interface LiveOptions {
  maxCycles?: number;
  maxRounds?: number;
  /** Called after each pre-copy round with the frames logged dirty in it (tests compare memory). */
  onRound?: (round: number, dirty: readonly number[], guest: Guest) => void;
  /** Rounds whose dirty set did not shrink that pre-copy tolerates before it stops (default PATIENCE). */
  patience?: number;
  /** Called when pre-copy starts, before the first round's copy (tests take their reference there). */
  onStart?: (guest: Guest) => void;
}

export function liveMigrate(source: Guest, to: string, at: number, options: LiveOptions = {}): MoveResult & { received: Map<number, Uint8Array> } {
  const m = source.machine;
  const maxCycles = options.maxCycles ?? Infinity;
  const maxRounds = options.maxRounds ?? MAX_ROUNDS;
  const patience = options.patience ?? PATIENCE;
  let strikes = 0;
  const cost = source.costModel.pageTransfer;
  const received = new Map<number, Uint8Array>();
  const base = { from: source.backend.name, to, mode: "live" as const, at };
  const ended = (rounds: RoundReport[]) => ({
    guest: undefined,
    source,
    received,
    report: { ...base, migrated: false, stoppedAt: m.cycles, deferredSteps: 0, rounds, totalPages: 0, downtimePages: 0, downtimeCycles: 0, totalCycles: 0, sitesRepatched: 0, stopAndCopy: { pages: 0, downtimeCycles: 0 } },
  });
  if (m.runUntil(at, maxCycles)) return ended([]);

  const send = (frames: readonly number[]) => {
    for (const f of frames) received.set(f, m.memory.u8.slice(f * PAGE_SIZE, (f + 1) * PAGE_SIZE));
  };
  options.onStart?.(source);
  let toSend = guestPages(source);
  const stopAndCopyPages = toSend.length + STATE_PAGES;
  const start = m.cycles;
  const rounds: RoundReport[] = [];
  m.startDirtyLog();
  let dirty: number[];
  for (;;) {
    send(toSend);
    const roundStart = m.cycles;
    const over = m.runUntil(roundStart + toSend.length * cost, maxCycles);
    dirty = m.takeDirty();
    rounds.push({ pages: toSend.length, cycles: m.cycles - roundStart, dirtied: dirty.length });
    options.onRound?.(rounds.length, dirty, source);
    if (over) {
      m.stopDirtyLog();
      return ended(rounds);
    }
    if (dirty.length >= toSend.length) strikes++;
    if (dirty.length === 0 || strikes > patience || rounds.length >= maxRounds) break;
    toSend = dirty;
  }

  // The last round: stop at a safe point; what it dirtied meanwhile goes too.
  const sp = runToSafePoint(source, m.cycles, maxCycles);
  const last = new Set([...dirty, ...m.takeDirty()]);
  m.stopDirtyLog();
  if (!sp.reached) return ended(rounds);
  const finalPages = [...last].sort((a, b) => a - b);
  send(finalPages);
  const downtimePages = finalPages.length + STATE_PAGES;
  const downtime = downtimePages * cost;

  // The target gets what the rounds delivered (guest RAM) and the state; the
  // monitor's own reserved pages travel with its state when it is the same back end.
  const snap = captureSnapshot(source, false, false);
  const mem = m.memory;
  for (let f = mem.guestLimit / PAGE_SIZE; f < mem.size / PAGE_SIZE; f++) {
    const page = mem.u8.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
    if (page.some((b) => b !== 0)) received.set(f, page.slice());
  }
  const frames = [...received.keys()].sort((a, b) => a - b);
  const { guest, info } = restoreGuest(snap, to, {
    ...source.options,
    disk: source.disk,
    image: source.image,
    memory: { pages: frames, data: (i) => received.get(frames[i])! },
  });
  const totalPages = rounds.reduce((s, r) => s + r.pages, 0) + downtimePages;
  return {
    guest,
    source,
    received,
    report: {
      ...base,
      migrated: true,
      stoppedAt: sp.cycle,
      deferredSteps: sp.deferredSteps,
      ...(sp.deferredUnit === "epoch" ? { deferredUnit: sp.deferredUnit } : {}),
      deferredBecause: sp.deferredBecause,
      rounds,
      totalPages,
      downtimePages,
      downtimeCycles: downtime,
      totalCycles: sp.cycle - start + downtime,
      sitesRepatched: info.sitesRepatched,
      stopAndCopy: { pages: stopAndCopyPages, downtimeCycles: stopAndCopyPages * cost },
    },
  };
}
