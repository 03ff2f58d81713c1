// The `.softlayer` table: the record of every annotated site in an ELF
// (docs/design.md §3). The annotator writes it as assembly data (one table per
// file), the linker merges the per-file tables into one sorted table, and the
// rewriter and `previrt verify` read it. docs/softlayer.md describes the
// layout for people; this file is the layout for programs.
//
// Table (little-endian):
//   header, 16 bytes:
//     u32 magic         SOFTLAYER_MAGIC ("SLAY")
//     u16 version       SOFTLAYER_VERSION
//     u16 recordSize    SOFTLAYER_RECORD_SIZE
//     u32 count         number of records
//     u32 stringsOffset offset of the string area from the start of the table
//   count records, recordSize bytes each:
//     u32 addr    site address (first byte of the original instruction)
//     u16 length  site length in bytes (original instruction + padding), ≥ 4, multiple of 4
//     u8  kind    SiteKind
//     u8  flags   SITE_FLAG_*
//     u8  regA    the instruction's field A (rd) — what the rewriter needs to rebuild it
//     u8  regB    the instruction's field B (rs1)
//     u16 imm     port number, control-register number or memory offset (low 16 bits)
//     u32 line    1-based source line the site came from (0 = unknown)
//     u32 file    offset of the source file name (NUL-terminated) in the string area
//   string area: NUL-terminated file names.
//
// Unlike the Afterburner's `.afterburn` ({start, end} pairs), records carry
// their kind and operands, and the table is versioned.

import { BY_OPCODE, INSTRUCTIONS } from "./isa-table.js";

export const SOFTLAYER_MAGIC = 0x59414c53; // "SLAY" in little-endian byte order
export const SOFTLAYER_VERSION = 1;
export const SOFTLAYER_HEADER_SIZE = 16;
export const SOFTLAYER_RECORD_SIZE = 20;

/** The record covers a `.noannotate` region (left native on purpose), not a site. */
export const SITE_FLAG_EXEMPT = 1 << 0;

/**
 * Site kinds. An instruction site's kind is the opcode of its sensitive
 * instruction (so every sensitive row of the ISA table is a kind, with no
 * second list to keep in step); memory-sensitive and spinlock sites use
 * kinds above the opcode space.
 */
export const MEMORY_SITE_KINDS = {
  "pte-load": 64,
  "pte-store": 65,
  "mmio-load": 66,
  "mmio-store": 67,
} as const;
export type MemorySiteKind = keyof typeof MEMORY_SITE_KINDS;

/**
 * Spinlock sites (`.sensitive lock` / `.sensitive unlock`, emitted by the
 * compiler's spinLock/spinUnlock): `lock` is the swap that tries to take the
 * lock inside the test-and-set loop, `unlock` the store that releases it
 * (docs/design.md §3). Unprivileged, so native everywhere today; they are
 * sites so that a back end can replace them (lock-holder preemption, issue 15).
 * `ticket` (`.sensitive ticket`, a ticket lock's acquire: fixtures/kernel/
 * ticketlock.s) is the fetch-and-add that takes a ticket from the lock's
 * next-ticket word; the lock's now-serving word is the word after it. A
 * ticket lock's release is an `unlock` site (the store of the next ticket
 * to serve).
 */
export const LOCK_SITE_KINDS = {
  lock: 68,
  unlock: 69,
  ticket: 70,
} as const;
export type LockSiteKind = keyof typeof LOCK_SITE_KINDS;
/**
 * The one instruction each lock kind holds. A lock site's amoswap has rd = rs2
 * (`amoswap rd, rd, off(rs1)`), and so has a ticket site's amoadd (`amoadd
 * rd, rd, off(rs1)`: the increment in, the ticket out), so the record's regA,
 * regB and imm rebuild them.
 */
export const LOCK_SITE_INSTRUCTION: Readonly<Record<LockSiteKind, string>> = { lock: "amoswap", unlock: "sw", ticket: "amoadd" };
/** The lock kinds whose instruction is an atomic `op rd, rd, off(rs1)` (rd = rs2; the record carries only rd). */
export const SWAPPED_IN_KINDS: ReadonlySet<LockSiteKind> = new Set<LockSiteKind>(["lock", "ticket"]);

