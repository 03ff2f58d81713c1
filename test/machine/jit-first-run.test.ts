// The JIT in a machine's first run of code new to the process (issue 16,
// "Seventh round: compute" in docs/speed-history.md): where the code leaves its own
// translations in the middle of a block — a timer interrupt taken inside a
// loop, the interpreter's run up to a limit — the entry it comes back to is
// served by that block's tail at once (translate.ts `translateFrom`, cache.ts
// probing in a page that holds translations), not by interpreter slices
// until the entry itself is judged. Each program runs under both engines at
// the default threshold and everything observable must be identical.
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/machine/machine.js";
import { translatorStats } from "../../src/machine/jit/translate.js";
import { runAtDefaultThreshold } from "./engine-pair.js";
import { R, li, powerOff, timerPrologue, type Item } from "./program.js";

const run = (engine: Engine, program: Item[]) => runAtDefaultThreshold(engine, program, 200_000_000);

describe("jit = interpreter when a first run's timer interrupts land inside its translated loops", () => {
  // Two loops (a read-modify-write over 1 KiB, a byte hash), a timer every `period` cycles: the
  // interpreter runs each block that does not fit up to the event, so the handler returns all
  // over the loops' blocks, into code the process has never seen before this machine.
  const program = (period: number): Item[] => [
    ...timerPrologue(period),
    ...li(R.s0, 0x10_0000),
    ...li(R.s1, 40),
    ["sti"],
    "outer",
    ...li(R.t0, 20_000),
    "rmw",
    ["andi", { a: R.t4, b: R.t0, imm: 1020 }],
    ["add", { a: R.t4, b: R.t4, c: R.s0 }],
    ["lw", { a: R.t1, b: R.t4, imm: 0 }],
    ["xor", { a: R.t1, b: R.t1, c: R.t0 }],
    ["sw", { a: R.t1, b: R.t4, imm: 0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "rmw" }],
    ["addi", { a: R.t0, b: R.zero, imm: 0 }],
    "hash",
    ["add", { a: R.t2, b: R.s0, c: R.t0 }],
    ["lbu", { a: R.t2, b: R.t2, imm: 0 }],
    ["slli", { a: R.t3, b: R.a0, imm: 5 }],
    ["add", { a: R.a0, b: R.a0, c: R.t3 }],
    ["xor", { a: R.a0, b: R.a0, c: R.t2 }],
    ["addi", { a: R.t0, b: R.t0, imm: 1 }],
    ["slti", { a: R.t3, b: R.t0, imm: 1024 }],
    ["bne", { a: R.t3, b: R.zero, to: "hash" }],
    ["addi", { a: R.s1, b: R.s1, imm: -1 }],
    ["bne", { a: R.s1, b: R.zero, to: "outer" }],
    ["cli"],
    ["add", { a: R.a0, b: R.a0, c: R.s2 }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];

  for (const period of [4_999, 20_011]) {
    it(`timer every ${period} cycles: identical results, the returns run tails, few instructions interpreted`, () => {
      const reference = run("interp", program(period)).observed;
      expect(reference.result.kind).toBe("poweroff");
      expect(Object.values(reference.stats.interrupts).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
      const before = { ...translatorStats };
      const first = run("jit", program(period));
      expect(first.observed).toEqual(reference);
      // The first machine (its code new to the process) resumes inside its own loops through tails.
      expect(translatorStats.tailsUsed).toBeGreaterThan(before.tailsUsed);
      const jit = first.host.jit!;
      expect(jit.demoted).toBe(0);
      // Before, every return into the middle of a block ran interpreter slices of 4,096 cycles until
      // that entry had been judged (16 slices): 668,000 (4,999) and 1,063,000 (20,011) of 5.9 M
      // instructions interpreted, no tail; now 460,000 and 963,000 — mostly the wait for the first
      // translations, which the tails do not change.
      if (period === 4_999) expect(jit.interpreted).toBeLessThan(reference.stats.instructions / 10);
      // Every full translation was warmed, no tail was.
      expect(translatorStats.warmed - before.warmed).toBe(translatorStats.generated - before.generated - (translatorStats.tails - before.tails));
    });
  }
});
