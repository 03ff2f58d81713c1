import { describe, expect, it } from "vitest";
import {
  assemble,
  encodeInstruction,
  FORMATS,
  findSection,
  immRange,
  INSTRUCTIONS,
  PSEUDO_INSTRUCTIONS,
  parseSoftlayerTable,
  serializeSoftlayerTable,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_WRITE,
  SHT_NOBITS,
  SHT_PROGBITS,
  SITE_KINDS,
  type ElfImage,
  type InstructionFields,
  type InstructionRow,
  type SiteRecord,
} from "../../src/guest-isa/index.js";

const asm = (text: string, defines?: Record<string, number>) => assemble([{ file: "t.s", text: `.global _start\n_start:\n${text}` }], { defines });

function sectionWords(image: ElfImage, name = ".text"): number[] {
  const s = findSection(image, name)!;
  const view = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= s.data.length; i += 4) out.push(view.getUint32(i, true));
  return out;
}

const bytesOf = (image: ElfImage, name: string) => [...findSection(image, name)!.data];
const sym = (image: ElfImage, name: string) => image.symbols.find((s) => s.name === name);
const enc = (m: string, f: Partial<InstructionFields> = {}) => encodeInstruction(m, f);

/** Assembly text and encoder fields for one row with sample operands; `imm` picks the immediate. */
function sample(row: InstructionRow, pcOffset: number, imm?: number): { text: string; fields: Partial<InstructionFields> } {
  const regFor = { A: ["a2", 3], B: ["t0", 5], C: ["sp", 14] } as const;
  const parts: string[] = [];
  const fields: Partial<InstructionFields> = {};
  const r = immRange(row);
  const value = imm ?? (r.min < 0 ? -5 : Math.min(r.max, 7));
  for (const op of FORMATS[row.format].operands) {
    switch (op.kind) {
      case "reg": {
        const [name, n] = regFor[op.field as "A" | "B" | "C"];
        parts.push(name);
        fields[op.field === "A" ? "a" : op.field === "B" ? "b" : "c"] = n;
        break;
      }
      case "mem":
        parts.push(`${value}(s1)`);
        fields.b = 11;
        fields.imm = value;
        break;
      case "imm":
      case "port":
        parts.push(String(value));
        fields.imm = value;
        break;
      case "cr":
        parts.push("ptbr");
        fields.imm = 5;
        break;
      case "label":
        parts.push("back");
        fields.imm = pcOffset;
        break;
    }
  }
  return { text: `${row.mnemonic} ${parts.join(", ")}`, fields };
}

describe("assemble: instructions", () => {
  it("encodes every row of the ISA table like encodeInstruction", () => {
    const lines = INSTRUCTIONS.map((row, i) => sample(row, -4 * i));
    const image = assemble([{ file: "t.s", text: `_start:\nback:\n${lines.map((l) => l.text).join("\n")}\n` }]);
    const words = sectionWords(image);
    expect(words).toHaveLength(INSTRUCTIONS.length);
    INSTRUCTIONS.forEach((row, i) => expect(words[i], lines[i].text).toBe(enc(row.mnemonic, lines[i].fields)));
  });

  it("accepts each immediate range's two ends", () => {
    for (const row of INSTRUCTIONS) {
      if (!FORMATS[row.format].operands.some((o) => o.kind === "imm" || o.kind === "mem" || o.kind === "port")) continue;
      const r = immRange(row);
      for (const v of [r.min, r.max]) {
        const s = sample(row, 0, v);
        expect(sectionWords(assemble([{ file: "t.s", text: `_start:\n${s.text}\n` }]))[0], s.text).toBe(enc(row.mnemonic, s.fields));
      }
    }
  });

  it("takes control registers by name or number, any case", () => {
    const w = sectionWords(asm("mfcr a0, tvec\nmfcr a0, PGCTL\nmtcr 3, a1\nmtcr scratch, a1\n"));
    expect(w).toEqual([enc("mfcr", { a: 1, imm: 0 }), enc("mfcr", { a: 1, imm: 7 }), enc("mtcr", { b: 2, imm: 3 }), enc("mtcr", { b: 2, imm: 6 })]);
  });

  it("encodes branches and jumps as byte offsets from the instruction, forward and backward", () => {
    const w = sectionWords(asm("top: beq a0, a1, end\n nop\n bne a0, zero, top\n jal lr, end\n j top\nend: ret\n"));
    expect(w).toEqual([
      enc("beq", { a: 1, b: 2, imm: 20 }),
      enc("addi"),
      enc("bne", { a: 1, b: 0, imm: -8 }),
      enc("jal", { a: 15, imm: 8 }),
      enc("jal", { a: 0, imm: -16 }),
      enc("jalr", { a: 0, b: 15, imm: 0 }),
    ]);
  });

  it("reaches the ends of the branch range", () => {
    const text = "_start: beq a0, a1, far\n.space 524284 - 4\nfar: nop\n";
    expect(sectionWords(assemble([{ file: "t.s", text }]))[0]).toBe(enc("beq", { a: 1, b: 2, imm: 524284 }));
  });

  it("accepts register names in any case and (reg) without an offset", () => {
    expect(sectionWords(asm("ADD A0, R2, Sp\nlw a0, (sp)\n"))).toEqual([enc("add", { a: 1, b: 2, c: 14 }), enc("lw", { a: 1, b: 14 })]);
  });
});

