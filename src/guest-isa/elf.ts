// ELF32 writer and reader for G32 executables (docs/design.md §2, "Object format").
//
// Consumes / produces the in-memory ElfImage (elf-types.ts) that the linker
// builds and the machine loader, rewriter, verifier and disassembler read.
// writeElf turns an image into the bytes of a little-endian ET_EXEC file that
// binutils' readelf accepts; readElf turns bytes back into an image and
// refuses anything malformed with a UserError naming what is wrong — it never
// reads out of bounds and never lets a host exception escape.
//
// File layout written (offsets grow downwards):
//
//   ELF header (52 bytes)
//   program headers: one PT_LOAD per allocated section, sorted by address
//                    (p_offset ≡ p_vaddr mod 0x1000, p_align 0x1000, p_flags
//                    R + W if SHF_WRITE + X if SHF_EXECINSTR), except that
//                    .bss shares .data's (see loadSegments); readelf and
//                    eu-elflint accept the result
//   allocated section contents (file offset ≡ address mod 0x1000)
//   non-allocated section contents (.softlayer, …)
//   .symtab (null symbol, locals, then globals; sh_info = first global)
//   .strtab, .shstrtab
//   section header table: null, the image's sections in order, .symtab,
//                         .strtab, .shstrtab
//
// e_machine is EM_G32 = 0x3347 (not assigned by the ELF registry; its two
// bytes read "G3" in a hex dump). readelf prints it as "<unknown>: 0x3347".

import { shownName, UserError } from "./diagnostics.js";
import { imageLayoutProblem } from "./image-check.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, type ElfImage, type ElfSection, type ElfSymbol } from "./elf-types.js";

/** e_machine of G32 executables: unassigned in the ELF registry, chosen for previrt. */
export const EM_G32 = 0x3347;

export const ELF_HEADER_SIZE = 52;
export const PROGRAM_HEADER_SIZE = 32;
export const SECTION_HEADER_SIZE = 40;
export const SYMBOL_SIZE = 16;
/** Page size that PT_LOAD file offsets are congruent to their addresses modulo. */
export const ELF_PAGE_SIZE = 0x1000;

const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
const ET_EXEC = 2;

const SHT_NULL = 0;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;

const PT_LOAD = 1;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;

const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;

const KIND_TO_STT: Record<ElfSymbol["kind"], number> = { notype: STT_NOTYPE, object: STT_OBJECT, func: STT_FUNC };
const STT_TO_KIND: Record<number, ElfSymbol["kind"] | undefined> = { [STT_NOTYPE]: "notype", [STT_OBJECT]: "object", [STT_FUNC]: "func" };

const hex = (n: number) => "0x" + (n >>> 0).toString(16);
const alignUp = (n: number, a: number) => (a > 1 ? Math.ceil(n / a) * a : n);
const utf8 = new TextEncoder();

// ─── writer ──────────────────────────────────────────────────────────────────

/** A string table under construction: offset 0 is the empty string. */
class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  private readonly offsets = new Map<string, number>([["", 0]]);

  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const bytes = utf8.encode(s);
    if (bytes.includes(0)) throw new Error(`writeElf: name contains a NUL byte: ${JSON.stringify(s)}`);
    const off = this.size;
    this.parts.push(bytes, new Uint8Array(1));
    this.size += bytes.length + 1;
    this.offsets.set(s, off);
    return off;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const part of this.parts) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }
}