/** Kind number → name ("cli", "wrpsr", "pte-store", …). */
export const SITE_KIND_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  ...INSTRUCTIONS.filter((r) => r.sensitive).map((r) => [r.opcode, r.mnemonic] as [number, string]),
  ...Object.entries(MEMORY_SITE_KINDS).map(([name, k]) => [k, name] as [number, string]),
  ...Object.entries(LOCK_SITE_KINDS).map(([name, k]) => [k, name] as [number, string]),
]);

/** Kind name → number. */
export const SITE_KINDS: ReadonlyMap<string, number> = new Map([...SITE_KIND_NAMES].map(([k, n]) => [n, k]));

export function siteKindName(kind: number): string {
  return SITE_KIND_NAMES.get(kind) ?? `unknown(${kind})`;
}

/** The instruction-site kind of an opcode, if that instruction is sensitive. */
export function instructionSiteKind(opcode: number): number | undefined {
  return BY_OPCODE[opcode]?.sensitive ? opcode : undefined;
}

export interface SiteRecord {
  addr: number;
  length: number;
  kind: number;
  flags: number;
  regA: number;
  regB: number;
  imm: number;
  line: number;
  file: string;
}

export interface SoftlayerTable {
  version: number;
  records: SiteRecord[];
}

/** A problem with a table's bytes; `record` is the index of the first bad record, if any. */
export class SoftlayerFormatError extends Error {
  constructor(
    message: string,
    readonly record?: number,
  ) {
    super(message);
    this.name = "SoftlayerFormatError";
  }
}

/**
 * A table's records as columns, one typed array per field: what the load
 * path (validator, rewriter) reads, with no object per record.
 */
export interface SiteColumns {
  readonly version: number;
  readonly count: number;
  readonly addr: Uint32Array;
  readonly length: Uint16Array;
  readonly kind: Uint8Array;
  readonly flags: Uint8Array;
  readonly regA: Uint8Array;
  readonly regB: Uint8Array;
  readonly imm: Uint16Array;
  readonly line: Uint32Array;
  /** Per record, its file name's index in `files`. */
  readonly fileIndex: Uint32Array;
  readonly files: readonly string[];
}

/** Record `i` of a table as an object. */
export function recordAt(c: SiteColumns, i: number): SiteRecord {
  return {
    addr: c.addr[i], length: c.length[i], kind: c.kind[i], flags: c.flags[i], regA: c.regA[i], regB: c.regB[i],
    imm: c.imm[i], line: c.line[i], file: c.files[c.fileIndex[i]],
  };
}

function toTable(c: SiteColumns): SoftlayerTable {
  const records = new Array<SiteRecord>(c.count);
  for (let i = 0; i < c.count; i++) records[i] = recordAt(c, i);
  return { version: c.version, records };
}

/**
 * Parses one or more tables laid end to end (what the linker sees before
 * merging: one per input file). Checks only the byte-level format; the
 * rewriter's validator checks addresses against .text.
 */
export function parseSoftlayerTables(bytes: Uint8Array): SoftlayerTable[] {
  const tables: SoftlayerTable[] = [];
  let at = 0;
  while (at < bytes.length) {
    const { columns, size } = parseOne(bytes, at);
    tables.push(toTable(columns));
    at += size;
  }
  return tables;
}

/** Parses exactly one table occupying all of `bytes`. */
export function parseSoftlayerTable(bytes: Uint8Array): SoftlayerTable {
  return toTable(parseSoftlayerColumns(bytes));
}

/** Parses exactly one table occupying all of `bytes`, as columns. */
export function parseSoftlayerColumns(bytes: Uint8Array): SiteColumns {
  const { columns, size } = parseOne(bytes, 0);
  if (size !== bytes.length) throw new SoftlayerFormatError(`${bytes.length - size} stray bytes after the table`);
  return columns;
}

