import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { disassembleImage, disassembleInstruction, disassembleText, generatedLabel } from "../../src/guest-isa/disassembler.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { decodeInstruction, encodeInstruction, immField, pcRelativeRange } from "../../src/guest-isa/encoding.js";
import { FORMATS, INSTRUCTIONS, immRange, type InstructionRow } from "../../src/guest-isa/isa-table.js";
import { reassembleListing, textImage, wordsToBytes } from "./disasm-helpers.js";

/** Several encodings of a row: register extremes and both ends of its immediate (or a near branch). */
function samples(row: InstructionRow): number[] {
  const imf = immField(row);
  const imms: number[] = [];
  if (!imf) imms.push(0);
  else if (imf.pcRelative) imms.push(0, 4, -4, 64);
  else {
    const r = immRange(row);
    imms.push(r.min, r.max, 0, 1, Math.min(r.max, 5));
  }
  const out: number[] = [];
  for (const imm of imms) {
    for (const [a, b, c] of [[0, 0, 0], [15, 15, 15], [1, 14, 13], [10, 2, 7]]) {
      const ops = FORMATS[row.format].operands;
      const uses = (f: string) => ops.some((o) => o.field === f || (o.kind === "mem" && f === "B"));
      out.push(encodeInstruction(row, { a: uses("A") ? a : 0, b: uses("B") ? b : 0, c: uses("C") ? c : 0, imm }));
    }
  }
  return out;
}

describe("disassembleInstruction", () => {
  it("prints each format from the table's operand specs", () => {
    const e = encodeInstruction;
    expect(disassembleInstruction(e("add", { a: 1, b: 2, c: 3 }), 0x1000)).toBe("add     a0, a1, a2");
    expect(disassembleInstruction(e("addi", { a: 5, b: 14, imm: -131072 }), 0x1000)).toBe("addi    t0, sp, -131072");
    expect(disassembleInstruction(e("lw", { a: 1, b: 14, imm: -4 }), 0x1000)).toBe("lw      a0, -4(sp)");
    expect(disassembleInstruction(e("sw", { a: 15, b: 14, imm: 8 }), 0x1000)).toBe("sw      lr, 8(sp)");
    expect(disassembleInstruction(e("lui", { a: 1, imm: 0xfffff }), 0x1000)).toBe("lui     a0, 0xfffff");
    expect(disassembleInstruction(e("mfcr", { a: 1, imm: 7 }), 0x1000)).toBe("mfcr    a0, pgctl");
    expect(disassembleInstruction(e("mtcr", { b: 2, imm: 0 }), 0x1000)).toBe("mtcr    tvec, a1");
    expect(disassembleInstruction(e("in", { a: 1, imm: 0x11 }), 0x1000)).toBe("in      a0, 0x11");
    expect(disassembleInstruction(e("out", { b: 1, imm: 0xf0 }), 0x1000)).toBe("out     0xf0, a0");
    expect(disassembleInstruction(e("hcall", { imm: 3 }), 0x1000)).toBe("hcall   3");
    expect(disassembleInstruction(e("tlbinv", { b: 3 }), 0x1000)).toBe("tlbinv  a2");
    expect(disassembleInstruction(e("rdpsr", { a: 4 }), 0x1000)).toBe("rdpsr   a3");
    expect(disassembleInstruction(e("iret"), 0x1000)).toBe("iret");
  });

  it("names branch targets by symbol, else by a generated label", () => {
    const w = encodeInstruction("bne", { a: 1, b: 2, imm: -8 });
    expect(disassembleInstruction(w, 0x1010)).toBe(`bne     a0, a1, ${generatedLabel(0x1008)}`);
    expect(disassembleInstruction(w, 0x1010, (a) => (a === 0x1008 ? "loop" : undefined))).toBe("bne     a0, a1, loop");
    const far = encodeInstruction("jal", { a: 15, imm: pcRelativeRange("imm22").min });
    expect(disassembleInstruction(far, 0x900000, () => "f")).toBe("call    f");
  });

  it("prints pseudo-instruction aliases only where they are exact", () => {
    const e = encodeInstruction;
    const d = (w: number) => disassembleInstruction(w, 0x1000, () => "L");
    expect(d(e("addi"))).toBe("nop");
    expect(d(e("addi", { a: 1, b: 2 }))).toBe("mv      a0, a1");
    expect(d(e("xori", { a: 1, b: 2, imm: -1 }))).toBe("not     a0, a1");
    expect(d(e("sub", { a: 1, b: 0, c: 2 }))).toBe("neg     a0, a1");
    expect(d(e("jal", { a: 0, imm: 4 }))).toBe("j       L");
    expect(d(e("jal", { a: 15, imm: 4 }))).toBe("call    L");
    expect(d(e("jal", { a: 1, imm: 4 }))).toBe("jal     a0, L");
    expect(d(e("jalr", { a: 0, b: 15 }))).toBe("ret");
    expect(d(e("jalr", { a: 0, b: 3 }))).toBe("jr      a2");
    expect(d(e("jalr", { a: 0, b: 3, imm: 4 }))).toBe("jalr    zero, 4(a2)");
    expect(d(e("beq", { a: 1, b: 0 }))).toBe("beqz    a0, L");
    expect(d(e("bne", { a: 1, b: 0 }))).toBe("bnez    a0, L");
    expect(d(e("bne", { a: 0, b: 1 }))).toBe("bne     zero, a0, L");
    // No operand swaps: blt stays blt.
    expect(d(e("blt", { a: 1, b: 2 }))).toBe("blt     a0, a1, L");
    expect(disassembleInstruction(e("addi"), 0, undefined, { aliases: false })).toBe("addi    zero, zero, 0");
  });

  it("prints undecodable words as .word", () => {
    expect(disassembleInstruction(0, 0x1000)).toBe(".word 0x0");
    expect(disassembleInstruction(0xffffffff, 0x1000)).toBe(".word 0xffffffff");
    // add with a non-zero unused field
    const bad = (encodeInstruction("add", { a: 1, b: 2, c: 3 }) | (1 << 20)) >>> 0;
    expect(decodeInstruction(bad)).toBeUndefined();
    expect(disassembleInstruction(bad, 0x1000)).toBe(`.word 0x${bad.toString(16)}`);
    // slli with a shift amount above 31
    const shift = (encodeInstruction("slli", { a: 1, b: 1 }) | (32 << 14)) >>> 0;
    expect(disassembleInstruction(shift, 0x1000)).toBe(`.word 0x${shift.toString(16)}`);
  });
});