interface SectionHeader {
  name: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

/**
 * Writes an image as an ELF32 little-endian executable. Symbols are written
 * locals first, then globals (each group in the image's order). Throws a plain
 * Error for an image no linker should produce (a symbol naming a missing
 * section, a name with a NUL byte, a PROGBITS section whose data and size differ).
 */
export function writeElf(image: ElfImage): Uint8Array {
  const sections = image.sections;
  const sectionIndex = new Map<string, number>();
  sections.forEach((s, i) => {
    if (sectionIndex.has(s.name)) throw new Error(`writeElf: two sections named ${s.name}`);
    if (s.type !== SHT_NOBITS && s.data.length !== s.size) {
      throw new Error(`writeElf: section ${s.name}: size ${s.size} but ${s.data.length} bytes of data`);
    }
    sectionIndex.set(s.name, i + 1);
  });
  const strtabIndex = sections.length + 2;
  const shstrtabIndex = sections.length + 3;
  const shnum = sections.length + 4;
  if (shnum >= SHN_LORESERVE) throw new Error(`writeElf: too many sections (${sections.length})`);

  const shstrtab = new StringTable();
  const strtab = new StringTable();

  // Symbols: null, locals, globals.
  const ordered = [...image.symbols.filter((s) => !s.global), ...image.symbols.filter((s) => s.global)];
  const symtab = new Uint8Array(SYMBOL_SIZE * (ordered.length + 1));
  const symView = new DataView(symtab.buffer);
  ordered.forEach((sym, i) => {
    const p = SYMBOL_SIZE * (i + 1);
    let shndx = SHN_ABS;
    if (sym.section !== undefined) {
      const idx = sectionIndex.get(sym.section);
      if (idx === undefined) throw new Error(`writeElf: symbol ${sym.name} is in section ${sym.section}, which the image does not have`);
      shndx = idx;
    }
    symView.setUint32(p, strtab.add(sym.name), true);
    symView.setUint32(p + 4, sym.value >>> 0, true);
    symView.setUint32(p + 8, sym.size >>> 0, true);
    symView.setUint8(p + 12, ((sym.global ? STB_GLOBAL : STB_LOCAL) << 4) | KIND_TO_STT[sym.kind]);
    symView.setUint8(p + 13, 0);
    symView.setUint16(p + 14, shndx, true);
  });
  const firstGlobal = 1 + ordered.filter((s) => !s.global).length;
  const strtabBytes = strtab.bytes();

  // Program headers: one PT_LOAD per allocated section with a size, by address.
  const loadable = loadSegments(sections);
  const phoff = loadable.length > 0 ? ELF_HEADER_SIZE : 0;
  let pos = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE * loadable.length;

  // Section contents: allocated ones congruent to their address, then the rest.
  const headers: SectionHeader[] = [{ name: 0, type: SHT_NULL, flags: 0, addr: 0, offset: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0 }];
  const chunks: { offset: number; bytes: Uint8Array }[] = [];
  const offsetOf = new Map<ElfSection, number>();
  const congruent = (at: number, addr: number) => at + ((((addr - at) % ELF_PAGE_SIZE) + ELF_PAGE_SIZE) % ELF_PAGE_SIZE);
  const place = (s: ElfSection) => {
    const alloc = (s.flags & SHF_ALLOC) !== 0;
    const offset = alloc ? congruent(pos, s.addr) : alignUp(pos, Math.max(1, s.align));
    offsetOf.set(s, offset);
    if (s.type !== SHT_NOBITS) chunks.push({ offset, bytes: s.data });
    // A NOBITS section takes no bytes, but what follows starts at its offset: the file then reaches
    // every PT_LOAD's p_offset (eu-elflint flags a segment whose offset lies past the end of the file).
    pos = offset + (s.type === SHT_NOBITS ? 0 : s.size);
  };
  for (const s of sections) if ((s.flags & SHF_ALLOC) !== 0) place(s);
  for (const s of sections) if ((s.flags & SHF_ALLOC) === 0) place(s);
  for (const s of sections) {
    headers.push({
      name: shstrtab.add(s.name),
      type: s.type,
      flags: s.flags,
      addr: s.addr,
      offset: offsetOf.get(s)!,
      size: s.size,
      link: 0,
      info: 0,
      align: s.align,
      entsize: 0,
    });
  }

  pos = alignUp(pos, 4);
  headers.push({ name: shstrtab.add(".symtab"), type: SHT_SYMTAB, flags: 0, addr: 0, offset: pos, size: symtab.length, link: strtabIndex, info: firstGlobal, align: 4, entsize: SYMBOL_SIZE });
  chunks.push({ offset: pos, bytes: symtab });
  pos += symtab.length;
  headers.push({ name: shstrtab.add(".strtab"), type: SHT_STRTAB, flags: 0, addr: 0, offset: pos, size: strtabBytes.length, link: 0, info: 0, align: 1, entsize: 0 });
  chunks.push({ offset: pos, bytes: strtabBytes });
  pos += strtabBytes.length;
  const shstrtabName = shstrtab.add(".shstrtab");
  const shstrtabBytes = shstrtab.bytes();
  headers.push({ name: shstrtabName, type: SHT_STRTAB, flags: 0, addr: 0, offset: pos, size: shstrtabBytes.length, link: 0, info: 0, align: 1, entsize: 0 });
  chunks.push({ offset: pos, bytes: shstrtabBytes });
  pos += shstrtabBytes.length;

  const shoff = alignUp(pos, 4);
  const total = shoff + SECTION_HEADER_SIZE * shnum;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);