function parseOne(bytes: Uint8Array, base: number): { columns: SiteColumns; size: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const avail = bytes.length - base;
  if (avail < SOFTLAYER_HEADER_SIZE) throw new SoftlayerFormatError(`truncated header (${avail} of ${SOFTLAYER_HEADER_SIZE} bytes)`);
  const magic = view.getUint32(base, true);
  if (magic !== SOFTLAYER_MAGIC) throw new SoftlayerFormatError(`bad magic 0x${magic.toString(16).padStart(8, "0")}`);
  const version = view.getUint16(base + 4, true);
  if (version !== SOFTLAYER_VERSION) throw new SoftlayerFormatError(`unknown version ${version} (this previrt reads version ${SOFTLAYER_VERSION})`);
  const recordSize = view.getUint16(base + 6, true);
  if (recordSize !== SOFTLAYER_RECORD_SIZE) throw new SoftlayerFormatError(`record size ${recordSize}, expected ${SOFTLAYER_RECORD_SIZE}`);
  const count = view.getUint32(base + 8, true);
  const stringsOffset = view.getUint32(base + 12, true);
  const recordsEnd = SOFTLAYER_HEADER_SIZE + count * recordSize;
  if (recordsEnd > avail) throw new SoftlayerFormatError(`truncated: ${count} records need ${recordsEnd} bytes, ${avail} present`);
  if (stringsOffset < recordsEnd || stringsOffset > avail) throw new SoftlayerFormatError(`string area offset ${stringsOffset} out of bounds`);
  const c = {
    version, count,
    addr: new Uint32Array(count), length: new Uint16Array(count), kind: new Uint8Array(count), flags: new Uint8Array(count),
    regA: new Uint8Array(count), regB: new Uint8Array(count), imm: new Uint16Array(count), line: new Uint32Array(count),
    fileIndex: new Uint32Array(count), files: [] as string[],
  };
  // The string area runs to the end of the last name a record uses (then zero padding to a word).
  let end = stringsOffset;
  // Records share a handful of file names: decode each once.
  const indexByOffset = new Map<number, number>();
  const decoder = new TextDecoder();
  // Records may point into the middle of a name: bound what distinct offsets cost in total, so a
  // table's names never take more than a small multiple of its own size to read.
  let nameBudget = 2 * avail + 0x10000;
  for (let i = 0; i < count; i++) {
    const r = base + SOFTLAYER_HEADER_SIZE + i * recordSize;
    const fileOff = view.getUint32(r + 16, true);
    let fi = indexByOffset.get(fileOff);
    if (fi === undefined) {
      const nameStart = stringsOffset + fileOff;
      if (nameStart >= avail) throw new SoftlayerFormatError(`record ${i}: file name offset ${fileOff} out of bounds`, i);
      const nul = bytes.indexOf(0, base + nameStart);
      if (nul < 0) throw new SoftlayerFormatError(`record ${i}: file name not terminated`, i);
      nameBudget -= nul - (base + nameStart) + 1;
      if (nameBudget < 0) throw new SoftlayerFormatError(`record ${i}: the records' file names overlap so much that reading them would take far more memory than the table`, i);
      end = Math.max(end, nul - base + 1);
      fi = c.files.push(decoder.decode(bytes.subarray(base + nameStart, nul))) - 1;
      indexByOffset.set(fileOff, fi);
    }
    c.addr[i] = view.getUint32(r, true);
    c.length[i] = view.getUint16(r + 4, true);
    c.kind[i] = bytes[r + 6];
    c.flags[i] = bytes[r + 7];
    c.regA[i] = bytes[r + 8];
    c.regB[i] = bytes[r + 9];
    c.imm[i] = view.getUint16(r + 10, true);
    c.line[i] = view.getUint32(r + 12, true);
    c.fileIndex[i] = fi;
  }
  // Skip the padding that aligns the next table (zeros) up to a 4-byte boundary.
  while (end < avail && (end & 3) !== 0 && bytes[base + end] === 0) end++;
  return { columns: c, size: end };
}

/** Serialises records as one table (the linker's output, and tests'). */
export function serializeSoftlayerTable(records: readonly SiteRecord[]): Uint8Array {
  const files = [...new Set(records.map((r) => r.file))];
  const encoder = new TextEncoder();
  const fileOffsets = new Map<string, number>();
  const strings: number[] = [];
  for (const f of files) {
    fileOffsets.set(f, strings.length);
    strings.push(...encoder.encode(f), 0);
  }
  while (strings.length & 3) strings.push(0);
  const stringsOffset = SOFTLAYER_HEADER_SIZE + records.length * SOFTLAYER_RECORD_SIZE;
  const out = new Uint8Array(stringsOffset + strings.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, SOFTLAYER_MAGIC, true);
  view.setUint16(4, SOFTLAYER_VERSION, true);
  view.setUint16(6, SOFTLAYER_RECORD_SIZE, true);
  view.setUint32(8, records.length, true);
  view.setUint32(12, stringsOffset, true);
  records.forEach((rec, i) => {
    const r = SOFTLAYER_HEADER_SIZE + i * SOFTLAYER_RECORD_SIZE;
    view.setUint32(r, rec.addr >>> 0, true);
    view.setUint16(r + 4, rec.length, true);
    view.setUint8(r + 6, rec.kind);
    view.setUint8(r + 7, rec.flags);
    view.setUint8(r + 8, rec.regA);
    view.setUint8(r + 9, rec.regB);
    view.setUint16(r + 10, rec.imm & 0xffff, true);
    view.setUint32(r + 12, rec.line >>> 0, true);
    view.setUint32(r + 16, fileOffsets.get(rec.file)!, true);
  });
  out.set(strings, stringsOffset);
  return out;
}