describe("disassembleText re-assembles to the same .text", () => {
  const roundTrip = (image: ReturnType<typeof textImage>, aliases = true) => {
    const listing = disassembleText(image, { aliases });
    const text = image.sections[0];
    expect(reassembleListing(listing, text.addr), listing).toEqual(text.data);
    return listing;
  };

  for (const row of INSTRUCTIONS) {
    it(`every operand extreme of ${row.mnemonic}`, () => {
      const words = samples(row);
      // pc-relative samples reach at most 64 bytes ahead: pad so every target lies inside .text.
      const image = textImage([...words, ...new Array(17).fill(encodeInstruction("brk"))]);
      roundTrip(image, true);
      roundTrip(image, false);
    });
  }

  it("starts with .text, labels symbols, marks globals and generates branch labels", () => {
    const e = encodeInstruction;
    const words = [
      e("addi", { a: 1, imm: 3 }), // 1000 _start
      e("addi", { a: 1, b: 1, imm: -1 }), // 1004 loop
      e("bne", { a: 1, b: 0, imm: -4 }), // 1008 → loop
      e("beq", { a: 1, b: 2, imm: 8 }), // 100c → 1014 (no symbol)
      e("jal", { a: 15, imm: -16 }), // 1010 → 1000 (_start)
      e("jal", { a: 0, imm: 4 }), // 1014 → 1018 = end of .text
    ];
    const image = textImage(words, [
      { name: "_start", value: 0x1000, size: 0, global: true, kind: "func", section: ".text" },
      { name: "loop", value: 0x1004, size: 0, global: false, kind: "func", section: ".text" },
      { name: "N", value: 7, size: 0, global: false, kind: "notype" },
    ]);
    const listing = roundTrip(image);
    const lines = listing.split("\n");
    expect(lines[0]).toBe(".text");
    expect(listing).toContain(".global _start\n_start:\n");
    expect(listing).toContain("\nloop:\n");
    expect(listing).toMatch(/bnez +a0, loop +# 00001008: /);
    expect(listing).toMatch(/\.L_1014:\n +j +\.L_1018/);
    expect(listing).toMatch(/call +_start/);
    expect(listing.trimEnd().endsWith(".L_1018:")).toBe(true);
    expect(listing).not.toContain("not at the default");
  });

  it("notes a .text that does not start at 0x1000, and keeps branches pc-relative", () => {
    const image = textImage([encodeInstruction("beq", { imm: -4 }), encodeInstruction("hlt")], [], 0x40000);
    const listing = roundTrip(image);
    expect(listing).toContain("# .text starts at 0x40000");
    // .L_3fffc lies before .text: defined with .equ
    expect(listing).toContain(".equ .L_3fffc, 0x3fffc");
  });

  it("defines a target outside .text with .equ, under its symbol's name when it has one", () => {
    const image = textImage([encodeInstruction("jal", { imm: 0x1000 }), encodeInstruction("jal", { a: 15, imm: 0x1000 })], [
      { name: "value", value: 0x2000, size: 4, global: false, kind: "object", section: ".data" },
    ]);
    const listing = roundTrip(image);
    expect(listing).toContain(".equ value, 0x2000");
    expect(listing).toContain(".equ .L_2004, 0x2004");
    expect(listing).toMatch(/j +value/);
  });

  it("gives distinct names to same-named locals from different files", () => {
    const words = [encodeInstruction("beq", { imm: 4 }), encodeInstruction("beq", { imm: -4 })];
    const image = textImage(words, [
      { name: "loop", value: 0x1000, size: 0, global: false, kind: "func", section: ".text" },
      { name: "loop", value: 0x1004, size: 0, global: false, kind: "func", section: ".text" },
      { name: "loop", value: 0x1004, size: 0, global: false, kind: "func", section: ".text" },
    ]);
    const listing = roundTrip(image);
    expect(listing).toContain("loop:\n");
    expect(listing).toContain("loop__2:\n");
    expect(listing.match(/loop__2:/g)).toHaveLength(1);
  });

  it("prints bad words as .word and a ragged tail as .byte", () => {
    const bytes = new Uint8Array([...wordsToBytes([0, 0xdeadbeef, encodeInstruction("syscall")]), 0x12, 0x34]);
    const listing = roundTrip(textImage(bytes));
    expect(listing).toContain(".word 0x0");
    expect(listing).toContain(".word 0xdeadbeef");
    expect(listing).toMatch(/\.byte 0x12 +# 0000100c/);
  });

  it("splits a word that has a symbol inside it into bytes", () => {
    const image = textImage([encodeInstruction("syscall"), encodeInstruction("brk")], [
      { name: "odd", value: 0x1002, size: 0, global: false, kind: "object", section: ".text" },
    ]);
    const listing = roundTrip(image);
    expect(listing).toMatch(/\.byte .*\n.*\.byte .*\nodd:\n/);
  });

  it("survives random words (valid and not), with and without aliases", () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed);
    const words: number[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 2) words.push(rand());
      else {
        const row = INSTRUCTIONS[rand() % INSTRUCTIONS.length];
        const fmt = FORMATS[row.format];
        words.push((row.opcode | (rand() & fmt.usedMask)) >>> 0);
      }
    }
    const image = textImage(words);
    roundTrip(image, true);
    roundTrip(image, false);
  });
});

