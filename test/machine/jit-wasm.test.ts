// The JIT's WebAssembly tier (src/machine/jit/wasm-loop.ts) against the
// interpreter: self-loops of every kind it compiles — ALU operations, word,
// halfword and byte loads and stores — with paging on, TLB misses inside the
// loop, stores into a code page (the loop rewriting its own instructions),
// timer interrupts every 1, 7 and 10,000 cycles landing inside the loop, and
// every cycle budget in a range. Each program runs under both engines and
// everything observable must be identical; each test also checks that the
// loop really ran as WebAssembly (wasmStats.entries), so it fails with the
// tier switched off — and a run with the tier off, or over a memory that is
// no WebAssembly.Memory's, gives the same results. The programs' translations
// are ones the whole-translation tier (wasm-blocks.ts, its own tests in
// jit-wasm-blocks.test.ts) would take, so it is off here: the self-loops run
// through the tier under test.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { memoryOptions } from "../../src/machine/memory.js";
import { translateOptions } from "../../src/machine/jit/translate.js";
import { loopModule, wasmLoopSupported, wasmStats } from "../../src/machine/jit/wasm-loop.js";
import { runOn, same as sameOn, type EngineSetup } from "./engine-pair.js";
import { R, assembleItems, encodeWords, li, pageTables, pagingOn, powerOff, rewriteSetUp, timerRuns, type Item } from "./program.js";
import { DATA_PA } from "./random-program.js";

/** Both engines; returns the observation and how many times a loop was entered as WebAssembly under the JIT. */
function same(s: EngineSetup) {
  const before = wasmStats.entries;
  const r = sameOn(s);
  return { ...r, entries: wasmStats.entries - before };
}

const PD = 0x10_0000;
const DATA_VA = 0x0040_0000;
/** TLB slot 0 again (the TLB is indexed by va bits 12–21): every access through it evicts DATA_VA's first page. */
const ALIAS_VA = 0x0080_0000;
const MAPS = pageTables(PD, [
  [0x1000, 0x1000, 2],
  ...Array.from({ length: 4 }, (_, i): [number, number, number] => [DATA_VA + 4096 * i, DATA_PA + 4096 * i, 2]),
  [ALIAS_VA, DATA_PA, 2],
]);

/**
 * One self-loop with every load and store size and most ALU operations,
 * striding 52 bytes (rounded down to 16) over 16 KiB of data (four pages), reading through an
 * alias of the first page that shares its TLB slot (a TLB miss in the loop
 * whenever the stride is in that page), `n` iterations.
 */
