// The software TLB's flush (src/machine/mmu/tlb.ts) clears only the slots
// filled since the last flush: after any mix of fills, invalidations,
// refreshes and flushes, every slot must read exactly as a TLB that clears
// all 1,024 slots would — no stale tag can survive a flush; and a watch-state
// change re-derives the write tags of every valid entry (refreshFrame, which
// looks at the filled slots only).
import { describe, expect, it } from "vitest";
import { TAG_INVALID, TLB_SIZE, Tlb, PERM } from "../../src/machine/mmu/tlb.js";

/** The reference: the same entries kept as a map, flushed by clearing everything. */
class Reference {
  entries = new Map<number, { page: number; frame: number; perm: number }>();
  fill(va: number, frame: number, perm: number) {
    this.entries.set(Tlb.slot(va), { page: va & 0xfffff000, frame, perm });
  }
  invalidate(va: number) {
    const e = this.entries.get(Tlb.slot(va));
    if (e && e.page === (va & 0xfffff000)) this.entries.delete(Tlb.slot(va));
  }
  flush() {
    this.entries.clear();
  }
}

/** The first TLB_SIZE values of a fast array, to compare a whole array in one assertion. */
const slots = (a: ArrayLike<number>) => Array.from({ length: TLB_SIZE }, (_, s) => a[s]);

function check(t: Tlb, r: Reference) {
  const want = { page: [] as number[], readSup: [] as number[], writeSup: [] as number[], readUser: [] as number[], writeUser: [] as number[] };
  for (let s = 0; s < TLB_SIZE; s++) {
    const e = r.entries.get(s);
    const page = e ? e.page | 0 : TAG_INVALID;
    const writable = e && (e.perm & PERM.W) !== 0;
    const user = e && (e.perm & PERM.U) !== 0;
    want.page.push(page);
    want.readSup.push(page);
    want.writeSup.push(writable ? page : TAG_INVALID);
    want.readUser.push(user ? page : TAG_INVALID);
    want.writeUser.push(user && writable ? page : TAG_INVALID);
  }
  expect({ page: slots(t.page), readSup: slots(t.tagReadSup), writeSup: slots(t.tagWriteSup), readUser: slots(t.tagReadUser), writeUser: slots(t.tagWriteUser) }).toEqual(want);
}

describe("TLB flush", () => {
  it("leaves every slot empty after random fills, invalidations and flushes, few or many slots filled", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const t = new Tlb(() => false);
    const r = new Reference();
    for (let round = 0; round < 60; round++) {
      // Some rounds fill a handful of slots (the tracked flush), some hundreds (the full one).
      const fills = round % 3 === 0 ? 400 + rnd(800) : rnd(40);
      for (let i = 0; i < fills; i++) {
        const va = (rnd(1 << 20) << 12) >>> 0;
        const perm = PERM.V | (rnd(2) ? PERM.W : 0) | (rnd(2) ? PERM.U : 0);
        const frame = rnd(4096) << 12;
        t.fill(va, frame, perm);
        r.fill(va, frame, perm);
        if (rnd(4) === 0) {
          t.invalidate(va);
          r.invalidate(va);
        }
      }
      if (round % 2 === 1) t.refreshAll();
      check(t, r);
      t.flush();
      r.flush();
      check(t, r);
    }
  });

  it("re-derives the write tags of every valid entry mapping a frame whose watch state changed (refreshFrame looks at filled slots only)", () => {
    // Many entries share a few frames; frames are watched and released between rounds of fills,
    // flushes of few and of many slots, and invalidations: every entry's write tags must follow.
    let seed = 777;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const watched = new Set<number>();
    const t = new Tlb((frame) => watched.has(frame));
    const entries = new Map<number, { page: number; frame: number; perm: number }>();
    const verify = () => {
      const want = { writeSup: [] as number[], writeUser: [] as number[] };
      for (let s = 0; s < TLB_SIZE; s++) {
        const e = entries.get(s);
        const page = e ? e.page | 0 : TAG_INVALID;
        const writable = e && (e.perm & PERM.W) !== 0 && !watched.has(e.frame);
        const user = e && (e.perm & PERM.U) !== 0;
        want.writeSup.push(writable ? page : TAG_INVALID);
        want.writeUser.push(user && writable ? page : TAG_INVALID);
      }
      expect({ writeSup: slots(t.tagWriteSup), writeUser: slots(t.tagWriteUser) }).toEqual(want);
    };
    for (let round = 0; round < 40; round++) {
      const fills = round % 4 === 0 ? 300 + rnd(500) : rnd(60);
      for (let i = 0; i < fills; i++) {
        const va = (rnd(1 << 20) << 12) >>> 0;
        const perm = PERM.V | (rnd(4) ? PERM.W : 0) | (rnd(2) ? PERM.U : 0);
        const frame = rnd(8) << 12;
        t.fill(va, frame, perm);
        entries.set(Tlb.slot(va), { page: va & 0xfffff000, frame, perm });
        if (rnd(5) === 0) {
          t.invalidate(va);
          entries.delete(Tlb.slot(va));
        }
      }
      for (let k = 0; k < 3; k++) {
        const frame = rnd(8) << 12;
        if (watched.has(frame)) watched.delete(frame);
        else watched.add(frame);
        t.refreshFrame(frame);
        verify();
      }
      if (rnd(3) === 0) {
        t.flush();
        entries.clear();
      }
    }
  });
});
