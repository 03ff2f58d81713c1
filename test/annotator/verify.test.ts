// previrt verify and the shared table validator (guest-isa/site-validate.ts):
// clean annotated builds pass; unannotated sensitive instructions and every
// kind of malformed table are reported.

import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/annotate.js";
import { formatVerifyReport, verifyImage } from "../../src/annotator/verify.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { SHT_PROGBITS, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { validateSiteTable } from "../../src/guest-isa/site-validate.js";
import { parseSoftlayerTable, serializeSoftlayerTable, SITE_FLAG_EXEMPT, SITE_KINDS, type SiteRecord } from "../../src/guest-isa/softlayer.js";
import { build, fixture } from "./helpers.js";

const hex = (n: number) => "0x" + n.toString(16).padStart(8, "0");

function withTable(image: ElfImage, records: SiteRecord[] | Uint8Array): ElfImage {
  const data = records instanceof Uint8Array ? records : serializeSoftlayerTable(records);
  const others = image.sections.filter((s) => s.name !== ".softlayer");
  return { ...image, sections: [...others, { name: ".softlayer", type: SHT_PROGBITS, flags: 0, addr: 0, data, size: data.length, align: 4 }] };
}
const tableOf = (image: ElfImage) => parseSoftlayerTable(image.sections.find((s) => s.name === ".softlayer")!.data).records;
const messages = (image: ElfImage) => validateSiteTable(image).problems.map((p) => `${p.record ?? "-"}: ${p.message}`);

describe("verify", () => {
  const { image } = build("kernel.s", fixture("kernel.s"));
  const text = image.sections.find((s) => s.name === ".text")!;

  it("passes the annotated kernel", () => {
    const report = verifyImage(image);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ annotated: true, sites: 18, exemptRegions: 1, sensitive: 16 });
    expect(formatVerifyReport(report, "kernel.elf")).toBe("kernel.elf: ok: 18 sites, 1 exempt region, 16 sensitive instructions in .text\n");
  });

  it("catches a hand-made unannotated cli added to annotated output", () => {
    const annotated = annotate("k.s", fixture("kernel.s")).text.replace("done:\n", "done:\n\tcli\n");
    const bad = assemble([{ file: "k.s", text: annotated }]);
    const report = verifyImage(bad);
    const done = bad.symbols.find((s) => s.name === "done")!.value;
    expect(report.problems).toEqual([{ addr: done, message: "cli is not covered by a site" }]);
    expect(formatVerifyReport(report, "k.elf")).toBe(
      `${hex(done)}: cli is not covered by a site\nk.elf: 1 problem (18 sites, 1 exempt region, 17 sensitive instructions in .text)\n`,
    );
  });

  it("reports a plain binary that has sensitive instructions, and passes one that has none", () => {
    const plain = assemble([{ file: "p.s", text: "_start:\n\tcli\n\tadd a0, a0, a1\n\tsti\n" }]);
    const out = formatVerifyReport(verifyImage(plain), "p.elf").split("\n");
    expect(out[0]).toMatch(/^\.softlayer: no \.softlayer table: the binary is not annotated/);
    expect(out.slice(1, 3)).toEqual(["0x00001000: cli is not covered by a site", "0x00001008: sti is not covered by a site"]);
    const harmless = assemble([{ file: "h.s", text: "_start:\n\tadd a0, a0, a1\n" }]);
    expect(verifyImage(harmless).problems).toEqual([]);
  });

  it("honours exempt records, and names a sensitive word hidden in a site's padding", () => {
    const recs = tableOf(image);
    const sti = recs.findIndex((r) => r.kind === SITE_KINDS.get("sti"));
    const padded = new Uint8Array(text.data);
    const at = recs[sti].addr + 8 - text.addr;
    padded.set([0x2e, 0, 0, 0], at); // a cli in the sti site's padding
    const img = { ...image, sections: image.sections.map((s) => (s.name === ".text" ? { ...s, data: padded } : s)) };
    expect(verifyImage(img).problems).toEqual([
      // The table check: the padding is not the annotator's nops ...
      { record: sti, addr: recs[sti].addr, message: expect.stringMatching(/^padding word at 0x[0-9a-f]{8} is 'cli' \(0x0000002e\), not the 'nop' the annotator writes/) },
      // ... and the coverage check: that cli is no site.
      { addr: recs[sti].addr + 8, message: `cli is not covered by a site (it is inside the padding of record ${sti})` },
    ]);
    // The same word, excused by an exempt record over it:
    const exempt: SiteRecord = { ...recs[sti], addr: recs[sti].addr + 8, length: 4, kind: 0, flags: SITE_FLAG_EXEMPT, regA: 0, regB: 0, imm: 0 };
    const fixed = withTable(img, [...recs.slice(0, sti), { ...recs[sti], length: 8 }, exempt, ...recs.slice(sti + 1)]);
    expect(verifyImage(fixed).problems).toEqual([]);
  });
});