/**
 * The linker's step: the per-file tables laid end to end in the linked
 * `.softlayer` section become one table, records sorted by address.
 */
export function mergeSoftlayerTables(bytes: Uint8Array): Uint8Array {
  // On columns, not SiteRecord objects: a million-line kernel's table has a
  // quarter of a million records. The bytes are serializeSoftlayerTable's of
  // the records sorted (stably) by address, then flags.
  const tables: SiteColumns[] = [];
  let count = 0;
  for (let at = 0; at < bytes.length; ) {
    const { columns, size } = parseOne(bytes, at);
    tables.push(columns);
    count += columns.count;
    at += size;
  }
  const addr = new Float64Array(count); // unsigned addresses, compared as numbers
  const flags = new Uint8Array(count);
  const where = new Uint32Array(count * 2); // table, record within it
  let n = 0;
  let sorted = true;
  tables.forEach((t, ti) => {
    for (let i = 0; i < t.count; i++, n++) {
      addr[n] = t.addr[i];
      flags[n] = t.flags[i];
      where[2 * n] = ti;
      where[2 * n + 1] = i;
      if (n > 0 && (addr[n] < addr[n - 1] || (addr[n] === addr[n - 1] && flags[n] < flags[n - 1]))) sorted = false;
    }
  });
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (!sorted) order.sort((x, y) => addr[x] - addr[y] || flags[x] - flags[y] || x - y);
  // File names in order of first use, as serializeSoftlayerTable lays them
  // out; per table, each of its names' offset in the merged string area.
  const encoder = new TextEncoder();
  const fileOffsets = new Map<string, number>();
  const offsetOf = tables.map((t) => new Int32Array(t.files.length).fill(-1));
  const names: Uint8Array[] = [];
  let stringBytes = 0;
  for (let k = 0; k < count; k++) {
    const r = order[k];
    const ti = where[2 * r];
    const fi = tables[ti].fileIndex[where[2 * r + 1]];
    if (offsetOf[ti][fi] >= 0) continue;
    const name = tables[ti].files[fi];
    let offset = fileOffsets.get(name);
    if (offset === undefined) {
      fileOffsets.set(name, (offset = stringBytes));
      const encoded = encoder.encode(name);
      names.push(encoded);
      stringBytes += encoded.length + 1;
    }
    offsetOf[ti][fi] = offset;
  }
  const stringsOffset = SOFTLAYER_HEADER_SIZE + count * SOFTLAYER_RECORD_SIZE;
  const out = new Uint8Array(stringsOffset + ((stringBytes + 3) & ~3));
  const view = new DataView(out.buffer);
  view.setUint32(0, SOFTLAYER_MAGIC, true);
  view.setUint16(4, SOFTLAYER_VERSION, true);
  view.setUint16(6, SOFTLAYER_RECORD_SIZE, true);
  view.setUint32(8, count, true);
  view.setUint32(12, stringsOffset, true);
  for (let k = 0; k < count; k++) {
    const r = order[k];
    const t = tables[where[2 * r]];
    const i = where[2 * r + 1];
    const o = SOFTLAYER_HEADER_SIZE + k * SOFTLAYER_RECORD_SIZE;
    view.setUint32(o, t.addr[i], true);
    view.setUint16(o + 4, t.length[i], true);
    out[o + 6] = t.kind[i];
    out[o + 7] = t.flags[i];
    out[o + 8] = t.regA[i];
    out[o + 9] = t.regB[i];
    view.setUint16(o + 10, t.imm[i], true);
    view.setUint32(o + 12, t.line[i], true);
    view.setUint32(o + 16, offsetOf[where[2 * r]][t.fileIndex[i]], true);
  }
  let at = stringsOffset;
  for (const name of names) {
    out.set(name, at);
    at += name.length + 1;
  }
  return out;
}
