// xen's frame bookkeeping (src/hypervisors/xen/frame-map.ts) must behave as
// the Map and Set it replaced: the same random operations — frame numbers,
// the largest one, and keys that are no frame (a hostile snapshot's: -1,
// 2^20, 1.5, a string) — on a FrameMap and a Map (a FrameSet and a Set) give
// the same answers, sizes and insertion orders after every step, and so does
// iterating while deleting, as xen's release of one vCPU's claims does.
import { describe, expect, it } from "vitest";
import { Rng } from "../../scripts/fuzz/generators/rng.js";
import { FrameMap, FrameSet } from "../../src/hypervisors/xen/frame-map.js";

const ODD_KEYS = [-1, 1 << 20, 1.5, (1 << 20) - 1, 0, "7" as unknown as number];

describe("FrameMap and FrameSet behave as Map and Set", () => {
  it("random get/set/has/delete/clear, frames and other keys", () => {
    const gen = new Rng(16);
    const rand = (n: number) => gen.int(n);
    const fm = new FrameMap();
    const m = new Map<number, number>();
    const fs = new FrameSet();
    const s = new Set<number>();
    for (let op = 0; op < 20000; op++) {
      const k = rand(10) === 0 ? ODD_KEYS[rand(ODD_KEYS.length)] : rand(40) + (rand(4) === 0 ? 5000 : 0);
      const r = rand(100);
      if (r < 40) {
        const v = rand(4);
        fm.set(k, v);
        m.set(k, v);
        fs.add(k);
        s.add(k);
      } else if (r < 70) {
        expect(fm.delete(k)).toBe(m.delete(k));
        expect(fs.delete(k)).toBe(s.delete(k));
      } else if (r < 98) {
        expect(fm.get(k)).toBe(m.get(k));
        expect(fm.has(k)).toBe(m.has(k));
        expect(fs.has(k)).toBe(s.has(k));
      } else {
        fm.clear();
        m.clear();
        fs.clear();
        s.clear();
      }
      expect(fm.size).toBe(m.size);
      expect(fs.size).toBe(s.size);
      if (op % 97 === 0) {
        expect([...fm]).toEqual([...m]);
        expect([...fm.keys()]).toEqual([...m.keys()]);
        expect(Array.from({ length: fm.size }, (_, i) => fm.keyAt(i))).toEqual([...m.keys()]);
        expect([...fs]).toEqual([...s]);
      }
    }
  });

  it("iterating while deleting and changing values, as xen releases one vCPU's claims", () => {
    const fm = new FrameMap();
    const m = new Map<number, number>();
    for (const [k, v] of [[3, 1], [9, 3], [4, 2], [12, 1], [7, 3]]) {
      fm.set(k, v);
      m.set(k, v);
    }
    const release = (map: FrameMap | Map<number, number>) => {
      const seen: number[][] = [];
      for (const [f, mask] of map) {
        seen.push([f, mask]);
        if (f === 3) map.delete(4); // a later key, deleted before it is visited
        if ((mask & 1) === 0) continue;
        if (mask !== 1) map.set(f, mask & ~1);
        else map.delete(f);
      }
      return seen;
    };
    expect(release(fm)).toEqual(release(m));
    expect([...fm]).toEqual([...m]);
  });
});
