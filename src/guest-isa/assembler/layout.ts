// Layout (the linker's first half): every file's Contributions (pass1.ts) →
// output sections with addresses. Per output section, the contributions are
// concatenated in input-file order, each aligned to its own alignment (its
// largest `.align`, at least 4). Allocated sections are placed in the order
// .text (at TEXT_BASE), .rodata, .data, .bss, then other `.section`s in order
// of first appearance, each starting on a page boundary. `.softlayer` is not
// allocated: address 0, offsets from its start.
//
// Sets each Contribution's `base`; the buffers are filled by pass 2.
//
// Limits (docs/assembly.md, "Limits"): every allocated section must end
// inside the 32-bit address space, and a section with contents (anything but
// .bss) may hold at most MAX_CONTENTS_SIZE bytes (they are written to the
// file). A section breaking either is reported at the `.section`/`.data`
// line of the file whose contribution crosses the limit, and left empty.

import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, SOFTLAYER_SECTION } from "../elf-types.js";
import { ADDRESS_SPACE } from "../image-check.js";
import { DEFAULT_ALIGN, type Contribution, type FileUnit, type Reporter } from "./units.js";

export const TEXT_BASE = 0x1000;
export const PAGE_SIZE = 0x1000;

/** The most bytes of contents (not .bss) one output section may hold: 256 MiB, far beyond any guest's RAM. */
export const MAX_CONTENTS_SIZE = 0x10000000;

/** Why a section of `size` bytes at `addr` (or not allocated) is too big, or undefined. */
export function sectionSizeProblem(name: string, type: number, allocated: boolean, addr: number, size: number): string | undefined {
  if (type !== SHT_NOBITS && size > MAX_CONTENTS_SIZE) {
    return `section ${name} would hold ${size} bytes, more than the ${MAX_CONTENTS_SIZE} (256 MiB) a section with contents may (use .bss for zeros)`;
  }
  if (allocated && addr + size > ADDRESS_SPACE) {
    return `section ${name} would end at 0x${(addr + size).toString(16)}, past the end of the 32-bit address space`;
  }
  if (size >= ADDRESS_SPACE) return `section ${name} would hold ${size} bytes, more than a 32-bit size`;
  return undefined;
}

const STANDARD_ORDER = [".text", ".rodata", ".data", ".bss"];

export interface OutputSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  size: number;
  align: number;
  contributions: Contribution[];
}

export function sectionFlags(name: string): { type: number; flags: number } {
  switch (name) {
    case ".text":
      return { type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR };
    case ".rodata":
      return { type: SHT_PROGBITS, flags: SHF_ALLOC };
    case ".bss":
      return { type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE };
    case SOFTLAYER_SECTION:
      return { type: SHT_PROGBITS, flags: 0 };
    default:
      // .data and every other named section: allocated, writable data.
      return { type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE };
  }
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/**
 * Places every section. A section exists in the output if some file switched to it (or for .text, always).
 * `textBase` (page-aligned; default TEXT_BASE) is where .text starts; the other sections follow it.
 */
export function layoutSections(units: readonly FileUnit[], textBase = TEXT_BASE, report?: Reporter): OutputSection[] {
  const byName = new Map<string, OutputSection>();
  const order: string[] = [...STANDARD_ORDER];
  for (const u of units) {
    for (const c of u.contributions.values()) {
      let out = byName.get(c.section);
      if (!out) {
        out = { name: c.section, ...sectionFlags(c.section), addr: 0, size: 0, align: 1, contributions: [] };
        byName.set(c.section, out);
        if (!STANDARD_ORDER.includes(c.section) && c.section !== SOFTLAYER_SECTION) order.push(c.section);
      }
      out.contributions.push(c);
    }
  }
  order.push(SOFTLAYER_SECTION);
  // An image with .bss has a .data, even an empty one: the ELF writer puts .bss in .data's PT_LOAD
  // segment, since a writable segment with no writable contents is one eu-elflint rejects (elf.ts).
  const bss = byName.get(".bss");
  const dataForBss = bss !== undefined && bss.contributions.some((c) => c.size > 0 || c.hasLabels);
  // Its alignment is the least any section has (DEFAULT_ALIGN), as a `.data` with nothing in it written by
  // the program gets: with 1, objdump showed the two differently, and objdump -d's listing, re-assembled,
  // was not the same file (its `.data` then had 4).
  if (dataForBss && !byName.has(".data")) byName.set(".data", { name: ".data", ...sectionFlags(".data"), addr: 0, size: 0, align: DEFAULT_ALIGN, contributions: [] });

  const sections: OutputSection[] = [];
  let cursor = textBase;
  for (const name of order) {
    const out = byName.get(name);
    if (!out) continue;
    // Files that only passed through a section (e.g. the implicit .text) add nothing.
    const used = name === ".text" || (name === ".data" && dataForBss) || out.contributions.some((c) => c.size > 0 || c.hasLabels);
    if (!used) continue;
    const allocated = (out.flags & SHF_ALLOC) !== 0;
    let offset = 0;
    for (const c of out.contributions) out.align = Math.max(out.align, c.align);
    const addr = allocated ? alignUp(cursor, Math.max(PAGE_SIZE, out.align)) : 0;
    for (const c of out.contributions) {
      offset = alignUp(offset, c.align);
      c.base = offset;
      offset += c.size;
      const tooBig = sectionSizeProblem(name, out.type, allocated, addr, offset);
      if (tooBig !== undefined) {
        report?.error(c.firstLoc, tooBig);
        // Left empty: nothing is laid out (or allocated) past the limit.
        for (const d of out.contributions) d.size = 0;
        out.contributions = [];
        offset = 0;
        break;
      }
    }
    out.size = offset;
    if (allocated) {
      out.addr = addr;
      for (const c of out.contributions) c.base += out.addr;
      cursor = out.addr + out.size;
    }
    sections.push(out);
  }
  return sections;
}