describe("assemble: pseudo-instructions", () => {
  const cases: Record<string, [string, number[]]> = {
    nop: ["nop", [enc("addi")]],
    li: ["li a0, -42", [enc("addi", { a: 1, imm: -42 })]],
    la: ["la a1, 0x12345FFF", [enc("lui", { a: 2, imm: 0x12346 }), enc("addi", { a: 2, b: 2, imm: -1 })]],
    mv: ["mv a0, s1", [enc("addi", { a: 1, b: 11 })]],
    not: ["not t0, t1", [enc("xori", { a: 5, b: 6, imm: -1 })]],
    neg: ["neg t0, t1", [enc("sub", { a: 5, b: 0, c: 6 })]],
    j: ["j .", [enc("jal", { a: 0, imm: 0 })]],
    jr: ["jr t2", [enc("jalr", { a: 0, b: 7, imm: 0 })]],
    call: ["call .", [enc("jal", { a: 15, imm: 0 })]],
    ret: ["ret", [enc("jalr", { a: 0, b: 15, imm: 0 })]],
    beqz: ["beqz a3, .", [enc("beq", { a: 4, b: 0, imm: 0 })]],
    bnez: ["bnez a3, .", [enc("bne", { a: 4, b: 0, imm: 0 })]],
    bgt: ["bgt a0, a1, .", [enc("blt", { a: 2, b: 1, imm: 0 })]],
    ble: ["ble a0, a1, .", [enc("bge", { a: 2, b: 1, imm: 0 })]],
    bgtu: ["bgtu a0, a1, .", [enc("bltu", { a: 2, b: 1, imm: 0 })]],
    bleu: ["bleu a0, a1, .", [enc("bgeu", { a: 2, b: 1, imm: 0 })]],
    push: ["push s2", [enc("addi", { a: 14, b: 14, imm: -4 }), enc("sw", { a: 12, b: 14, imm: 0 })]],
    pop: ["pop s2", [enc("lw", { a: 12, b: 14, imm: 0 }), enc("addi", { a: 14, b: 14, imm: 4 })]],
  };

  it("covers every row of the pseudo table", () => {
    expect(Object.keys(cases).sort()).toEqual(PSEUDO_INSTRUCTIONS.map((p) => p.mnemonic).sort());
  });

  for (const [name, [text, words]] of Object.entries(cases)) {
    it(`expands ${name}`, () => expect(sectionWords(asm(text))).toEqual(words));
  }

  it("uses li's short form for constants known above that fit 18 bits signed, else two instructions", () => {
    const long = (v: number) => [enc("lui", { a: 1, imm: ((v + 0x800) >>> 12) & 0xfffff }), enc("addi", { a: 1, b: 1, imm: (v << 20) >> 20 })];
    expect(sectionWords(asm("li a0, 131071"))).toEqual([enc("addi", { a: 1, imm: 131071 })]);
    expect(sectionWords(asm("li a0, -131072"))).toEqual([enc("addi", { a: 1, imm: -131072 })]);
    expect(sectionWords(asm("li a0, 131072"))).toEqual(long(131072));
    expect(sectionWords(asm("li a0, 0xFFFFFFFF"))).toEqual([enc("addi", { a: 1, imm: -1 })]);
    expect(sectionWords(asm("li a0, 0x80000000"))).toEqual(long(0x80000000 | 0));
    expect(sectionWords(asm(".equ K, 100\nli a0, K * 2"))).toEqual([enc("addi", { a: 1, imm: 200 })]);
    // Defined below: not known in pass 1, so the long form (still the right value).
    expect(sectionWords(asm("li a0, K\n.equ K, 100"))).toEqual(long(100));
    expect(sectionWords(asm("li a0, FOO", { FOO: 7 }))).toEqual([enc("addi", { a: 1, imm: 7 })]);
  });

  it("gives la the address of a label, in two instructions even when it is small", () => {
    const image = asm("la a0, msg\n.data\nmsg: .word 0\n");
    const addr = sym(image, "msg")!.value;
    expect(addr).toBe(0x2000);
    expect(sectionWords(image)).toEqual([enc("lui", { a: 1, imm: 2 }), enc("addi", { a: 1, b: 1, imm: 0 })]);
  });

  it("reconstructs every 32-bit value with lui+addi (%hi/%lo)", () => {
    for (const v of [0, 1, 0x7ff, 0x800, 0xfff, 0x1000, 0x12345678, 0x7fffffff, 0x80000000, 0xfffff800, 0xffffffff, 0xdeadbeef]) {
      const [lui, addi] = sectionWords(asm(`li a0, 0x${v.toString(16)} + 0 * .`));
      const hi = lui >>> 12;
      const lo = addi >> 14;
      expect(((hi << 12) + lo) >>> 0, v.toString(16)).toBe(v);
    }
  });
});

