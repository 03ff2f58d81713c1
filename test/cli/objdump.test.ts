import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { disassembleText } from "../../src/guest-isa/disassembler.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { SHF_ALLOC, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, findSection, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { serializeSoftlayerTable } from "../../src/guest-isa/softlayer.js";
import { textImage } from "../guest-isa/disasm-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-objdump-"));

function image(withSites: boolean): ElfImage {
  const img = textImage(
    [encodeInstruction("addi", { a: 1, imm: 1 }), encodeInstruction("cli"), encodeInstruction("bne", { a: 1, imm: -8 })],
    [
      { name: "_start", value: 0x1000, size: 0, global: true, kind: "func", section: ".text" },
      { name: "buf", value: 0x2000, size: 64, global: false, kind: "object", section: ".bss" },
      { name: "N", value: 3, size: 0, global: false, kind: "notype" },
    ],
  );
  img.sections.push({ name: ".bss", type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, addr: 0x2000, data: new Uint8Array(0), size: 64, align: 4 });
  if (withSites) {
    const t = serializeSoftlayerTable([
      { addr: 0x1004, length: 4, kind: 46, flags: 0, regA: 0, regB: 0, imm: 0, line: 2, file: "k.s" },
      { addr: 0x1008, length: 4, kind: 47, flags: 0, regA: 0, regB: 0, imm: 0, line: 3, file: "k.s" },
    ]);
    img.sections.push({ name: ".softlayer", type: SHT_PROGBITS, flags: 0, addr: 0, data: t, size: t.length, align: 4 });
  }
  return img;
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function objdump(...args: string[]) {
  const io = bufferIO();
  const status = await main(["objdump", ...args], io);
  return { status, stdout: io.stdout, stderr: io.stderr };
}

describe("previrt objdump", () => {
  it("summarises the file without flags", async () => {
    const path = file("plain.elf", writeElf(image(false)));
    const r = await objdump(path);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`${path}: ELF32 little-endian executable, G32 (e_machine 0x3347)`);
    expect(r.stdout).toContain("entry 0x00001000 (_start)");
    expect(r.stdout).toMatch(/\[ 1\] \.text +0x00001000 0x0000000c +4 {2}AX/);
    expect(r.stdout).toMatch(/\[ 2\] \.bss +0x00002000 0x00000040 +4 {2}WA +\(nobits\)/);
    expect(r.stdout).toContain("Symbols: 3 (1 global, 2 local, 1 absolute)");
  });

  it("-d prints the disassembly listing", async () => {
    const img = image(false);
    const r = await objdump(file("d.elf", writeElf(img)), "-d");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(disassembleText(img));
    expect(r.stdout).toMatch(/^\.text\n/);
    expect(r.stdout).toContain("_start:");
  });

  // --sites belongs to the annotator (src/annotator/site-listing.ts, its own tests);
  // here only that objdump routes to it and reads the table's record count.
  it("--sites lists the .softlayer table's records", async () => {
    const ok = await objdump(file("sites.elf", writeElf(image(true))), "--sites");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/\.softlayer.*: 2 (site )?records/);
  });

  it("reports a malformed ELF as one error line naming the file", async () => {
    const path = file("bad.elf", new TextEncoder().encode("not an elf at all"));
    const r = await objdump(path);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`previrt: error: ${path}: not an ELF file (bad magic number)\n`);
    const good = writeElf(image(false));
    const cut = file("cut.elf", good.slice(0, good.length - 8));
    const t = await objdump(cut, "-d");
    expect(t.stderr).toMatch(new RegExp(`^previrt: error: ${cut}: truncated ELF file: .*\\n$`));
    expect(t.stderr.split("\n")).toHaveLength(2);
  });

  it("previrt as → objdump -d → previrt as gives the same .text", async () => {
    const src = file("prog.s", new TextEncoder().encode(
      [".text", ".global _start", "_start:", "    li a0, 0x12345678", "    call f", "    out 0xf0, a0", "f:", "    addi a0, a0, -1", "    bnez a0, f", "    ret", ""].join("\n"),
    ));
    const elf1 = join(dir, "prog.elf"), elf2 = join(dir, "prog2.elf");
    const io = bufferIO();
    expect(await main(["as", src, "-o", elf1], io), io.stderr).toBe(0);
    const d = await objdump(elf1, "-d");
    expect(d.status).toBe(0);
    const listing = file("prog.lst.s", new TextEncoder().encode(d.stdout));
    expect(await main(["as", listing, "-o", elf2], io), io.stderr).toBe(0);
    const text = (p: string) => findSection(readElf(new Uint8Array(readFileSync(p))), ".text")!.data;
    expect(text(elf2)).toEqual(text(elf1));
    expect(d.stdout).toMatch(/call +f\b/);
    expect(d.stdout).toMatch(/bnez +a0, f\b/);
  });

  it("reports a missing file", async () => {
    const r = await objdump(join(dir, "nope.elf"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^previrt: error: .*nope\.elf: no such file or directory\n$/);
  });
});
