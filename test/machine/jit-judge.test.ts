// Issue 16, eleventh round (docs/speed-history.md "Eleventh round: short
// translated paths"): the engine judges a translation's entry by what its
// calls lead to — the instructions run from the call until the engine next
// interprets or returns to the machine loop (engine.ts `judge`) — not by the
// call alone. Two loops whose every call stops after a few instructions and
// the engine runs on translated: a call into a function in another page (a
// translation never leaves its page), and loads that miss the TLB every
// iteration (the engine takes the slow access and dispatches on, as under
// xen after each TLB flush). Judged by their own calls (under 12
// instructions each) their entries were demoted and the interpreter ran the
// loops. Consumes guest programs built with ./program.ts; asserts the
// interpreter's results under both engines (every observable, engine-pair.ts
// `same`) and what the JIT interpreted.
import { describe, expect, it } from "vitest";
import { same } from "./engine-pair.js";
import { R, li, pageTables, pagedEpcSumPrologue, powerOff, timerPrologue, type Item } from "./program.js";

/** Words in `items` (labels take none; `la` two). */
const words = (items: Item[]) => items.reduce((n, it) => n + (typeof it === "string" ? 0 : !("word" in it) && it[0] === "la" ? 2 : 1), 0);

/**
 * 3,000 times: a call into `fn`, placed at the next page (0x2000), which runs
 * a 40-iteration loop (163 instructions); the caller's own calls run 1 (the
 * jal) or 4 instructions (the return point up to the next jal). Under a
 * timer every `period` cycles (its handler counts in s2); powers off with a
 * digest of the registers and the count.
 */
function crossPage(period: number): Item[] {
  const main: Item[] = [
    ...timerPrologue(period),
    ...li(R.s0, 3_000),
    ["sti"],
    "loop",
    ["jal", { a: R.lr, to: "fn" }],
    ["add", { a: R.a1, b: R.a1, c: R.a0 }],
    ["addi", { a: R.s0, b: R.s0, imm: -1 }],
    ["bne", { a: R.s0, b: R.zero, to: "loop" }],
    ["cli"],
    ["xor", { a: R.a0, b: R.a1, c: R.a2 }],
    ["add", { a: R.a0, b: R.a0, c: R.s2 }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];
  const pad: Item[] = Array.from({ length: 1024 - words(main) }, () => ({ word: 0 }));
  return [
    ...main,
    ...pad,
    "fn",
    ...li(R.t0, 40),
    "inner",
    ["addi", { a: R.a0, b: R.a0, imm: 3 }],
    ["xor", { a: R.a2, b: R.a2, c: R.a0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "inner" }],
    ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
  ];
}

// Paging on; A and B are virtual pages 4 MiB apart, so they share a TLB slot: each of the loop's
// two loads misses the TLB, two or three instructions after the one before.
const PD = 0x10_0000, A = 0x0040_0000, B = 0x0080_0000;
const MAP: [number, number, number][] = [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2], [A, 0x3000, 2], [B, 0x4000, 2]];
function tlbMisses(period: number): Item[] {
  return [
    ...pagedEpcSumPrologue(PD),
    ...li(R.s0, A),
    ...li(R.s1, B),
    ...li(R.t0, 6_000),
    ...li(R.t1, period),
    ["out", { imm: 0x20, b: R.t1 }],
    ["sti"],
    "loop",
    ["andi", { a: R.t3, b: R.t0, imm: 1020 }],
    ["add", { a: R.t2, b: R.s0, c: R.t3 }],
    ["lw", { a: R.t1, b: R.t2, imm: 0 }],
    ["add", { a: R.a1, b: R.a1, c: R.t1 }],
    ["add", { a: R.t2, b: R.s1, c: R.t3 }],
    ["lw", { a: R.t1, b: R.t2, imm: 0 }],
    ["xor", { a: R.a1, b: R.a1, c: R.t1 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["cli"],
    ["add", { a: R.a0, b: R.a0, c: R.a1 }],
    ["add", { a: R.a0, b: R.a0, c: R.s2 }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];
}

describe("jit = interpreter, entries judged by what their calls lead to", () => {
  for (const period of [1_999, 10_000]) {
    it(`a loop calling a function in another page, timer every ${period} cycles: stays translated`, () => {
      const r = same({ items: crossPage(period) });
      expect(r.result.kind).toBe("poweroff");
      expect(r.stats.instructions).toBeGreaterThan(500_000);
      const h = r.host.jit!;
      // Judged by its own calls (1–4 instructions) the caller's entries were demoted after 32
      // calls each, and the interpreter ran the rest of the loop. What is demoted now is the timer
      // handler's entry: one instruction up to its `iret`, kernel code between two system instructions.
      expect(h.demoted).toBeLessThanOrEqual(1);
      // 0.05–0.7% of the instructions (judged by their own calls: 86–95%).
      expect(h.interpreted).toBeLessThan(r.stats.instructions / 50);
    });

    it(`a loop whose loads miss the TLB every iteration, timer every ${period} cycles: stays translated`, () => {
      const r = same({ items: tlbMisses(period), data: [pageTables(PD, MAP)], memory: [0x3000, 0x5000] });
      expect(r.result.kind).toBe("poweroff");
      expect(r.stats.tlbMisses).toBeGreaterThan(11_000);
      const h = r.host.jit!;
      // Each call runs 2–4 instructions up to a load's TLB miss; the engine takes the miss
      // (`slowAccesses`) and dispatches on. Judged by its own calls, each entry was demoted. What
      // is demoted now is the timer handler's code up to `out` and up to `iret` (as above).
      expect(h.demoted).toBeLessThanOrEqual(2);
      expect(h.slowAccesses).toBeGreaterThan(11_000);
      // Beyond the slow accesses themselves: the timer handler and the slices up to each event,
      // 0.3–6% of the instructions (judged by their own calls: 93%).
      expect(h.interpreted - h.slowAccesses).toBeLessThan(r.stats.instructions / 10);
    });
  }
});
