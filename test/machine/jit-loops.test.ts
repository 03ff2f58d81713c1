// The JIT's loop and memory fast paths (src/machine/jit/translate.ts) against
// the interpreter: self-loops that skip the limit check for the iterations
// `loopFit` proved to pass it (stopping at every cycle budget, with a pause
// hook reading the cycle count inside the loop), and the pages a call
// remembers for its loads and stores (a store loop into a page that later
// gets a translation, then rewrites that code). Each program runs under both
// engines (the JIT translating at first reach, jitThreshold 1) and everything
// observable must be identical; `loopFit` is also checked against counting.
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/machine/machine.js";
import { loopFit, translatorStats } from "../../src/machine/jit/translate.js";
import { runAtDefaultThreshold, same as sameOn, type EngineSetup } from "./engine-pair.js";
import { R, addAndReturn, li, pageTables, pagingOn, powerOff, timedLoop, wordsToBytes, type Item } from "./program.js";

/** Both engines, observing the pages these programs store into (0x3000–0x5fff). */
const same = (s: EngineSetup) => sameOn({ memory: [0x3000, 0x6000], ...s });

/** Adds t0 to the word at s0 + (t0 & 1020): a load and a store per loop iteration, over one KiB. */
const ADD_T0_TO_WORD: Item[] = [
  ["andi", { a: R.t4, b: R.t0, imm: 1020 }],
  ["add", { a: R.t4, b: R.t4, c: R.s0 }],
  ["lw", { a: R.t1, b: R.t4, imm: 0 }],
  ["add", { a: R.t1, b: R.t1, c: R.t0 }],
  ["sw", { a: R.t1, b: R.t4, imm: 0 }],
];

describe("loopFit", () => {
  /** The iterations from `cyc` that pass `cyc + x < limit` one after another, by counting (up to `cap`). */
  const counted = (cyc: number, x: number, c: number, limit: number, cap: number) => {
    let k = 0;
    while (k < cap && cyc + x < limit) {
      k++;
      cyc += c;
    }
    return k;
  };

  it("is the count of iterations that pass the interpreter's check, for whole cycle counts", () => {
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 20_000; i++) {
      const cyc = rnd(4) === 0 ? 2 ** 40 + rnd(1 << 20) : rnd(100_000);
      const c = rnd(6) === 0 ? 0 : 1 + rnd(40);
      const x = c === 0 ? 0 : rnd(c);
      const span = rnd(3) === 0 ? rnd(50) : rnd(70_000);
      const limit = cyc + span + (rnd(3) === 0 ? 0.5 : 0);
      const k = loopFit(cyc, x, c, limit);
      if (c === 0) expect(k).toBe(cyc + x < limit ? 0x3fff_ffff : 0);
      else expect(k, `${cyc} ${x} ${c} ${limit}`).toBe(counted(cyc, x, c, limit, 1e9));
    }
  });

  it("never lets an iteration skip a check it would fail (fractional and huge counts: one at a time)", () => {
    for (const [cyc, x, c, limit] of [
      [0.5, 3, 4, 100],
      [2 ** 53 - 10, 1, 1, 2 ** 53],
      [100, 2, 3, Infinity],
      [100, 2, 3, 100],
      [100, 2, 3, 102.5],
    ]) {
      const k = loopFit(cyc, x, c, limit);
      const n = Math.min(k, 1000);
      let cy = cyc;
      for (let i = 0; i < n; i++, cy += c) expect(cy + x < limit).toBe(true);
      if (!Number.isSafeInteger(cyc)) expect(k).toBe(1);
    }
    expect(loopFit(100, 2, 3, Infinity)).toBe(0x3fff_ffff);
    expect(loopFit(100, 2, 3, 102)).toBe(0);
  });
});