describe("validateSiteTable", () => {
  const { image } = build("kernel.s", fixture("kernel.s"));
  const recs = tableOf(image);
  const text = image.sections.find((s) => s.name === ".text")!;
  const cli = recs.findIndex((r) => r.kind === SITE_KINDS.get("cli"));

  it("has nothing to say about a good table, or about a binary without one", () => {
    expect(validateSiteTable(image).problems).toEqual([]);
    expect(validateSiteTable(image).table?.records).toHaveLength(19);
    expect(validateSiteTable({ ...image, sections: image.sections.filter((s) => s.name !== ".softlayer") })).toEqual({ problems: [] });
  });

  it("reports a table that does not parse", () => {
    const bytes = serializeSoftlayerTable(recs);
    bytes[4] = 9; // version
    expect(messages(withTable(image, bytes))).toEqual(["-: malformed .softlayer table: unknown version 9 (this previrt reads version 1)"]);
    expect(messages(withTable(image, serializeSoftlayerTable(recs).slice(0, 30)))[0]).toMatch(/^-: malformed \.softlayer table: truncated/);
  });

  it("reports records outside .text, misaligned, or with a bad length", () => {
    const bad = recs.map((r) => ({ ...r }));
    bad[cli].length = 6;
    bad.push({ ...recs[cli], addr: text.addr + text.size, length: 4 });
    const out = messages(withTable(image, bad));
    expect(out).toContain(`${cli}: site length 6 is not a positive multiple of 4`);
    expect(out).toContain(`${recs.length}: site [${hex(text.addr + text.size)}, ${hex(text.addr + text.size + 4)}) is outside .text [${hex(text.addr)}, ${hex(text.addr + text.size)})`);
  });

  it("reports unsorted and overlapping records", () => {
    const swapped = [...recs];
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    expect(messages(withTable(image, swapped))).toContain(`2: not sorted: below record 1 (${hex(recs[2].addr)})`);
    const overlapping = recs.map((r, i) => (i === 0 ? { ...r, length: r.length + 4 } : r));
    expect(messages(withTable(image, overlapping))).toContain(`1: overlaps record 0 (${hex(recs[0].addr)}, ${recs[0].length + 4} bytes)`);
  });

  it("reports a record whose bytes are the wrong kind, or whose operands disagree", () => {
    const wrong = recs.map((r, i) => (i === cli ? { ...r, kind: SITE_KINDS.get("sti")! } : r));
    expect(messages(withTable(image, wrong))).toEqual([`${cli}: sti site holds 'cli'`]);
    const pte = recs.findIndex((r) => r.kind === SITE_KINDS.get("pte-store"));
    const asLoad = recs.map((r, i) => (i === pte ? { ...r, kind: SITE_KINDS.get("pte-load")! } : r));
    expect(messages(withTable(image, asLoad))).toEqual([`${pte}: pte-load site holds 'sw', not a load`]);
    const mfcr = recs.findIndex((r) => r.kind === SITE_KINDS.get("mfcr"));
    const regs = recs.map((r, i) => (i === mfcr ? { ...r, imm: 3 } : r));
    expect(messages(withTable(image, regs))).toEqual([
      `${mfcr}: operands disagree with the instruction: record has regA=6 regB=0 imm=3, 'mfcr' has regA=6 regB=0 imm=5`,
    ]);
    const onPlain = recs.map((r, i) => (i === cli ? { ...r, addr: text.addr } : r)); // `la` expands to lui
    expect(messages(withTable(image, onPlain))).toContain(`${cli}: cli site holds 'lui'`);
  });

  it("reports a site whose original instruction uses k0; exempt records only need bounds and order", () => {
    const k0 = assemble([{ file: "k.s", text: "_start:\n\t.noannotate\n\tmfcr k0, epc\n\t.annotate\n\tadd a0, a0, a1\n" }]);
    const site: SiteRecord = { addr: 0x1000, length: 4, kind: SITE_KINDS.get("mfcr")!, flags: 0, regA: 13, regB: 0, imm: 1, line: 3, file: "k.s" };
    expect(messages(withTable(k0, [site]))).toEqual(["0: the original 'mfcr' uses k0, which the soft layer clobbers"]);
    const exempt: SiteRecord = { ...site, kind: 0, flags: SITE_FLAG_EXEMPT, regA: 0, imm: 0, length: 6 };
    expect(messages(withTable(k0, [exempt]))).toEqual([]);
  });
});
