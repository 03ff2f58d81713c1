// The xen monitor's per-frame bookkeeping (xen-monitor.ts: write-protected
// frames with their vCPUs, page directories) as a Map<number, number> or a
// Set<number> — the part of their interface the monitor, its snapshot and
// tests use: get/set/has/delete/clear/size, iteration in insertion order —
// without a hash table. A guest's page-table frames are whole numbers below
// 2^20; each has its position in a typed array indexed by frame, so a look-up
// is one array read, and clear() resets only the keys it holds. (xen clears
// both at every root change, 47 K times in `mixed` at scale 200, and adds
// the new root's frames back at the refills after it: Map.clear allocated a
// new table each time and the adds hashed.) Any other number is kept too, in
// a Map of its own, so that these behave as a Map and a Set for every key
// (test/hypervisors/frame-map.test.ts); xen itself holds frame numbers only
// (restoreBackend refuses a snapshot's other keys).

/** Keys kept in the typed array: the frame numbers of a 32-bit physical address space. */
const FRAME_LIMIT = 1 << 20;

class FrameKeyed {
  /** Per frame: 1 + its position in `keyList`, 0 when absent (grown on demand, up to FRAME_LIMIT entries). */
  private at = new Int32Array(0);
  /** Positions of the keys that are not frame numbers. */
  private other: Map<number, number> | undefined;
  /** The keys in insertion order, and their values. */
  protected readonly keyList: number[] = [];
  protected readonly valueList: number[] = [];

  get size(): number {
    return this.keyList.length;
  }

  /** The key at position `i` of the insertion order (0 ≤ i < size). */
  keyAt(i: number): number {
    return this.keyList[i];
  }

  has(k: number): boolean {
    return this.indexOf(k) >= 0;
  }

  delete(k: number): boolean {
    const i = this.indexOf(k);
    if (i < 0) return false;
    this.place(k, -1);
    this.keyList.splice(i, 1);
    this.valueList.splice(i, 1);
    for (let j = i; j < this.keyList.length; j++) this.place(this.keyList[j], j);
    return true;
  }

  clear(): void {
    const keys = this.keyList;
    const at = this.at;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k === (k & (FRAME_LIMIT - 1))) at[k] = 0;
    }
    this.other = undefined;
    keys.length = 0;
    this.valueList.length = 0;
  }

  /** The position of `k` in the insertion order, or -1. */
  protected indexOf(k: number): number {
    if (k === (k & (FRAME_LIMIT - 1))) return k < this.at.length ? this.at[k] - 1 : -1;
    return this.other?.get(k) ?? -1;
  }

  /** Adds `k` (absent) with `v` at the end of the insertion order. */
  protected append(k: number, v: number): void {
    this.place(k, this.keyList.length);
    this.keyList.push(k);
    this.valueList.push(v);
  }

  /** Records `k` at position `i` (-1: forgets it). */
  private place(k: number, i: number): void {
    if (k !== (k & (FRAME_LIMIT - 1))) {
      if (i < 0) this.other?.delete(k);
      else (this.other ??= new Map()).set(k, i);
      return;
    }
    if (k >= this.at.length) {
      if (i < 0) return;
      let n = Math.max(1024, this.at.length);
      while (n <= k) n *= 2;
      const grown = new Int32Array(n);
      grown.set(this.at);
      this.at = grown;
    }
    this.at[k] = i + 1;
  }
}

/** Frame → number (a mask of vCPUs), as a Map (see above). */
export class FrameMap extends FrameKeyed {
  get(k: number): number | undefined {
    const i = this.indexOf(k);
    return i < 0 ? undefined : this.valueList[i];
  }

  set(k: number, v: number): this {
    const i = this.indexOf(k);
    if (i >= 0) this.valueList[i] = v;
    else this.append(k, v);
    return this;
  }

  keys(): IterableIterator<number> {
    return this.keyList.slice()[Symbol.iterator]();
  }

  /**
   * [key, value] pairs in insertion order; a key deleted meanwhile is skipped and a value changed
   * meanwhile is the new one, as a Map's iterator does (a key added meanwhile is not visited: xen adds
   * none while it iterates).
   */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (const k of this.keyList.slice()) {
      const i = this.indexOf(k);
      if (i >= 0) yield [k, this.valueList[i]];
    }
  }
}

/** A set of frames, as a Set (see above). */
export class FrameSet extends FrameKeyed {
  add(k: number): this {
    if (this.indexOf(k) < 0) this.append(k, 1);
    return this;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (const k of this.keyList.slice()) if (this.indexOf(k) >= 0) yield k;
  }
}
