// A kernel written in TypeScript (fixtures/programs/kernel): its own _start,
// an assembly trap handler, every privileged intrinsic executed on the bare
// machine; and the calling convention between assembly and compiled code.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { PROGRAMS, runSources } from "./helpers.js";

const KERNEL = join(PROGRAMS, "kernel");
const src = (f: string) => ({ file: join(KERNEL, f), text: readFileSync(join(KERNEL, f), "utf8") });

describe("kernels", () => {
  it("runs a TS kernel with its own _start and an asm trap handler", () => {
    const run = runSources([src("kernel.ts"), src("trap.s")]);
    expect(run.stopped).toBeUndefined();
    expect(run.console).toBe("o");
    expect(run.exitCode).toBe(42);
  });

  it("adds no start-up when an input defines _start, but still provides the stack", () => {
    const { assembly } = buildSources([src("kernel.ts"), src("trap.s")]);
    expect(assembly.map((a) => a.file)).toEqual([join(KERNEL, "kernel.s"), join(KERNEL, "trap.s"), "<stack>.s"]);
    expect(assembly[0].text).toMatch(/_start:\n\s+la sp, __stack_top/);
  });

  it("refuses a program without _start or an exported main()", () => {
    expect(() => buildSources([{ file: "p.ts", text: "function main(): number { return 3; }" }])).toThrow(/no input defines _start or an exported main\(\)/);
  });

  it("adds the start-up to a program", () => {
    const { assembly } = buildSources([{ file: "p.ts", text: "export function main(): number { return 3; }" }]);
    expect(assembly.map((a) => a.file)).toEqual(["p.s", "<startup>.s", "<stack>.s"]);
    expect(runSources([{ file: "p.ts", text: "export function main(): number { return 3; }" }]).exitCode).toBe(3);
  });
});

describe("calling convention between assembly and compiled code", () => {
  it("asm calls TS with four arguments and TS calls asm; s0–s2 survive calls", () => {
    const asm = [
      "    .text",
      "    .global _start",
      "_start:",
      "    la sp, __stack_top",
      "    li s0, 1000",
      "    li s1, 2000",
      "    li s2, 3000",
      "    li a0, 1",
      "    li a1, 2",
      "    li a2, 3",
      "    li a3, 4",
      "    call combine          # TS: combine(1, 2, 3, 4) = 1234 + twice(5) = 1244",
      "    add a0, a0, s0        # callee-saved registers are intact",
      "    add a0, a0, s1",
      "    add a0, a0, s2",
      "    li t0, 7244",
      "    sub a0, a0, t0        # 0 when everything held",
      "    out 0xF0, a0",
      ".Lhang:",
      "    j .Lhang",
      "    .global twice",
      "twice:                   # asm: a0 = 2 * a0",
      "    add a0, a0, a0",
      "    ret",
    ].join("\n");
    const ts = [
      "declare function twice(x: number): number;",
      "export function combine(a: number, b: number, c: number, d: number): number {",
      "  let s0 = a * 1000, s1 = b * 100, s2 = c * 10;", // enough locals to use s0–s2
      "  const t = twice(5);",
      "  return s0 + s1 + s2 + d + t;",
      "}",
    ].join("\n");
    const run = runSources([{ file: "start.s", text: asm }, { file: "combine.ts", text: ts }]);
    expect(run.stopped).toBeUndefined();
    expect(run.exitCode).toBe(0);
  });
});