function memoryLoop(n: number): Item[] {
  return [
    ...li(R.s0, DATA_VA),
    ...li(R.s1, ALIAS_VA),
    ...li(R.t0, n),
    "loop",
    ["andi", { a: R.t4, b: R.s2, imm: 0x3ff0 }],
    ["add", { a: R.t4, b: R.t4, c: R.s0 }],
    ["lw", { a: R.t1, b: R.t4, imm: 0 }],
    ["lh", { a: R.t2, b: R.t4, imm: 2 }],
    ["lhu", { a: R.t3, b: R.t4, imm: 0 }],
    ["lb", { a: R.a0, b: R.t4, imm: 1 }],
    ["lbu", { a: R.a1, b: R.t4, imm: 3 }],
    ["add", { a: R.t1, b: R.t1, c: R.t0 }],
    ["mul", { a: R.t2, b: R.t2, c: R.t0 }],
    ["sw", { a: R.t1, b: R.t4, imm: 0 }],
    ["sh", { a: R.t2, b: R.t4, imm: 2 }],
    ["sb", { a: R.t3, b: R.t4, imm: 1 }],
    ["lw", { a: R.zero, b: R.s1, imm: 8 }],
    ["lw", { a: R.a3, b: R.s1, imm: 4 }],
    ["xor", { a: R.a2, b: R.a2, c: R.a0 }],
    ["sub", { a: R.a2, b: R.a2, c: R.a1 }],
    ["add", { a: R.a2, b: R.a2, c: R.a3 }],
    ["sw", { a: R.a2, b: R.t4, imm: 8 }],
    ["addi", { a: R.s2, b: R.s2, imm: 52 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
  ];
}

/**
 * A self-loop of the other ALU operations the tier compiles, folding into a2, `n` iterations, and
 * one load (a loop without loads and stores stays JavaScript).
 */
function aluLoop(n: number): Item[] {
  return [
    ...li(R.t0, n),
    ...li(R.t1, 0x1234_5678),
    ...li(R.t2, -0x0765_4321),
    // (The entry's block ends here: the loop is a block of its own within a translation's 64 instructions.)
    ["jal", { a: R.zero, to: "loop" }],
    "loop",
    ["addi", { a: R.t1, b: R.t1, imm: 0x1357 }],
    ["lw", { a: R.a3, b: R.zero, imm: 0x1000 }],
    ["mul", { a: R.t2, b: R.t2, c: R.t1 }],
    ["xor", { a: R.a2, b: R.a2, c: R.a0 }],
    ["sub", { a: R.a2, b: R.a2, c: R.a1 }],
    ["sll", { a: R.k0, b: R.a3, c: R.t0 }],
    ["srl", { a: R.sp, b: R.t1, c: R.t0 }],
    ["sra", { a: R.lr, b: R.t2, c: R.t0 }],
    ["or", { a: R.a2, b: R.a2, c: R.k0 }],
    ["and", { a: R.k0, b: R.sp, c: R.lr }],
    ["slt", { a: R.sp, b: R.t2, c: R.t1 }],
    ["sltu", { a: R.lr, b: R.t2, c: R.t1 }],
    ["add", { a: R.a2, b: R.a2, c: R.k0 }],
    ["add", { a: R.a2, b: R.a2, c: R.sp }],
    ["add", { a: R.a2, b: R.a2, c: R.lr }],
    ["slli", { a: R.k0, b: R.a2, imm: 3 }],
    ["srli", { a: R.sp, b: R.a2, imm: 7 }],
    ["srai", { a: R.lr, b: R.t2, imm: 2 }],
    ["ori", { a: R.k0, b: R.k0, imm: 5 }],
    ["xori", { a: R.sp, b: R.sp, imm: -77 }],
    ["andi", { a: R.lr, b: R.lr, imm: 0x7ff }],
    ["slti", { a: R.a3, b: R.t2, imm: -3 }],
    ["sltiu", { a: R.a0, b: R.t1, imm: -3 }],
    ["lui", { a: R.a1, imm: 0x12345 }],
    ["add", { a: R.a2, b: R.a2, c: R.k0 }],
    ["xor", { a: R.a2, b: R.a2, c: R.sp }],
    ["sub", { a: R.a2, b: R.a2, c: R.lr }],
    ["add", { a: R.a2, b: R.a2, c: R.a3 }],
    ["add", { a: R.a2, b: R.a2, c: R.a0 }],
    ["xor", { a: R.a2, b: R.a2, c: R.a1 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
  ];
}

beforeEach(() => {
  translateOptions.wasmBlocks = false;
});

afterEach(() => {
  translateOptions.wasmBlocks = true;
  translateOptions.wasm = true;
  memoryOptions.wasm = true;
});

describe("the WebAssembly tier's coverage", () => {
  it("compiles ALU, load, store and branch loops, and leaves the rest to JavaScript", () => {
    for (const items of [memoryLoop(1), aluLoop(1)]) {
      const loop = encodeWords(items.slice(items.indexOf("loop")));
      expect(loop.length).toBeGreaterThan(15);
      expect(wasmLoopSupported(loop)).toBe(true);
      expect(loopModule(loop)).toBeInstanceOf(Uint8Array);
    }
    // div (the semantics' edge cases), pause (a hook), a linking jal: JavaScript.
    for (const other of [["div", { a: R.t1, b: R.t1, c: R.t2 }], ["pause"]] as Item[]) {
      expect(wasmLoopSupported(encodeWords(["l", other, ["bne", { a: R.t0, b: R.zero, to: "l" }]]))).toBe(false);
    }
    expect(wasmLoopSupported(encodeWords(["l", ["jal", { a: R.lr, to: "l" }]]))).toBe(false);
    expect(wasmLoopSupported(encodeWords(["l", ["jal", { a: R.zero, to: "l" }]]))).toBe(true);
  });

  it("leaves a loop without loads and stores to JavaScript", () => {
    const before = wasmStats.entries;
    same({ items: [...li(R.t0, 10_000), "loop", ["addi", { a: R.t1, b: R.t1, imm: 3 }], ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "loop" }], powerOff(R.t1)] });
    expect(wasmStats.entries).toBe(before);
  });
});

describe("jit (WebAssembly loops) = interpreter", () => {
  it("every load and store size, paging on, TLB misses inside the loop", () => {
    const r = same({ items: [...pagingOn(PD), ...memoryLoop(3_000), powerOff(R.a2)], data: [MAPS] });
    expect(r.result.kind).toBe("poweroff");
    expect(r.stats.tlbMisses).toBeGreaterThan(100);
    expect(r.entries).toBeGreaterThan(0);
  });

  it("every cycle budget from 3,000 to 3,070, and a few long ones", () => {
    let entries = 0;
    for (const budget of [...Array.from({ length: 71 }, (_, i) => 3_000 + i), 65_537, 100_003]) {
      const r = same({ items: [...pagingOn(PD), ...memoryLoop(3_000), powerOff(R.a2)], data: [MAPS], maxCycles: budget });
      expect(r.result.kind).toBe("stopped");
      entries += r.entries;
    }
    expect(entries).toBeGreaterThan(0);
  });

  it("an ALU loop of every other operation, every cycle budget from 5,000 to 5,040", () => {
    let entries = 0;
    for (const budget of [...Array.from({ length: 41 }, (_, i) => 5_000 + i), 1_000_000]) {
      const r = same({ items: [...aluLoop(20_000), powerOff(R.a2)], maxCycles: budget });
      entries += r.entries;
    }
    expect(entries).toBeGreaterThan(0);
  });

  it("a loop closed by a jal (left only at the budget), every budget from 4,000 to 4,030", () => {
    let entries = 0;
    for (const budget of [...Array.from({ length: 31 }, (_, i) => 4_000 + i), 300_001]) {
      const r = same({
        items: [
          ...pagingOn(PD),
          ...li(R.s0, DATA_VA),
          ["jal", { a: R.zero, to: "loop" }],
          "loop",
          ["addi", { a: R.t0, b: R.t0, imm: 4 }],
          ["andi", { a: R.t1, b: R.t0, imm: 0x3ffc }],
          ["add", { a: R.t1, b: R.t1, c: R.s0 }],
          ["sw", { a: R.t0, b: R.t1, imm: 0 }],
          ["jal", { a: R.zero, to: "loop" }],
        ],
        data: [MAPS],
        maxCycles: budget,
      });
      expect(r.result.kind).toBe("stopped");
      entries += r.entries;
    }
    expect(entries).toBeGreaterThan(0);
  });

  // The timer's handler counts in k0 (program.ts timerRuns).
  const timed = (period: number, rearm: boolean): Item[] => timerRuns(PD, period, rearm, 40, memoryLoop(37), [["cli"], powerOff(R.k0)]);
  for (const period of [1, 7, 10_000]) {
    it(`a timer every ${period} cycles, its interrupts landing inside the loop`, () => {
      let entries = 0;
      for (const rearm of period === 10_000 ? [false] : [true, false]) {
        const r = same({ items: timed(period, rearm), data: [MAPS], maxCycles: 3_000_000 });
        expect(r.stats.interrupts[0] ?? 0).toBeGreaterThan(rearm || period === 10_000 ? 5 : 100);
        entries += r.entries;
      }
      expect(entries).toBeGreaterThan(0);
    });
  }

  it("a loop that stores into its own code page and rewrites an instruction of its body", () => {
    // The loop's `addi a0, a0, k` is rewritten every iteration with k + 1 (t2 holds the word), and
    // every iteration stores a word into the code page's data area too: each store exits after it.
    const prefix = (at: number, word: number): Item[] => rewriteSetUp(PD, at, word, 500, DATA_VA);
    const addi = (k: number) => encodeWords([["addi", { a: R.a0, b: R.a0, imm: k }]])[0];
    // The rewritten instruction's address: after the prefix (whose length does not depend on its values)
    // and the loop's first 2 instructions.
    const at = 0x1000 + assembleItems(prefix(0, 0), 0x1000).length + 2 * 4;
    const r = same({
      items: [
        ...prefix(at, addi(1)),
        "loop",
        ["lw", { a: R.t1, b: R.s2, imm: 0 }],
        ["add", { a: R.t1, b: R.t1, c: R.a0 }],
        ["addi", { a: R.a0, b: R.a0, imm: 1 }],
        ["sw", { a: R.t1, b: R.s2, imm: 0 }],
        ["sw", { a: R.t0, b: R.s1, imm: 0 }],
        ["addi", { a: R.t2, b: R.t2, imm: 1 << 14 }],
        ["sw", { a: R.t2, b: R.s0, imm: 0 }],
        ["sb", { a: R.t0, b: R.s2, imm: 5 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        ["add", { a: R.a0, b: R.a0, c: R.t1 }],
        powerOff(R.a0),
      ],
      data: [MAPS],
      memory: [0x1000, 0x2000],
    });
    // a0 = Σ k for k = 1..500 = 125,250; t1 = Σ of a0's values before each addi = Σ i(i+1)/2, i = 0..499.
    let sum = 0;
    for (let i = 0; i < 500; i++) sum += (i * (i + 1)) / 2;
    expect(r.regs[R.t1]).toBe(sum | 0);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: (125_250 + sum) & 0xff });
    expect(r.host.jit!.storeExits).toBeGreaterThan(400);
    expect(r.entries).toBeGreaterThan(0);
  });

  it("a register the loop only writes keeps its value when the loop leaves before writing it", () => {
    // t2 is never read in the loop. Its lw alternates between two pages sharing a TLB slot, so it misses
    // every iteration and the compiled loop leaves (before the lw) in the first iteration of every call:
    // t2 must keep its value until the addi after the lw, which budgets stopping right after the
    // interpreter's lw observe.
    const items: Item[] = [
      ...pagingOn(PD),
      ...li(R.s0, DATA_VA),
      ...li(R.t2, 0x777),
      ...li(R.t0, 60),
      ["jal", { a: R.zero, to: "loop" }],
      "loop",
      ["andi", { a: R.t3, b: R.t0, imm: 1 }],
      ["slli", { a: R.t3, b: R.t3, imm: 22 }],
      ["add", { a: R.t4, b: R.s0, c: R.t3 }], // DATA_VA or ALIAS_VA
      ["lw", { a: R.t1, b: R.t4, imm: 0 }],
      ["addi", { a: R.t2, b: R.t1, imm: 5 }],
      ["addi", { a: R.t0, b: R.t0, imm: -1 }],
      ["bne", { a: R.t0, b: R.zero, to: "loop" }],
      powerOff(R.t2),
    ];
    let entries = 0;
    for (let budget = 1_040; budget < 1_300; budget++) entries += same({ items, data: [MAPS], maxCycles: budget }).entries;
    expect(entries).toBeGreaterThan(0);
    expect(same({ items, data: [MAPS] }).result).toEqual({ kind: "poweroff", exitCode: 5 });
  });

  it("the same results with the tier off, and over a memory that is no WebAssembly.Memory's (no entries)", () => {
    const s: EngineSetup = { items: [...pagingOn(PD), ...memoryLoop(2_000), powerOff(R.a2)], data: [MAPS] };
    const on = runOn("jit", s).observed;
    const before = wasmStats.entries;
    translateOptions.wasm = false;
    expect(runOn("jit", s).observed).toEqual(on);
    translateOptions.wasm = true;
    memoryOptions.wasm = false;
    expect(runOn("jit", s).observed).toEqual(on);
    expect(wasmStats.entries).toBe(before);
  });

  it("the tier is what ran the loop: a machine's own run enters it (no warm-up)", () => {
    translateOptions.warm = false;
    try {
      const before = wasmStats.entries;
      runOn("jit", { items: [...pagingOn(PD), ...memoryLoop(2_000), powerOff(R.a2)], data: [MAPS] });
      expect(wasmStats.entries - before).toBeGreaterThan(0);
    } finally {
      translateOptions.warm = true;
    }
  });
});
