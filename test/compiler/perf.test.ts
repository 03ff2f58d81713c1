// Code quality: executed instructions of compiled fib(20) and sieve against
// hand-written assembly of the same algorithms (fixtures/programs/perf).
// Instruction counts are deterministic, so the ratio is an assertion.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROGRAMS, runSources } from "./helpers.js";

const PERF = join(PROGRAMS, "perf");
const src = (name: string) => ({ file: join(PERF, name), text: readFileSync(join(PERF, name), "utf8") });

function compiledVsHandWritten(name: string): { compiled: number; hand: number; ratio: number; exit: number } {
  const compiled = runSources([src(`${name}.ts`)]);
  const hand = runSources([src(`${name}.s`)]);
  expect(compiled.exitCode).toBe(hand.exitCode);
  return { compiled: compiled.instructions, hand: hand.instructions, ratio: compiled.instructions / hand.instructions, exit: compiled.exitCode };
}

describe("compiled code vs hand-written assembly (executed instructions)", () => {
  it("fib(20): at most 2x", () => {
    const r = compiledVsHandWritten("fib");
    expect(r.exit).toBe(6765 & 0xff);
    console.log(`fib(20): compiled ${r.compiled}, hand-written ${r.hand}, ratio ${r.ratio.toFixed(3)}`);
    expect(r.ratio).toBeLessThanOrEqual(2);
  });

  it("sieve below 10000: at most 2x", () => {
    const r = compiledVsHandWritten("sieve");
    expect(r.exit).toBe(1229 & 0xff);
    console.log(`sieve: compiled ${r.compiled}, hand-written ${r.hand}, ratio ${r.ratio.toFixed(3)}`);
    expect(r.ratio).toBeLessThanOrEqual(2);
  });
});
