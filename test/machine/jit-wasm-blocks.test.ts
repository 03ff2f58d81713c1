// The JIT's WebAssembly tier for whole translations (src/machine/jit/wasm-blocks.ts)
// against the interpreter: a loop of several blocks — a forward branch inside
// it taken one way or the other, a call (jal with a link) to a function in the
// page that returns by jalr, a self-loop nested in it — with loads and stores
// of each size, paging on and TLB misses inside the loop, under every cycle
// budget in a range, timer interrupts every 1, 7 and 10,000 cycles landing in
// it, and the loop rewriting an instruction of one of its own blocks. Each
// program runs under both engines and everything observable (registers, pc,
// psr, the trace ring, memory, every counter) must be identical; each test
// also checks that the translation really ran as WebAssembly
// (wasmBlocksStats.entries), so it fails with the tier switched off.
import { afterEach, describe, expect, it } from "vitest";
import { memoryOptions } from "../../src/machine/memory.js";
import { translateOptions } from "../../src/machine/jit/translate.js";
import { blocksModule, roomOf, wasmBlocksStats, wasmBlocksSupported } from "../../src/machine/jit/wasm-blocks.js";
import { runOn, same as sameOn, type EngineSetup } from "./engine-pair.js";
import { R, assembleItems, encodeWords, li, pageTables, pagingOn, powerOff, rewriteSetUp, timerRuns, type Item } from "./program.js";
import { DATA_PA } from "./random-program.js";

/** Both engines; returns the observation and how many calls ran a translation as one WebAssembly function. */
function same(s: EngineSetup) {
  const before = wasmBlocksStats.entries;
  const r = sameOn(s);
  return { ...r, entries: wasmBlocksStats.entries - before };
}

const PD = 0x10_0000;
const DATA_VA = 0x0040_0000;
/** TLB slot 0 again (the TLB is indexed by va bits 12–21): an access through it evicts DATA_VA's first page. */
const ALIAS_VA = 0x0080_0000;
const MAPS = pageTables(PD, [
  [0x1000, 0x1000, 2],
  ...Array.from({ length: 4 }, (_, i): [number, number, number] => [DATA_VA + 4096 * i, DATA_PA + 4096 * i, 2]),
  [ALIAS_VA, DATA_PA, 2],
]);

/**
 * `n` iterations (t0 counting down) of a loop of five blocks over 16 KiB of
 * data, striding 52 bytes: a forward branch taken every fourth iteration
 * (`even`, which calls `f` with a3 as the link and stores a halfword; the
 * others store a word and jump over it), a load through the alias of the
 * first page (a TLB miss whenever the stride is in it), and a self-loop of
 * 1–8 byte stores. Folds into a2, with the link `f`'s jalr writes into
 * `link` (cleared after each call). `f` must be placed after the program's
 * end (`fn`). After the loop a tlbflush ends the translation (no system
 * instruction joins it).
 */
