// The process's start budget (issue 16, docs/speed-history.md "Tenth round: the
// first instructions"): no machine of a process compiles a new function
// before the process's JIT engines interpreted START_INSNS instructions
// (cache.ts), so a short run costs no V8 compile; past it, a loop's page is
// compiled by the usual rules, on evidence the engine gathers from there on
// (EVIDENCE_INSNS; jit-evidence.test.ts). Results are the interpreter's either way.
// Its own file: the budget is per process, and this file's process starts
// with none of it spent (vitest runs each file in a process of its own).
// Consumes a 3-instruction loop built with ./program.ts, run under both engines.
import { describe, expect, it } from "vitest";
import { START_INSNS } from "../../src/machine/jit/cache.js";
import { runAtDefaultThreshold } from "./engine-pair.js";
import { R, li, powerOff, type Item } from "./program.js";

/** `iterations` of a 3-instruction loop in one page, then power-off with a digest. */
function loop(iterations: number): Item[] {
  return [
    ...li(R.t0, iterations),
    "spin",
    ["add", { a: R.a1, b: R.a1, c: R.t0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "spin" }],
    ["andi", { a: R.a0, b: R.a1, imm: 255 }],
    powerOff(R.a0),
  ];
}

// Its tests are one process's runs in order (the budget is spent across them): never shuffled.
describe("jit: the process's start budget", { shuffle: false }, () => {
  let spent = 0;

  it("a first run shorter than START_INSNS compiles nothing, with the interpreter's results", () => {
    const program = loop(2_000_000);
    const reference = runAtDefaultThreshold("interp", program, undefined, { startSpent: false });
    expect(reference.observed.result.kind).toBe("poweroff");
    const total = reference.observed.stats.instructions;
    expect(total).toBeGreaterThan(6_000_000);
    expect(total).toBeLessThan(START_INSNS);
    const jit = runAtDefaultThreshold("jit", program, undefined, { startSpent: false });
    expect(jit.observed).toEqual(reference.observed);
    const h = jit.host.jit!;
    // Without the budget its loop's page is compiled after 512 reaches (about 700,000 instructions).
    expect(h.compiled).toBe(0);
    expect(h.translations).toBe(0);
    expect(h.interpreted).toBe(total);
    spent = h.interpreted;
  });

  it("the next run compiles the loop once the process is past START_INSNS", () => {
    const program = loop(3_000_000);
    const reference = runAtDefaultThreshold("interp", program, undefined, { startSpent: false });
    const jit = runAtDefaultThreshold("jit", program, undefined, { startSpent: false });
    expect(jit.observed).toEqual(reference.observed);
    const h = jit.host.jit!;
    expect(h.compiled).toBeGreaterThan(0);
    // The rest of the budget, then the evidence the engine gathers from there on (cache.ts
    // EVIDENCE_INSNS, which is START_INSNS): 512 reaches of the loop's page, one per slice of
    // INTERPRET_SLICE cycles (~3,070 instructions), and 16 slices at one entry (the loop's slices end at
    // scattered entries): 2.1 M instructions. (With the engine gathering from 4 M on: under 200,000.)
    expect(h.interpreted).toBeGreaterThanOrEqual(START_INSNS - spent);
    expect(h.interpreted).toBeLessThan(START_INSNS - spent + 2_500_000);
  });
});
