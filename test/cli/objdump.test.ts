import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { runElf } from "../../src/hypervisors/index.js";
import { bufferIO } from "../../src/cli/io.js";
import { disassembleImage, disassembleText } from "../../src/guest-isa/disassembler.js";
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

  it("-d prints the whole image: .text as instructions, every other section and symbol as data", async () => {
    const img = image(true);
    const r = await objdump(file("d.elf", writeElf(img)), "-d");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(disassembleImage(readElf(writeElf(img))));
    expect(r.stdout).toContain(disassembleText(img).split("\n").slice(2).join("\n")); // the .text listing, labels and all
    expect(r.stdout).toMatch(/\n\.bss\n\.align 4\n.*\nbuf:\n {4}\.space 64 /);
    expect(r.stdout).toMatch(/\n\.section \.softlayer\n\.align 4\n/);
    expect(r.stdout).toMatch(/\n\.equ N, 0x3\n/);
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

// Issue 12: `objdump -d` promised re-assemblable output but listed only .text (a re-assembled hello
// printed nothing). The whole image now goes through `previrt as` and behaves the same.
describe("objdump -d → previrt as: the same program", () => {
  const HELLO = readFileSync(new URL("../../fixtures/guests/hello.s", import.meta.url), "utf8");

  async function cli(argv: string[]) {
    const io = bufferIO();
    const status = await main(argv, io);
    expect(status, `${argv.join(" ")}: ${io.stderr}`).toBe(0);
    return io.stdout;
  }

  /** objdump -d of `elf`, re-assembled; both images, as read back from their files. */
  async function roundTrip(elf: string) {
    const listing = join(dir, `${elf.split("/").pop()}.dis.s`);
    writeFileSync(listing, await cli(["objdump", "-d", elf]));
    const again = `${listing}.elf`;
    await cli(["as", listing, "-o", again]);
    return { before: readElf(new Uint8Array(readFileSync(elf))), after: readElf(new Uint8Array(readFileSync(again))) };
  }

  function expectSameProgram(before: ElfImage, after: ElfImage, disk?: Uint8Array) {
    // Every section's bytes at the same address (the .softlayer table included), the same entry and symbols' values.
    expect(after.entry).toBe(before.entry);
    const sections = (img: ElfImage) => img.sections.filter((s) => s.size > 0).map((s) => ({ name: s.name, addr: s.addr, size: s.size, type: s.type, data: [...s.data] }));
    expect(sections(after)).toEqual(sections(before));
    const values = (img: ElfImage) => new Map(img.symbols.map((s) => [s.name, s.value]));
    expect(values(after)).toEqual(values(before));
    for (const backend of ["bare", "xen"]) {
      const a = runElf(before, { backend, maxCycles: 500_000_000, disk: disk?.slice() });
      const b = runElf(after, { backend, maxCycles: 500_000_000, disk: disk?.slice() });
      expect(a.result.kind, backend).toBe("poweroff");
      expect(b.result, backend).toEqual(a.result);
      expect(b.console, backend).toBe(a.console);
    }
  }

  it("hello from the README, built with previrt build (annotated)", async () => {
    const src = file("hello.s", new TextEncoder().encode(HELLO));
    const elf = join(dir, "hello.elf");
    await cli(["build", src, "-o", elf]);
    const { before, after } = await roundTrip(elf);
    expect(runElf(after, { backend: "xen" }).console).toBe("hello from G32\n");
    expectSameProgram(before, after);
  });

  it("the bundled kernel, from previrt kernel (data, .bss, many sites, defines)", async () => {
    const elf = join(dir, "kernel.elf");
    const disk = join(dir, "kernel.disk");
    await cli(["kernel", "-o", elf, "--disk", disk]);
    const { before, after } = await roundTrip(elf);
    expect(findSection(after, ".softlayer")!.data).toEqual(findSection(before, ".softlayer")!.data);
    expectSameProgram(before, after, new Uint8Array(readFileSync(disk)));
  }, 60_000);

  it("an empty .data, written or the one the linker adds for .bss, aligned or not: the same file again, and objdump shows both alike", async () => {
    const table = (img: ElfImage) => img.sections.map((s) => ({ name: s.name, addr: s.addr, size: s.size, align: s.align, type: s.type, flags: s.flags }));
    const aligns: Record<string, string> = {};
    for (const [name, tail] of [
      ["bss-only", "\t.bss\nbuf: .space 8\n"],
      ["bss-aligned", "\t.bss\n\t.align 64\nbuf: .space 8\n"],
      ["data-empty", "\t.data\n\t.bss\nbuf: .space 8\n"],
      ["data-empty-aligned", "\t.data\n\t.align 64\nd:\n\t.bss\nbuf: .space 8\n"],
    ]) {
      const src = file(`${name}.s`, new TextEncoder().encode(HELLO + tail));
      const elf = join(dir, `${name}.elf`);
      await cli(["as", src, "-o", elf]);
      const { before, after } = await roundTrip(elf);
      expect(table(after), name).toEqual(table(before));
      // The whole file: headers and all.
      expect(readFileSync(`${join(dir, `${name}.elf.dis.s`)}.elf`), name).toEqual(readFileSync(elf));
      aligns[name] = (await cli(["objdump", elf])).split("\n").find((l) => l.includes(" .data "))!.replace(/\s+/g, " ").trim();
    }
    // The .data the linker adds has the alignment a written empty one has.
    expect(aligns["bss-only"]).toBe(aligns["data-empty"]);
    expect(aligns["bss-only"]).toBe("[ 3] .data 0x00003000 0x00000000 4 WA");
    expect(aligns["data-empty-aligned"]).toBe("[ 3] .data 0x00003000 0x00000000 64 WA");
  });

  it("labels at section boundaries, a custom section, unnamed branch targets in data, odd sizes", async () => {
    const src = file("odd.s", new TextEncoder().encode(
      [
        ".global _start", "_start:", "\tla a0, tbl", "\tlw a1, 0(a0)", "\tjal lr, tbl2", "\tout 0xf0, a1", "\t.byte 1, 2, 3",
        ".rodata", "tbl: .word 7", "\t.half 9", "end_ro:",
        ".data", ".align 8", "d: .byte 5", "mid: .byte 6, 7", "\t.word d",
        ".bss", "b0: .space 10", "b1: .space 3", "bend:",
        ".section .mine", "tbl2: .word 1", "",
      ].join("\n"),
    ));
    const elf = join(dir, "odd.elf");
    await cli(["as", src, "-o", elf]);
    const { before, after } = await roundTrip(elf);
    const sections = (img: ElfImage) => img.sections.filter((s) => s.size > 0).map((s) => ({ name: s.name, addr: s.addr, size: s.size, data: [...s.data] }));
    expect(sections(after)).toEqual(sections(before));
    const symbols = (img: ElfImage) => img.symbols.map((s) => `${s.name}=${s.value.toString(16)}@${s.section ?? "abs"}${s.global ? "!" : ""}`).sort();
    expect(symbols(after)).toEqual(symbols(before));
  });
});
