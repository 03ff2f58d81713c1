import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { EM_G32, ELF_HEADER_SIZE, ELF_PAGE_SIZE, PROGRAM_HEADER_SIZE, SECTION_HEADER_SIZE, readElf, writeElf } from "../../src/guest-isa/elf.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, type ElfImage, type ElfSymbol } from "../../src/guest-isa/elf-types.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { serializeSoftlayerTable } from "../../src/guest-isa/softlayer.js";
import { verifyImage } from "../../src/annotator/verify.js";
import { rewriteImage } from "../../src/rewriter/index.js";
import { disassembleImage } from "../../src/guest-isa/disassembler.js";
import { wordsToBytes } from "./disasm-helpers.js";
import { refusal } from "../refusal.js";

function sampleImage(): ElfImage {
  const text = wordsToBytes([
    encodeInstruction("addi", { a: 1, imm: 5 }),
    encodeInstruction("jal", { a: 15, imm: 8 }),
    encodeInstruction("out", { b: 1, imm: 0xf0 }),
    encodeInstruction("jalr", { b: 15 }),
    encodeInstruction("cli"),
  ]);
  const softlayer = serializeSoftlayerTable([{ addr: 0x1010, length: 12, kind: 46, flags: 0, regA: 0, regB: 0, imm: 0, line: 3, file: "k.s" }]);
  return {
    entry: 0x1000,
    sections: [
      { name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: 0x1000, data: text, size: text.length, align: 4 },
      { name: ".rodata", type: SHT_PROGBITS, flags: SHF_ALLOC, addr: 0x1014, data: new Uint8Array([104, 105, 0]), size: 3, align: 1 },
      { name: ".data", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addr: 0x2000, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), size: 8, align: 4 },
      { name: ".bss", type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, addr: 0x2008, data: new Uint8Array(0), size: 0x400, align: 8 },
      { name: ".softlayer", type: SHT_PROGBITS, flags: 0, addr: 0, data: softlayer, size: softlayer.length, align: 4 },
    ],
    symbols: [
      { name: "_start", value: 0x1000, size: 0, global: true, kind: "func", section: ".text" },
      { name: "helper", value: 0x100c, size: 8, global: false, kind: "func", section: ".text" },
      { name: "msg", value: 0x1014, size: 3, global: false, kind: "object", section: ".rodata" },
      { name: "counter", value: 0x2000, size: 4, global: true, kind: "object", section: ".data" },
      { name: "heap", value: 0x2008, size: 0x400, global: false, kind: "object", section: ".bss" },
      { name: "end", value: 0x2408, size: 0, global: true, kind: "notype", section: ".bss" },
      { name: "PORT_POWER", value: 0xf0, size: 0, global: false, kind: "notype" },
      { name: "ÜNICODE", value: 0xffffffff, size: 0, global: false, kind: "notype" },
    ],
  };
}

/** The image with symbols in .symtab order: locals, then globals, each in original order. */
const canonical = (img: ElfImage): ElfImage => ({ ...img, symbols: [...img.symbols.filter((s) => !s.global), ...img.symbols.filter((s) => s.global)] });

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const put32 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, true);
const put16 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint16(o, v, true);

/** Offset of the section header of the section named `name`. */
function sectionHeader(b: Uint8Array, name: string): number {
  const shoff = u32(b, 32), shnum = u16(b, 48), shstrndx = u16(b, 50);
  const strOff = u32(b, shoff + SECTION_HEADER_SIZE * shstrndx + 16);
  for (let i = 0; i < shnum; i++) {
    const h = shoff + SECTION_HEADER_SIZE * i;
    let p = strOff + u32(b, h), s = "";
    while (b[p] !== 0) s += String.fromCharCode(b[p++]);
    if (s === name) return h;
  }
  throw new Error(`no section ${name}`);
}

