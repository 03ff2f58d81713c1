// docs/design.md §3: rewriting is validate-then-patch. Real annotated output,
// corrupted one way at a time, is refused — naming the bad record — before a
// byte of the image is written, by the library and by the CLI.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS } from "../../src/guest-isa/elf-types.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { imageLayoutProblem } from "../../src/guest-isa/image-check.js";
import { findSection, SITE_KINDS, SOFTLAYER_HEADER_SIZE, SOFTLAYER_RECORD_SIZE, type ElfImage } from "../../src/guest-isa/index.js";
import { validateSiteTable } from "../../src/guest-isa/site-validate.js";
import { verifyImage } from "../../src/annotator/index.js";
import { runElf } from "../../src/hypervisors/index.js";
import { rewriteImage } from "../../src/rewriter/index.js";

const file = "fixtures/guests/psr-hole.s";
const source = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
const annotated = () => assemble([{ file, text: annotate(file, source).text }]);

/** A fresh annotated image with its .softlayer bytes changed by `corrupt`. */
function corrupted(corrupt: (table: DataView, bytes: Uint8Array) => Uint8Array | void): ElfImage {
  const img = annotated();
  const sl = findSection(img, ".softlayer")!;
  const bytes = sl.data.slice();
  const replaced = corrupt(new DataView(bytes.buffer), bytes) ?? bytes;
  sl.data = replaced;
  sl.size = replaced.length;
  return img;
}

const record = (i: number) => SOFTLAYER_HEADER_SIZE + i * SOFTLAYER_RECORD_SIZE;
const textBytes = (img: ElfImage) => findSection(img, ".text")!.data.slice();

const CASES: [string, (v: DataView, b: Uint8Array) => Uint8Array | void, RegExp][] = [
  ["truncated", (_v, b) => b.subarray(0, record(1) + 7), /truncated/],
  ["unknown version", (v) => v.setUint16(4, 7, true), /unknown version 7/],
  ["out of bounds", (v) => v.setUint32(record(2), 0x00900000, true), /record 2 .*outside \.text/],
  ["overlapping", (v) => v.setUint16(record(0) + 4, 8, true), /record 1 .*overlaps record 0/],
  ["unsorted", (v) => v.setUint32(record(3), v.getUint32(record(0), true) - 8, true), /record 3 .*not sorted/],
  ["wrong kind", (v) => v.setUint8(record(0) + 6, SITE_KINDS.get("hlt")!), /record 0 .*hlt site holds/],
];

describe("the rewriter refuses a malformed .softlayer table before patching", () => {
  it("accepts the uncorrupted table (the cases below are not refused for another reason)", () => {
    expect(rewriteImage(annotated(), { name: "bare", replacements: {} }).sites.length).toBeGreaterThan(4);
  });

  it.each(CASES)("%s", (_name, corrupt, message) => {
    const img = corrupted(corrupt);
    const before = textBytes(img);
    expect(() => rewriteImage(img, { name: "bare", replacements: {} })).toThrow(UserError);
    expect(() => rewriteImage(img, { name: "bare", replacements: {} })).toThrow(message);
    expect(textBytes(img)).toEqual(before);
  });

  it("previrt load, run and matrix say so in one line naming the file, and run nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-"));
    const elf = join(dir, "bad.elf");
    const header = join(dir, "header.elf");
    writeFileSync(elf, writeElf(corrupted(CASES[3][1])));
    writeFileSync(header, writeElf(corrupted(CASES[1][1])));
    const escaped = (f: string) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const [file, message] of [
      [elf, "bad \\.softlayer table: record 1 \\(0x[0-9a-f]{8}\\): overlaps record 0"],
      // A header problem is said once (the validator's own "malformed .softlayer table: " is not repeated).
      [header, "bad \\.softlayer table: unknown version 7 \\(this previrt reads version 1\\)$"],
    ]) {
      for (const argv of [["load", file, "--hv", "bare"], ["run", file, "--hv", "hvm"], ["matrix", file, "--hv", "bare,xen"]]) {
        const io = bufferIO();
        expect(await main(argv, io)).toBe(1);
        expect(io.stderr, argv.join(" ")).toMatch(new RegExp(`^previrt: error: ${escaped(file)}: ${message}`, "m"));
        expect(io.stderr.trim().split("\n")).toHaveLength(1);
        expect(io.stdout).toBe("");
      }
    }
  });
});

