// Issue 16, seventh round (docs/speed-history.md "Seventh round: mixed under xen"):
// a hot page's entries inside a block compiled before get that block's tail
// instead of a whole new function, and tails are never demoted (cache.ts);
// and translated code whose every load misses the TLB (EXIT.STEP, then the
// interpreter's slow path, as under xen after each guest mode switch).
// Consumes guest programs built with ./program.ts; asserts the interpreter's
// results under both engines.
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/machine/machine.js";
import { translatorStats } from "../../src/machine/jit/translate.js";
import { runAtDefaultThreshold, same } from "./engine-pair.js";
import { R, li, pageTables, pagedEpcSumPrologue, powerOff, timedLoop, type Item } from "./program.js";

describe("jit = interpreter where translated code steps every load to the interpreter", () => {
  // Paging on; A and B are virtual pages 4 MiB apart, so they share a TLB slot: every load in the
  // loop misses the TLB, the translation exits before it (EXIT.STEP) and the interpreter's slow path
  // (run by the engine) fills the TLB and runs it; the translation is entered again mid-block after it. Timer
  // periods of 1,999, 4,999 and 10,000 cycles (and none; free-running, so longer than the handler) put
  // events at many distances from those steps; the handler sums the interrupted pcs, so an
  // interrupt taken one instruction early or late shows.
  const PD = 0x10_0000, A = 0x0040_0000, B = 0x0080_0000;
  // Sixteen ALU instructions before each load: the translation's calls run long enough between two
  // misses not to be demoted (cache.ts MIN_INSNS_PER_CALL): the engine steps and enters again.
  const MIX: Item[] = Array.from({ length: 8 }, (_, i): Item[] => [
    ["addi", { a: R.a2, b: R.a2, imm: 2 * i + 1 }],
    ["xor", { a: R.a1, b: R.a1, c: R.a2 }],
  ]).flat();
  const map: [number, number, number][] = [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2], [A, 0x3000, 2], [B, 0x4000, 2]];
  const program = (period: number): Item[] => [
    ...pagedEpcSumPrologue(PD),
    ...li(R.s0, A),
    ...li(R.s1, B),
    ...li(R.t0, 3_000),
    ...(period > 0 ? ([...li(R.t1, period), ["out", { imm: 0x20, b: R.t1 }], ["sti"]] as Item[]) : []),
    "loop",
    ...MIX,
    ["andi", { a: R.t3, b: R.t0, imm: 1020 }],
    ["add", { a: R.t2, b: R.s0, c: R.t3 }],
    ["lw", { a: R.t1, b: R.t2, imm: 0 }],
    ["add", { a: R.a1, b: R.a1, c: R.t1 }],
    ...MIX,
    ["add", { a: R.t2, b: R.s1, c: R.t3 }],
    ["lw", { a: R.t1, b: R.t2, imm: 0 }],
    ["xor", { a: R.a1, b: R.a1, c: R.t1 }],
    ["sw", { a: R.a1, b: R.t2, imm: 0 }],
    ["addi", { a: R.a1, b: R.a1, imm: 3 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["cli"],
    ["add", { a: R.a0, b: R.a0, c: R.a1 }],
    ["add", { a: R.a0, b: R.a0, c: R.s2 }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];
  for (const period of [0, 1_999, 4_999, 10_000]) {
    it(`loads that miss the TLB every time, ${period ? `timer period ${period}` : "no timer"}`, () => {
      const r = same({ items: program(period), data: [pageTables(PD, map)], memory: [0x3000, 0x5000] });
      expect(r.result.kind).toBe("poweroff");
      expect(r.stats.tlbMisses).toBeGreaterThan(6_000);
      // The slow paths really were the engine's, between calls of the translations (since the tenth
      // round it runs a load's slow path itself and dispatches on: `slowAccesses`, not steps).
      expect(r.host.jit!.slowAccesses).toBeGreaterThan(5_000);
      expect(r.host.jit!.dispatches).toBeGreaterThan(5_000);
    });
  }
});

describe("a hot page's entry inside a block compiled before gets that block's tail", () => {
  // The default threshold, one machine. A load/store loop under a timer: slices end all over the
  // loop's block, so once the page is hot, entries in the middle of the block are judged worth
  // translating. Each must get the tail of the known block (translate.ts `covering`), which hands
  // over to the loop's translation — not a whole new function of everything reachable from there.
  // (Before: the first machine compiled a full function per such entry; `generated` then grows by
  // more than one beyond `tails`.) The loop's constants are unique to this test, so nothing of it
  // was compiled before in the process.
  const program = timedLoop(3_331, 400_000, [
    ["andi", { a: R.t4, b: R.t0, imm: 1020 }],
    ["add", { a: R.t4, b: R.t4, c: R.s0 }],
    ["lw", { a: R.t1, b: R.t4, imm: 0 }],
    ["add", { a: R.t1, b: R.t1, c: R.t0 }],
    ["xori", { a: R.t1, b: R.t1, imm: 0x2a7 }],
    ["sw", { a: R.t1, b: R.t4, imm: 0 }],
  ]);
  const run = (engine: Engine) => runAtDefaultThreshold(engine, program, 100_000_000);
  it("identical results; one function for the loop, tails for the rest, none demoted", () => {
    const reference = run("interp").observed;
    expect(reference.result.kind).toBe("poweroff");
    const before = { ...translatorStats };
    const jit = run("jit");
    expect(jit.observed).toEqual(reference);
    expect(translatorStats.tails - before.tails).toBeGreaterThan(0);
    expect(translatorStats.generated - before.generated - (translatorStats.tails - before.tails)).toBe(1);
    expect(jit.host.jit!.demoted).toBe(0);
  });
});
