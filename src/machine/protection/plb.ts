// The protection lookaside buffer (Mondrian's PLB): a small cache of
// permissions-table entries, so that most permission checks cost no memory
// reference.
//
// Consumed by protection.ts on every checked access; produces a word's
// permission and how many table references the lookup needed (0 on a hit,
// 1 for a frame whose top-level entry is uniform, 2 for a mixed frame's
// leaf word). Two direct-mapped halves, like Mondrian's PLB holding entries
// of different granularities: PLB_FRAMES entries each caching a whole
// uniform frame, PLB_BLOCKS entries each caching one leaf word (16 words of
// a mixed frame). Tags are (domain, frame[, block]); everything is typed
// arrays (no allocation per lookup), and the contents are a function of the
// sequence of checks only, so hit counts are deterministic.

import { PermissionTable, type Perm } from "./table.js";

export const PLB_FRAMES = 32;
export const PLB_BLOCKS = 32;
/** Frames a domain tag can name (2 GiB of RAM). */
const FRAME_SPAN = 1 << 19;
const EMPTY = -1;

export interface PlbState {
  frameTag: Float64Array;
  framePerm: Uint8Array;
  blockTag: Float64Array;
  blockBits: Int32Array;
}

export class Plb {
  private readonly frameTag = new Float64Array(PLB_FRAMES).fill(EMPTY);
  private readonly framePerm = new Uint8Array(PLB_FRAMES);
  private readonly blockTag = new Float64Array(PLB_BLOCKS).fill(EMPTY);
  private readonly blockBits = new Int32Array(PLB_BLOCKS);
  /** Table references the last `lookup` made (0 = hit). */
  refs = 0;

  /** The permission of the word at `pa` for `domain` (whose table is `t`); sets `refs`. */
  lookup(domain: number, t: PermissionTable, pa: number): Perm {
    const frame = pa >>> 12;
    const key = domain * FRAME_SPAN + frame;
    const fs = (frame ^ (domain * 5)) & (PLB_FRAMES - 1);
    if (this.frameTag[fs] === key) {
      this.refs = 0;
      return this.framePerm[fs] as Perm;
    }
    const w = (pa >>> 2) & 1023;
    const block = w >>> 4;
    const bkey = key * 64 + block;
    const bs = (frame * 3 + block + domain * 7) & (PLB_BLOCKS - 1);
    if (this.blockTag[bs] === bkey) {
      this.refs = 0;
      return ((this.blockBits[bs] >>> ((w & 15) << 1)) & 3) as Perm;
    }
    // Miss: walk the table. The first reference reads the frame's top-level entry.
    const e = t.entry(frame);
    if (e === 0 || (e & 1) !== 0) {
      const p = (e === 0 ? 3 : (e >>> 1) & 3) as Perm;
      this.frameTag[fs] = key;
      this.framePerm[fs] = p;
      this.refs = 1;
      return p;
    }
    // A mixed frame: the second reference reads the leaf word.
    const bits = t.leafWord(e >>> 1, w);
    this.blockTag[bs] = bkey;
    this.blockBits[bs] = bits;
    this.refs = 2;
    return ((bits >>> ((w & 15) << 1)) & 3) as Perm;
  }

  /** The entries, for a snapshot. */
  save(): PlbState {
    return { frameTag: this.frameTag.slice(), framePerm: this.framePerm.slice(), blockTag: this.blockTag.slice(), blockBits: this.blockBits.slice() };
  }

  /** Reloads saved entries; anything not of the right shape leaves the PLB empty (a cold PLB is always correct). */
  restore(s: Partial<PlbState> | undefined): void {
    this.flush();
    if (
      !(s?.frameTag instanceof Float64Array && s.frameTag.length === PLB_FRAMES) ||
      !(s.framePerm instanceof Uint8Array && s.framePerm.length === PLB_FRAMES) ||
      !(s.blockTag instanceof Float64Array && s.blockTag.length === PLB_BLOCKS) ||
      !(s.blockBits instanceof Int32Array && s.blockBits.length === PLB_BLOCKS)
    ) return;
    this.frameTag.set(s.frameTag);
    this.framePerm.set(s.framePerm);
    this.blockTag.set(s.blockTag);
    this.blockBits.set(s.blockBits);
  }

  /** Drops every entry (after any permission change: the hardware's PLB shootdown). */
  flush(): void {
    this.frameTag.fill(EMPTY);
    this.blockTag.fill(EMPTY);
  }
}