describe("assemble: expressions", () => {
  it("follows C precedence with 32-bit wrap-around", () => {
    const image = asm(
      ".data\nd: .word 1+2*3, (1+2)*3, 1<<4|1, -1, ~0, 7/2, -7/2, 7%3, -7%3, 0xff & 0x0f ^ 1, 0xFFFFFFFF + 2, 1 << 31, -8 >> 1, 6 - 3 - 2, 'A', 0b101, 0o17, 1_000\n",
    );
    expect(sectionWords(image, ".data").map((w) => w | 0)).toEqual([7, 9, 17, -1, -1, 3, -3, 1, -1, 14, 1, 1 << 31, -4, 1, 65, 5, 15, 1000]);
  });

  it("computes %hi and %lo", () => {
    const image = asm(".data\n.word %hi(0x12345FFF), %lo(0x12345FFF), %hi(0x800), %lo(0x800), %lo(0x7FF)\n");
    expect(sectionWords(image, ".data").map((w) => w | 0)).toEqual([0x12346, -1, 1, -2048, 0x7ff]);
  });

  it("gives '.' the address of the current statement and resolves forward references", () => {
    const image = asm("nop\nhere: .word ., end - here, end\nend:\n");
    expect(sectionWords(image)).toEqual([enc("addi"), 0x1004, 12, 0x1010]);
  });

  it("evaluates .equ of constants, of labels and of other .equs (any order)", () => {
    const image = asm(".equ A, B + 1\n.equ B, lbl - 0x1000\n.set C, 3\nnop\nnop\nlbl: .word A, B, C\n");
    expect(sectionWords(image)).toEqual([enc("addi"), enc("addi"), 9, 8, 3]);
    expect(sym(image, "C")).toMatchObject({ value: 3, kind: "notype", global: false });
    expect(sym(image, "C")!.section).toBeUndefined();
  });
});

