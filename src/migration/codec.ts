// The snapshot container (docs/migration.md "Snapshot format"): a fixed
// header, then one zlib-deflated payload holding a JSON document whose typed
// arrays are stored as raw bytes after it.
//
//   0   8  magic "PVSNAP\r\n"   (the \r\n catches text-mode mangling, as PNG's does)
//   8   4  format version       (u32 little-endian; this previrt writes and reads 3:
//                                 version 1 was the one-CPU machine state, before multiprocessors;
//                                 2 had no memory-mapped disk, its image or its registers)
//   12  4  payload length       (bytes of deflated payload that follow the header)
//   16  4  CRC-32 of the payload (IEEE, as zlib/PNG)
//   20  4  inflated length
//   24  …  payload: u32 JSON length, the JSON (UTF-8), then the typed arrays' bytes
//
// Consumes/produces a plain value tree (numbers, strings, booleans, arrays,
// objects, Int32Array/Uint32Array/Uint8Array/Float64Array, ±Infinity).
// Everything is checked before the caller sees a value: a damaged, truncated
// or newer snapshot is a UserError, never a crash or a half-restored guest.
// The compression is passed in (Zlib below): the library core runs where
// there is no node:zlib (the playground's worker, docs/playground.md);
// src/cli/snapshot-files.ts passes node:zlib's.

import { UserError } from "../guest-isa/diagnostics.js";

export const SNAPSHOT_MAGIC = "PVSNAP\r\n";

/**
 * Whether `bytes` begin like a snapshot: the magic's first six bytes, without
 * the line ending that text-mode mangling may have changed. The decoder then
 * says "damaged" rather than "not a snapshot", and the CLI names a snapshot
 * given where another file belongs.
 */
export function hasSnapshotMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 6) return false;
  for (let i = 0; i < 6; i++) if (bytes[i] !== SNAPSHOT_MAGIC.charCodeAt(i)) return false;
  return true;
}
export const SNAPSHOT_VERSION = 3;
export const HEADER_BYTES = 24;

const TYPED = { Int32Array, Uint32Array, Uint8Array, Float64Array } as const;
type TypedName = keyof typeof TYPED;
type Typed = InstanceType<(typeof TYPED)[TypedName]>;

function typedName(v: unknown): TypedName | undefined {
  if (v instanceof Int32Array) return "Int32Array";
  if (v instanceof Uint32Array) return "Uint32Array";
  if (v instanceof Uint8Array) return "Uint8Array";
  if (v instanceof Float64Array) return "Float64Array";
  return undefined;
}

/** The payload's compression: zlib's format (RFC 1950: deflate with a zlib header), the one the snapshot format fixes. */
export interface Zlib {
  deflate(data: Uint8Array, level: number): Uint8Array;
  /** At most `maxLength` bytes out; throws on a damaged stream or on more output than that. */
  inflate(data: Uint8Array, maxLength: number): Uint8Array;
}

/** Serializes a value tree into a snapshot file's bytes. */
export function encodeSnapshot(value: unknown, zlib: Zlib, level = 6): Uint8Array {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    const name = typedName(v);
    if (name) {
      const t = v as Typed;
      // Each array starts 8-aligned so it can be viewed in place after inflating.
      const pad = (8 - (offset % 8)) % 8;
      if (pad) blobs.push(new Uint8Array(pad));
      offset += pad;
      const bytes = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
      blobs.push(bytes);
      const ref = { $typed: name, at: offset, n: t.length };
      offset += bytes.length;
      return ref;
    }
    if (typeof v === "number" && !Number.isFinite(v)) {
      if (Number.isNaN(v)) throw new Error("snapshot: NaN in state");
      return { $inf: v > 0 ? 1 : -1 };
    }
    return v;
  });
  const jsonBytes = new TextEncoder().encode(json);
  const head = 4 + jsonBytes.length;
  const lead = (8 - (head % 8)) % 8; // blobs start 8-aligned in the payload
  const payload = new Uint8Array(head + lead + offset);
  new DataView(payload.buffer).setUint32(0, jsonBytes.length, true);
  payload.set(jsonBytes, 4);
  let at = head + lead;
  for (const b of blobs) {
    payload.set(b, at);
    at += b.length;
  }
  const deflated = zlib.deflate(payload, level);
  const out = new Uint8Array(HEADER_BYTES + deflated.length);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, SNAPSHOT_VERSION, true);
  dv.setUint32(12, deflated.length, true);
  dv.setUint32(16, crc32(deflated), true);
  dv.setUint32(20, payload.length, true);
  out.set(deflated, HEADER_BYTES);
  return out;
}

