import { describe, expect, it } from "vitest";
import {
  decodeInstruction,
  encodeInstruction,
  readElf,
  writeElf,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_PROGBITS,
  SITE_KINDS,
  serializeSoftlayerTable,
  type ElfImage,
  type SiteRecord,
} from "../../src/guest-isa/index.js";
import { restoreSites, rewriteImage, type RewriteTarget } from "../../src/rewriter/index.js";

const NOP = encodeInstruction("addi");
const TEXT = 0x1000;

/** A .text of `words` and a table of `records`: what the annotator + assembler produce, built by hand. */
function image(words: number[], records: SiteRecord[]): ElfImage {
  const data = new Uint8Array(words.length * 4);
  const view = new DataView(data.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  const table = serializeSoftlayerTable(records);
  return {
    entry: TEXT,
    sections: [
      { name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: TEXT, data, size: data.length, align: 4 },
      { name: ".softlayer", type: SHT_PROGBITS, flags: 0, addr: 0, data: table, size: table.length, align: 4 },
    ],
    symbols: [],
  };
}

const site = (addr: number, kind: string, length: number, f: Partial<SiteRecord> = {}): SiteRecord => ({
  addr, length, kind: SITE_KINDS.get(kind)!, flags: 0, regA: 0, regB: 0, imm: 0, line: 1, file: "t.s", ...f,
});

const textWords = (img: ElfImage) => {
  const t = img.sections.find((s) => s.name === ".text")!;
  return [...new Uint32Array(t.data.slice().buffer)];
};

const WINDOW: RewriteTarget["window"] = {
  symbols: { VIE: 0xfffff000, VMM_ENTRY: 0xfffff800, STUB_SAVE: 0xfffff004 },
  stubBase: 0xfffe0000,
  stubLimit: 0xfffe8000,
  stubSaveSymbol: "STUB_SAVE",
};

describe("rewriter", () => {
  // add; [cli + 3 nops]; [rdpsr a0 + 1 nop]; add
  const add = encodeInstruction("add", { a: 1, b: 1, c: 2 });
  const words = [add, encodeInstruction("cli"), NOP, NOP, NOP, encodeInstruction("rdpsr", { a: 1 }), NOP, add];
  const records = [site(0x1004, "cli", 16), site(0x1014, "rdpsr", 8, { regA: 1 })];

  it("leaves sites native on bare metal and jumps over the padding", () => {
    const out = rewriteImage(image(words, records), { name: "bare", replacements: {} });
    const t = textWords(out.image);
    expect(t[1]).toBe(words[1]);
    expect(decodeInstruction(t[2])!.row.mnemonic).toBe("jal");
    expect(decodeInstruction(t[2])!.imm).toBe(12); // from the first padding word past the last one
    expect(t[5]).toBe(words[5]);
    expect(decodeInstruction(t[6])!.imm).toBe(4);
    expect(out.counts).toEqual({ native: 2, inline: 0, call: 0, stub: 0 });
  });

  it("places an inline replacement that fits, a call, and a stub for one that does not", () => {
    const target: RewriteTarget = {
      name: "test",
      window: WINDOW,
      replacements: {
        cli: { strategy: "inline", code: ["sw zero, VIE(zero)"] },
        // rdpsr's replacement is 3 words but its slot holds 2: it must go out of line.
        rdpsr: { strategy: "inline", code: ["lw {A}, VIE(zero)", "ori {A}, {A}, 2", "addi k0, zero, 0"] },
      },
    };
    const out = rewriteImage(image(words, records), target);
    const t = textWords(out.image);
    expect(t[1]).toBe(encodeInstruction("sw", { a: 0, b: 0, imm: 0xfffff000 | 0 }));
    expect(decodeInstruction(t[2])!.imm).toBe(12);
    expect(out.sites[1].strategy).toBe("stub");
    const jalr = decodeInstruction(t[5])!;
    expect(jalr.row.mnemonic).toBe("jalr");
    expect(jalr.a).toBe(13); // k0
    expect(jalr.imm >>> 0).toBe(out.sites[1].stubAddr);
    const stub = [...out.stubs[0].words].map((w) => decodeInstruction(w)!.row.mnemonic);
    expect(stub).toEqual(["sw", "lw", "ori", "addi", "lw", "jalr"]);
    expect(decodeInstruction(out.stubs[0].words[1])!.a).toBe(1); // {A} = a0 substituted
    expect(out.counts).toEqual({ native: 0, inline: 1, call: 0, stub: 1 });

    const call = rewriteImage(image(words, records), { name: "c", window: WINDOW, replacements: { cli: { strategy: "call", entry: "VMM_ENTRY" } } });
    expect(call.counts.call).toBe(1);
    expect(decodeInstruction(textWords(call.image)[1])!.imm >>> 0).toBe(0xfffff800);
  });

  it("never touches the input image, and restores the original bytes", () => {
    const input = image(words, records);
    const out = rewriteImage(input, { name: "bare", replacements: {} });
    expect(textWords(input)).toEqual(words.map((w) => w >>> 0));
    expect(textWords(restoreSites(out))).toEqual(words.map((w) => w >>> 0));
  });

  it("treats a binary without a .softlayer table as plain", () => {
    const plain = image(words, []);
    plain.sections.pop();
    const out = rewriteImage(plain, { name: "bare", replacements: {} });
    expect(out.annotated).toBe(false);
    expect(out.image).toBe(plain);
  });
});

describe("per-operand replacements (byImm)", () => {
  // mtcr tvec, t0 and mtcr ptbr, t0: one kind, two operands.
  const words = [encodeInstruction("mtcr", { b: 5, imm: 0 }), encodeInstruction("mtcr", { b: 5, imm: 5 })];
  const records = [site(0x1000, "mtcr", 4, { regB: 5, imm: 0 }), site(0x1004, "mtcr", 4, { regB: 5, imm: 5 })];
  const target: RewriteTarget = {
    name: "byimm",
    window: WINDOW,
    replacements: {
      mtcr: { strategy: "inline", code: ["sw {B}, VIE+4*{IMM}(zero)"], byImm: { 5: { strategy: "call", entry: "VMM_ENTRY" } } },
    },
  };

  it("chooses the replacement by the site's recorded imm", () => {
    const out = rewriteImage(image(words, records), target);
    expect(out.sites.map((s) => s.strategy)).toEqual(["inline", "call"]);
    const t = textWords(out.image);
    expect(t[0]).toBe(encodeInstruction("sw", { a: 5, b: 0, imm: 0xfffff000 | 0 }));
    expect(decodeInstruction(t[1])!.imm >>> 0).toBe(0xfffff800);
  });

  it("refuses nested byImm tables", () => {
    const nested: RewriteTarget = {
      name: "nested",
      window: WINDOW,
      replacements: { mtcr: { strategy: "native", byImm: { 5: { strategy: "native", byImm: {} } } } },
    };
    expect(() => rewriteImage(image(words, records), nested)).toThrow(/cannot nest/);
  });

  it("sign-extends a recorded memory offset for {IMM}", () => {
    const sw = encodeInstruction("sw", { a: 5, b: 6, imm: -8 });
    const rec = site(0x1000, "pte-store", 4, { regA: 5, regB: 6, imm: -8 & 0xffff });
    const out = rewriteImage(image([sw], [rec]), { name: "s", window: WINDOW, replacements: { "pte-store": { strategy: "inline", code: ["addi k0, {B}, {IMM}"] } } });
    expect(decodeInstruction(textWords(out.image)[0])!.imm).toBe(-8);
  });
});

describe("input held in a Node Buffer", () => {
  it("rewrites an image read from a Buffer (whose slice() is a view) and leaves the Buffer's bytes alone", () => {
    const add = encodeInstruction("add", { a: 1, b: 1, c: 2 });
    const words = [encodeInstruction("cli"), NOP, NOP, add];
    const bytes = Buffer.from(writeElf(image(words, [site(0x1000, "cli", 12)])));
    const before = Buffer.from(bytes);
    const out = rewriteImage(readElf(bytes), { name: "bare", replacements: {} });
    expect(decodeInstruction(textWords(out.image)[1])!.row.mnemonic).toBe("jal");
    expect(bytes.equals(before)).toBe(true);
  });
});