describe("assemble: data directives", () => {
  it("packs data without implicit alignment", () => {
    const image = asm(".data\n.byte 1\n.half 0x0302\n.word 0x07060504\n.byte -1, 255\n");
    expect(bytesOf(image, ".data")).toEqual([1, 2, 3, 4, 5, 6, 7, 0xff, 0xff]);
  });

  it("writes strings, fills and zeros", () => {
    const image = asm('.rodata\n.ascii "ab", "c"\n.asciz "d\\n"\n.string "\\x41"\n.space 3, 0x7f\n.zero 2\n');
    expect(bytesOf(image, ".rodata")).toEqual([97, 98, 99, 100, 10, 0, 0x41, 0, 0x7f, 0x7f, 0x7f, 0, 0]);
  });

  it("aligns with zeros in data and nops in .text", () => {
    const image = asm("nop\n.align 16\nret\n.data\n.byte 1\n.align 4\n.byte 2\n.balign 8\n.word 3\n");
    expect(sectionWords(image)).toEqual([enc("addi"), enc("addi"), enc("addi"), enc("addi"), enc("jalr", { b: 15 })]);
    expect(bytesOf(image, ".data")).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    expect(findSection(image, ".text")!.align).toBe(16);
  });

  it("accepts the directive aliases and both .section spellings", () => {
    const image = asm('.section ".rodata"\n.long 1\n.int 2\n.short 3\n.section .bss\nb: .zero 4\n.section .custom\n.set Q, 5\n.byte Q\n');
    expect(bytesOf(image, ".rodata")).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0]);
    expect(findSection(image, ".bss")).toMatchObject({ type: SHT_NOBITS, size: 4 });
    expect(bytesOf(image, ".custom")).toEqual([5]);
  });

  it("reserves .bss without bytes", () => {
    const image = asm("nop\n.bss\nbuf: .space 100\n.align 8\nbuf2: .zero 8\n");
    const bss = findSection(image, ".bss")!;
    expect(bss).toMatchObject({ type: SHT_NOBITS, size: 112, addr: 0x2000 });
    expect(bss.data.length).toBe(0);
    expect(sym(image, "buf2")).toMatchObject({ value: 0x2068, kind: "object", section: ".bss" });
  });
});

