// Mutations of real files, as lists of edits a shrinker can drop one by one:
// byte edits of an ELF file aimed at its fields (header, program and section
// headers, symbols, string tables) or anywhere, and line/token edits of a
// source text. Consumed by the elf, softlayer, asm and cc campaigns.

import type { Rng } from "./rng.js";

export type ByteEdit =
  | { op: "set"; at: number; size: 1 | 2 | 4; value: number }
  | { op: "flip"; at: number; bit: number }
  | { op: "fill"; at: number; length: number; value: number }
  | { op: "copy"; from: number; to: number; length: number }
  | { op: "truncate"; length: number }
  /** Sets a field in `count` records `stride` bytes apart. */
  | { op: "stripe"; at: number; stride: number; count: number; size: 1 | 2 | 4; value: number };

/** Applies edits in order to a copy of `base`. */
export function applyByteEdits(base: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let b = base.slice();
  const put = (at: number, size: number, value: number) => {
    for (let k = 0; k < size; k++) if (at + k >= 0 && at + k < b.length) b[at + k] = (value >>> (8 * k)) & 0xff;
  };
  for (const e of edits) {
    switch (e.op) {
      case "set":
        put(e.at, e.size, e.value);
        break;
      case "flip":
        if (e.at < b.length) b[e.at] ^= 1 << e.bit;
        break;
      case "fill":
        for (let i = e.at; i < Math.min(b.length, e.at + e.length); i++) b[i] = e.value;
        break;
      case "copy":
        b.copyWithin(e.to, e.from, e.from + e.length);
        break;
      case "truncate":
        b = b.slice(0, Math.min(b.length, e.length));
        break;
      case "stripe":
        for (let i = 0; i < e.count; i++) put(e.at + i * e.stride, e.size, e.value);
        break;
    }
  }
  return b;
}

/** Values that break assumptions: boundaries, alignments, sizes, the soft-layer window. */
export function interestingValue(r: Rng, original: number, fileLength: number): number {
  return r.pick([
    () => 0, () => 1, () => 2, () => 3, () => 4, () => 7, () => 8, () => 0x10, () => 0x7f, () => 0x80, () => 0xff, () => 0x100,
    () => 0xffe, () => 0xfff, () => 0x1000, () => 0x1001, () => 0x0ffe, () => 0xffff, () => 0x10000, () => 0x7fffffff,
    () => 0x80000000, () => 0xfffffffc, () => 0xffffffff, () => 0xffc00000, () => 0xfffe0000, () => 0xffff0000,
    () => original + 1, () => original - 1, () => original + 2, () => original + 4, () => original - 4, () => original * 2, () => original ^ (1 << r.int(32)),
    () => fileLength, () => fileLength - 1, () => fileLength + 1, () => r.u32(), () => r.int(256), () => r.int(0x10000),
  ])() >>> 0;
}

export const readU = (b: Uint8Array, at: number, size: number): number => {
  let v = 0;
  for (let k = size - 1; k >= 0; k--) v = v * 256 + (b[at + k] ?? 0);
  return v;
};

/** Where the fields of a valid ELF32 file are: the targets of field-aimed edits. */
export interface ElfLayout {
  /** [offset, size] of every header field (ELF header, program headers, section headers). */
  fields: [number, 1 | 2 | 4][];
  /** Symbol table entries: offset of the first, count (16 bytes each). */
  symtab?: { at: number; count: number };
  /** String tables: [offset, size]. */
  strtabs: [number, number][];
  /** Section headers: offset of the first, count (40 bytes each). */
  shdrs: { at: number; count: number };
  /** Program headers: offset, count (32 bytes each). */
  phdrs: { at: number; count: number };
  /** [offset, size] of every section's contents in the file. */
  contents: [number, number][];
}

const EHDR_FIELDS: [number, 1 | 2 | 4][] = [[4, 1], [5, 1], [6, 1], [16, 2], [18, 2], [20, 4], [24, 4], [28, 4], [32, 4], [36, 4], [40, 2], [42, 2], [44, 2], [46, 2], [48, 2], [50, 2]];
const PHDR_FIELDS: [number, 4][] = [0, 4, 8, 12, 16, 20, 24, 28].map((o) => [o, 4]);
const SHDR_FIELDS: [number, 4][] = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36].map((o) => [o, 4]);
const SYM_FIELDS: [number, 1 | 2 | 4][] = [[0, 4], [4, 4], [8, 4], [12, 1], [13, 1], [14, 2]];

export function elfLayout(b: Uint8Array): ElfLayout {
  const phoff = readU(b, 28, 4), phnum = readU(b, 44, 2), shoff = readU(b, 32, 4), shnum = readU(b, 48, 2);
  const fields: [number, 1 | 2 | 4][] = [...EHDR_FIELDS];
  for (let i = 0; i < phnum; i++) for (const [o, s] of PHDR_FIELDS) fields.push([phoff + 32 * i + o, s]);
  const strtabs: [number, number][] = [];
  const contents: [number, number][] = [];
  let symtab: ElfLayout["symtab"];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + 40 * i;
    for (const [o, s] of SHDR_FIELDS) fields.push([h + o, s]);
    const type = readU(b, h + 4, 4), off = readU(b, h + 16, 4), size = readU(b, h + 20, 4);
    if (type === 3) strtabs.push([off, size]);
    if (type === 2) symtab = { at: off, count: Math.floor(size / 16) };
    if (type !== 8 && size) contents.push([off, size]);
  }
  return { fields, symtab, strtabs, shdrs: { at: shoff, count: shnum }, phdrs: { at: phoff, count: phnum }, contents };
}

