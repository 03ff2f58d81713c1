// Local typed arrays: `const buf = new Uint8Array(N)` inside a function is
// N bytes in the function's frame, zeroed each time the declaration runs (a
// new array, as in JavaScript), indexed, measured (.length) and addressed
// (addressOf) like a global one. Runs on the emulator and under Node, which
// must agree; the limits are file:line:col errors.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/guest-isa/diagnostics.js";
import { asmOf, compileDiagnostics, expectSameBothWays, functionBody, runSources } from "./helpers.js";

const errors = (text: string): string[] => compileDiagnostics(text, "g.ts").map((d) => formatDiagnostic(d, false));

const PROGRAM = readFileSync(new URL("./local-arrays.fixture.ts", import.meta.url), "utf8");

describe("local typed arrays", () => {
  it("run the same on the emulator and under Node (recursion, loops, addressOf, every element type)", () => {
    expect(expectSameBothWays([{ file: "/virtual/local-arrays.ts", text: PROGRAM }]).length).toBeGreaterThan(4);
  });

  it("addressOf gives the frame address: load/store intrinsics reach the elements", () => {
    const text = 'import { addressOf, load8, store32 } from "previrt/guest";\nfunction peek(p: number, i: number): number { return load8(p + i); }\nexport function main(): number {\n  const b = new Uint8Array(8);\n  const w = new Int32Array(2);\n  b[3] = 9;\n  store32(addressOf(w) + 4, 40);\n  return peek(addressOf(b), 3) + w[1];\n}\n';
    expect(runSources([{ file: "a.ts", text }]).exitCode).toBe(49);
  });

  it("live in the frame: sp-relative, zeroed at the declaration, no global symbol", () => {
    const body = functionBody(asmOf("export function f(i: number): number {\n  const a = new Int32Array(4);\n  a[i] = 7;\n  return a[1];\n}\n"), "f");
    expect(body.slice(0, 5)).toEqual(["addi sp, sp, -16", "sw zero, 0(sp)", "sw zero, 4(sp)", "sw zero, 8(sp)", "sw zero, 12(sp)"]);
    expect(body).toContain("lw a0, 4(sp)");
    expect(body.join("\n")).not.toMatch(/\bla\b/);
  });

  it("refuse a non-constant length, a list, more than 4096 bytes in one function, and `let`", () => {
    expect(
      errors(
        "export function f(n: number): number {\n  const a = new Int32Array(n);\n  const b = new Int8Array([1, 2]);\n  const c = new Uint8Array(4000);\n  const d = new Uint8Array(100);\n  let e = new Int32Array(1);\n  return a[0] + b[0] + c[0] + d[0] + e[0];\n}\n",
      ),
    ).toEqual([
      "g.ts:2:28: error: the length of a local typed array must be a constant (a global typed array also takes a list of constants)",
      "g.ts:3:27: error: an array literal (only as a global `new Int32Array(…)` initializer) is not supported in guest code",
      "g.ts:5:28: error: local typed arrays of more than 4096 bytes in one function (the stack is small: use a global)",
      "g.ts:6:11: error: `new` outside a typed-array declaration (a global, or a `const` local) is not supported in guest code",
    ]);
  });
});
