// Issue 16, ninth round (docs/speed-history.md "Ninth round: kernel code"): at the
// default threshold the JIT leaves kernel-style code — a few dozen
// instructions between two instructions only the interpreter runs — to the
// interpreter without translating or even looking it up (cache.ts plain
// pages), compiles a loop in the same page once slices from one of its
// entries ran long, and gives the interpreter's results either way. Consumes
// guest programs built with ./program.ts; runs each under both engines.
import { describe, expect, it } from "vitest";
import { runAtDefaultThreshold } from "./engine-pair.js";
import { R, li, powerOff, timerPrologue, type Item } from "./program.js";

/** 60 ALU instructions that fold t0 into a1/a2: the "kernel path" between two system instructions. */
const PATH: Item[] = Array.from({ length: 30 }, (_, i): Item[] => [
  ["addi", { a: R.a2, b: R.a2, imm: 2 * i + 1 }],
  ["xor", { a: R.a1, b: R.a1, c: R.a2 }],
]).flat();

/**
 * `iterations` times: the path, then `in` (port 0x41, the CPU number: the
 * interpreter runs it and returns to the machine loop, as after a kernel's
 * trap, hypercall or port access), so every slice from the loop's top runs
 * 64 instructions; then `long` iterations of a 3-instruction loop in the same
 * page; powers off with a digest of a1, a2, the CPU number and the timer
 * handler's count.
 */
function kernelStyle(period: number, iterations: number, long = 0): Item[] {
  return [
    ...(period > 0 ? timerPrologue(period) : []),
    ...li(R.t0, iterations),
    ...(period > 0 ? ([["sti"]] as Item[]) : []),
    "path",
    ...PATH,
    ["in", { a: R.s1, imm: 0x41 }],
    ["add", { a: R.a1, b: R.a1, c: R.s1 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "path" }],
    ...li(R.t0, long),
    ["beq", { a: R.t0, b: R.zero, to: "done" }],
    "spin",
    ["add", { a: R.a1, b: R.a1, c: R.t0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "spin" }],
    "done",
    ["cli"],
    ["xor", { a: R.a0, b: R.a1, c: R.a2 }],
    ["add", { a: R.a0, b: R.a0, c: R.s2 }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];
}

describe("jit = interpreter on kernel-style code at the default threshold", () => {
  for (const period of [0, 4_999, 10_000]) {
    it(`64 instructions between two system instructions, ${period ? `timer every ${period} cycles` : "no timer"}: nothing compiled, not even looked up`, () => {
      const program = kernelStyle(period, 20_000);
      const reference = runAtDefaultThreshold("interp", program);
      expect(reference.observed.result.kind).toBe("poweroff");
      expect(reference.observed.stats.instructions).toBeGreaterThan(1_200_000);
      const jit = runAtDefaultThreshold("jit", program);
      expect(jit.observed).toEqual(reference.observed);
      const h = jit.host.jit!;
      // Before the ninth round the loop's entry, whose slices ran 64 instructions (>= 32 on
      // average), was translated after 16 of them and called 20,000 times, 63 instructions a call.
      expect(h.translations).toBe(0);
      expect(h.compiled).toBe(0);
      expect(h.dispatches).toBe(0);
      expect(h.verifications).toBe(0);
      expect(h.interpreted).toBe(reference.observed.stats.instructions);
    });
  }

  it("a loop in the same page is compiled, with the interpreter's results", () => {
    const program = kernelStyle(10_000, 2_000, 2_000_000);
    const reference = runAtDefaultThreshold("interp", program);
    expect(reference.observed.result.kind).toBe("poweroff");
    const total = reference.observed.stats.instructions;
    expect(total).toBeGreaterThan(6_000_000);
    const jit = runAtDefaultThreshold("jit", program);
    expect(jit.observed).toEqual(reference.observed);
    const h = jit.host.jit!;
    expect(h.translations).toBeGreaterThan(0);
    expect(h.compiled).toBeGreaterThan(0);
    // Interpreted: the kernel-style part (132,000), the loop until the page was reached 512 times and
    // an entry's slices ran long 16 times, and the timer handler — not the rest of the loop.
    expect(h.interpreted).toBeLessThan(total / 4);
  });
});