/** One edit of an ELF file, aimed mostly at its structure. */
export function elfEdit(r: Rng, b: Uint8Array, layout: ElfLayout): ByteEdit {
  const len = b.length;
  const field = (at: number, size: 1 | 2 | 4): ByteEdit => ({ op: "set", at, size, value: interestingValue(r, readU(b, at, size), len) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff) });
  return r.weighted<() => ByteEdit>([
    [30, () => field(...r.pick(layout.fields))],
    [12, () => {
      if (!layout.symtab || layout.symtab.count < 2) return field(...r.pick(layout.fields));
      const s = layout.symtab.at + 16 * r.int(layout.symtab.count);
      const [o, size] = r.pick(SYM_FIELDS);
      return field(s + o, size);
    }],
    [8, () => {
      const [off, size] = r.pick(layout.strtabs);
      const at = off + r.int(Math.max(size, 1));
      return r.chance(0.5) ? { op: "set", at, size: 1, value: r.pick([0, 0x41, 0xff, 0x80]) } : { op: "fill", at, length: r.range(1, 64), value: r.pick([0x41, 0xc3, 0xff]) };
    }],
    [14, () => ({ op: "flip", at: r.chance(0.5) && layout.contents.length ? (([o, s]) => o + r.int(Math.max(s, 1)))(r.pick(layout.contents)) : r.int(len), bit: r.int(8) })],
    [6, () => ({ op: "set", at: r.int(len), size: 1, value: r.int(256) })],
    [8, () => ({ op: "truncate", length: r.chance(0.5) ? r.int(len) : r.pick([0, 1, 16, 51, 52, 53, len - 1, len - 40, layout.shdrs.at, layout.phdrs.at + 32]) })],
    [6, () => {
      // A header or symbol copied over another: plausible-looking but inconsistent.
      const t = r.pick([{ ...layout.shdrs, size: 40 }, { ...layout.phdrs, size: 32 }, ...(layout.symtab ? [{ ...layout.symtab, size: 16 }] : [])]);
      if (t.count < 2) return field(...r.pick(layout.fields));
      return { op: "copy", from: t.at + t.size * r.int(t.count), to: t.at + t.size * r.int(t.count), length: t.size };
    }],
    [4, () => {
      // One field of every symbol (all names at one offset, all in one section, …).
      if (!layout.symtab || layout.symtab.count < 2) return field(...r.pick(layout.fields));
      const [o, size] = r.pick(SYM_FIELDS);
      return { op: "stripe", at: layout.symtab.at + 16 + o, stride: 16, count: layout.symtab.count - 1, size, value: interestingValue(r, 0, len) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff) };
    }],
    [4, () => {
      // One field of every section header.
      const [o] = r.pick(SHDR_FIELDS);
      return { op: "stripe", at: layout.shdrs.at + 40 + o, stride: 40, count: Math.max(layout.shdrs.count - 1, 0), size: 4, value: interestingValue(r, 0, len) };
    }],
  ])();
}

/** Source-text mutations, per line: the input stays a list of lines. */
export function mutateLines(r: Rng, lines: string[], tokens: readonly string[], edits: number): string[] {
  const out = lines.slice();
  for (let k = 0; k < edits; k++) {
    const i = r.int(Math.max(out.length, 1));
    const line = out[i] ?? "";
    r.weighted<() => void>([
      [10, () => out.splice(i, 1)],
      [8, () => out.splice(r.int(out.length + 1), 0, line)],
      [6, () => { const j = r.int(out.length); [out[i], out[j]] = [out[j], out[i]]; }],
      [12, () => { // replace a token with another from the vocabulary
        const parts = line.split(/(\s+|[,()[\]{};:+\-*/%<>=!&|^~?.])/);
        if (parts.length) parts[r.int(parts.length)] = r.pick(tokens);
        out[i] = parts.join("");
      }],
      [8, () => { const at = r.int(line.length + 1); out[i] = line.slice(0, at) + r.pick(tokens) + line.slice(at); }],
      [6, () => { const at = r.int(line.length + 1); out[i] = line.slice(0, at) + line.slice(at + r.range(1, 8)); }],
      [6, () => { out[i] = line.replace(/\b\d+\b|0x[0-9a-fA-F]+/, () => r.pick(HUGE_NUMBERS)); }],
      [3, () => { const at = r.int(line.length + 1); out[i] = line.slice(0, at) + String.fromCharCode(r.pick([0, 9, 13, 0x7f, 0xa0, 0x2028, 0xfeff, 0xd800, r.int(0x10000)])) + line.slice(at); }],
      [2, () => out.splice(r.int(out.length + 1))],
    ])();
  }
  return out;
}

export const HUGE_NUMBERS = [
  "0", "-1", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "0xFFFFFFFF", "0x100000000",
  "0x7FFFFFFF", "0x80000000", "99999999999999999999", "1e30", "0b1", "0o7", "1.5", "0x", "08", "9007199254740993", "-0",
  "0xFFC00000", "0xFFFE0000", "65536", "131072", "0x1000000",
];
