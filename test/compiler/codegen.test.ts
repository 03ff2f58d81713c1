// The shape of the generated assembly: register use (k0 never), frames,
// symbols, sections, intrinsic lowering, switch lowering, source comments.
// Structural checks, not full-text goldens; behaviour is covered by running
// programs (differential.test.ts, kernel.test.ts).

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../src/compiler/index.js";
import { asmOf, functionBody, instructions, PROGRAMS, programFiles } from "./helpers.js";

const G = 'import { cli, sti, halt, readPsr, writePsr, readCr, writeCr, tlbFlush, tlbInvalidate, inPort, outPort, syscall, hypercall, writePte, readPte, mmioRead32, mmioWrite32, addressOf, asm, load32, load16, load8, store32, store16, store8, CR, PORT } from "previrt/guest";\n';

describe("registers", () => {
  it("never uses k0 (r13) in any fixture program", () => {
    const entries = readdirSync(PROGRAMS).filter((f) => f.endsWith(".ts"));
    for (const e of entries) {
      for (const out of compile(programFiles(join(PROGRAMS, e)))) {
        for (const ins of instructions(out.asm)) expect(ins, `${out.file}: ${ins}`).not.toMatch(/\b(k0|r13)\b/);
      }
    }
  });

  it("keeps a leaf function frameless, with parameters in a0–a3", () => {
    const body = functionBody(asmOf("export function add3(a: number, b: number, c: number): number { return a + b + c; }"), "add3");
    expect(body).toEqual(["add t0, a0, a1", "add a0, t0, a2", "ret"]);
  });

  it("keeps locals of a non-leaf function in callee-saved registers, saved and restored", () => {
    const asm = asmOf("declare function g(x: number): number;\nexport function f(n: number): number { const a = g(n); return a + g(n + 1); }");
    const body = functionBody(asm, "f");
    expect(body).toContain("sw lr, 8(sp)");
    expect(body).toContain("sw s0, 4(sp)");
    expect(body).toContain("mv s0, a0");
    expect(body).toContain("call g");
    expect(body).toContain("lw s0, 4(sp)");
    expect(body[body.length - 1]).toBe("ret");
  });

  it("saves live temporaries across a call in the frame", () => {
    const body = functionBody(asmOf("declare function g(x: number): number;\nexport function f(n: number): number { return g(n) + g(n); }"), "f");
    const i = body.findIndex((l) => l.startsWith("call g"));
    expect(body.slice(i + 1, i + 3)).toEqual(["mv t0, a0", "sw t0, 0(sp)"]);
    expect(body).toContain("lw t0, 0(sp)");
  });

  it("branches on comparisons directly and rotates loops", () => {
    const body = functionBody(asmOf("export function f(n: number): number { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }"), "f");
    expect(body.filter((l) => l.startsWith("blt"))).toEqual([expect.stringMatching(/^blt \w+, a0, \.Lloop_\d+$/)]);
    expect(body.filter((l) => /^(slt|beqz|bnez)/.test(l))).toEqual([]);
  });
});