function expectUserError(bytes: Uint8Array, message: RegExp) {
  let caught: unknown;
  try {
    readElf(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a UserError matching ${message}`).toBeInstanceOf(UserError);
  expect((caught as Error).message).toMatch(message);
}

describe("writeElf → readElf", () => {
  it("round-trips an image (sections, .softlayer, .bss, absolute and non-ASCII symbols)", () => {
    const image = sampleImage();
    expect(readElf(writeElf(image))).toEqual(canonical(image));
  });

  it("round-trips an image with no symbols and no allocated sections", () => {
    const image: ElfImage = { entry: 0, sections: [], symbols: [] };
    expect(readElf(writeElf(image))).toEqual(image);
  });

  it("is stable: writing what it read gives the same bytes", () => {
    const bytes = writeElf(sampleImage());
    expect(writeElf(readElf(bytes))).toEqual(bytes);
  });

  it("writes a proper executable header", () => {
    const b = writeElf(sampleImage());
    expect([...b.subarray(0, 7)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    expect(u16(b, 16)).toBe(2); // ET_EXEC
    expect(u16(b, 18)).toBe(EM_G32);
    expect(u32(b, 24)).toBe(0x1000);
    expect(u16(b, 40)).toBe(ELF_HEADER_SIZE);
  });

  it("writes one PT_LOAD per allocated section (.bss in .data's) with page-congruent offsets and R/W/X flags", () => {
    const b = writeElf(sampleImage());
    const phoff = u32(b, 28), phnum = u16(b, 44);
    const segs = Array.from({ length: phnum }, (_, i) => {
      const p = phoff + PROGRAM_HEADER_SIZE * i;
      return { type: u32(b, p), offset: u32(b, p + 4), vaddr: u32(b, p + 8), filesz: u32(b, p + 16), memsz: u32(b, p + 20), flags: u32(b, p + 24), align: u32(b, p + 28) };
    });
    expect(segs.map((s) => [s.vaddr, s.filesz, s.memsz, s.flags])).toEqual([
      [0x1000, 20, 20, 5], // R X
      [0x1014, 3, 3, 4], // R
      [0x2000, 8, 0x408, 6], // R W: .data's 8 bytes, then .bss's 0x400 zeros (as GNU ld; eu-elflint refuses a .bss-only writable segment)
    ]);
    for (const s of segs) {
      expect(s.type).toBe(1);
      expect(s.align).toBe(ELF_PAGE_SIZE);
      expect(s.offset % ELF_PAGE_SIZE).toBe(s.vaddr % ELF_PAGE_SIZE);
    }
  });

  it("puts locals before globals in .symtab, with sh_info the first global and SHN_ABS for constants", () => {
    const b = writeElf(sampleImage());
    const h = sectionHeader(b, ".symtab");
    const off = u32(b, h + 16), size = u32(b, h + 20), info = u32(b, h + 28);
    const n = size / 16;
    expect(n).toBe(9);
    expect(info).toBe(1 + 5); // null + five locals
    const binds = Array.from({ length: n }, (_, i) => b[off + 16 * i + 12] >> 4);
    expect(binds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
    const shndx = Array.from({ length: n }, (_, i) => u16(b, off + 16 * i + 14));
    expect(shndx.filter((x) => x === 0xfff1)).toHaveLength(2);
  });

  it("refuses an image no linker should produce, loudly", () => {
    const image = sampleImage();
    image.symbols.push({ name: "x", value: 0, size: 0, global: false, kind: "notype", section: ".nope" });
    expect(() => writeElf(image)).toThrow(/section \.nope/);
  });
});

const READELF = spawnSync("readelf", ["--version"]).status === 0;

describe("readelf (binutils) accepts the output", () => {
  const title = "prints headers, sections, segments and symbols without warnings";
  it.skipIf(!READELF)(READELF ? title : `${title} (skipped: readelf is not on PATH)`, () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-elf-"));
    const file = join(dir, "a.elf");
    writeFileSync(file, writeElf(sampleImage()));
    const r = spawnSync("readelf", ["-W", "-h", "-S", "-s", "-l", file], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toMatch(/warning|error/i);
    expect(r.stdout).toMatch(/Type:\s+EXEC/);
    expect(r.stdout).toMatch(/Entry point address:\s+0x1000/);
    for (const name of [".text", ".rodata", ".data", ".bss", ".softlayer", ".symtab", ".strtab", ".shstrtab"]) expect(r.stdout).toContain(name);
    for (const sym of ["_start", "helper", "msg", "counter", "heap", "end", "PORT_POWER"]) expect(r.stdout).toMatch(new RegExp(`\\s${sym}\\n`));
    expect(r.stdout).toMatch(/00000000\s+0\s+NOTYPE\s+LOCAL\s+DEFAULT\s+UND/);
    expect(r.stdout).toMatch(/000000f0\s+0\s+NOTYPE\s+LOCAL\s+DEFAULT\s+ABS PORT_POWER/);
    expect(r.stdout).toMatch(/LOAD\s+0x001000 0x00001000 0x00001000 0x00014 0x00014 R E 0x1000/);
    expect(r.stdout).toMatch(/\.bss\s+NOBITS/);
  });
});

describe("readElf refuses malformed files with a precise UserError", () => {
  const good = () => writeElf(sampleImage());

  it("bad magic, class, byte order, version, type, machine", () => {
    expectUserError(new Uint8Array([1, 2, 3]), /bad magic/);
    expectUserError(new TextEncoder().encode("#!/bin/sh\necho hi\n"), /bad magic/);
    let b = good();
    b[4] = 2;
    expectUserError(b, /not a 32-bit ELF file/);
    b = good();
    b[5] = 2;
    expectUserError(b, /not a little-endian/);
    b = good();
    b[6] = 0;
    expectUserError(b, /version 0/);
    b = good();
    put16(b, 16, 1);
    expectUserError(b, /not an executable \(e_type 1/);
    b = good();
    put16(b, 18, 243);
    expectUserError(b, /not a G32 executable \(e_machine 0xf3/);
  });

  it("truncated headers", () => {
    expectUserError(good().slice(0, 40), /truncated ELF file: 40 bytes, shorter than the 52-byte ELF header/);
    const b = good();
    expectUserError(b.slice(0, b.length - 1), /truncated ELF file: \d+ section headers at offset 0x[0-9a-f]+ run past the end/);
    const c = good();
    put32(c, 28, c.length - 10);
    expectUserError(c, /program headers at offset .* run past the end/);
    const d = good();
    put16(d, 46, 64);
    expectUserError(d, /bad section header entry size 64/);
  });

  it("section contents outside the file", () => {
    const b = good();
    put32(b, sectionHeader(b, ".data") + 20, 0x100000);
    expectUserError(b, /section 3: contents at offset 0x2000 \+ 0x100000 bytes lie outside the file/);
  });

  it("bad string-table offsets", () => {
    let b = good();
    put32(b, sectionHeader(b, ".rodata"), 0x7fff);
    expectUserError(b, /section 2: name offset 32767 is outside its string table/);
    b = good();
    put16(b, 50, 0x999);
    expectUserError(b, /bad section-name string table index 2457/);
    b = good();
    const sym = u32(b, sectionHeader(b, ".symtab") + 16) + 16; // symbol 1
    put32(b, sym, 0xffff);
    expectUserError(b, /symbol 1: name offset 65535 is outside its string table/);
    b = good();
    const strtab = sectionHeader(b, ".strtab");
    const off = u32(b, strtab + 16), size = u32(b, strtab + 20);
    b[off + size - 1] = 0x41; // the last name loses its NUL
    expectUserError(b, /not NUL-terminated/);
  });

  it("symbols pointing past sections or outside their section", () => {
    const symOff = (b: Uint8Array) => u32(b, sectionHeader(b, ".symtab") + 16);
    let b = good();
    put16(b, symOff(b) + 16 + 14, 77);
    expectUserError(b, /symbol 1 \(\w+\): section index 77 is not a PROGBITS\/NOBITS section/);
    b = good();
    put16(b, symOff(b) + 16 + 14, u16(b, 50)); // .shstrtab
    expectUserError(b, /section index \d+ is not a PROGBITS\/NOBITS section/);
    b = good();
    put16(b, symOff(b) + 16 + 14, 0);
    expectUserError(b, /is undefined/);
    b = good();
    // helper (local, in .text) moved far away
    const helper = readElf(b).symbols.findIndex((s) => s.name === "helper") + 1;
    put32(b, symOff(b) + 16 * helper + 4, 0x9000);
    expectUserError(b, /symbol \d+ \(helper\): value 0x9000 lies outside its section \.text \(0x1000–0x1014\)/);
    b = good();
    b[symOff(b) + 12] = 0x10;
    expectUserError(b, /entry 0 is not the null symbol/);
    b = good();
    b[symOff(b) + 16 + 12] |= 0x10; // a local becomes global among the locals
    expectUserError(b, /global symbol on the wrong side of the first global/);
    b = good();
    b[symOff(b) + 16 + 12] = (b[symOff(b) + 16 + 12] & 0xf0) | 3; // STT_SECTION
    expectUserError(b, /unsupported symbol type 3/);
  });

  it("allocated sections and PT_LOAD segments that disagree", () => {
    let b = good();
    put32(b, ELF_HEADER_SIZE + 2 * PROGRAM_HEADER_SIZE + 20, 8); // the .data+.bss segment without .bss's memory
    expectUserError(b, /section \.bss \(0x2008–0x2408\) is not covered by a PT_LOAD segment/);
    b = good();
    put32(b, ELF_HEADER_SIZE + 4, 0x2000); // .text segment offset moved by a page
    expectUserError(b, /section \.text: file offset 0x1000 disagrees with its PT_LOAD segment \(which puts it at 0x2000\)/);
    b = good();
    put32(b, ELF_HEADER_SIZE + 4, 0x1004);
    expectUserError(b, /segment 0 \(PT_LOAD\): file offset 0x1004 and address 0x1000 differ modulo its alignment 0x1000/);
    b = good();
    put32(b, ELF_HEADER_SIZE + 16, 0x999999);
    expectUserError(b, /segment 0 \(PT_LOAD\): file bytes at offset 0x1000 \+ 0x999999 lie outside the file/);
    b = good();
    put32(b, sectionHeader(b, ".data") + 12, 0x1010); // .data onto .text
    expectUserError(b, /overlap in memory/);
  });

  it("fuzz: every truncation and many corruptions either parse or throw UserError — and what parses, verify and the rewriter take without a host exception", () => {
    const original = good();
    const check = (bytes: Uint8Array) => {
      try {
        const image = readElf(bytes);
        // What the reader accepts goes on to the validator, verify and the rewriter (issue 12: a
        // NOBITS .text crashed the validator after the reader let it through).
        verifyImage(image);
        rewriteImage(image, { name: "bare", replacements: {} });
      } catch (e) {
        if (!(e instanceof UserError)) throw new Error(`host exception ${String(e)} for a corrupted file`);
        expect(e.message.length).toBeGreaterThan(10);
      }
    };
    for (let n = 0; n < original.length; n++) check(original.slice(0, n));
    // Every byte of the headers, symbols and string tables, and a sample of the rest, set to several values.
    const interesting = new Set<number>();
    for (let i = 0; i < ELF_HEADER_SIZE + 4 * PROGRAM_HEADER_SIZE; i++) interesting.add(i);
    for (let i = u32(original, 32); i < original.length; i++) interesting.add(i);
    for (const name of [".symtab", ".strtab", ".shstrtab"]) {
      const h = sectionHeader(original, name);
      for (let i = u32(original, h + 16); i < u32(original, h + 16) + u32(original, h + 20); i++) interesting.add(i);
    }
    for (let i = 0; i < original.length; i += 7) interesting.add(i);
    let seed = 99;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed);
    for (const at of interesting) {
      for (const v of [0, 0xff, original[at] ^ 0x80, original[at] + 1, rand() & 0xff]) {
        const b = original.slice();
        b[at] = v;
        check(b);
      }
    }
    // Whole 32-bit fields set to extreme values.
    for (let at = 0; at + 4 <= original.length; at += 4) {
      if (!interesting.has(at)) continue;
      for (const v of [0xffffffff, 0x7fffffff, 0x80000000, original.length, rand()]) {
        const b = original.slice();
        put32(b, at, v);
        check(b);
      }
    }
  });
});

describe("readElf costs time and memory in proportion to the file (issue 12)", () => {
  const text = wordsToBytes([encodeInstruction("addi", { a: 1, imm: 5 })]);
  const withSymbols = (names: string[]): ElfImage => ({
    entry: 0x1000,
    sections: [{ name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: 0x1000, data: text, size: 4, align: 4 }],
    symbols: names.map((name): ElfSymbol => ({ name, value: 0x1000, size: 0, global: false, kind: "func", section: ".text" })),
  });

  it("16,000 symbols sharing one 250 KB name: the name is decoded once (this ran the host out of memory)", () => {
    const long = "n".repeat(250_000);
    const bytes = writeElf(withSymbols(Array.from({ length: 16_000 }, () => long)));
    expect(bytes.length).toBeLessThan(600_000); // the writer stores the name once: ~515 KB
    const before = process.memoryUsage().heapUsed;
    const image = readElf(bytes);
    expect(image.symbols).toHaveLength(16_000);
    expect(image.symbols.every((s) => s.name === long)).toBe(true);
    // 16,000 separate copies would be 4 GB; one shared string is a few hundred KB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("symbols pointing into the middle of one long name each: refused once the names outgrow the file", () => {
    const long = "m".repeat(100_000);
    const bytes = writeElf(withSymbols(Array.from({ length: 4_000 }, (_, i) => (i === 0 ? long : `s${i}`))));
    // Point symbol i at offset i of the long name: 4,000 distinct names of ~100 KB each (400 MB) from a 170 KB file.
    const h = sectionHeader(bytes, ".symtab");
    const off = u32(bytes, h + 16), n = u32(bytes, h + 20) / 16;
    const first = u32(bytes, off + 16); // symbol 1's name offset: the long name
    for (let i = 1; i < n; i++) put32(bytes, off + 16 * i, first + i - 1);
    expectUserError(bytes, /overlap so much that reading them would take far more memory than the file's \d+ bytes/);
  });

  it("a few names sharing a tail (as some linkers write them) still read", () => {
    const bytes = writeElf(withSymbols(["main_loop", "other"]));
    const h = sectionHeader(bytes, ".symtab");
    const off = u32(bytes, h + 16);
    put32(bytes, off + 32, u32(bytes, off + 16) + 5); // symbol 2 -> "loop", the tail of "main_loop"
    expect(readElf(bytes).symbols.map((s) => s.name)).toEqual(["main_loop", "loop"]);
  });

  it("20,000 sections, each in its own PT_LOAD segment, read back (segments are found by binary search)", () => {
    const sections: ElfImage["sections"] = [];
    for (let i = 0; i < 20_000; i++) sections.push({ name: `.d${i}`, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addr: 0x10000 + 16 * i, data: new Uint8Array(4), size: 4, align: 4 });
    const bytes = writeElf({ entry: 0, sections, symbols: [] });
    expect(readElf(bytes).sections).toHaveLength(20_000);
  });
});

describe("section names previrt's writer owns (issue 12)", () => {
  it("an ELF with a PROGBITS section named .symtab is refused on reading, as the assembler refuses writing one", () => {
    const image = sampleImage();
    image.sections.push({ name: ".symtab", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addr: 0x3000, data: new Uint8Array(4), size: 4, align: 4 });
    expectUserError(writeElf(image), /section name \.symtab is reserved/);
  });
});

describe("names with control characters stay inside one line (fuzz elf, seed 2032)", () => {
  // An ELF may name a section or a symbol with any bytes (the assembler's `.section "…"` too). A
  // message quotes such a name, escaped, so that it stays one line; before, a symbol named "\n" in a
  // bad section made a two-line UserError.
  const oneLine = (b: Uint8Array, message: RegExp) => {
    const m = refusal(() => readElf(b));
    expect(m).toMatch(message);
    expect(m).not.toMatch(/[\x00-\x1f\x7f]/);
  };

  it("a symbol's name in a refusal", () => {
    const image = sampleImage();
    image.symbols[1] = { ...image.symbols[1], name: "hel\nper" };
    const b = writeElf(image);
    const sym = u32(b, sectionHeader(b, ".symtab") + 16);
    const helper = readElf(b).symbols.findIndex((s) => s.name === "hel\nper") + 1;
    put16(b, sym + 16 * helper + 14, 77);
    oneLine(b, /symbol \d+ \("hel\\nper"\): section index 77 is not a PROGBITS\/NOBITS section/);
  });

  it("a section's name in a refusal, and in the disassembly's notes", () => {
    const image = sampleImage();
    image.sections.push({ name: "tab\tle\n.word 1", type: SHT_PROGBITS, flags: SHF_ALLOC, addr: 0x1010, data: new Uint8Array(8), size: 8, align: 4 });
    oneLine(writeElf(image), /sections \.text and "tab\\tle\\n\.word 1" overlap in memory/);
    image.sections[image.sections.length - 1].addr = 0x5000;
    const listing = disassembleImage(readElf(writeElf(image)));
    expect(listing).toContain('# note: "tab\\tle\\n.word 1" is at 0x5000');
    expect(listing.split("\n").filter((l) => l === ".word 1")).toEqual([]);
  });
});
