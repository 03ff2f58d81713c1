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
});
