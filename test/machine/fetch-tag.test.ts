// The TLB's fetch tags (src/machine/mmu/tlb.ts `fetchTag`): the interpreter
// fetches from a page with no read tag — a frame a protection domain checks,
// such as the in-place VMM's code — through them instead of leaving its loop
// for the MMU's slow path. They must say exactly what that slow path says for
// a TLB hit: fetchable in user mode only with U, never from the device
// window, nothing once the entry is gone (invalidated, flushed, evicted).
// Checked against a reference after random fills, invalidations and flushes;
// the kernel runs (test/kernel, test/hypervisors) check that no simulated
// result moved.
import { describe, expect, it } from "vitest";
import { PERM, TAG_INVALID, TLB_SIZE, Tlb } from "../../src/machine/mmu/tlb.js";

/** Where the CPU may fetch `va` from, as its check reads the fetch tag: "both", "sup" or "none". */
function fetchable(t: Tlb, va: number): "both" | "sup" | "none" {
  const tag = t.fetchTag[Tlb.slot(va)];
  const masked = va & 0xfffff003;
  if ((masked | 0) === tag) return "both";
  return (masked | 4) === (tag | 4) ? "sup" : "none";
}

describe("TLB fetch tags", () => {
  it("match the slow path's answer for a hit after random fills, invalidations and flushes", () => {
    let seed = 777;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const RAM_FRAMES = 3000; // frames at and above are the device window
    const checked = new Set<number>();
    const t = new Tlb(() => false, undefined, 0, (frame) => checked.has(frame >>> 12) || frame >>> 12 >= RAM_FRAMES, (frame) => frame >>> 12 < RAM_FRAMES);
    const ref = new Map<number, { page: number; frame: number; perm: number }>();
    for (let round = 0; round < 40; round++) {
      const fills = round % 4 === 0 ? 300 + rnd(600) : rnd(50);
      for (let i = 0; i < fills; i++) {
        const va = (rnd(1 << 20) << 12) >>> 0;
        const frame = rnd(4096) << 12;
        if (rnd(3) === 0) checked.add(frame >>> 12);
        const perm = PERM.V | (rnd(2) ? PERM.W : 0) | (rnd(2) ? PERM.U : 0);
        t.fill(va, frame, perm);
        ref.set(Tlb.slot(va), { page: va & 0xfffff000, frame, perm });
        if (rnd(5) === 0) {
          t.invalidate(va);
          ref.delete(Tlb.slot(va));
        }
      }
      for (let s = 0; s < TLB_SIZE; s++) {
        const e = ref.get(s);
        const va = e ? e.page : s << 12;
        const want = !e || e.frame >>> 12 >= RAM_FRAMES ? "none" : (e.perm & PERM.U) !== 0 ? "both" : "sup";
        expect(fetchable(t, va), `slot ${s}`).toBe(want);
        // Misaligned fetches never pass (the slow path raises them).
        if (e) expect(fetchable(t, va + 2)).toBe("none");
      }
      t.flush();
      ref.clear();
      for (let s = 0; s < TLB_SIZE; s++) expect(t.fetchTag[s]).toBe(TAG_INVALID);
    }
  });

  it("exist for frames without read tags (checked), as the CPU needs them", () => {
    const t = new Tlb(() => false, undefined, 0, () => true, () => true);
    const s = t.fill(0x40001000, 0x5000, PERM.V | PERM.U);
    expect(t.tagReadSup[s]).toBe(TAG_INVALID);
    expect(t.tagReadUser[s]).toBe(TAG_INVALID);
    expect(fetchable(t, 0x40001000)).toBe("both");
    t.fill(0x40001000, 0x5000, PERM.V);
    expect(fetchable(t, 0x40001ffc)).toBe("sup");
  });
});