/** Parses a snapshot file's bytes back into the value tree; a UserError (prefixed with `what`) if anything is wrong. */
export function decodeSnapshot(bytes: Uint8Array, what: string, zlib: Zlib): unknown {
  const fail = (msg: string): never => {
    throw new UserError(`${what}: ${msg}`);
  };
  if (bytes.length < HEADER_BYTES || new TextDecoder("latin1").decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) {
    if (hasSnapshotMagic(bytes)) fail("damaged snapshot header");
    fail("not a previrt snapshot (bad magic)");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version > SNAPSHOT_VERSION) fail(`snapshot format version ${version} is newer than this previrt reads (${SNAPSHOT_VERSION})`);
  if (version < 1) fail(`bad snapshot format version ${version}`);
  if (version < SNAPSHOT_VERSION) fail(`snapshot format version ${version} is older than this previrt reads (${SNAPSHOT_VERSION}): take the snapshot again`);
  const length = dv.getUint32(12, true);
  if (bytes.length < HEADER_BYTES + length) fail(`truncated snapshot (${bytes.length} of ${HEADER_BYTES + length} bytes)`);
  if (bytes.length > HEADER_BYTES + length) fail(`${bytes.length - HEADER_BYTES - length} stray bytes after the snapshot`);
  const deflated = bytes.subarray(HEADER_BYTES);
  if (crc32(deflated) !== dv.getUint32(16, true)) fail("corrupted snapshot (checksum mismatch)");
  const inflatedLength = dv.getUint32(20, true);
  let payload: Uint8Array;
  try {
    payload = new Uint8Array(zlib.inflate(deflated, Math.max(inflatedLength, 1)));
  } catch (e) {
    return fail(`corrupted snapshot (${(e as Error).message})`);
  }
  if (payload.length !== inflatedLength || payload.length < 4) fail("corrupted snapshot (payload length)");
  const jsonLength = new DataView(payload.buffer).getUint32(0, true);
  if (4 + jsonLength > payload.length) fail("corrupted snapshot (document length)");
  const head = 4 + jsonLength;
  const base = head + ((8 - (head % 8)) % 8);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(4, head)));
  } catch {
    fail("corrupted snapshot (document is not JSON)");
  }
  return revive(doc, payload, base, fail);
}

function revive(v: unknown, payload: Uint8Array, base: number, fail: (m: string) => never): unknown {
  if (Array.isArray(v)) return v.map((x) => revive(x, payload, base, fail));
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$typed === "string") {
    const ctor = TYPED[o.$typed as TypedName];
    const at = o.at;
    const n = o.n;
    if (!ctor || !Number.isSafeInteger(at) || !Number.isSafeInteger(n) || (at as number) < 0 || (n as number) < 0) return fail("corrupted snapshot (bad array reference)");
    const start = base + (at as number);
    const bytes = (n as number) * ctor.BYTES_PER_ELEMENT;
    if (start % 8 !== 0 || start + bytes > payload.length) return fail("corrupted snapshot (array outside the payload)");
    return new ctor(payload.buffer as ArrayBuffer, payload.byteOffset + start, n as number);
  }
  if (o.$inf === 1 || o.$inf === -1) return o.$inf === 1 ? Infinity : -Infinity;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = revive(x, payload, base, fail);
  return out;
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, as zlib and PNG): the header's checksum. */
export function crc32(bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