// Issue 12: hostile binaries found by fuzzing. Each is refused before anything is patched or run,
// by the reader, the validator, the rewriter and the loader alike (image-check.ts holds the rules).
const HELLO = readFileSync(new URL("../../fixtures/guests/hello.s", import.meta.url), "utf8");
const hello = () => assemble([{ file: "hello.s", text: annotate("hello.s", HELLO).text }]);

/** Each command on FILE: status 1 and one `previrt: error:` line matching `message` (verify: its report), nothing run. */
async function refusedByEveryCommand(bytes: Uint8Array, message: RegExp) {
  const dir = mkdtempSync(join(tmpdir(), "previrt-"));
  const elf = join(dir, "bad.elf");
  writeFileSync(elf, bytes);
  for (const argv of [["verify", elf], ["load", elf, "--hv", "bare"], ["load", elf, "--hv", "xen"], ["run", elf, "--hv", "hvm"], ["run", elf, "--hv", "l4"]]) {
    const io = bufferIO();
    expect(await main(argv, io), argv.join(" ")).toBe(1);
    if (argv[0] === "verify" && io.stderr === "") {
      // A table problem is verify's report (stdout), not an error.
      expect(io.stdout).toMatch(message);
      continue;
    }
    expect(io.stderr, argv.join(" ")).toMatch(message);
    expect(io.stderr.startsWith("previrt: error: "), io.stderr).toBe(true);
    expect(io.stderr.trim().split("\n"), argv.join(" ")).toHaveLength(1);
    expect(io.stdout).toBe("");
  }
}

