// DESIGN.md §3: rewriting is validate-then-patch. Real annotated output,
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
import { writeElf } from "../../src/guest-isa/elf.js";
import { findSection, SITE_KINDS, SOFTLAYER_HEADER_SIZE, SOFTLAYER_RECORD_SIZE, type ElfImage } from "../../src/guest-isa/index.js";
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

  it("previrt load and previrt run say so in one line and run nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-"));
    const elf = join(dir, "bad.elf");
    writeFileSync(elf, writeElf(corrupted(CASES[3][1])));
    for (const argv of [["load", elf, "--hv", "bare"], ["run", elf, "--hv", "hvm"]]) {
      const io = bufferIO();
      expect(await main(argv, io)).toBe(1);
      expect(io.stderr).toMatch(/^previrt: error: bad \.softlayer table: record 1 \(0x[0-9a-f]{8}\): overlaps record 0/);
      expect(io.stderr.trim().split("\n")).toHaveLength(1);
      expect(io.stdout).toBe("");
    }
  });
});
