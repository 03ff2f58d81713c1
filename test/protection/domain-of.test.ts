// Protection.domainOf's memo (docs/speed-history.md "Eleventh round: the host's
// work"): the interval — a domain's code range or the gap between two — the
// last pc fell in is remembered, so a run of checks from one rewritten site
// skips the binary search. The answers must be the search's: pcs in runs,
// in jumps, at every range's and gap's edges, before and after a domain is
// added, against a plain scan of the ranges. Consumes protection.ts alone.
import { describe, expect, it } from "vitest";
import { KERNEL_DOMAIN, Protection } from "../../src/machine/protection/protection.js";

const host = { memorySize: 1 << 20, guestLimit: 1 << 20, framesChanged: () => {}, chargeRefs: () => {} };

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

describe("domainOf with its memo = a scan of the ranges", () => {
  it("runs, jumps, every edge; a domain defined later is seen at once", () => {
    const p = new Protection(host);
    const ranges: { start: number; end: number; domain: number }[] = [];
    const reference = (pc: number) => ranges.find((r) => pc >>> 0 >= r.start && pc >>> 0 < r.end)?.domain ?? KERNEL_DOMAIN;
    const define = (name: string, list: { start: number; end: number }[]) => {
      const id = p.defineDomain(name, list);
      for (const r of list) ranges.push({ ...r, domain: id });
    };
    // Many short ranges (sites), one at the top of the address space (the window) reaching its end.
    const sites = Array.from({ length: 200 }, (_, i) => ({ start: 0x10000 + i * 0x40, end: 0x10000 + i * 0x40 + 0x10 }));
    define("vmm", [...sites, { start: 0xfffe0000, end: 0x1_0000_0000 }]);
    const next = rng(7);
    const check = (pc: number) => expect(p.domainOf(pc), `pc 0x${(pc >>> 0).toString(16)}`).toBe(reference(pc));
    const edges = ranges.flatMap((r) => [r.start - 1, r.start, r.start + 1, r.end - 1, r.end, r.end + 1]).map((x) => x | 0);
    for (const pc of [0, 1, -1, 0xffffffff | 0, 0xfffdffff | 0, ...edges, ...[...edges].reverse()]) check(pc);
    for (let i = 0; i < 20_000; i++) {
      const base = next() % 0x20000;
      for (let k = 0; k < (next() & 7); k++) check((base + k * 4) | 0); // a run from one place
      check(next() | 0); // anywhere
    }
    // A new domain between the sites: the memo must not answer for its pcs from before.
    for (const pc of [0x10020, 0x10024]) check(pc);
    define("other", [{ start: 0x10020, end: 0x10030 }]);
    for (const pc of [0x10020, 0x10024, 0x1001c, 0x10030, ...edges]) check(pc);
  });
});