describe("symbols and sections", () => {
  const asm = asmOf(
    [
      "let counter = 5;",
      "let zeroed = 0;",
      "export let shared = 7;",
      "const FOLDED = 3;",
      "export const EXPORTED = 4;",
      "const buf = new Int32Array(10);",
      "export const bytes = new Uint8Array([1, 2, 3]);",
      "const msg = 'hi';",
      "declare function strlen(s: string): number;",
      "function local(): number { return counter + FOLDED + strlen(msg); }",
      "export function api(): number { return local() + buf[2] + bytes[1] + zeroed + shared + EXPORTED; }",
    ].join("\n"),
  );

  it("exports become .global, file-local names do not", () => {
    expect(asm).toMatch(/\.global api\napi:/);
    expect(asm).toContain(".global shared");
    expect(asm).toContain(".global EXPORTED");
    expect(asm).toContain(".global bytes");
    expect(asm).not.toContain(".global local");
    expect(asm).not.toContain(".global counter");
  });

  it("puts initialised globals in .data, zero ones in .bss, exported constants in .rodata, folds the rest", () => {
    const section = (name: string) => asm.split(/\n\s+\.(?=data|bss|rodata|text)/).find((s) => s.startsWith(name)) ?? "";
    expect(section("data")).toMatch(/counter:\n\s+\.word 5/);
    expect(section("data")).toMatch(/bytes:\n\s+\.byte 1, 2, 3/);
    expect(section("bss")).toMatch(/zeroed:\n\s+\.space 4/);
    expect(section("bss")).toMatch(/buf:\n\s+\.space 40/);
    expect(section("rodata")).toMatch(/EXPORTED:\n\s+\.word 4/);
    expect(section("rodata")).toMatch(/\.asciz "hi"/);
    expect(asm).not.toMatch(/^FOLDED:/m);
    expect(functionBody(asm, "api").some((l) => /^lw \w+, 8\(\w+\)$/.test(l))).toBe(true); // buf[2]: constant offset
  });

  it("calls assembly-defined functions declared with `declare function`", () => {
    const body = functionBody(asmOf("declare function putc(c: number): void;\nexport function f(): void { putc(65); }"), "f");
    expect(body).toContain("li a0, 65");
    expect(body).toContain("call putc");
  });

  it("links several files: imports resolve, file-local names that collide are renamed", () => {
    const out = compile([
      { file: "a.ts", text: 'import { twice } from "./b.js";\nfunction helper(): number { return 1; }\nexport function main(): number { return twice(helper()); }' },
      { file: "b.ts", text: "function helper(x: number): number { return x * 2; }\nexport function twice(x: number): number { return helper(x); }" },
    ]);
    expect(out[0].asm).toContain("call twice");
    expect(out[0].asm).toMatch(/^helper\.f0:/m);
    expect(out[1].asm).toMatch(/^helper\.f1:/m);
    expect(out[1].asm).toContain(".global twice");
  });

  it("comments every statement with its file:line and maps assembly lines back to the source", () => {
    const out = compile([{ file: "m.ts", text: "export function f(a: number): number {\n  let b = a * 3;\n  return b + 1;\n}\n" }])[0];
    expect(out.asm).toContain("# m.ts:2: let b = a * 3;");
    expect(out.asm).toContain("# m.ts:3: return b + 1;");
    const lines = out.asm.split("\n");
    const mul = lines.findIndex((l) => /^\s+mul /.test(l)) + 1;
    expect(out.sourceMap.find((m) => m.asmLine === mul)).toMatchObject({ file: "m.ts", line: 2 });
  });
});

