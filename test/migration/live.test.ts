// Live migration (iterative pre-copy, Clark et al. 2005) on `mixed`: the
// downtime is strictly below stop-and-copy's from the same point; the pages
// each round logged dirty include every page whose contents really changed
// during the round (reference: comparing memory before and after it); what
// the target received is exactly the source's guest RAM at the stop — its
// copy built only from what was sent, whole pages and XBZRLE deltas decoded
// onto the copy before (and, deltas off, whole pages only); and the migrated
// run prints bare's console and ends alike.
import { describe, expect, it } from "vitest";
import { PAGE_SIZE } from "../../src/machine/memory.js";
import { liveMigrate } from "../../src/migration/live.js";
import { boot, kernel, MAX_CYCLES } from "./helpers.js";

/**
 * The frames of `now` whose bytes differ from `before`, which is then brought
 * up to date (the reference the next round compares with). Runs of
 * CHUNK frames are compared whole first and split only where they differ:
 * the same frames as comparing each, at a fraction of the cost — the guest
 * has 64 MiB and a round changes a few pages, and a fresh copy of all of it
 * per round was most of this file's time (l4 -> bare: 33 rounds).
 */
function changedFrames(before: Uint8Array, now: Uint8Array, frames: number): number[] {
  const CHUNK = 64;
  const page = (m: Uint8Array, f: number, n = 1) => m.subarray(f * PAGE_SIZE, (f + n) * PAGE_SIZE);
  const changed: number[] = [];
  for (let c = 0; c < frames; c += CHUNK) {
    const n = Math.min(CHUNK, frames - c);
    if (Buffer.compare(page(before, c, n), page(now, c, n)) === 0) continue;
    for (let f = c; f < c + n; f++) {
      if (Buffer.compare(page(before, f), page(now, f)) === 0) continue;
      changed.push(f);
      before.set(page(now, f), f * PAGE_SIZE);
    }
  }
  return changed;
}

describe("live migration (pre-copy) on mixed", () => {
  it.each([
    ["xen", "l4", true],
    ["bare", "hvm", true],
    ["hvm", "xen", true],
    ["l4", "bare", false],
  ])("%s -> %s (deltas %s): dirty logging is complete, the target gets the source's memory, downtime < stop-and-copy", (from, to, deltas) => {
    const k = kernel("mixed");
    const g = boot(k, from);
    const frames = () => g.machine.memory.guestLimit / PAGE_SIZE;
    let before: Uint8Array | undefined;
    const perRound: { dirty: number; changed: number; missed: number[] }[] = [];
    const moved = liveMigrate(g, to, Math.floor(k.bare.cycles / 4), {
      deltas,
      onStart: (src) => (before = src.machine.memory.u8.slice(0, src.machine.memory.guestLimit)),
      onRound: (_round, dirty, src) => {
        const logged = new Set(dirty);
        const changed = changedFrames(before!, src.machine.memory.u8, frames());
        perRound.push({ dirty: dirty.length, changed: changed.length, missed: changed.filter((f) => !logged.has(f)) });
      },
    });
    const r = moved.report;
    expect(r.migrated).toBe(true);
    expect(r.rounds.length).toBeGreaterThan(1);
    expect(perRound.map((x) => x.dirty)).toEqual(r.rounds.map((x) => x.dirtied));
    for (const round of perRound) {
      expect(round.missed).toEqual([]); // no page changed without being logged
      expect(round.dirty).toBeGreaterThanOrEqual(round.changed);
    }
    expect(perRound.some((x) => x.changed > 0)).toBe(true); // the reference is not trivially empty
    // Each later round's set is what the round before dirtied: every page of it is sent or skipped
    // (dirtied again before its turn), except in a last round the budget cut short.
    for (let k = 1; k < r.rounds.length; k++) {
      const handled = r.rounds[k].pages + (r.rounds[k].skipped ?? 0);
      if (k < r.rounds.length - 1) expect(handled).toBe(r.rounds[k - 1].dirtied);
      else expect(handled).toBeLessThanOrEqual(r.rounds[k - 1].dirtied);
    }
    // What the target received is the source's guest RAM at the stop, page for page.
    const src = g.machine.memory;
    for (let f = 0; f < frames(); f++) {
      const got = moved.received.get(f) ?? new Uint8Array(PAGE_SIZE);
      expect(Buffer.compare(got, src.u8.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE))).toBe(0);
    }
    expect(r.downtimeCycles).toBeLessThan(r.stopAndCopy.downtimeCycles);
    expect(r.totalPages).toBe(r.rounds.reduce((s, x) => s + x.pages, 0) + r.downtimePages);
    expect(r.totalBytes).toBe(r.rounds.reduce((s, x) => s + x.bytes, 0) + r.downtimeBytes);
    for (const x of r.rounds) expect(x.bytes).toBeLessThanOrEqual(x.pages * PAGE_SIZE);
    expect(r.deltaCompression).toBe(deltas);
    if (deltas) {
      expect(r.deltaPages).toBeGreaterThan(0); // the target's copy went through the decoder
      expect(r.totalBytes).toBeLessThan(r.totalPages * PAGE_SIZE);
    } else {
      expect(r.deltaPages).toBe(0);
      expect(r.totalBytes).toBe(r.totalPages * PAGE_SIZE);
    }
    expect(g.machine.stats().events.dirtyFault ?? 0).toBeGreaterThan(0); // tracking was charged to the guest
    g.machine.memory.recycle(); // read: both machines' RAM goes back for the next test's (test/recycle.ts)
    const result = moved.guest!.finish(MAX_CYCLES);
    moved.guest!.machine.memory.recycle();
    expect(moved.guest!.console).toBe(k.bare.console);
    expect(result).toEqual({ kind: "poweroff", exitCode: 0 });
  });

  it("a guest that ends during pre-copy ends normally: no migration", () => {
    const k = kernel("syscall");
    const ref = boot(k, "xen");
    ref.finish(MAX_CYCLES);
    ref.machine.memory.recycle(); // its cycles read: its RAM for the next machine (test/recycle.ts)
    const g = boot(k, "xen");
    const moved = liveMigrate(g, "l4", ref.cycles - 10_000); // round 1 outlasts the guest
    expect(moved.report.rounds.length).toBe(1);
    expect(moved.report.migrated).toBe(false);
    expect(moved.guest).toBeUndefined();
    expect(g.machine.outcome).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(g.console).toBe(k.bare.console);
    g.machine.memory.recycle();
  });
});