  // ELF header.
  out.set([0x7f, 0x45, 0x4c, 0x46, ELFCLASS32, ELFDATA2LSB, EV_CURRENT], 0);
  v.setUint16(16, ET_EXEC, true);
  v.setUint16(18, EM_G32, true);
  v.setUint32(20, EV_CURRENT, true);
  v.setUint32(24, image.entry >>> 0, true);
  v.setUint32(28, phoff, true);
  v.setUint32(32, shoff, true);
  v.setUint32(36, 0, true);
  v.setUint16(40, ELF_HEADER_SIZE, true);
  v.setUint16(42, PROGRAM_HEADER_SIZE, true);
  v.setUint16(44, loadable.length, true);
  v.setUint16(46, SECTION_HEADER_SIZE, true);
  v.setUint16(48, shnum, true);
  v.setUint16(50, shstrtabIndex, true);

  loadable.forEach((seg, i) => {
    const p = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE * i;
    const first = seg.members[0];
    const flags = PF_R | (first.flags & SHF_WRITE ? PF_W : 0) | (first.flags & SHF_EXECINSTR ? PF_X : 0);
    v.setUint32(p, PT_LOAD, true);
    v.setUint32(p + 4, offsetOf.get(first)!, true);
    v.setUint32(p + 8, first.addr >>> 0, true);
    v.setUint32(p + 12, first.addr >>> 0, true);
    v.setUint32(p + 16, seg.fileEnd - first.addr, true);
    v.setUint32(p + 20, seg.memEnd - first.addr, true);
    v.setUint32(p + 24, flags, true);
    v.setUint32(p + 28, ELF_PAGE_SIZE, true);
  });

  for (const c of chunks) out.set(c.bytes, c.offset);

  headers.forEach((h, i) => {
    const p = shoff + SECTION_HEADER_SIZE * i;
    v.setUint32(p, h.name, true);
    v.setUint32(p + 4, h.type, true);
    v.setUint32(p + 8, h.flags, true);
    v.setUint32(p + 12, h.addr >>> 0, true);
    v.setUint32(p + 16, h.offset, true);
    v.setUint32(p + 20, h.size >>> 0, true);
    v.setUint32(p + 24, h.link, true);
    v.setUint32(p + 28, h.info, true);
    v.setUint32(p + 32, h.align >>> 0, true);
    v.setUint32(p + 36, h.entsize, true);
  });
  return out;
}

/** A PT_LOAD segment being planned: its sections, where its file bytes and its memory end. */
interface PlannedSegment {
  members: ElfSection[];
  fileEnd: number;
  memEnd: number;
}

/**
 * The PT_LOAD segments: one per allocated section, by address (an empty one for an empty section) —
 * except that a NOBITS section (.bss) joins the segment of the writable
 * PROGBITS section (.data) just before it, even an empty one, as GNU ld does:
 * its memory then follows that segment's file bytes (the gap between them is
 * zero-filled like the rest). A writable segment holding only NOBITS
 * sections is one eu-elflint rejects ("writable but contains no writable
 * sections"); the linker gives every image with .bss a .data (layout.ts).
 */
