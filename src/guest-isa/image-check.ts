// The layout rules every reader of an ElfImage relies on, checked in one
// place. The ELF reader (elf.ts), the site-table validator
// (site-validate.ts, and through it the rewriter and `previrt verify`) and
// the machine's loader all call imageLayoutProblem()/checkImageLayout(), so
// none of them carries an assumption the others do not check — before this,
// the validator and the rewriter computed a site's offset in a .text at
// 0x0ffe differently, and a NOBITS .text reached the validator with no bytes.
//
// Consumes: an ElfImage (read from a file, or built in memory by the linker or
// a test). Produces: the first broken rule as a message (or a UserError).
//
// The rules:
//   - section names are non-empty, unique, NUL-free and not one previrt's ELF
//     writer makes itself (.symtab, .strtab, .shstrtab);
//   - a section is SHT_PROGBITS or SHT_NOBITS; a PROGBITS section's bytes are
//     exactly its size; its alignment is 0 or a power of two;
//   - an allocated section starts on its alignment, ends inside the 32-bit
//     address space and overlaps no other allocated section;
//   - code (.text, and any SHF_EXECINSTR section) is allocated PROGBITS at a
//     word-aligned address: the CPU fetches words, the validator and the
//     rewriter index .text by words;
//   - .softlayer is a non-allocated PROGBITS section (a table, never loaded);
//   - the entry point is word-aligned, and inside a code section when the
//     image has any.

import { shownName, UserError } from "./diagnostics.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, SOFTLAYER_SECTION, type ElfImage, type ElfSection } from "./elf-types.js";

/** Instructions are this many bytes and must start on a multiple of it. */
export const CODE_ALIGN = 4;

/** The size of the guest address space: no section may reach past it. */
export const ADDRESS_SPACE = 2 ** 32;

/** Section names previrt's ELF writer emits itself: a section of the image may not take them. */
export const RESERVED_SECTION_NAMES: ReadonlySet<string> = new Set([".symtab", ".strtab", ".shstrtab"]);

/** Why `name` cannot name a section of an image, or undefined when it can (shared with the assembler's `.section`). */
export function sectionNameProblem(name: string): string | undefined {
  if (name === "") return "a section needs a name";
  if (name.includes("\0")) return `section name ${JSON.stringify(name)} contains a NUL byte`;
  if (RESERVED_SECTION_NAMES.has(name)) return `section name ${name} is reserved (previrt's ELF writer makes that section itself)`;
  return undefined;
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16);
const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Whether a section holds code (the CPU may fetch from it; the rewriter patches .text). */
export function isCodeSection(s: ElfSection): boolean {
  return s.name === ".text" || (s.flags & SHF_EXECINSTR) !== 0;
}

/** The first layout rule the image breaks, as a message; undefined when it keeps them all. */
export function imageLayoutProblem(image: ElfImage): string | undefined {
  const names = new Set<string>();
  for (const s of image.sections) {
    const bad = sectionNameProblem(s.name);
    if (bad) return bad;
    if (names.has(s.name)) return `two sections named ${shownName(s.name)}`;
    names.add(s.name);
    const what = `section ${shownName(s.name)}`;
    if (s.type !== SHT_PROGBITS && s.type !== SHT_NOBITS) return `${what}: unsupported section type ${s.type}`;
    if (!Number.isInteger(s.size) || s.size < 0 || s.size >= ADDRESS_SPACE) return `${what}: size ${s.size} does not fit in 32 bits`;
    if (s.type === SHT_PROGBITS && s.data.length !== s.size) return `${what}: size ${hex(s.size)} but ${hex(s.data.length)} bytes of contents`;
    if (s.align !== 0 && !isPowerOfTwo(s.align)) return `${what}: alignment ${s.align} is not a power of two`;
    const alloc = (s.flags & SHF_ALLOC) !== 0;
    if (alloc) {
      if (!Number.isInteger(s.addr) || s.addr < 0 || s.addr >= ADDRESS_SPACE) return `${what}: address ${s.addr} is not a 32-bit address`;
      if (s.align > 1 && s.addr % s.align !== 0) return `${what}: address ${hex(s.addr)} is not aligned to ${s.align}`;
      if (s.addr + s.size > ADDRESS_SPACE) return `${what}: ${hex(s.addr)} + ${hex(s.size)} bytes wraps past the end of the address space`;
    }
    if (isCodeSection(s)) {
      if (s.type !== SHT_PROGBITS) return `${what} holds code but is SHT_NOBITS (no contents in the file)`;
      if (!alloc) return `${what} holds code but is not allocated (SHF_ALLOC), so it would never be loaded`;
      if (s.addr % CODE_ALIGN !== 0) return `${what} holds code but starts at ${hex(s.addr)}, which is not ${CODE_ALIGN}-byte aligned`;
    }
    if (s.name === SOFTLAYER_SECTION && (s.type !== SHT_PROGBITS || alloc)) {
      return `section ${SOFTLAYER_SECTION} must be a non-allocated SHT_PROGBITS table (type ${s.type}, flags ${hex(s.flags)})`;
    }
  }
  const alloc = image.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0 && s.size > 0).sort((a, b) => a.addr - b.addr);
  for (let i = 1; i < alloc.length; i++) {
    const a = alloc[i - 1], b = alloc[i];
    if (a.addr + a.size > b.addr) return `sections ${shownName(a.name)} and ${shownName(b.name)} overlap in memory (${hex(a.addr)}+${hex(a.size)} and ${hex(b.addr)})`;
  }
  return entryProblem(image);
}

/** Why the image's entry point breaks the rules (the last two above), or undefined; the assembler checks `_start` with it. */
export function entryProblem(image: ElfImage): string | undefined {
  if (!Number.isInteger(image.entry) || image.entry < 0 || image.entry >= ADDRESS_SPACE) return `entry point ${image.entry} is not a 32-bit address`;
  if (image.entry % CODE_ALIGN !== 0) return `entry point ${hex(image.entry)} is not ${CODE_ALIGN}-byte aligned`;
  // An image with code starts in it: elsewhere the CPU would fetch data or nothing at all.
  const code = image.sections.filter((s) => isCodeSection(s) && s.size > 0);
  if (code.length > 0 && !code.some((s) => image.entry >= s.addr && image.entry < s.addr + s.size)) {
    return `entry point ${hex(image.entry)} is outside the code (${code.map((s) => `${shownName(s.name)} ${hex(s.addr)}–${hex(s.addr + s.size)}`).join(", ")})`;
  }
  return undefined;
}

/** Throws a UserError naming the first layout rule the image breaks. */
export function checkImageLayout(image: ElfImage): void {
  const problem = imageLayoutProblem(image);
  if (problem !== undefined) throw new UserError(problem);
}
