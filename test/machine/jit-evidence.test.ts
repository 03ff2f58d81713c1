// The process's first instructions (docs/speed-history.md "Twelfth round: short runs"): until
// its JIT engines interpreted EVIDENCE_INSNS instructions, and while the
// process has compiled nothing, an engine's `run` is the interpreter's
// `cpu.run` alone (cache.ts `interpretsOnly`, in slices that end about
// there: test/machine/jit-cli.test.ts runs a loop with no event for the
// interpreter to stop at, which the engine still compiles); from there on it
// gathers the evidence its rules weigh, and compiles by them (once past
// START_INSNS too).
// Results are the interpreter's throughout. Its own file: the budget is per
// process, and this file's process starts with none of it spent (vitest runs
// each file in a process of its own). Consumes a loop under a timer built
// with ./program.ts, run under both engines at the default threshold;
// compares everything observable.
import { describe, expect, it } from "vitest";
import { EVIDENCE_INSNS, START_INSNS } from "../../src/machine/jit/cache.js";
import { runAtDefaultThreshold } from "./engine-pair.js";
import { R, li, powerOff, type Item } from "./program.js";

/**
 * `iterations` of a 4-instruction loop under a timer every 19,997 cycles
 * whose handler (at 0x1004) sums the interrupted pcs into s1 and counts in
 * s2, so that an interrupt taken one instruction early or late shows (in s1,
 * the registers compared, and the power-off digest).
 */
const program = (iterations: number): Item[] => [
  ["jal", { a: R.zero, to: "start" }],
  "handler",
  ["mfcr", { a: R.t4, imm: 1 }], // epc
  ["add", { a: R.s1, b: R.s1, c: R.t4 }],
  ["out", { imm: 0x21, b: R.zero }], // acknowledge the timer
  ["addi", { a: R.s2, b: R.s2, imm: 1 }],
  ["iret"],
  "start",
  ...li(R.t0, 0x1004),
  ["mtcr", { imm: 0, b: R.t0 }], // tvec = handler
  ...li(R.t0, 19_997),
  ["out", { imm: 0x20, b: R.t0 }], // timer period
  ...li(R.t0, iterations),
  ["sti"],
  "loop",
  ["add", { a: R.t1, b: R.t1, c: R.t0 }],
  ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
  ["addi", { a: R.t0, b: R.t0, imm: -1 }],
  ["bne", { a: R.t0, b: R.zero, to: "loop" }],
  ["cli"],
  ["add", { a: R.a0, b: R.t2, c: R.s2 }],
  ["add", { a: R.a0, b: R.a0, c: R.s1 }],
  ["andi", { a: R.a0, b: R.a0, imm: 255 }],
  powerOff(R.a0),
];

function both(iterations: number) {
  const reference = runAtDefaultThreshold("interp", program(iterations), undefined, { startSpent: false });
  const jit = runAtDefaultThreshold("jit", program(iterations), undefined, { startSpent: false });
  expect(reference.observed.result.kind).toBe("poweroff");
  expect(jit.host.engine).toBe("jit");
  expect(jit.observed).toEqual(reference.observed);
  return { total: reference.observed.stats.instructions, h: jit.host.jit! };
}

// Its tests are one process's runs in order (the budget is spent across them): never shuffled.
describe("jit: the process's first instructions", { shuffle: false }, () => {
  let spent = 0;

  it("a first run shorter than EVIDENCE_INSNS is the interpreter alone, with its results", () => {
    const { total, h } = both(375_000);
    expect(total).toBeGreaterThan(1_400_000);
    expect(total).toBeLessThan(EVIDENCE_INSNS);
    // No slice, look-up or dispatch of the engine's own: every instruction by `cpu.run(limit)`.
    expect(h.steps).toBe(0);
    expect(h.dispatches).toBe(0);
    expect(h.fetchWalks).toBe(0);
    expect(h.interpreted).toBe(total);
    spent += total;
  });

  it("a run past EVIDENCE_INSNS gathers evidence from there on and compiles the loop, with the interpreter's results", () => {
    const { total, h } = both(2_250_000);
    expect(spent + total).toBeGreaterThan(Math.max(EVIDENCE_INSNS, START_INSNS) + 1_000_000);
    // The engine's slices from where the process passed EVIDENCE_INSNS (a machine loop's slice at most
    // later): one per timer period or INTERPRET_SLICE (4,096 cycles) at most.
    expect(h.steps).toBeGreaterThan((spent + total - EVIDENCE_INSNS - 1_000_000) / 4096);
    expect(h.compiled).toBeGreaterThan(0);
    expect(h.dispatches).toBeGreaterThan(0);
    // Nothing compiled before both budgets are spent; then the 512 reaches of the loop's page (~3,300
    // instructions per slice here) and its entry's 16 slices, and not much more.
    const from = Math.max(EVIDENCE_INSNS, START_INSNS) - spent;
    expect(h.interpreted).toBeGreaterThanOrEqual(from);
    expect(h.interpreted).toBeLessThan(from + 2_500_000);
  });
});
