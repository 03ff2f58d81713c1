// The sending end of live migration's page stream, and its price. Each page
// goes whole the first time; with delta compression on (the default), a page
// sent before goes as the XBZRLE delta (xbzrle.ts) between the version sent
// last — kept in the sender's cache, as QEMU's XBZRLE cache — and its
// current contents. The receiver's copy of each page is built only from what
// was sent: whole pages, and deltas decoded onto its previous copy.
//
// Price, in cycles of the sender's clock (the cost model,
// docs/cost-model.md): a whole page is `pageTransfer`; a delta is its
// bytes on the wire — the encoding and QEMU's record header — at
// pageTransfer per 4 KiB, rounded up; an unchanged page sends nothing.
// With delta compression on, every page the sender handles pays
// `deltaEncode` first (compare with the cached copy, or insert it into the
// cache). The receiver's decode (a copy of the changed bytes) overlaps the
// wire and is not charged.
//
// Before a page is sent its cost is only estimated, from what the sender
// already knows — its last record: a page last sent as a delta of B bytes is
// expected to cost a delta of B bytes again, any other page a whole page —
// as QEMU predicts the downtime from the throughput it has observed, not by
// encoding the dirty pages ahead of time.
//
// Consumes guest RAM and the cost model; produces the receiver's pages and,
// per page, the bytes and cycles it took. Used by live.ts.

import type { CostModel } from "../machine/cost-model.js";
import { PAGE_SIZE } from "../machine/memory.js";
import { decodeDelta, encodeDelta } from "./xbzrle.js";

/**
 * Bytes a delta record carries besides its encoding: QEMU's
 * save_xbzrle_page writes the page header (a be64 of address and flags),
 * the encoding flag (1 byte) and the encoded length (be16). A whole page's
 * header is within pageTransfer's rounding, as before deltas.
 */
export const DELTA_HEADER_BYTES = 11;

/** What sending one page did. */
export interface SentPage {
  /** Bytes on the wire: PAGE_SIZE for a whole page, header + encoding for a delta, 0 for an unchanged page. */
  bytes: number;
  /** Cycles of the sender's clock: deltaEncode (deltas on) plus the bytes' share of pageTransfer. */
  cycles: number;
  /** Whether the page went as a delta (or, unchanged, not at all). */
  delta: boolean;
}

export class PageSender {
  /** The receiver's copy of every page sent, built only from what was sent. */
  readonly received = new Map<number, Uint8Array>();
  /** The sender's cache: the version of each page sent last. */
  private readonly cache = new Map<number, Uint8Array>();
  /** Bytes of each page's last record when it was a delta (absent: its last send was whole, or it was never sent). */
  private readonly lastDelta = new Map<number, number>();
  /** One delta, encoded; a delta that does not fit is not worth sending instead of the page. */
  private readonly scratch = new Uint8Array(PAGE_SIZE - DELTA_HEADER_BYTES);

  constructor(
    private readonly ram: Uint8Array,
    private readonly cost: Pick<CostModel, "pageTransfer" | "deltaEncode">,
    /** Delta compression on (live's default) or off (every page whole, the algorithm before deltas). */
    readonly deltas: boolean,
  ) {}

  private page(f: number): Uint8Array {
    return this.ram.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
  }

  /** Cycles on the wire for `bytes` bytes: pageTransfer per page of bytes, rounded up. */
  wire(bytes: number): number {
    return Math.ceil((bytes * this.cost.pageTransfer) / PAGE_SIZE);
  }

  /** The encoded length of page `f`'s delta now: -1 when it goes whole (not sent before, deltas off, or no smaller). */
  private encode(f: number): number {
    const old = this.deltas ? this.cache.get(f) : undefined;
    return old ? encodeDelta(old, this.page(f), this.scratch) : -1;
  }

  private priced(len: number): SentPage {
    const encode = this.deltas ? this.cost.deltaEncode : 0;
    if (len < 0) return { bytes: PAGE_SIZE, cycles: encode + this.cost.pageTransfer, delta: false };
    const bytes = len === 0 ? 0 : DELTA_HEADER_BYTES + len;
    return { bytes, cycles: encode + this.wire(bytes), delta: true };
  }

  /** The cycles sending page `f` is expected to take, from its last record (nothing is encoded). */
  estimate(f: number): number {
    const encode = this.deltas ? this.cost.deltaEncode : 0;
    const last = this.lastDelta.get(f);
    return encode + (last === undefined ? this.cost.pageTransfer : this.wire(last));
  }

  /** Sends page `f` as it is now: the receiver's copy becomes it. */
  send(f: number): SentPage {
    const len = this.encode(f);
    const cur = this.page(f);
    if (len < 0) {
      this.received.set(f, cur.slice());
      if (this.deltas) this.cache.set(f, cur.slice());
    } else {
      // The receiver's side: the delta decoded onto its copy of the last version.
      decodeDelta(this.scratch.subarray(0, len), this.received.get(f)!);
      this.cache.get(f)!.set(cur);
    }
    const sent = this.priced(len);
    if (sent.delta) this.lastDelta.set(f, sent.bytes);
    else this.lastDelta.delete(f);
    return sent;
  }
}