describe("disassembleImage of several linked files", () => {
  // Found by writing a multi-file program by hand: each file had its own `.equ CONSOLE, 0x10`, and
  // objdump -d printed it twice, which `previrt as` refuses ("symbol 'CONSOLE' is already defined").
  it("prints each file's local .equ once per name and value, and renames one that clashes, so the listing re-assembles", () => {
    const files = [
      { file: "a.s", text: ".equ CONSOLE, 0x10\n.equ N, 1\n.equ helper, 7\n.global _start\n_start: li a0, N\n  call helper2\n  out CONSOLE, a0\n  out 0xF0, zero\n" },
      { file: "b.s", text: ".equ CONSOLE, 0x10\n.equ N, 2\n.global helper2\nhelper2: li t0, N\n  add a0, a0, t0\n  ret\n" },
      { file: "c.s", text: ".equ N, 2\nhelper: ret\n.data\nCONSOLE: .word 3\n" },
    ];
    const image = readElf(writeElf(assemble(files)));
    const listing = disassembleImage(image);
    const defined = listing.split("\n").flatMap((l) => /^\.equ (\S+),|^(\S+):$/.exec(l)?.slice(1).filter(Boolean) ?? []);
    expect(defined.filter((n, i) => defined.indexOf(n) !== i)).toEqual([]); // no name defined twice
    const again = assemble([{ file: "listing.s", text: listing }]);
    const bytes = (img: ElfImage) => img.sections.map((s) => `${s.name}@${s.addr.toString(16)}:${[...s.data].join(",")}`);
    expect(bytes(again)).toEqual(bytes(image));
    // Every symbol's value survives, under its own name or a renamed one.
    const values = (img: ElfImage) => img.symbols.map((s) => `${s.value}@${s.section ?? "abs"}`).sort();
    expect([...new Set(values(again))]).toEqual([...new Set(values(image))]);
  });
});
