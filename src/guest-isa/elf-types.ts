// The in-memory form of a G32 executable, shared by the linker (which builds
// it), the ELF writer/reader (elf.ts, which turns it into bytes and back), the
// machine's loader and the rewriter. Addresses are virtual = physical at load
// (paging is off at reset).

export const SHT_PROGBITS = 1;
export const SHT_NOBITS = 8;
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

/** The annotation table's section name (docs/design.md §3). Not loaded into guest memory. */
export const SOFTLAYER_SECTION = ".softlayer";

export interface ElfSection {
  /** ".text", ".rodata", ".data", ".bss", ".softlayer", or a `.section NAME`. */
  name: string;
  /** SHT_PROGBITS or SHT_NOBITS (.bss). */
  type: number;
  /** SHF_* bits. Sections without SHF_ALLOC (".softlayer") are not loaded. */
  flags: number;
  /** Load address (0 for non-allocated sections). */
  addr: number;
  /** Contents; for SHT_NOBITS an empty array and `size` says how much to zero. */
  data: Uint8Array;
  size: number;
  /** Alignment in bytes. */
  align: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  global: boolean;
  /** "func" for code labels, "object" for data labels, "notype" for `.equ` constants. */
  kind: "func" | "object" | "notype";
  /** The section it is defined in; undefined for absolute symbols (`.equ`). */
  section?: string;
}

export interface ElfImage {
  entry: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
}

export function findSection(image: ElfImage, name: string): ElfSection | undefined {
  return image.sections.find((s) => s.name === name);
}
