// `previrt cc` and `previrt build` through the CLI entry point, in-process.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { readElf } from "../../src/guest-isa/elf.js";
import { runImage } from "../../src/machine/index.js";
import { PROGRAMS } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-cc-"));

describe("previrt cc", () => {
  it("compiles several files into one assembly file", async () => {
    const out = join(dir, "out.s");
    const io = bufferIO();
    const status = await main(["cc", join(PROGRAMS, "fib.ts"), join(PROGRAMS, "lib/print.ts"), "-o", out], io);
    expect(io.stderr).toBe("");
    expect(status).toBe(0);
    const asm = readFileSync(out, "utf8");
    expect(asm).toMatch(/^fib:/m);
    expect(asm).toMatch(/^printInt:/m);
    expect(asm).not.toMatch(/^_start:/m);
  });

  it("prints file:line:col diagnostics and fails", async () => {
    const bad = join(dir, "bad.ts");
    writeFileSync(bad, "export function f(): number {\n  const o = { a: 1 };\n  return 0;\n}\n");
    const io = bufferIO();
    expect(await main(["cc", bad, "-o", join(dir, "bad.s")], io)).toBe(1);
    expect(io.stderr).toBe(`${bad}:2:13: error: an object literal (except a top-level \`const\` of constant integers) is not supported in guest code\n> 2 |   const o = { a: 1 };\n    |             ^\n`);
  });

  it("--paravirt xen lowers intrinsics to the xen ABI; another hypervisor is refused (test/hypervisors/paravirt.test.ts runs it)", async () => {
    const io = bufferIO();
    expect(await main(["cc", join(PROGRAMS, "fib.ts"), "-o", join(dir, "x.s"), "--paravirt", "xen"], io)).toBe(0);
    expect(readFileSync(join(dir, "x.s"), "utf8")).toMatch(/__previrt_paravirt_xen/);
    const bad = bufferIO();
    expect(await main(["cc", join(PROGRAMS, "fib.ts"), "-o", join(dir, "x.s"), "--paravirt", "kvm"], bad)).toBe(1);
    expect(bad.stderr).toBe("previrt: error: --paravirt: unknown hypervisor 'kvm' (supported: xen)\n");
  });
});