function loadSegments(sections: readonly ElfSection[]): PlannedSegment[] {
  const alloc = sections
    .filter((s) => (s.flags & SHF_ALLOC) !== 0)
    // By address; at one address, empty sections first (eu-elflint matches an empty section to the first
    // segment starting at its offset), NOBITS last (it follows .data's bytes).
    .sort((a, b) => a.addr - b.addr || Number(a.size > 0) - Number(b.size > 0) || Number(a.type === SHT_NOBITS) - Number(b.type === SHT_NOBITS));
  const segments: PlannedSegment[] = [];
  let open: PlannedSegment | undefined; // the segment a NOBITS section may still join
  alloc.forEach((s) => {
    const writableProgbits = s.type !== SHT_NOBITS && (s.flags & SHF_WRITE) !== 0;
    if (s.type === SHT_NOBITS && open && (s.flags & (SHF_WRITE | SHF_EXECINSTR)) === (open.members[0].flags & (SHF_WRITE | SHF_EXECINSTR))) {
      open.members.push(s);
      open.memEnd = s.addr + s.size;
      return;
    }
    // An empty section still gets a segment (an empty one) of its own flags: eu-elflint wants every
    // allocated section inside a loaded segment whose permissions match it.
    const seg: PlannedSegment = { members: [s], fileEnd: s.addr + (s.type === SHT_NOBITS ? 0 : s.size), memEnd: s.addr + s.size };
    segments.push(seg);
    open = writableProgbits ? seg : undefined;
  });
  return segments;
}

// ─── reader ──────────────────────────────────────────────────────────────────

/** Bounds-checked little-endian reads: every read past the end is a UserError, never a RangeError. */
class ByteReader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  private check(offset: number, size: number, what: string): void {
    if (!(offset >= 0 && offset + size <= this.bytes.length)) {
      throw new UserError(`truncated ELF file: ${what} at offset ${hex(offset)} lies past the end of the file (${this.bytes.length} bytes)`);
    }
  }
  u8(offset: number, what: string): number {
    this.check(offset, 1, what);
    return this.view.getUint8(offset);
  }
  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, true);
  }
  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, true);
  }
}

interface RawSection extends SectionHeader {
  index: number;
  /** Resolved from .shstrtab. */
  label: string;
}

const utf8Decoder = new TextDecoder("utf-8");

/**
 * Reads names out of string tables, each distinct (table, offset) decoded
 * once. Symbols and sections may point into the middle of a name or share
 * one, so a hostile file could make the names it asks for far longer in total
 * than the file (16,000 symbols at one 250 KB name): what the reader scans and
 * decodes is charged to a budget proportional to the file's size, and a file
 * that exceeds it is refused, so reading costs time and memory in proportion
 * to the file.
 */
class NameReader {
  private readonly cache = new Map<number, string>();
  private budget: number;
  constructor(private readonly r: ByteReader) {
    this.budget = 2 * r.length + 0x10000;
  }

  /** The NUL-terminated string at `offset` inside `table`. */
  read(table: RawSection, offset: number, what: string): string {
    if (offset >= table.size) {
      throw new UserError(`${what}: name offset ${offset} is outside its string table (section ${table.index}, ${table.size} bytes)`);
    }
    const start = table.offset + offset;
    const key = start; // tables may overlap in the file: the bytes, not the table, decide the name
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const end = table.offset + table.size;
    const nul = this.r.bytes.subarray(start, end).indexOf(0);
    const scanned = nul < 0 ? end - start : nul + 1;
    this.budget -= scanned;
    if (this.budget < 0) {
      throw new UserError(`${what}: the names of this file's symbols and sections overlap so much that reading them would take far more memory than the file's ${this.r.length} bytes`);
    }
    if (nul < 0) throw new UserError(`${what}: name at string-table offset ${offset} is not NUL-terminated`);
    const name = utf8Decoder.decode(this.r.bytes.subarray(start, start + nul));
    this.cache.set(key, name);
    return name;
  }
}

/** Whether `bytes` begin with the ELF magic number (0x7f "ELF"): readElf's first check, and how the CLI names an ELF given where another file belongs. */
export function hasElfMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Parses an ELF32 G32 executable. Every structural problem — wrong magic,
 * class, byte order, type or machine; truncated headers; sections, segments or
 * names outside the file; symbols outside their sections; allocated sections
 * not covered by a PT_LOAD segment — is a UserError with a message saying
 * what and where. The image's sections are the PROGBITS/NOBITS sections in
 * file order; symbols come in .symtab order (locals first).
 */
