// Spinlock sites (docs/design.md §3): `.sensitive lock` before the amoswap of
// a test-and-set loop and `.sensitive unlock` before the releasing store
// become sites of kinds `lock` and `unlock` — annotated, listed, checked by
// the validator, rewritten natively on every back end, and the compiled
// spinLock/spinUnlock keep their lock behaviour after rewriting everywhere.

import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/annotate.js";
import { siteWords } from "../../src/annotator/padding.js";
import { formatSiteListing } from "../../src/annotator/site-listing.js";
import { verifyImage } from "../../src/annotator/verify.js";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { SHT_PROGBITS, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { validateSiteTable } from "../../src/guest-isa/site-validate.js";
import { LOCK_SITE_KINDS, parseSoftlayerTable, serializeSoftlayerTable, SITE_KINDS, type SiteRecord } from "../../src/guest-isa/softlayer.js";
import { backends, runElf } from "../../src/hypervisors/index.js";
import { derivedSiteWords } from "../../src/hypervisors/site-lengths.js";
import { annotateErrors } from "./helpers.js";

const LOCK_ASM = `    .text
    .global _start
_start:
    la a0, lockword
retry:
    li t0, 1
    .sensitive lock
    amoswap t0, t0, 4(a0)
    bnez t0, retry
    lw t1, 8(a0)
    addi t1, t1, 1
    sw t1, 8(a0)
    .sensitive unlock
    sw zero, 4(a0)
    lw a0, 8(a0)
    out 0xF0, a0
    .data
    .align 4
lockword: .word 0, 0, 41
`;

const tableOf = (image: ElfImage) => parseSoftlayerTable(image.sections.find((s) => s.name === ".softlayer")!.data).records;
function withTable(image: ElfImage, records: SiteRecord[]): ElfImage {
  const data = serializeSoftlayerTable(records);
  const others = image.sections.filter((s) => s.name !== ".softlayer");
  return { ...image, sections: [...others, { name: ".softlayer", type: SHT_PROGBITS, flags: 0, addr: 0, data, size: data.length, align: 4 }] };
}

describe("lock and unlock sites", () => {
  it("are site kinds 68 and 69 with derived padding (the longest replacement any back end declares: native, one word)", () => {
    expect(SITE_KINDS.get("lock")).toBe(LOCK_SITE_KINDS.lock);
    expect(SITE_KINDS.get("unlock")).toBe(LOCK_SITE_KINDS.unlock);
    const derived = derivedSiteWords();
    expect(siteWords(LOCK_SITE_KINDS.lock)).toBe(derived.lock.words);
    expect(siteWords(LOCK_SITE_KINDS.unlock)).toBe(derived.unlock.words);
    for (const b of backends.values()) {
      expect(b.target.replacements.lock, b.name).toEqual({ strategy: "native" });
      expect(b.target.replacements.unlock, b.name).toEqual({ strategy: "native" });
    }
  });

  it("are annotated with their operands (rd, base, offset) and listed", () => {
    const a = annotate("l.s", LOCK_ASM);
    const kinds = a.sites.map((s) => s.kindName);
    expect(kinds).toEqual(["lock", "unlock", "out"]);
    expect(a.sites[0]).toMatchObject({ kindName: "lock", regA: 5, regB: 1, imm: 4 }); // t0 = r5, a0 = r1
    expect(a.sites[1]).toMatchObject({ kindName: "unlock", regA: 0, regB: 1, imm: 4 });
    const image = assemble([{ file: "l.s", text: a.text }]);
    expect(verifyImage(image).problems).toEqual([]);
    const listing = formatSiteListing(image, "l.elf");
    expect(listing).toMatch(/ lock {7}\s+4 {2}t0, t0, 4\(a0\)/);
    expect(listing).toMatch(/ unlock {5}\s+4 {2}zero, 4\(a0\)/);
    expect(listing).toContain("lock 1, unlock 1");
  });

  it("misuse is an error at the directive or the instruction", () => {
    expect(annotateErrors("e.s", "\t.sensitive lock\n\tlw t0, 0(a0)\n")).toEqual(["e.s:1:2: error: .sensitive lock must be followed by 'amoswap', not 'lw'"]);
    expect(annotateErrors("e.s", "\t.sensitive unlock\n\tamoswap t0, t0, 0(a0)\n")).toEqual(["e.s:1:2: error: .sensitive unlock must be followed by 'sw', not 'amoswap'"]);
    expect(annotateErrors("e.s", "\t.sensitive lock\n\tamoswap t0, t1, 0(a0)\n")).toEqual([
      "e.s:2:2: error: .sensitive lock marks 'amoswap rd, rd, off(rs1)': the register swapped in must be the destination (the site's record carries only rd)",
    ]);
  });

  it("the validator refuses a lock record on the wrong instruction or with rs2 ≠ rd", () => {
    const image = assemble([{ file: "l.s", text: annotate("l.s", LOCK_ASM).text }]);
    const records = tableOf(image);
    expect(validateSiteTable(image).problems).toEqual([]);
    // The unlock's store recorded as a lock.
    const swapped = records.map((r) => (r.kind === LOCK_SITE_KINDS.unlock ? { ...r, kind: LOCK_SITE_KINDS.lock } : r));
    expect(validateSiteTable(withTable(image, swapped)).problems.map((p) => p.message)).toEqual(["lock site holds 'sw', not 'amoswap'"]);
    // The lock's amoswap patched to swap in another register.
    const text = image.sections.find((s) => s.name === ".text")!;
    const lock = records.find((r) => r.kind === LOCK_SITE_KINDS.lock)!;
    const data = new Uint8Array(text.data);
    new DataView(data.buffer).setUint32(lock.addr - text.addr, encodeInstruction("amoswap", { a: 5, b: 1, c: 6, imm: 4 }), true);
    const patched = { ...image, sections: image.sections.map((s) => (s === text ? { ...s, data } : s)) };
    expect(validateSiteTable(patched).problems.map((p) => p.message)).toEqual([
      "lock site's 'amoswap' swaps a register other than its destination (rs2 must be rd: the record carries only rd)",
    ]);
  });

  it("hand-written lock code runs the same after rewriting on every back end (native sites)", () => {
    const image = assemble([{ file: "l.s", text: annotate("l.s", LOCK_ASM).text }]);
    for (const name of backends.keys()) {
      const out = runElf(image, { backend: name, maxCycles: 1_000_000 });
      expect(out.result, name).toMatchObject({ kind: "poweroff", exitCode: 42 });
      const kinds = out.rewrite.sites.filter((s) => s.kindName === "lock" || s.kindName === "unlock");
      expect(kinds.map((s) => `${s.kindName}:${s.strategy}`), name).toEqual(["lock:native", "unlock:native"]);
      for (const s of kinds) expect([...s.after], name).toEqual([...s.before]);
    }
  });

  it("compiled spinLock/spinUnlock: the verifier accepts them, and they take and release after rewriting on every back end", () => {
    const { image } = buildSources([{ file: "p.ts", text: `import { addressOf, spinLock, spinUnlock, load32 } from "previrt/guest";
const lockword = new Int32Array(2);
export function main(): number {
  const l = addressOf(lockword);
  spinLock(l);
  const held = load32(l);
  spinUnlock(l);
  spinLock(l + 4);
  spinUnlock(l + 4);
  return held * 10 + load32(l) + load32(l + 4);
}
` }]);
    expect(verifyImage(image).problems).toEqual([]);
    for (const name of backends.keys()) {
      const out = runElf(image, { backend: name, maxCycles: 1_000_000 });
      expect(out.result, name).toMatchObject({ kind: "poweroff", exitCode: 10 });
      expect(out.rewrite.sites.filter((s) => s.kindName === "lock").length, name).toBe(2);
    }
  });
});
