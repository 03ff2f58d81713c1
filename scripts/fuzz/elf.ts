// Fuzz campaign `elf`: the ELF reader and the loader. Real ELF files built
// from the fixtures, mutated — bit flips, truncations, and corruptions aimed
// at the ELF header, program and section headers, symbols and string tables —
// go through readElf, then the load-time step (validate + rewrite) for every
// back end, then a short run on one of them. Besides byte edits, edits of
// the image itself (a section moved, re-aligned, retyped, renamed, resized; a
// symbol moved or renamed; thousands of symbols sharing one long name) are
// written back with writeElf, so the file is well-formed and the corruption
// reaches the loader's assumptions rather than readElf's checks. An accepted
// file must survive writeElf → readElf unchanged. Inputs: a fixture + edits.
// For one input in four (a digit of its aux) the short run is also made under
// the interpreter and under the JIT translating every page at once, and must
// leave exactly what the default run left (generators/engines.ts): mutated
// files put code where no compiler would (misaligned, in data, at the entry
// moved anywhere).

import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { SHT_NOBITS, SHT_PROGBITS, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SOFTLAYER_SECTION, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { SOFTLAYER_HEADER_SIZE, SOFTLAYER_RECORD_SIZE } from "../../src/guest-isa/softlayer.js";
import { backends, prepareImage, runElf } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { fixtureElfs } from "./generators/fixtures.js";
import { applyByteEdits, elfEdit, elfLayout, interestingValue, type ByteEdit, type ElfLayout } from "./generators/mutate.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, runElfEnginesProblem } from "./generators/engines.js";
import { endingProblem, roundTripProblem, windowProblem } from "./generators/oracles.js";
import { auxDigits, type Rng } from "./generators/rng.js";

const BACKENDS = [...backends.values()];
/** An input's run, from its aux: the back end, and whether the engines are compared. */
const configOf = (aux: number) => {
  const take = auxDigits(aux);
  return { backend: BACKENDS[take(BACKENDS.length)], engines: enginesDrawn(take(ENGINE_RADIX)) };
};
let layouts: Map<string, ElfLayout> | undefined;
const layoutOf = (name: string, bytes: Uint8Array) => (layouts ??= new Map()).get(name) ?? layouts.set(name, elfLayout(bytes)).get(name)!;
const baseNamed = (name: string) => {
  const b = fixtureElfs().find((e) => e.name === name);
  if (!b) throw new Error(`no fixture ELF ${name}`);
  return b;
};

/** An edit of the image before it is written: within what writeElf accepts (distinct names, data matching size). */
type ImageEdit =
  | { op: "section"; index: number; field: "addr" | "align" | "size" | "flags"; value: number }
  | { op: "retype"; index: number }
  /** The section moved off word alignment, with an alignment that allows it. */
  | { op: "misalign"; index: number; by: number; sites: boolean }
  | { op: "rename"; index: number; name: string }
  | { op: "symbol"; index: number; field: "value" | "size"; value: number }
  | { op: "symbol-section"; index: number; section?: string }
  | { op: "entry"; value: number }
  | { op: "symbol-storm"; count: number; nameLength: number };
type ElfUnit = ByteEdit | ImageEdit;
const isImageEdit = (u: ElfUnit): u is ImageEdit => ["section", "retype", "misalign", "rename", "symbol", "symbol-section", "entry", "symbol-storm"].includes(u.op);

const NAMES = [".text", ".data", ".bss", ".rodata", ".softlayer", ".symtab", ".strtab", ".shstrtab", "", ".text2", "x".repeat(300)];

function imageEdit(r: Rng, image: ElfImage, fileLength: number): ImageEdit {
  const index = r.int(image.sections.length);
  const sec = image.sections[index];
  return r.weighted<() => ImageEdit>([
    [8, () => ({ op: "section", index, field: "addr", value: r.chance(0.5) ? (sec.addr + r.pick([-4, -2, -1, 1, 2, 4, 0x1000, -0x1000])) >>> 0 : r.pick([0x0ffe, 0, 0xffc00000, 0xfffff000, 0xfffffffc, 0x7ffff000, 0x3ff000, interestingValue(r, sec.addr, fileLength)]) })],
    [5, () => ({ op: "section", index, field: "align", value: r.pick([0, 1, 2, 3, 8, 0x1000, 0x10000]) })], // no larger: writeElf pads the file to it (2 GiB for 2^31)
    [4, () => ({ op: "section", index, field: "size", value: r.pick([0, 1, 2, 3, sec.size + 1, sec.size + 2, sec.size - 1, sec.size * 2, 0x100000]) >>> 0 })],
    [4, () => ({ op: "section", index, field: "flags", value: sec.flags ^ r.pick([SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, 0x80]) })],
    [4, () => ({ op: "retype", index })],
    [4, () => ({ op: "misalign", index, by: r.pick([-2, -1, 1, 2, 3]), sites: r.chance(0.5) })],
    [3, () => ({ op: "rename", index, name: r.pick(NAMES) })],
    [5, () => ({ op: "symbol", index: r.int(Math.max(image.symbols.length, 1)), field: r.pick(["value", "size"] as const), value: interestingValue(r, image.symbols[0]?.value ?? 0, fileLength) })],
    [3, () => ({ op: "symbol-section", index: r.int(Math.max(image.symbols.length, 1)), section: r.chance(0.8) ? r.pick(image.sections).name : undefined })],
    [3, () => ({ op: "entry", value: r.pick([0, 0x1002, 0x0ffe, 0xffc00000, 0xfffe0000, 0xffffffff, interestingValue(r, image.entry, fileLength)]) })],
    [1, () => ({ op: "symbol-storm", count: r.pick([100, 1000, 2000]), nameLength: r.pick([10, 100, 1000]) })], // a few MB at most: the campaign must stay fast
  ])();
}

/** The base image with image edits applied, written again; then the byte edits. */
function materialize(base: string, units: readonly ElfUnit[]): Uint8Array {
  const b = baseNamed(base);
  const imageEdits = units.filter(isImageEdit);
  const byteEdits = units.filter((u): u is ByteEdit => !isImageEdit(u));
  if (!imageEdits.length) return applyByteEdits(b.bytes, byteEdits);
  const img: ElfImage = { entry: b.image.entry, sections: b.image.sections.map((s) => ({ ...s })), symbols: b.image.symbols.map((s) => ({ ...s })) };
  for (const e of imageEdits) {
    const sec = "index" in e && e.op !== "symbol" && e.op !== "symbol-section" ? img.sections[e.index] : undefined;
    switch (e.op) {
      case "section":
        if (!sec) break;
        if (e.field === "size") {
          sec.size = Math.min(e.value, 0x100000);
          if (sec.type !== SHT_NOBITS) {
            const data = new Uint8Array(sec.size);
            data.set(sec.data.subarray(0, sec.size));
            sec.data = data;
          }
        } else sec[e.field] = e.value >>> 0;
        break;
      case "retype":
        if (!sec) break;
        if (sec.type === SHT_NOBITS) {
          sec.type = SHT_PROGBITS;
          sec.data = new Uint8Array(Math.min(sec.size, 0x100000));
          sec.size = sec.data.length;
        } else {
          sec.type = SHT_NOBITS;
          sec.data = new Uint8Array(0);
        }
        break;
      case "misalign": {
        // The section's symbols and the entry move with it; the site records too, or not.
        if (!sec || !(sec.flags & SHF_ALLOC)) break;
        const from = sec.addr, end = sec.addr + sec.size;
        for (const sym of img.symbols) if (sym.section === sec.name) sym.value = (sym.value + e.by) >>> 0;
        if (img.entry >= from && img.entry < end) img.entry = (img.entry + e.by) >>> 0;
        const table = img.sections.find((t) => t.name === SOFTLAYER_SECTION);
        if (e.sites && table && sec.name === ".text" && table.data.length >= SOFTLAYER_HEADER_SIZE) {
          const data = table.data.slice();
          const view = new DataView(data.buffer);
          const count = view.getUint32(8, true);
          for (let i = 0; i < count && SOFTLAYER_HEADER_SIZE + SOFTLAYER_RECORD_SIZE * (i + 1) <= data.length; i++) {
            const at = SOFTLAYER_HEADER_SIZE + SOFTLAYER_RECORD_SIZE * i;
            view.setUint32(at, (view.getUint32(at, true) + e.by) >>> 0, true);
          }
          table.data = data;
        }
        sec.addr = (sec.addr + e.by) >>> 0;
        sec.align = e.by & 1 ? 1 : 2;
        break;
      }
      case "rename":
        if (sec && !img.sections.some((s) => s.name === e.name)) sec.name = e.name;
        break;
      case "symbol":
        if (img.symbols[e.index]) img.symbols[e.index][e.field] = e.value >>> 0;
        break;
      case "symbol-section":
        if (img.symbols[e.index]) img.symbols[e.index].section = e.section;
        break;
      case "entry":
        img.entry = e.value >>> 0;
        break;
      case "symbol-storm": {
        const name = "s".repeat(e.nameLength);
        for (let i = 0; i < e.count; i++) img.symbols.push({ name, value: 0x1000, size: 0, global: false, kind: "notype" });
        break;
      }
    }
  }
  // Symbols whose section was renamed away follow it (writeElf refuses dangling section names: a generator's slip, not a finding).
  const names = new Set(img.sections.map((s) => s.name));
  for (const s of img.symbols) if (s.section !== undefined && !names.has(s.section)) s.section = undefined;
  return applyByteEdits(writeElf(img), byteEdits);
}

export const elfCampaign: Campaign<ElfUnit> = {
  name: "elf",
  description: "mutated real ELF files (byte edits, and image edits written back) through readElf, validate + rewrite for every back end, a short run (a quarter also under both engines)",
  generate(r) {
    const base = r.pick(fixtureElfs());
    const layout = layoutOf(base.name, base.bytes);
    const n = r.weighted([[50, 1], [25, 2], [15, 3], [10, 6]] as const);
    const units = Array.from({ length: n }, (): ElfUnit => (r.chance(0.25) ? imageEdit(r, base.image, base.bytes.length) : elfEdit(r, base.bytes, layout)));
    return { base: base.name, units, aux: r.int(BACKENDS.length) + BACKENDS.length * r.int(ENGINE_RADIX) };
  },
  execute(input: FuzzInput<ElfUnit>, limits) {
    const bytes = materialize(input.base, input.units);
    const image = readElf(bytes);
    const rt = roundTripProblem(image);
    if (rt) return { class: "wrong", message: rt };
    // The loader's step for every back end: validate the site table, rewrite (never modifying the input image).
    for (const b of BACKENDS) prepareImage(b, image);
    const { backend, engines } = configOf(input.aux);
    const options = { backend, maxCycles: Math.min(limits.maxCycles, 50_000), ramSize: 4 * 1024 * 1024 };
    const out = runElf(image, options);
    const problem = endingProblem(out) ?? windowProblem(out, backend.name) ?? runElfEnginesProblem(engines, image, () => options, out);
    return problem ? { class: "wrong", message: problem } : "accepted";
  },
  materialize(input) {
    const { backend, engines } = configOf(input.aux);
    return { ext: ".elf", data: materialize(input.base, input.units), note: `${input.base} with ${input.units.length} edit(s); run on ${backend.name}${engines ? ` ${ENGINES_NOTE}` : ""}` };
  },
};