function multiBlockLoop(n: number, link: number): Item[] {
  return [
    ...li(R.s0, DATA_VA),
    ...li(R.s1, ALIAS_VA),
    ...li(R.t0, n),
    ["jal", { a: R.zero, to: "loop" }],
    "loop",
    ["andi", { a: R.t4, b: R.s2, imm: 0x3ff0 }],
    ["add", { a: R.t4, b: R.t4, c: R.s0 }],
    ["lw", { a: R.t1, b: R.t4, imm: 0 }],
    ["andi", { a: R.t3, b: R.t0, imm: 3 }],
    ["beq", { a: R.t3, b: R.zero, to: "even" }],
    ["add", { a: R.t1, b: R.t1, c: R.t0 }],
    ["mul", { a: R.t2, b: R.t1, c: R.t0 }],
    ["sw", { a: R.t1, b: R.t4, imm: 0 }],
    ["jal", { a: R.zero, to: "join" }],
    "even",
    ["sub", { a: R.t1, b: R.t1, c: R.t0 }],
    ["sh", { a: R.t1, b: R.t4, imm: 2 }],
    ["lhu", { a: R.t2, b: R.s1, imm: 6 }],
    ["jal", { a: R.a3, to: "f" }],
    "join",
    ["add", { a: R.a2, b: R.a2, c: link }],
    ["addi", { a: link, b: R.zero, imm: 0 }],
    ["andi", { a: R.a1, b: R.t0, imm: 7 }],
    ["add", { a: R.a0, b: R.t4, c: R.zero }],
    "inner",
    ["sb", { a: R.t0, b: R.a0, imm: 4 }],
    ["addi", { a: R.a0, b: R.a0, imm: 1 }],
    ["addi", { a: R.a1, b: R.a1, imm: -1 }],
    ["bge", { a: R.a1, b: R.zero, to: "inner" }],
    ["xor", { a: R.a2, b: R.a2, c: R.t2 }],
    ["addi", { a: R.s2, b: R.s2, imm: 52 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["tlbflush"],
  ];
}

/** The function the loop calls: a load, a signed byte load, and a return by jalr (linking `link`). */
const fn = (link: number): Item[] => [
  "f",
  ["lb", { a: R.t3, b: R.t4, imm: 1 }],
  ["lw", { a: R.t2, b: R.t4, imm: 4 }],
  ["add", { a: R.t2, b: R.t2, c: R.t3 }],
  ["jalr", { a: link, b: R.a3, imm: 0 }],
];

const program = (n: number): Item[] => [...pagingOn(PD), ...multiBlockLoop(n, R.lr), powerOff(R.a2), ...fn(R.lr)];

afterEach(() => {
  translateOptions.wasm = true;
  translateOptions.wasmBlocks = true;
  memoryOptions.wasm = true;
});

describe("the whole-translation WebAssembly tier's coverage", () => {
  it("takes ALU, load, store, branch and jump blocks with a load or store; leaves the rest to JavaScript", () => {
    const cost = new Float64Array(64).fill(1);
    const block = (items: Item[], start = 0) => ({ start, words: encodeWords(items), terminated: true });
    const loop = block(["l", ["lw", { a: R.t1, b: R.t4, imm: 0 }], ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "l" }]]);
    expect(wasmBlocksSupported([loop], cost)).toBe(true);
    expect(blocksModule([loop], cost)?.bytes).toBeInstanceOf(Uint8Array);
    // No load or store: V8's JavaScript ran such loops faster.
    expect(wasmBlocksSupported([block(["l", ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "l" }]])], cost)).toBe(false);
    // div (the semantics' edge cases), a system instruction, pause: JavaScript.
    for (const other of [["div", { a: R.t1, b: R.t1, c: R.t2 }], ["cli"], ["pause"]] as Item[]) {
      expect(wasmBlocksSupported([block(["l", ["lw", { a: R.t1, b: R.t4, imm: 0 }], other, ["bne", { a: R.t0, b: R.zero, to: "l" }]])], cost)).toBe(false);
    }
    // A fractional cost: no exact int32 sums.
    const half = cost.slice();
    half[encodeWords([["addi", { a: R.t0, b: R.t0, imm: -1 }]])[0] & 63] = 0.5;
    expect(wasmBlocksSupported([loop], half)).toBe(false);
  });

  it("roomOf counts exactly the whole u with cyc + u < limit", () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32;
    for (let i = 0; i < 20_000; i++) {
      const cyc = Math.floor(rnd() * 2 ** (rnd() < 0.5 ? 20 : 52));
      const limit = cyc + (rnd() < 0.3 ? rnd() * 200 - 20 : Math.floor(rnd() * 200) - 20) + (rnd() < 0.1 ? 2 ** 31 : 0);
      const r = roomOf(cyc, limit);
      expect(r).toBeGreaterThanOrEqual(0);
      if (r > 0) expect(cyc + (r - 1) < limit).toBe(true);
      if (r < 2 ** 30) expect(cyc + r < limit).toBe(false);
    }
    expect(roomOf(0.5, 10)).toBe(-1);
    expect(roomOf(5, Infinity)).toBe(2 ** 30);
    expect(roomOf(5, 5)).toBe(0);
  });
});