describe("issue 12: code-section layout is checked once, for every reader", () => {
  it("an ELF whose .text is SHT_NOBITS is refused cleanly (it used to crash the validator)", async () => {
    const bytes = writeElf(hello());
    // Flip .text's sh_type to SHT_NOBITS: the one field the fuzzer changed.
    const v = new DataView(bytes.buffer);
    const shoff = v.getUint32(32, true);
    v.setUint32(shoff + 40 * 1 + 4, 8, true); // section 1 is .text
    expect(() => readElf(bytes)).toThrow(UserError);
    expect(() => readElf(bytes)).toThrow(/section \.text holds code but is SHT_NOBITS/);
    await refusedByEveryCommand(bytes, /\.text holds code but is SHT_NOBITS/);
    // The same image built in memory (no reader in the way): validator, verifier, rewriter and loader refuse it.
    const img = hello();
    const text = findSection(img, ".text")!;
    Object.assign(text, { type: SHT_NOBITS, data: new Uint8Array(0) });
    expect(validateSiteTable(img).problems).toEqual([{ message: expect.stringMatching(/\.text holds code but is SHT_NOBITS/) }]);
    expect(verifyImage(img).problems[0].message).toMatch(/SHT_NOBITS/);
    expect(() => rewriteImage(img, { name: "bare", replacements: {} })).toThrow(/SHT_NOBITS/);
    expect(() => runElf(img, { backend: "bare", maxCycles: 1000 })).toThrow(UserError);
  });

  it("a .text at a non-word-aligned address (0x0ffe, alignment 2) is refused, never patched two bytes off", async () => {
    const img = hello();
    const text = findSection(img, ".text")!;
    text.addr = 0x0ffe;
    text.align = 2;
    const bytes = writeElf(img);
    expect(() => readElf(bytes)).toThrow(/section \.text holds code but starts at 0xffe, which is not 4-byte aligned/);
    await refusedByEveryCommand(bytes, /not 4-byte aligned/);
    expect(validateSiteTable(img).problems).toEqual([{ message: expect.stringMatching(/not 4-byte aligned/) }]);
    for (const backend of ["bare", "hvm", "trap", "xen", "l4"]) {
      let caught: unknown;
      try {
        runElf(img, { backend, maxCycles: 1000 });
      } catch (e) {
        caught = e;
      }
      expect(caught, backend).toBeInstanceOf(UserError);
      expect((caught as Error).message, backend).toMatch(/not 4-byte aligned/);
    }
  });

  it("the same rules hold for any executable section, and for the entry point", () => {
    const img = hello();
    img.sections.push({ name: ".text.more", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: 0x9002, data: new Uint8Array(4), size: 4, align: 2 });
    expect(imageLayoutProblem(img)).toMatch(/section \.text\.more holds code but starts at 0x9002/);
    expect(() => readElf(writeElf(img))).toThrow(/\.text\.more holds code/);
    const odd = { ...hello(), entry: 0x1002 };
    expect(imageLayoutProblem(odd)).toMatch(/entry point 0x1002 is not 4-byte aligned/);
    expect(() => readElf(writeElf(odd))).toThrow(/entry point/);
  });

  it("an entry point outside the code is refused by every command, before anything runs (it ran into data or nothing)", async () => {
    const img = hello();
    const text = findSection(img, ".text")!;
    for (const entry of [0x500000, text.addr + text.size, text.addr - 4]) {
      const outside = { ...hello(), entry };
      expect(imageLayoutProblem(outside)).toMatch(/entry point 0x[0-9a-f]+ is outside the code \(\.text /);
      await refusedByEveryCommand(writeElf(outside), /is outside the code/);
    }
    for (const entry of [text.addr, text.addr + text.size - 4]) expect(imageLayoutProblem({ ...hello(), entry })).toBeUndefined();
  });
});

describe("issue 12: a record's padding holds exactly what the annotator wrote", () => {
  /** Hello with the record of the console `out` stretched from 4 to 8 bytes, over the `addi` after it. */
  function stretched(): ElfImage {
    return withRecord(hello(), (v, at) => v.setUint16(at + 4, 8, true));
  }
  function withRecord(img: ElfImage, edit: (v: DataView, at: number) => void): ElfImage {
    const sl = findSection(img, ".softlayer")!;
    const v = new DataView(sl.data.buffer, sl.data.byteOffset, sl.data.byteLength);
    // Record 0 is the console `out` (the first site in address order).
    expect(v.getUint8(record(0) + 6)).toBe(SITE_KINDS.get("out"));
    edit(v, record(0));
    return img;
  }

  it("the program itself prints hello (the stretched copy below differs only in that record)", () => {
    expect(runElf(hello(), { backend: "bare" }).console).toBe("hello from G32\n");
  });

  it("verify and the rewriter refuse a record stretched over real instructions", async () => {
    const img = stretched();
    const problems = verifyImage(img).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ record: 0, message: expect.stringMatching(/^padding word at 0x[0-9a-f]{8} is 'addi\s+a0, a0, 1' \(0x[0-9a-f]{8}\), not the 'nop' the annotator writes/) });
    const before = textBytes(img);
    for (const backend of ["bare", "hvm", "trap", "xen", "l4"]) expect(() => runElf(img, { backend }), backend).toThrow(/bad \.softlayer table: record 0 .*padding word/);
    expect(textBytes(img)).toEqual(before);
    await refusedByEveryCommand(writeElf(img), /record 0 \(0x[0-9a-f]{8}\): padding word/);
  });

  it("padding that is nops is accepted, whatever the kind (k0 is then untouched in the slot)", () => {
    // A cli site: 3 words, the instruction and two nops.
    const img = assemble([{ file: "c.s", text: annotate("c.s", "_start:\n\tcli\n\tli a0, 0\n\tout 0xF0, a0\n").text }]);
    expect(verifyImage(img).problems).toEqual([]);
    // Any other word there — here one that writes k0 — is refused.
    const text = findSection(img, ".text")!;
    const table = validateSiteTable(img).table!.records;
    const cli = table.find((r) => r.kind === SITE_KINDS.get("cli"))!;
    new DataView(text.data.buffer, text.data.byteOffset).setUint32(cli.addr + 4 - text.addr, encodeInstruction("addi", { a: 13, b: 0, imm: 1 }), true);
    expect(validateSiteTable(img).problems).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/padding word at .* is 'addi\s+k0, zero, 1'/) }),
    ]);
  });
});