describe("previrt build", () => {
  it("builds .ts and .s inputs into one runnable ELF", async () => {
    const s = join(dir, "answer.s");
    writeFileSync(s, "    .text\n    .global answer\nanswer:\n    li a0, 42\n    ret\n");
    const t = join(dir, "prog.ts");
    writeFileSync(t, "declare function answer(): number;\nexport function main(): number { return answer() + 1; }\n");
    const elf = join(dir, "prog.elf");
    const io = bufferIO();
    expect(await main(["build", t, s, "-o", elf], io)).toBe(0);
    expect(io.stderr).toBe("");
    const run = runImage(readElf(readFileSync(elf)), { maxCycles: 1e6 });
    expect(run.result).toEqual({ kind: "poweroff", exitCode: 43 });
  });

  it("a declaration file (.d.ts) is refused by build and cc: build assembled it as assembly ('expected , or end of line'), cc compiled it to nothing", async () => {
    const decl = join(dir, "answer.d.ts");
    writeFileSync(decl, "declare function answer(): number;\n");
    const t = join(dir, "main3.ts");
    writeFileSync(t, "export function main(): number { return 3; }\n");
    for (const argv of [["build", t, decl, "-o", join(dir, "d.elf")], ["cc", decl, "-o", join(dir, "d.s")]]) {
      const io = bufferIO();
      expect(await main(argv, io)).toBe(1);
      expect(io.stderr).toBe(`previrt: error: ${decl}: a declaration file, which defines nothing to compile (give the .ts or .s that defines its names)\n`);
    }
  });

  it("passes -D defines to the assembler", async () => {
    const s = join(dir, "value.s");
    writeFileSync(s, "    .text\n    .global value\nvalue:\n    li a0, VALUE\n    ret\n");
    const t = join(dir, "prog2.ts");
    writeFileSync(t, "declare function value(): number;\nexport function main(): number { return value(); }\n");
    const elf = join(dir, "prog2.elf");
    const io = bufferIO();
    expect(await main(["build", t, s, "-D", "VALUE=9", "-o", elf], io)).toBe(0);
    expect(runImage(readElf(readFileSync(elf)), { maxCycles: 1e6 }).result).toEqual({ kind: "poweroff", exitCode: 9 });
  });

  // The build writes no .s: an error in inline assembly was reported at the generated file's line ("a.s:7:5").
  it("reports an assembler error inside asm(\"…\") at its place in the TypeScript, annotated or not", async () => {
    const t = join(dir, "inline.ts");
    const lines = [
      'import { asm } from "previrt/guest";',
      "export function main(): number {",
      '  asm("  bogus t0, t0");',
      "  asm(`",
      "    addi t0, t0, 1",
      "    lw t0, 0(t9)`);",
      '  asm("j nowhere");',
      "  return 0;",
      "}",
    ];
    writeFileSync(t, lines.join("\n") + "\n");
    for (const flags of [[], ["--no-annotate"]]) {
      const io = bufferIO();
      expect(await main(["build", t, ...flags, "-o", join(dir, "inline.elf")], io)).toBe(1);
      // (The annotate pass stops at a syntax error, before the assembler sees an unknown mnemonic.)
      expect(io.stderr.split("\n").filter((l) => l.includes(": error: "))).toEqual([
        ...(flags.length ? [`${t}:3:10: error: unknown instruction 'bogus'`] : []),
        `${t}:6:14: error: 't9' is not a register: the temporaries are t0–t4`,
        ...(flags.length ? [`${t}:7:10: error: undefined symbol 'nowhere'`] : []),
      ]);
      expect(io.stderr).toContain(`> 6 |     lw t0, 0(t9)\`);\n    |              ^`);
    }
    writeFileSync(t, lines.filter((l) => !l.includes("bogus")).map((l) => l.replace("t9", "t1")).join("\n") + "\n");
    const io = bufferIO();
    expect(await main(["build", t, "-o", join(dir, "inline.elf")], io)).toBe(1);
    expect(io.stderr.split("\n")[0]).toBe(`${t}:6:10: error: undefined symbol 'nowhere'`);
  });

  // The link error said only "undefined symbol 'helper'": the import that promised it, and the file missing from the build, went unnamed.
  it("names the module an undefined imported function comes from", async () => {
    const t = join(dir, "imports-missing.ts");
    writeFileSync(t, 'import { helper } from "./missing";\nexport function main(): number {\n  return helper();\n}\n');
    const io = bufferIO();
    expect(await main(["build", t, "-o", join(dir, "imports-missing.elf")], io)).toBe(1);
    expect(io.stderr.split("\n")[0]).toBe(`${t}:3:3: error: undefined symbol 'helper' (imported from './missing', which is not among the inputs: give its file to build)`);
    // Given a file of that name that lacks it (a typo in its label), the message says so instead.
    const s = join(dir, "missing.s");
    writeFileSync(s, "    .text\n    .global nothelper\nnothelper:\n    ret\n");
    const io2 = bufferIO();
    expect(await main(["build", t, s, "-o", join(dir, "imports-missing.elf")], io2)).toBe(1);
    expect(io2.stderr.split("\n")[0]).toBe(`${t}:3:3: error: undefined symbol 'helper' (imported from './missing', which ${s} does not define)`);
    // Given the file, it links.
    const m = join(dir, "missing.ts");
    writeFileSync(m, "export function helper(): number {\n  return 7;\n}\n");
    expect(await main(["build", t, m, "-o", join(dir, "imports-missing.elf")], bufferIO())).toBe(0);
  });

  // A symbol of a .ts input clashing with one of a .s input was reported at the generated file's label ("b.s:5:1"), a file the build never writes.
  it("reports a clash with an assembly input's symbol at the TypeScript declaration, in either order", async () => {
    const s = join(dir, "clash-asm.s"); // not clash.s: the name the build gives clash.ts compiled
    writeFileSync(s, "    .text\n    .global main\nmain:\n    li a0, 3\n    ret\n    .data\n    .global counter\ncounter:\n    .word 1\n");
    const t = join(dir, "clash.ts");
    writeFileSync(t, "export let counter = 5;\nexport function main(): number {\n  return counter;\n}\n");
    const errors = async (inputs: string[]) => {
      const io = bufferIO();
      expect(await main(["build", ...inputs, "-o", join(dir, "clash.elf")], io)).toBe(1);
      return io.stderr.split("\n").filter((l) => l.includes(": error: "));
    };
    expect(await errors([s, t])).toEqual([
      `${t}:2:8: error: duplicate global symbol 'main' (first defined at ${s}:3:1)`,
      `${t}:1:12: error: duplicate global symbol 'counter' (first defined at ${s}:8:1)`,
    ]);
    expect(await errors([t, s])).toEqual([
      `${s}:3:1: error: duplicate global symbol 'main' (first defined at ${t}:2:8)`,
      `${s}:8:1: error: duplicate global symbol 'counter' (first defined at ${t}:1:12)`,
    ]);
  });

  // a.ts compiled to a.s, the name of the assembly input beside it: a.s's errors were reported at a.ts's lines.
  it("keeps an assembly input apart from a .ts input of the same name", async () => {
    const t = join(dir, "same.ts");
    writeFileSync(t, "export function helper(x: number): number { return x + 1; }\n");
    const s = join(dir, "same.s");
    const entry = (line: string) => `    .text\n    .global _start\n_start:\n    li a0, 3\n${line}\n    call helper\n    out 0xF0, a0\n`;
    writeFileSync(s, entry("    lw a0, 0(zz)"));
    const io = bufferIO();
    expect(await main(["build", t, s, "-o", join(dir, "same.elf")], io)).toBe(1);
    expect(io.stderr.split("\n")[0]).toBe(`${s}:5:14: error: 'zz' is not a register: write r0–r15 or zero a0–a3 t0–t4 s0–s2 k0 sp lr`);
    writeFileSync(s, entry("    nop"));
    expect(await main(["build", t, s, "-o", join(dir, "same.elf")], bufferIO())).toBe(0);
    expect(runImage(readElf(readFileSync(join(dir, "same.elf"))), { maxCycles: 1e6 }).result).toEqual({ kind: "poweroff", exitCode: 4 });
  });

  it("refuses a source given twice", async () => {
    const t = join(dir, "twice.ts");
    writeFileSync(t, "export function main(): number { return 1; }\n");
    const again = `${dir}/./twice.ts`; // path.join would drop the "."
    for (const command of ["build", "cc"]) {
      const io = bufferIO();
      expect(await main([command, t, again, "-o", join(dir, "twice.out")], io)).toBe(1);
      expect(io.stderr).toBe(`previrt: error: ${again}: given twice (also as ${t})\n`);
    }
  });

  it("--paravirt xen builds a para-virtualized image (refused off xen: test/hypervisors/paravirt.test.ts)", async () => {
    const io = bufferIO();
    expect(await main(["build", join(PROGRAMS, "fib.ts"), join(PROGRAMS, "lib/print.ts"), "-o", join(dir, "x.elf"), "--paravirt", "xen"], io)).toBe(0);
    expect(readElf(readFileSync(join(dir, "x.elf"))).symbols.some((s) => s.name === "__previrt_paravirt_xen")).toBe(true);
  });
});