export function readElf(bytes: Uint8Array): ElfImage {
  const r = new ByteReader(bytes);
  if (!hasElfMagic(bytes)) {
    throw new UserError("not an ELF file (bad magic number)");
  }
  if (bytes.length < ELF_HEADER_SIZE) {
    throw new UserError(`truncated ELF file: ${bytes.length} bytes, shorter than the ${ELF_HEADER_SIZE}-byte ELF header`);
  }
  if (bytes[4] !== ELFCLASS32) throw new UserError(`not a 32-bit ELF file (EI_CLASS ${bytes[4]}, expected 1 = ELFCLASS32)`);
  if (bytes[5] !== ELFDATA2LSB) throw new UserError(`not a little-endian ELF file (EI_DATA ${bytes[5]}, expected 1 = ELFDATA2LSB)`);
  if (bytes[6] !== EV_CURRENT) throw new UserError(`unsupported ELF version ${bytes[6]} in e_ident`);
  const type = r.u16(16, "e_type");
  if (type !== ET_EXEC) throw new UserError(`not an executable (e_type ${type}, expected 2 = ET_EXEC)`);
  const machine = r.u16(18, "e_machine");
  if (machine !== EM_G32) throw new UserError(`not a G32 executable (e_machine ${hex(machine)}, expected ${hex(EM_G32)})`);
  const version = r.u32(20, "e_version");
  if (version !== EV_CURRENT) throw new UserError(`unsupported ELF version ${version} in e_version`);
  const entry = r.u32(24, "e_entry");
  const phoff = r.u32(28, "e_phoff");
  const shoff = r.u32(32, "e_shoff");
  const ehsize = r.u16(40, "e_ehsize");
  const phentsize = r.u16(42, "e_phentsize");
  const phnum = r.u16(44, "e_phnum");
  const shentsize = r.u16(46, "e_shentsize");
  const shnum = r.u16(48, "e_shnum");
  const shstrndx = r.u16(50, "e_shstrndx");
  if (ehsize !== ELF_HEADER_SIZE) throw new UserError(`bad ELF header size ${ehsize} (expected ${ELF_HEADER_SIZE})`);
  if (phnum > 0 && phentsize !== PROGRAM_HEADER_SIZE) {
    throw new UserError(`bad program header entry size ${phentsize} (expected ${PROGRAM_HEADER_SIZE})`);
  }
  if (shnum === 0) throw new UserError("no section headers (e_shnum is 0); G32 executables need their section table");
  if (shentsize !== SECTION_HEADER_SIZE) throw new UserError(`bad section header entry size ${shentsize} (expected ${SECTION_HEADER_SIZE})`);
  if (phnum > 0 && phoff + phnum * PROGRAM_HEADER_SIZE > bytes.length) {
    throw new UserError(`truncated ELF file: ${phnum} program headers at offset ${hex(phoff)} run past the end of the file (${bytes.length} bytes)`);
  }
  if (shoff + shnum * SECTION_HEADER_SIZE > bytes.length) {
    throw new UserError(`truncated ELF file: ${shnum} section headers at offset ${hex(shoff)} run past the end of the file (${bytes.length} bytes)`);
  }
  if (shstrndx === SHN_UNDEF || shstrndx >= shnum) {
    throw new UserError(`bad section-name string table index ${shstrndx} (the file has ${shnum} sections)`);
  }

  // Section headers.
  const raw: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const p = shoff + SECTION_HEADER_SIZE * i;
    const what = `section header ${i}`;
    const h: RawSection = {
      index: i,
      label: "",
      name: r.u32(p, what),
      type: r.u32(p + 4, what),
      flags: r.u32(p + 8, what),
      addr: r.u32(p + 12, what),
      offset: r.u32(p + 16, what),
      size: r.u32(p + 20, what),
      link: r.u32(p + 24, what),
      info: r.u32(p + 28, what),
      align: r.u32(p + 32, what),
      entsize: r.u32(p + 36, what),
    };
    if (h.type !== SHT_NOBITS && h.type !== SHT_NULL && h.offset + h.size > bytes.length) {
      throw new UserError(`section ${i}: contents at offset ${hex(h.offset)} + ${hex(h.size)} bytes lie outside the file (${bytes.length} bytes)`);
    }
    raw.push(h);
  }
  const shstr = raw[shstrndx];
  if (shstr.type !== SHT_STRTAB) throw new UserError(`section-name string table (section ${shstrndx}) is not a string table (type ${shstr.type})`);
  const names = new NameReader(r);
  for (const h of raw.slice(1)) h.label = names.read(shstr, h.name, `section ${h.index}`);

  // The image's sections: PROGBITS and NOBITS, in file order.
  const sections: ElfSection[] = [];
  const byIndex = new Map<number, ElfSection>();
  let symtab: RawSection | undefined;
  for (const h of raw.slice(1)) {
    const what = `section ${h.index} (${shownName(h.label)})`;
    if (h.type === SHT_SYMTAB) {
      if (symtab) throw new UserError(`more than one symbol table (sections ${symtab.index} and ${h.index})`);
      symtab = h;
      continue;
    }
    if (h.type === SHT_STRTAB) continue;
    if (h.type !== SHT_PROGBITS && h.type !== SHT_NOBITS) throw new UserError(`${what}: unsupported section type ${h.type}`);
    if (h.label === "") throw new UserError(`section ${h.index} has no name`);
    const data = h.type === SHT_NOBITS ? new Uint8Array(0) : bytes.slice(h.offset, h.offset + h.size);
    const s: ElfSection = { name: h.label, type: h.type, flags: h.flags, addr: h.addr, data, size: h.size, align: h.align };
    sections.push(s);
    byIndex.set(h.index, s);
  }
  // Names, alignment, bounds, code placement: the rules every reader of an image relies on (image-check.ts).
  const layout = imageLayoutProblem({ entry, sections, symbols: [] });
  if (layout !== undefined) throw new UserError(layout);

  checkSegments(r, phoff, phnum, raw, bytes.length);

  // Symbols.
  const symbols: ElfSymbol[] = [];
  if (symtab) {
    if (symtab.entsize !== SYMBOL_SIZE) throw new UserError(`symbol table: entry size ${symtab.entsize} (expected ${SYMBOL_SIZE})`);
    if (symtab.size % SYMBOL_SIZE !== 0) throw new UserError(`symbol table: size ${symtab.size} is not a multiple of ${SYMBOL_SIZE}`);
    if (symtab.link === 0 || symtab.link >= shnum || raw[symtab.link].type !== SHT_STRTAB) {
      throw new UserError(`symbol table: sh_link ${symtab.link} is not a string table`);
    }
    const strs = raw[symtab.link];
    const count = symtab.size / SYMBOL_SIZE;
    if (count === 0) throw new UserError("symbol table: missing the null symbol");
    if (symtab.info > count) throw new UserError(`symbol table: first global index ${symtab.info} is past its ${count} symbols`);
    for (let i = 0; i < count; i++) {
      const p = symtab.offset + SYMBOL_SIZE * i;
      const what = `symbol ${i}`;
      const nameOff = r.u32(p, what);
      const value = r.u32(p + 4, what);
      const size = r.u32(p + 8, what);
      const info = r.u8(p + 12, what);
      const shndx = r.u16(p + 14, what);
      if (i === 0) {
        if (nameOff !== 0 || value !== 0 || size !== 0 || info !== 0 || shndx !== 0) throw new UserError("symbol table: entry 0 is not the null symbol");
        continue;
      }
      const name = names.read(strs, nameOff, what);
      // Built only for an error: a name may be long and shared by every symbol (time in proportion to the file).
      const label = () => `symbol ${i} (${shownName(name)})`;
      if (name === "") throw new UserError(`${what} has no name`);
      const bind = info >> 4;
      const kind = STT_TO_KIND[info & 0xf];
      if (bind !== STB_LOCAL && bind !== STB_GLOBAL) throw new UserError(`${label()}: unsupported binding ${bind}`);
      if (!kind) throw new UserError(`${label()}: unsupported symbol type ${info & 0xf}`);
      const global = bind === STB_GLOBAL;
      if (global !== i >= symtab.info) {
        throw new UserError(`${label()}: ${global ? "global" : "local"} symbol on the wrong side of the first global (index ${symtab.info})`);
      }
      const sym: ElfSymbol = { name, value, size, global, kind };
      if (shndx === SHN_UNDEF) throw new UserError(`${label()} is undefined (an executable has no undefined symbols)`);
      if (shndx !== SHN_ABS) {
        const s = byIndex.get(shndx);
        if (!s) throw new UserError(`${label()}: section index ${shndx} is not a PROGBITS/NOBITS section of this file`);
        if (value < s.addr || value > s.addr + s.size) {
          throw new UserError(`${label()}: value ${hex(value)} lies outside its section ${shownName(s.name)} (${hex(s.addr)}–${hex(s.addr + s.size)})`);
        }
        sym.section = s.name;
      }
      symbols.push(sym);
    }
  }
  return { entry, sections, symbols };
}