describe("assemble: layout and linking", () => {
  it("links .text at a given textBase, other sections following, even at the top of the address space", () => {
    const image = assemble([{ file: "t.s", text: ".global _start\n_start:\n lw t0, v(zero)\n .align 16\nnext: jal zero, next\n.data\nv: .word 7\n" }], { textBase: 0xfffe0000 });
    expect(image.sections.map((s) => [s.name, s.addr >>> 0])).toEqual([[".text", 0xfffe0000], [".data", 0xfffe1000]]);
    expect(sectionWords(image)[0]).toBe(encodeInstruction("lw", { a: 5, b: 0, imm: 0xfffe1000 | 0 }) >>> 0);
    expect(sectionWords(image)[1]).toBe(encodeInstruction("addi") >>> 0); // alignment gap: nop
    expect(() => assemble([{ file: "t.s", text: ".global _start\n_start: nop\n" }], { textBase: 0x1234 })).toThrow(/not a page-aligned/);
  });

  it("places .text at 0x1000 and every section on its own page, in the fixed order", () => {
    const image = asm("nop\n.section .extra\n.byte 9\n.bss\n.space 5000\n.data\n.word 1\n.rodata\n.byte 2\n.section .text\nnop\n");
    const info = image.sections.map((s) => [s.name, s.addr, s.size]);
    expect(info).toEqual([
      [".text", 0x1000, 8],
      [".rodata", 0x2000, 1],
      [".data", 0x3000, 4],
      [".bss", 0x4000, 5000],
      [".extra", 0x6000, 1],
    ]);
    const flags = Object.fromEntries(image.sections.map((s) => [s.name, [s.type, s.flags]]));
    expect(flags).toEqual({
      ".text": [SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR],
      ".rodata": [SHT_PROGBITS, SHF_ALLOC],
      ".data": [SHT_PROGBITS, SHF_ALLOC | SHF_WRITE],
      ".bss": [SHT_NOBITS, SHF_ALLOC | SHF_WRITE],
      ".extra": [SHT_PROGBITS, SHF_ALLOC | SHF_WRITE],
    });
    expect(image.entry).toBe(0x1000);
  });

  it("concatenates files' contributions in input order, each aligned", () => {
    const image = assemble([
      { file: "a.s", text: ".global _start\n_start: nop\n.data\na: .byte 1\n" },
      { file: "b.s", text: "nop\n.data\n.align 8\nb: .byte 2\n" },
      { file: "c.s", text: ".data\nc: .byte 3\n" },
    ]);
    expect(sym(image, "a")!.value).toBe(0x2000);
    expect(sym(image, "b")!.value).toBe(0x2008);
    expect(sym(image, "c")!.value).toBe(0x200c);
    expect(findSection(image, ".data")!.size).toBe(0xd);
    expect(sectionWords(image)).toEqual([enc("addi"), enc("addi")]);
  });

  it("keeps .L labels and non-global labels file-local; .global links across files", () => {
    const image = assemble([
      { file: "a.s", text: ".global _start\n_start: call f\n.Lloop: j .Lloop\nhelper: ret\n" },
      { file: "b.s", text: ".globl f\nf: j .Lloop\n.Lloop: j helper\nhelper: ret\n" },
    ]);
    expect(sectionWords(image)).toEqual([
      enc("jal", { a: 15, imm: 12 }),
      enc("jal", { imm: 0 }),
      enc("jalr", { b: 15 }),
      enc("jal", { imm: 4 }),
      enc("jal", { imm: 4 }),
      enc("jalr", { b: 15 }),
    ]);
    const names = image.symbols.map((s) => [s.name, s.value, s.global]);
    expect(names).toEqual([
      ["_start", 0x1000, true],
      ["helper", 0x1008, false],
      ["f", 0x100c, true],
      ["helper", 0x1014, false],
    ]);
    expect(image.symbols.every((s) => s.kind === "func" && s.section === ".text")).toBe(true);
  });

  it("prefers a file's own symbol over another file's global", () => {
    const image = assemble([
      { file: "a.s", text: ".global _start, x\n_start: .word x\nx: .word 1\n" },
      { file: "b.s", text: "x: .word x\n" },
    ]);
    expect(sectionWords(image)).toEqual([0x1004, 1, 0x1008]);
  });

  it("makes defines visible in every file", () => {
    const image = assemble(
      [
        { file: "a.s", text: "_start: .word N\n" },
        { file: "b.s", text: ".word N + 1\n" },
      ],
      { defines: { N: 41 } },
    );
    expect(sectionWords(image)).toEqual([41, 42]);
  });

  it("merges the files' .softlayer tables into one sorted, non-allocated table", () => {
    const rec = (addr: number, file: string): SiteRecord => ({ addr, length: 8, kind: SITE_KINDS.get("cli")!, flags: 0, regA: 0, regB: 0, imm: 0, line: 3, file });
    const asBytes = (t: Uint8Array) => `.section .softlayer\n.byte ${[...t].join(", ")}\n`;
    const image = assemble([
      { file: "a.s", text: `.global _start\n_start: cli\nnop\n${asBytes(serializeSoftlayerTable([rec(0x1008, "a.s")]))}` },
      { file: "b.s", text: `cli\nnop\n${asBytes(serializeSoftlayerTable([rec(0x1000, "b.s"), rec(0x1004, "b.s")]))}` },
    ]);
    const s = findSection(image, ".softlayer")!;
    expect(s).toMatchObject({ addr: 0, flags: 0, type: SHT_PROGBITS });
    expect(s.size).toBe(s.data.length);
    expect(parseSoftlayerTable(s.data).records.map((r) => [r.addr, r.file])).toEqual([
      [0x1000, "b.s"],
      [0x1004, "b.s"],
      [0x1008, "a.s"],
    ]);
  });

  it("accepts the annotation directives and emits nothing for them", () => {
    const image = asm(".noannotate\ncli\n.annotate\n.sensitive pte\n  sw a0, 0(a1)\n.sensitive mmio\nlabel: lw a0, 0(a1)\n");
    expect(sectionWords(image)).toHaveLength(3);
  });

  it("is byte-exact over a large generated program (every word in range)", () => {
    const body = Array.from({ length: 2000 }, (_, i) => `l${i}: addi a0, a0, ${i}\n bne a0, zero, l${Math.max(0, i - 3)}`).join("\n");
    const w = sectionWords(asm(body));
    expect(w).toHaveLength(4000);
    expect(w[3999]).toBe(enc("bne", { a: 1, b: 0, imm: -28 }));
    expect(w[1]).toBe(enc("bne", { a: 1, b: 0, imm: -4 }));
  });
});