describe("intrinsics", () => {
  const cases: [string, (string | RegExp)[]][] = [
    ["cli(); sti(); halt(); tlbFlush();", ["cli", "sti", "hlt", "tlbflush"]],
    ["return readPsr();", ["rdpsr a0"]],
    ["writePsr(x);", ["wrpsr a0"]],
    ["return readCr(CR.ptbr);", ["mfcr a0, ptbr"]],
    ["writeCr(CR.tvec, y);", ["mtcr tvec, a1"]],
    ["tlbInvalidate(x);", ["tlbinv a0"]],
    ["return inPort(PORT.console);", ["in a0, 0x10"]],
    ["outPort(0xF0, x);", ["out 0xF0, a0"]],
    ["return load32(x + 8);", ["lw a0, 8(a0)"]],
    ["return load16(x);", ["lhu a0, 0(a0)"]],
    ["return load8(x - 1);", ["lbu a0, -1(a0)"]],
    ["store32(x, y); store16(x, y); store8(x + 3, y);", ["sw a1, 0(a0)", "sh a1, 0(a0)", "sb a1, 3(a0)"]],
    ["writePte(x, y);", [".sensitive pte", "sw a1, 0(a0)"]],
    ["return readPte(x + 4);", [".sensitive pte", "lw a0, 4(a0)"]],
    ["return mmioRead32(x);", [".sensitive mmio", "lw a0, 0(a0)"]],
    ["mmioWrite32(x, y);", [".sensitive mmio", "sw a1, 0(a0)"]],
    ["return syscall(7, x, y);", [/^mv \w+, a0$/, "li a0, 7", "syscall"]],
    ["return hypercall(12, x);", ["hcall 12"]],
    ["return addressOf(f);", ["la a0, f"]],
    ['asm("nop\\n  addi t0, t0, 1");', ["nop", "addi t0, t0, 1"]],
  ];
  for (const [stmt, expected] of cases) {
    it(stmt, () => {
      const all = asmOf(G + `export function f(x: number, y: number): number {\n  ${stmt}\n  return 0;\n}`)
        .split("\n")
        .map((l) => l.replace(/#.*$/, "").trim())
        .filter((l) => l && !l.endsWith(":"));
      let from = 0;
      for (const want of expected) {
        const i = all.findIndex((l, k) => k >= from && (typeof want === "string" ? l === want : want.test(l)));
        expect(i, `${String(want)} in\n${all.join("\n")}`).toBeGreaterThanOrEqual(0);
        from = i + 1;
      }
    });
  }

  it("emits .sensitive immediately before the memory access", () => {
    const lines = asmOf(G + "export function f(p: number, v: number): void { writePte(p, v); mmioWrite32(p + 4, v); }").split("\n").map((l) => l.trim());
    lines.forEach((l, i) => {
      if (l.startsWith(".sensitive")) expect(lines[i + 1]).toMatch(/^(sw|lw) /);
    });
    expect(lines.filter((l) => l.startsWith(".sensitive"))).toEqual([".sensitive pte", ".sensitive mmio"]);
  });
});

describe("lowering choices", () => {
  it("uses a jump table for a dense switch and a compare chain for a sparse one", () => {
    const dense = asmOf("export function f(x: number): number { switch (x) { case 0: return 1; case 1: return 2; case 2: return 3; case 3: return 4; case 4: return 5; default: return 0; } }");
    expect(dense).toMatch(/\.Ljumptable_\d+:\n(\s+\.word \.Lcase_\d+\n){5}/);
    expect(functionBody(dense, "f")).toContain("jr t0");
    const sparse = asmOf("export function f(x: number): number { switch (x) { case 10: return 1; case 1000: return 2; default: return 0; } }");
    expect(sparse).not.toContain("jumptable");
    expect(functionBody(sparse, "f").filter((l) => l.startsWith("beq"))).toHaveLength(2);
  });

  it("checks for a zero divisor only when it is not a constant", () => {
    expect(functionBody(asmOf("export function f(a: number, b: number): number { return (a / b) | 0; }"), "f")).toContain("bnez a1, .Ldivok_1");
    expect(functionBody(asmOf("export function f(a: number): number { return (a / 10) | 0; }"), "f").some((l) => l.startsWith("bnez"))).toBe(false);
  });

  it("uses unsigned instructions for >>> 0 operands", () => {
    const body = functionBody(asmOf("export function f(a: number, b: number): number { return (a >>> 0) < (b >>> 0) ? (a >>> 0) % 10 : ((a >>> 0) / (b >>> 0)) | 0; }"), "f");
    expect(body.some((l) => l.startsWith("bgeu") || l.startsWith("bltu"))).toBe(true);
    expect(body.some((l) => l.startsWith("remu"))).toBe(true);
    expect(body.some((l) => l.startsWith("divu"))).toBe(true);
  });

  it("folds constants and strength-reduces multiplication by powers of two", () => {
    const body = functionBody(asmOf("const K = 6;\nexport function f(a: number): number { return a * 8 + K * 7; }"), "f");
    expect(body).toEqual(["slli t0, a0, 3", "addi a0, t0, 42", "ret"]);
  });
});