describe("jit (whole translations in WebAssembly) = interpreter", () => {
  it("a loop of five blocks, each branch direction, a call and its jalr return, TLB misses inside", () => {
    const r = same({ items: program(3_000), data: [MAPS] });
    expect(r.result.kind).toBe("poweroff");
    expect(r.stats.tlbMisses).toBeGreaterThan(100);
    expect(r.entries).toBeGreaterThan(0);
  });

  it("every cycle budget from 4,000 to 4,090, and a few long ones", () => {
    let entries = 0;
    for (const budget of [...Array.from({ length: 91 }, (_, i) => 4_000 + i), 65_537, 100_003, 300_007]) {
      const r = same({ items: program(3_000), data: [MAPS], maxCycles: budget });
      expect(r.result.kind).toBe("stopped");
      entries += r.entries;
    }
    expect(entries).toBeGreaterThan(0);
  });

  // The timer's handler counts in k0 (program.ts timerRuns).
  const timed = (period: number, rearm: boolean): Item[] => timerRuns(PD, period, rearm, 12, multiBlockLoop(23, R.zero), [["tlbflush"], ["cli"], ["add", { a: R.a2, b: R.a2, c: R.k0 }], powerOff(R.a2), ...fn(R.zero)]);
  for (const period of [1, 7, 10_000]) {
    it(`a timer every ${period} cycles, its interrupts landing inside the loop`, () => {
      let entries = 0;
      for (const rearm of period === 10_000 ? [false] : [true, false]) {
        const r = same({ items: timed(period, rearm), data: [MAPS], maxCycles: 3_000_000 });
        // Ticking every 1 or 7 cycles without a re-arm, the handler leaves the loop little room: the budget ends the run.
        if (rearm || period === 10_000) expect(r.result.kind).toBe("poweroff");
        expect(r.stats.interrupts[0] ?? 0).toBeGreaterThan(rearm || period === 10_000 ? 5 : 100);
        entries += r.entries;
      }
      expect(entries).toBeGreaterThan(0);
    });
  }

  it("a loop that rewrites an instruction of another of its blocks, and stores into its code page", () => {
    // The `addi a0, a0, k` in block `b` is rewritten every iteration with k + 1 (t2 holds the word),
    // from block `a`; every third iteration also stores into the code page's data area.
    const prefix = (at: number, word: number): Item[] => rewriteSetUp(PD, at, word, 400, DATA_VA);
    const addi = (k: number) => encodeWords([["addi", { a: R.a0, b: R.a0, imm: k }]])[0];
    // The rewritten instruction: the first of block b, after the prefix, its jal and block a's 6 instructions.
    const at = 0x1000 + assembleItems(prefix(0, 0), 0x1000).length + 7 * 4;
    const r = same({
      items: [
        ...prefix(at, addi(1)),
        ["jal", { a: R.zero, to: "a" }],
        "a",
        ["lw", { a: R.t1, b: R.s2, imm: 0 }],
        ["andi", { a: R.t3, b: R.t0, imm: 3 }],
        ["addi", { a: R.t2, b: R.t2, imm: 1 << 14 }],
        ["sw", { a: R.t2, b: R.s0, imm: 0 }],
        ["bne", { a: R.t3, b: R.zero, to: "b" }],
        ["sw", { a: R.t0, b: R.s1, imm: 0 }],
        "b",
        ["addi", { a: R.a0, b: R.a0, imm: 1 }],
        ["add", { a: R.t1, b: R.t1, c: R.a0 }],
        ["sw", { a: R.t1, b: R.s2, imm: 0 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "a" }],
        ["tlbflush"],
        ["add", { a: R.a0, b: R.a0, c: R.t1 }],
        powerOff(R.a0),
      ],
      data: [MAPS],
      memory: [0x1000, 0x2000],
    });
    // Iteration i (from 1) runs `addi a0, a0, i + 1` (rewritten before it runs); t1 sums a0 after each.
    let a0 = 0;
    let sum = 0;
    for (let i = 1; i <= 400; i++) sum += a0 += i + 1;
    expect(r.regs[R.t1]).toBe(sum | 0);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: (a0 + sum) & 0xff });
    expect(r.host.jit!.storeExits).toBeGreaterThan(400);
    expect(r.entries).toBeGreaterThan(0);
  });

  it("the same results with the tier off, and over a memory that is no WebAssembly.Memory's (no entries)", () => {
    const s: EngineSetup = { items: program(2_000), data: [MAPS] };
    const on = runOn("jit", s).observed;
    const before = wasmBlocksStats.entries;
    translateOptions.wasmBlocks = false;
    expect(runOn("jit", s).observed).toEqual(on);
    translateOptions.wasmBlocks = true;
    memoryOptions.wasm = false;
    expect(runOn("jit", s).observed).toEqual(on);
    expect(wasmBlocksStats.entries).toBe(before);
  });
});
