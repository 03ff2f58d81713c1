// XBZRLE page deltas (QEMU's docs/xbzrle.txt; Svärd, Hudzia, Tordsson and
// Elmroth, "Evaluation of delta compression techniques for efficient live
// migration of large virtual machines", VEE 2011): a page that live
// migration already sent once goes again as the bytes that changed since,
// not as 4 KiB. The XOR of the old and new page is coded as runs:
//
//   page  = zrun nzrun | zrun nzrun page
//   zrun  = length                  bytes equal to the old page (0 only at the start)
//   nzrun = length byte…            bytes that differ (length >= 1), and their new values
//   length = ULEB128
//
// A trailing zrun is not coded (the decoder leaves the rest of the page as
// it was), so an unchanged page encodes to nothing.
//
// Consumes two copies of a page (the last version sent, and the current
// one); produces the encoded delta, and decodes one onto the last version.
// Used by page-sender.ts (live pre-copy); the encoding never reaches a file
// (snapshots hold whole pages). A malformed delta is refused before a byte
// of the page changes.

import { PAGE_SIZE } from "../machine/memory.js";

/** A delta that does not decode to a page: the sender and receiver disagree (a bug, or damaged data). */
export class DeltaError extends Error {
  constructor(message: string) {
    super(`malformed page delta: ${message}`);
    this.name = "DeltaError";
  }
}

function putLength(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    if (at >= out.length) return -1;
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  if (at >= out.length) return -1;
  out[at++] = n;
  return at;
}

/**
 * Encodes `cur` against `old` (equal lengths) into `out`. Returns the
 * encoded length (0: the page is unchanged), or -1 when the encoding would
 * not fit `out` — the caller then sends the whole page, as QEMU does on
 * overflow. A single equal byte between two changed ones is carried inside
 * the nzrun: it costs one byte there, two (a zrun and a new nzrun length)
 * outside.
 */
export function encodeDelta(old: Uint8Array, cur: Uint8Array, out: Uint8Array): number {
  const n = cur.length;
  let i = 0;
  let d = 0;
  while (i < n) {
    let z = i;
    while (z < n && old[z] === cur[z]) z++;
    if (z === n) break; // the rest is unchanged: not coded
    let e = z + 1;
    for (;;) {
      while (e < n && old[e] !== cur[e]) e++;
      if (e + 1 < n && old[e + 1] !== cur[e + 1]) e += 2; // one equal byte inside a change
      else break;
    }
    if ((d = putLength(out, d, z - i)) < 0 || (d = putLength(out, d, e - z)) < 0) return -1;
    if (d + (e - z) > out.length) return -1;
    out.set(cur.subarray(z, e), d);
    d += e - z;
    i = e;
  }
  return d;
}

/** One ULEB128 length at `at`: [value, next offset]. At most 3 bytes (a page is 4 KiB). */
function getLength(enc: Uint8Array, at: number, what: string): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 21; shift += 7) {
    if (at >= enc.length) throw new DeltaError(`${what} length truncated at byte ${at}`);
    const b = enc[at++];
    v |= (b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, at];
  }
  throw new DeltaError(`${what} length too long at byte ${at}`);
}

/**
 * Checks that `enc` is a well-formed delta for a page of `size` bytes and
 * returns its runs as [offset, source offset, length] triples: every run
 * inside the page and the encoding, every nzrun non-empty, no zrun empty
 * but the first, nothing left over.
 */
function parseDelta(enc: Uint8Array, size: number): number[] {
  const runs: number[] = [];
  let i = 0;
  let p = 0;
  while (i < enc.length) {
    let z: number;
    let nz: number;
    [z, i] = getLength(enc, i, "zrun");
    if (z === 0 && p !== 0) throw new DeltaError(`empty zrun at byte ${i - 1}`);
    if (p + z > size) throw new DeltaError(`zrun past the end of the page (offset ${p} + ${z})`);
    p += z;
    [nz, i] = getLength(enc, i, "nzrun");
    if (nz === 0) throw new DeltaError(`empty nzrun at byte ${i - 1}`);
    if (p + nz > size) throw new DeltaError(`nzrun past the end of the page (offset ${p} + ${nz})`);
    if (i + nz > enc.length) throw new DeltaError(`nzrun of ${nz} bytes truncated at byte ${i}`);
    runs.push(p, i, nz);
    p += nz;
    i += nz;
  }
  return runs;
}

/**
 * Applies `enc` to `page` (the receiver's copy of the last version sent) in
 * place. The whole delta is checked first: a malformed one throws a
 * DeltaError and leaves `page` as it was.
 */
export function decodeDelta(enc: Uint8Array, page: Uint8Array): void {
  const runs = parseDelta(enc, page.length);
  for (let r = 0; r < runs.length; r += 3) page.set(enc.subarray(runs[r + 1], runs[r + 1] + runs[r + 2]), runs[r]);
}

/** Room for a delta that is still worth sending instead of the page. */
export const MAX_DELTA = PAGE_SIZE;
