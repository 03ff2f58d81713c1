// Fuzz campaign `softlayer`: the `.softlayer` site table. Annotated binaries
// built from the fixtures get their table mutated — header fields, record
// fields (address, length, kind, flags, operands, strings), stretched and
// shifted sites, duplicated, reordered, truncated or extended records — and
// sometimes a word of a site's padding changed. Each goes through the
// validator (which must report, never throw) and the rewriter for every back
// end (which must refuse exactly when the validator reports a problem). A
// table that is accepted and still passes `previrt verify` (every sensitive
// instruction covered) must not change what the program does: it runs on
// every back end and must print and exit as the unmutated binary does there;
// for one input in four (its aux) each of those runs is also made under the
// interpreter and under the JIT translating every page at once, and must
// leave exactly what the default run left (generators/engines.ts).

import { verifyImage } from "../../src/annotator/index.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { findSection, SOFTLAYER_SECTION, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { validateSiteTable } from "../../src/guest-isa/site-validate.js";
import { SITE_FLAG_EXEMPT, SITE_KIND_NAMES, SOFTLAYER_HEADER_SIZE, SOFTLAYER_RECORD_SIZE } from "../../src/guest-isa/softlayer.js";
import { backends, prepareImage, runElf, type RunElfOutcome } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { fixtureElfs, type BuiltElf } from "./generators/fixtures.js";
import { applyByteEdits, interestingValue, readU, type ByteEdit } from "./generators/mutate.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, runElfEnginesProblem } from "./generators/engines.js";
import { endingProblem, windowProblem } from "./generators/oracles.js";
import type { Rng } from "./generators/rng.js";

interface TableEdit {
  /** The table's bytes, or .text (a site's padding). */
  where: "table" | "text";
  edit: ByteEdit;
}

const BACKENDS = [...backends.values()];
const RAM = 4 * 1024 * 1024;
const REFERENCE_CYCLES = 5_000_000;
const KINDS = [...SITE_KIND_NAMES.keys()];
const RECORD_FIELDS: [number, 1 | 2 | 4][] = [[0, 4], [4, 2], [6, 1], [7, 1], [8, 1], [9, 1], [10, 2], [12, 4], [16, 4]];
const HEADER_FIELDS: [number, 1 | 2 | 4][] = [[0, 4], [4, 2], [6, 2], [8, 4], [12, 4]];

interface Reference {
  kind: string;
  exitCode: number;
  console: string;
  cycles: number;
}

const annotatedBases = () => fixtureElfs().filter((e) => e.annotated && (findSection(e.image, SOFTLAYER_SECTION)?.size ?? 0) > SOFTLAYER_HEADER_SIZE);
const references = new Map<string, Reference[]>();

/** How the unmutated binary behaves on every back end. */
function referenceOf(base: BuiltElf): Reference[] {
  let refs = references.get(base.name);
  if (!refs) {
    refs = BACKENDS.map((b) => summarize(runElf(base.image, { backend: b, maxCycles: REFERENCE_CYCLES, ramSize: RAM })));
    references.set(base.name, refs);
  }
  return refs;
}

const summarize = (o: RunElfOutcome): Reference => ({ kind: o.result.kind, exitCode: o.result.kind === "poweroff" ? o.result.exitCode : -1, console: o.console, cycles: o.stats.cycles });

function tableOf(image: ElfImage): Uint8Array {
  const s = findSection(image, SOFTLAYER_SECTION)!;
  return s.data.subarray(0, s.size);
}

