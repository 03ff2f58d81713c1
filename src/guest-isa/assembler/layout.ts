// Layout (the linker's first half): every file's Contributions (pass1.ts) →
// output sections with addresses. Per output section, the contributions are
// concatenated in input-file order, each aligned to its own alignment (its
// largest `.align`, at least 4). Allocated sections are placed in the order
// .text (at TEXT_BASE), .rodata, .data, .bss, then other `.section`s in order
// of first appearance, each starting on a page boundary. `.softlayer` is not
// allocated: address 0, offsets from its start.
//
// Sets each Contribution's `base`; the buffers are filled by pass 2.

import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, SOFTLAYER_SECTION } from "../elf-types.js";
import type { Contribution, FileUnit } from "./units.js";

export const TEXT_BASE = 0x1000;
export const PAGE_SIZE = 0x1000;

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
export function layoutSections(units: readonly FileUnit[], textBase = TEXT_BASE): OutputSection[] {
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

  const sections: OutputSection[] = [];
  let cursor = textBase;
  for (const name of order) {
    const out = byName.get(name);
    if (!out) continue;
    // Files that only passed through a section (e.g. the implicit .text) add nothing.
    const used = name === ".text" || out.contributions.some((c) => c.size > 0 || c.hasLabels);
    if (!used) continue;
    const allocated = (out.flags & SHF_ALLOC) !== 0;
    let offset = 0;
    for (const c of out.contributions) {
      offset = alignUp(offset, c.align);
      out.align = Math.max(out.align, c.align);
      c.base = offset;
      offset += c.size;
    }
    out.size = offset;
    if (allocated) {
      out.addr = alignUp(cursor, Math.max(PAGE_SIZE, out.align));
      for (const c of out.contributions) c.base += out.addr;
      cursor = out.addr + out.size;
    }
    sections.push(out);
  }
  return sections;
}