interface Segment {
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** Validates the program headers and that every allocated section is loaded by a PT_LOAD segment at its own bytes. */
function checkSegments(r: ByteReader, phoff: number, phnum: number, raw: RawSection[], fileSize: number): void {
  const loads: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + PROGRAM_HEADER_SIZE * i;
    const what = `program header ${i}`;
    const type = r.u32(p, what);
    if (type !== PT_LOAD) continue; // PT_NULL and others carry nothing the image needs
    const seg: Segment = { offset: r.u32(p + 4, what), vaddr: r.u32(p + 8, what), filesz: r.u32(p + 16, what), memsz: r.u32(p + 20, what) };
    const align = r.u32(p + 28, what);
    if (seg.filesz > 0 && seg.offset + seg.filesz > fileSize) {
      throw new UserError(`segment ${i} (PT_LOAD): file bytes at offset ${hex(seg.offset)} + ${hex(seg.filesz)} lie outside the file (${fileSize} bytes)`);
    }
    if (seg.filesz > seg.memsz) throw new UserError(`segment ${i} (PT_LOAD): file size ${hex(seg.filesz)} exceeds memory size ${hex(seg.memsz)}`);
    if (seg.vaddr + seg.memsz > 2 ** 32) throw new UserError(`segment ${i} (PT_LOAD): wraps past the end of the address space`);
    if (align > 1 && (align & (align - 1)) === 0 && seg.offset % align !== seg.vaddr % align) {
      throw new UserError(`segment ${i} (PT_LOAD): file offset ${hex(seg.offset)} and address ${hex(seg.vaddr)} differ modulo its alignment ${hex(align)}`);
    }
    loads.push(seg);
  }
  // The segment covering a section: among those starting at or below it, the one reaching furthest.
  // Sorted once and binary-searched, so a file with thousands of sections and segments costs n log n, not n².
  loads.sort((a, b) => a.vaddr - b.vaddr);
  const furthest: Segment[] = [];
  for (const s of loads) {
    const prev = furthest[furthest.length - 1];
    furthest.push(prev && prev.vaddr + prev.memsz >= s.vaddr + s.memsz ? prev : s);
  }
  const covering = (addr: number, end: number): Segment | undefined => {
    let lo = 0, hi = loads.length; // first index with vaddr > addr
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (loads[mid].vaddr <= addr) lo = mid + 1;
      else hi = mid;
    }
    const seg = lo > 0 ? furthest[lo - 1] : undefined;
    return seg && end <= seg.vaddr + seg.memsz ? seg : undefined;
  };
  for (const h of raw.slice(1)) {
    if ((h.flags & SHF_ALLOC) === 0 || h.size === 0 || (h.type !== SHT_PROGBITS && h.type !== SHT_NOBITS)) continue;
    const seg = covering(h.addr, h.addr + h.size);
    const range = `${hex(h.addr)}–${hex(h.addr + h.size)}`;
    if (!seg) throw new UserError(`section ${shownName(h.label)} (${range}) is not covered by a PT_LOAD segment`);
    if (h.type === SHT_PROGBITS) {
      if (h.addr + h.size > seg.vaddr + seg.filesz) throw new UserError(`section ${shownName(h.label)} (${range}) extends past the file bytes of its PT_LOAD segment`);
      const expected = seg.offset + (h.addr - seg.vaddr);
      if (expected !== h.offset) {
        throw new UserError(`section ${shownName(h.label)}: file offset ${hex(h.offset)} disagrees with its PT_LOAD segment (which puts it at ${hex(expected)})`);
      }
    }
  }
}