function tableEdit(r: Rng, table: Uint8Array, text: Uint8Array, textAddr: number): TableEdit {
  const count = readU(table, 8, 4);
  const rec = (i: number) => SOFTLAYER_HEADER_SIZE + SOFTLAYER_RECORD_SIZE * i;
  const i = r.int(Math.max(count, 1));
  const t = (edit: ByteEdit): TableEdit => ({ where: "table", edit });
  const mask = (size: number) => (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
  return r.weighted<() => TableEdit>([
    [25, () => {
      const [o, size] = r.pick(RECORD_FIELDS);
      return t({ op: "set", at: rec(i) + o, size, value: interestingValue(r, readU(table, rec(i) + o, size), table.length) & mask(size) });
    }],
    [12, () => { // stretch or shrink the site: over real instructions, or short of its padding
      const len = readU(table, rec(i) + 4, 2);
      return t({ op: "set", at: rec(i) + 4, size: 2, value: Math.max(0, len + 4 * r.range(-3, 6)) & 0xffff });
    }],
    [8, () => { // shift the site
      const addr = readU(table, rec(i), 4);
      return t({ op: "set", at: rec(i), size: 4, value: (addr + r.pick([-8, -4, -2, -1, 1, 2, 4, 8, 12])) >>> 0 });
    }],
    [8, () => t({ op: "set", at: rec(i) + 6, size: 1, value: r.pick(KINDS) })],
    [4, () => t({ op: "set", at: rec(i) + 7, size: 1, value: r.pick([1, 2, 0x80, 0xff]) })],
    [8, () => {
      const [o, size] = r.pick(HEADER_FIELDS);
      return t({ op: "set", at: o, size, value: interestingValue(r, readU(table, o, size), table.length) & mask(size) });
    }],
    [6, () => t({ op: "copy", from: rec(r.int(Math.max(count, 1))), to: rec(i), length: SOFTLAYER_RECORD_SIZE })],
    [5, () => t({ op: "truncate", length: r.int(table.length) })],
    [6, () => t({ op: "flip", at: r.int(table.length), bit: r.int(8) })],
    [4, () => t({ op: "fill", at: rec(count), length: r.range(1, 64), value: r.pick([0, 0x41, 0xff]) })], // the string area
    [8, () => { // a word of the site's padding (the annotator's words) replaced; never a real instruction
      const addr = readU(table, rec(i), 4), len = readU(table, rec(i) + 4, 2), flags = table[rec(i) + 7];
      if (len < 8 || flags & SITE_FLAG_EXEMPT || i >= count) return t({ op: "flip", at: r.int(table.length), bit: r.int(8) });
      const off = addr - textAddr + 4 * r.range(1, (len >>> 2) - 1);
      return { where: "text", edit: { op: "set", at: off, size: 4, value: r.chance(0.5) ? r.u32() : readU(text, r.int(text.length >>> 2) * 4, 4) } };
    }],
  ])();
}

/** The base image with the table and .text edited (the rest shared). */
function mutated(base: BuiltElf, units: readonly TableEdit[]): ElfImage {
  const table = applyByteEdits(tableOf(base.image), units.filter((u) => u.where === "table").map((u) => u.edit));
  const textSection = findSection(base.image, ".text")!;
  const text = applyByteEdits(textSection.data, units.filter((u) => u.where === "text").map((u) => u.edit));
  return {
    ...base.image,
    sections: base.image.sections.map((s) => (s.name === SOFTLAYER_SECTION ? { ...s, data: table, size: table.length } : s.name === ".text" ? { ...s, data: text } : s)),
  };
}

const baseNamed = (name: string) => annotatedBases().find((e) => e.name === name)!;

export const softlayerCampaign: Campaign<TableEdit> = {
  name: "softlayer",
  description: "mutated .softlayer tables in real annotated binaries through the validator and the rewriter for every back end, then run",
  generate(r) {
    const base = r.pick(annotatedBases());
    const table = tableOf(base.image);
    const text = findSection(base.image, ".text")!;
    const n = r.weighted([[55, 1], [25, 2], [20, 4]] as const);
    return { base: base.name, units: Array.from({ length: n }, () => tableEdit(r, table, text.data, text.addr)), aux: r.int(ENGINE_RADIX) };
  },
  execute(input: FuzzInput<TableEdit>, limits) {
    const base = baseNamed(input.base);
    const image = mutated(base, input.units);
    const validation = validateSiteTable(image);
    let refused: UserError | undefined;
    for (const b of BACKENDS) {
      try {
        prepareImage(b, image);
        if (refused) return { class: "wrong", message: `the rewriter refuses the table for one back end and accepts it for ${b.name}` };
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        if (!refused && b !== BACKENDS[0]) return { class: "wrong", message: `the rewriter accepts the table for ${BACKENDS[0].name} and refuses it for ${b.name}` };
        refused = e;
      }
    }
    if (refused && validation.problems.length === 0) return { class: "wrong", message: `the validator finds no problem but the rewriter refuses: ${refused.message}` };
    if (!refused && validation.problems.length > 0) return { class: "wrong", message: `the rewriter accepts a table the validator reports: ${validation.problems[0].message}` };
    if (refused) throw refused;
    // Accepted: the program must behave as the unmutated one, on every back end — provided every
    // edited .text word is still a padding word of a (non-exempt) site of the accepted table.
    const c = validation.columns!;
    const textAddr = findSection(image, ".text")!.addr;
    const inPadding = (off: number) => {
      const a = textAddr + off;
      for (let k = 0; k < c.count; k++) if (!(c.flags[k] & SITE_FLAG_EXEMPT) && a >= c.addr[k] + 4 && a + 4 <= c.addr[k] + c.length[k]) return true;
      return false;
    };
    if (!input.units.every((u) => u.where === "table" || (u.edit.op === "set" && inPadding(u.edit.at)))) return "accepted";
    // A table that no longer covers every sensitive instruction (records dropped, a kind changed) makes a
    // partly annotated binary, which `previrt verify` reports and a back end may run differently (the
    // uncovered rdpsr/wrpsr hole): only a table that still passes verify must keep the program's behaviour.
    if (verifyImage(image).problems.length > 0) return "accepted";
    // Likewise a site turned into a `.noannotate` region: the table then says "leave this native", which
    // verify accepts (an exempt region covers what it holds) and a back end honours.
    const exempt = (cols: typeof c) => new Set(Array.from({ length: cols.count }, (_, k) => k).filter((k) => cols.flags[k] & SITE_FLAG_EXEMPT).map((k) => `${cols.addr[k]}+${cols.length[k]}`));
    const before = exempt(validateSiteTable(base.image).columns!);
    if ([...exempt(c)].some((e) => !before.has(e))) return "accepted";
    const refs = referenceOf(base);
    for (const [k, b] of BACKENDS.entries()) {
      const ref = refs[k];
      const options = { backend: b, maxCycles: ref.kind === "poweroff" ? 2 * ref.cycles + 100_000 : Math.min(limits.maxCycles, 200_000), ramSize: RAM };
      const out = runElf(image, options);
      const problem = endingProblem(out) ?? windowProblem(out, b.name) ?? runElfEnginesProblem(enginesDrawn(input.aux), image, () => options, out);
      if (problem) return { class: "wrong", message: problem };
      if (ref.kind !== "poweroff") continue;
      const got = summarize(out);
      if (got.kind !== "poweroff" || got.exitCode !== ref.exitCode || got.console !== ref.console) {
        return { class: "wrong", message: `${b.name}: an accepted table changed the program: ${got.kind === "poweroff" ? `exit ${got.exitCode}` : got.kind}, console ${JSON.stringify(got.console.slice(0, 40))} instead of exit ${ref.exitCode}, ${JSON.stringify(ref.console.slice(0, 40))}` };
      }
    }
    return "accepted";
  },
  materialize(input) {
    return { ext: ".elf", data: writeElf(mutated(baseNamed(input.base), input.units)), note: `${input.base} with its .softlayer table (or a site's padding) edited${enginesDrawn(input.aux) ? `; runs on every back end ${ENGINES_NOTE}` : ""}` };
  },
};