describe("jit = interpreter where a self-loop meets the cycle budget", () => {
  // An ALU self-loop (7 cycles an iteration) and a load/store one, cut by every budget in a range:
  // the translation must stop at exactly the instruction the interpreter stops at.
  const alu: Item[] = [
    ...li(R.t0, 100_000),
    "loop",
    ["addi", { a: R.t1, b: R.t1, imm: 1 }],
    ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
    ["add", { a: R.t3, b: R.t3, c: R.t2 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    powerOff(R.t3),
  ];
  const mem: Item[] = [
    ...li(R.s0, 0x4000),
    ...li(R.t0, 100_000),
    "loop",
    ...ADD_T0_TO_WORD,
    ["sb", { a: R.t0, b: R.t4, imm: 2 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    powerOff(R.t1),
  ];
  for (const [name, items] of [["ALU loop", alu], ["load/store loop", mem]] as const) {
    it(`${name}: every budget from 2,000 to 2,060 cycles, and a few long ones`, () => {
      for (const budget of [...Array.from({ length: 61 }, (_, i) => 2_000 + i), 65_535, 65_536, 65_537, 131_073, 200_003]) {
        const r = same({ items, maxCycles: budget });
        expect(r.result.kind).toBe("stopped");
        expect(r.stats.cycles).toBeGreaterThanOrEqual(budget);
      }
      expect(same({ items }).result.kind).toBe("poweroff");
    });
  }

  it("a pause hook inside a self-loop sees the interpreter's cycle counts, and its exits land where the interpreter's do", () => {
    const r = same({
      items: [
        ...li(R.t0, 5_000),
        "loop",
        ["addi", { a: R.t1, b: R.t1, imm: 3 }],
        ["pause"],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        powerOff(R.t1),
      ],
      pauseEvery: 97,
    });
    expect(r.pauses.length).toBe(10_000);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 15_000 & 0xff });
  });
});

describe("jit = interpreter on the pages a translation remembers", () => {
  it("a store loop fills a page, code in that page is then translated, and the loop's next stores rewrite that code", () => {
    // Page 0x3000 holds f (`addi a0, a0, k; jalr zero, ra`) and, from 0x3800, data. Each round a
    // self-loop stores 16 words into the data (round 1: before f was ever run, so the page holds no
    // translation and a translation may remember it for its stores), then a store rewrites f's
    // addi with k = round, and f is called. From round 2 on the page holds f's translation: every
    // store into it (the loop's and the rewrite) must reach the cache before f runs again.
    // Paging on, with the page also mapped at 0x40_4000, written through that alias on odd rounds.
    const PD = 0x10_0000, ALIAS = 0x0040_4000;
    const f = addAndReturn;
    const r = same({
      items: [
        ...pagingOn(PD),
        ...li(R.s0, 0x3000),
        ...li(R.s1, ALIAS),
        ...li(R.s2, 1), // round
        ...li(R.t2, f(1)[0]),
        "round",
        ["andi", { a: R.t3, b: R.s2, imm: 1 }],
        ["addi", { a: R.a2, b: R.s0, imm: 0 }],
        ["beq", { a: R.t3, b: R.zero, to: "even" }],
        ["addi", { a: R.a2, b: R.s1, imm: 0 }],
        "even",
        ...li(R.t0, 16),
        ["addi", { a: R.t4, b: R.a2, imm: 0x7fc }],
        "fill",
        ["add", { a: R.a3, b: R.t0, c: R.s2 }],
        ["sw", { a: R.a3, b: R.t4, imm: 4 * 16 }],
        ["sb", { a: R.t0, b: R.t4, imm: 4 * 16 + 1 }],
        ["addi", { a: R.t4, b: R.t4, imm: -4 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "fill" }],
        ["sw", { a: R.t2, b: R.a2, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["lw", { a: R.a3, b: R.s0, imm: 0x800 }],
        ["add", { a: R.a1, b: R.a1, c: R.a3 }],
        ["addi", { a: R.t2, b: R.t2, imm: 1 << 14 }],
        ["addi", { a: R.s2, b: R.s2, imm: 1 }],
        ["slti", { a: R.t3, b: R.s2, imm: 13 }],
        ["bne", { a: R.t3, b: R.zero, to: "round" }],
        ["add", { a: R.a0, b: R.a0, c: R.a1 }],
        ["andi", { a: R.a0, b: R.a0, imm: 255 }],
        powerOff(R.a0),
      ],
      data: [pageTables(PD, [[0x1000, 0x1000, 2], [0x3000, 0x3000, 2], [ALIAS, 0x3000, 2]]), { addr: 0x3000, bytes: wordsToBytes(f(0)) }],
    });
    // a0: Σ k = 78 for k = 1..12; a1: the word at 0x3800 after each round's loop, (1 + round) with
    // its byte 1 replaced by 1: Σ (1 + round) + 12 × 256 for rounds 1..12 = 90 + 3,072.
    expect(r.result).toEqual({ kind: "poweroff", exitCode: (78 + 90 + 3_072) & 0xff });
    // Translated stores into the page once it holds translations (the loop's, the rewrite's): each exits.
    expect(r.host.jit!.storeExits).toBeGreaterThan(11);
  });
});

describe("jit = interpreter when a second machine finds the process's translation of a page from another entry", () => {
  // The default threshold. A byte-fill loop of 4 cycles an iteration: the interpreter's slices (4,096
  // cycles) end at the same instruction every time, in the middle of the loop's block, so a second
  // machine's look-ups (cache.ts hotPages) are at an address no translation was entered at. It must
  // reuse the translation one of whose blocks starts there, or compile where a known block covers
  // it, instead of interpreting the loop until the page is hot again.
  const fillSum = (rounds: number, stride = 3): Item[] => [
    ...li(R.s0, 0x10_0000),
    ...li(R.s1, 65_536),
    ...li(R.s2, rounds),
    "round",
    ["addi", { a: R.t0, b: R.zero, imm: 0 }],
    ["addi", { a: R.t1, b: R.s2, imm: 0 }],
    "fill",
    ["add", { a: R.t2, b: R.s0, c: R.t0 }],
    ["sb", { a: R.t1, b: R.t2, imm: 0 }],
    ["addi", { a: R.t0, b: R.t0, imm: 1 }],
    ["blt", { a: R.t0, b: R.s1, to: "fill" }],
    ["addi", { a: R.t0, b: R.zero, imm: 0 }],
    "sum",
    ["add", { a: R.t2, b: R.s0, c: R.t0 }],
    ["lbu", { a: R.t2, b: R.t2, imm: 0 }],
    ["add", { a: R.a0, b: R.a0, c: R.t2 }],
    ["addi", { a: R.t0, b: R.t0, imm: stride }],
    ["blt", { a: R.t0, b: R.s1, to: "sum" }],
    ["addi", { a: R.s2, b: R.s2, imm: -1 }],
    ["bne", { a: R.s2, b: R.zero, to: "round" }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];
  const items = fillSum(12);
  const run = (engine: Engine, program = items) => runAtDefaultThreshold(engine, program);

  it("the second machine interprets a few slices, not the first loop", () => {
    const reference = run("interp").observed;
    const first = run("jit");
    const second = run("jit");
    expect(first.observed).toEqual(reference);
    expect(second.observed).toEqual(reference);
    expect(reference.result).toEqual({ kind: "poweroff", exitCode: (21_846 * 78) & 0xff });
    expect(first.host.jit!.interpreted).toBeGreaterThan(1_000_000);
    expect(second.host.jit!.interpreted).toBeLessThan(first.host.jit!.interpreted / 50);
  });

  it("a machine whose first slice ends inside a known block compiles only that block's tail", () => {
    // translate.ts translateFrom (tail): a new translation of everything reachable from there would
    // run in V8's bytecode interpreter until its own compile landed. The program is this
    // describe's summing every fifth byte, so its blocks are new to the process. (Broken on purpose — a whole
    // translation for such an entry — `generated` grows by more than `tails`.)
    const program = fillSum(12, 5);
    const reference = run("interp", program).observed;
    expect(reference.result).toEqual({ kind: "poweroff", exitCode: (13_108 * 78) & 0xff });
    expect(run("jit", program).observed).toEqual(reference);
    const before = { ...translatorStats };
    const again = run("jit", program);
    expect(again.observed).toEqual(reference);
    expect(translatorStats.tailsUsed).toBeGreaterThan(before.tailsUsed);
    expect(translatorStats.generated - before.generated).toBe(translatorStats.tails - before.tails);
    expect(again.host.jit!.interpreted).toBeLessThan(10_000);
  });

  it("entries inside known blocks (timer slices ending anywhere in the loop) run their tails, exactly", () => {
    // The timer every 4,999 cycles: the interpreter runs each block that does not fit up to the
    // event, so slices end all over the loop's block, and the same entries come back.
    const timer = timedLoop(4_999, 300_000, ADD_T0_TO_WORD);
    const reference = run("interp", timer).observed;
    expect(reference.result.kind).toBe("poweroff");
    expect(run("jit", timer).observed).toEqual(reference);
    const before = { ...translatorStats };
    expect(run("jit", timer).observed).toEqual(reference);
    expect(translatorStats.tailsUsed).toBeGreaterThan(before.tailsUsed);
  });
});
