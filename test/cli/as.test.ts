import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { encodeInstruction, findSection, readElf } from "../../src/guest-isa/index.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-as-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("previrt as", () => {
  it("assembles and links several files into an ELF", async () => {
    const a = file("a.s", ".global _start\n_start:\n  li a0, 7\n  call exit\n");
    const b = file("b.s", ".global exit\nexit:\n  out 0xF0, a0\n  hlt\n.data\nmsg: .asciz \"hi\"\n");
    const out = join(dir, "out.elf");
    const io = bufferIO();
    expect(await main(["as", a, b, "-o", out], io)).toBe(0);
    expect(io.stderr).toBe("");
    const image = readElf(readFileSync(out));
    expect(image.entry).toBe(0x1000);
    const text = findSection(image, ".text")!;
    expect(text.addr).toBe(0x1000);
    expect(new DataView(text.data.buffer, text.data.byteOffset).getUint32(8, true)).toBe(encodeInstruction("out", { b: 1, imm: 0xf0 }));
    expect(findSection(image, ".data")).toMatchObject({ addr: 0x2000, size: 3 });
    expect(image.symbols.map((s) => [s.name, s.global])).toEqual(
      expect.arrayContaining([["_start", true], ["exit", true], ["msg", false]]),
    );
  });

  it("reports a missing input file in one line", async () => {
    const io = bufferIO();
    const missing = join(dir, "nope.s");
    expect(await main(["as", missing, "-o", join(dir, "x.elf")], io)).toBe(1);
    expect(io.stderr).toBe(`previrt: error: ${missing}: no such file or directory\n`);
  });

  it("prints every diagnostic with its source line and caret, exit 1, no stack trace", async () => {
    const bad = file("bad.s", "_start:\n  addi a0, a0, 200000\n  frob a1\n");
    const io = bufferIO();
    expect(await main(["as", bad, "-o", join(dir, "bad.elf")], io)).toBe(1);
    expect(io.stderr).toBe(
      `${bad}:2:16: error: immediate 200000 out of range for 'addi' (-131072..131071)\n` +
        "> 2 |   addi a0, a0, 200000\n" +
        "    |                ^\n" +
        `${bad}:3:3: error: unknown instruction 'frob'\n` +
        "> 3 |   frob a1\n" +
        "    |   ^\n",
    );
    expect(io.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it("requires -o", async () => {
    const io = bufferIO();
    expect(await main(["as", file("ok.s", "_start: nop\n")], io)).not.toBe(0);
    expect(io.stderr).toContain("-o, --output");
  });

  // docs/design.md §1: kernel.ts ─cc─▶ kernel.s ─annotate─▶ kernel.annotated.s ─as─▶ kernel.elf. `as`
  // links in the start-up and stack `build` adds (docs/abi.md); before, the chain stopped at
  // "undefined entry symbol '_start'" (a main()) or "undefined symbol '__stack_top'" (a TS _start).
  it("builds what `previrt build` builds from `cc` → `annotate` → `as` (start-up and stack linked in)", async () => {
    const kernel = join(import.meta.dirname, "../../fixtures/guests/pv-kernel.ts");
    const out = (name: string) => join(dir, name);
    const io = bufferIO();
    for (const args of [
      ["cc", kernel, "-o", out("k.s")],
      ["annotate", out("k.s"), "-o", out("k.ann.s")],
      ["as", out("k.ann.s"), "-o", out("k.elf")],
      ["build", kernel, "-o", out("k.build.elf")],
      ["cc", kernel, "--paravirt", "xen", "-o", out("kpv.s")],
      ["as", out("kpv.s"), "-o", out("kpv.elf")],
      ["build", kernel, "--paravirt", "xen", "-o", out("kpv.build.elf")],
    ]) {
      expect(await main(args, io), `${args.join(" ")}: ${io.stderr}`).toBe(0);
    }
    expect(readFileSync(out("k.elf")).equals(readFileSync(out("k.build.elf")))).toBe(true);
    expect(readFileSync(out("kpv.elf")).equals(readFileSync(out("kpv.build.elf")))).toBe(true);
    // A TypeScript _start uses the build's stack; a plain (unannotated) program gets an unannotated start-up.
    const start = file("start.ts", 'import { outPort } from "previrt/guest";\nexport function _start(): number {\n  outPort(0x10, 72);\n  return 5;\n}\n');
    const prog = file("prog.ts", "export function main(): number {\n  return 9;\n}\n");
    for (const [src, name] of [[start, "start"], [prog, "prog"]]) {
      expect(await main(["cc", src, "-o", out(`${name}.s`)], io)).toBe(0);
      expect(await main(["as", out(`${name}.s`), "-o", out(`${name}.elf`)], io), io.stderr).toBe(0);
      expect(await main(["build", "--no-annotate", src, "-o", out(`${name}.build.elf`)], io)).toBe(0);
      expect(readFileSync(out(`${name}.elf`)).equals(readFileSync(out(`${name}.build.elf`))), name).toBe(true);
    }
    const ran = bufferIO();
    expect(await main(["run", out("prog.elf"), "--hv", "bare"], ran)).toBe(9);
  });

  it("refuses a TypeScript input by name, pointing at previrt build (it was assembled as G32)", async () => {
    const io = bufferIO();
    const ts = file("m.ts", "export function main(): number { return 3; }\n");
    expect(await main(["as", ts, "-o", join(dir, "m.elf")], io)).toBe(1);
    expect(io.stderr).toBe(`previrt: error: ${ts}: previrt as takes G32 assembly; build TypeScript with previrt build (or previrt cc, then as)\n`);
  });

  it("links no start-up into a program that neither defines _start nor exports main", async () => {
    const io = bufferIO();
    expect(await main(["as", file("lib.s", ".global f\nf:\n  ret\n"), "-o", join(dir, "lib.elf")], io)).toBe(1);
    expect(io.stderr).toMatch(/lib\.s:1:1: error: undefined entry symbol '_start'/);
  });
});
