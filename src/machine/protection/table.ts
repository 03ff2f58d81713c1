// The compressed permissions table of one protection domain (Mondrian's
// multi-level permissions table, Witchel et al., ASPLOS 2002, reduced to two
// levels): word-granularity read/write permissions over physical memory.
//
// Consumes grants (physical range, permission) from protection.ts; produces
// the permission of any word, and the table's size in bytes (the figure
// docs/protection.md reports as a share of guest memory).
//
// Layout (what a hardware table walker would read, one memory reference per level):
//
//   top[frame]  one 32-bit entry per 4 KiB physical frame
//               0           the domain's default (read-write: no restriction)
//               odd         uniform frame: bits 1–2 = the permission of every word in it
//               even, > 0   mixed frame: leaf index << 1
//   leaf        64 words of 32 bits, 2 permission bits per 4-byte word of the frame
//               (16 words of the frame per leaf word)
//
// A leaf is allocated only for a frame whose words differ, and freed (the
// frame folded back to a uniform entry) as soon as they agree again, so a
// domain that restricts whole pages costs its top level only. The top level
// is allocated on the first grant (a domain without restrictions has no table).

/** Permission bits of a word. */
export const PERM = { NONE: 0, R: 1, W: 2, RW: 3 } as const;
export type Perm = 0 | 1 | 2 | 3;

export const WORDS_PER_FRAME = 1024;
/** Leaf size in 32-bit words: 2 bits per frame word. */
export const LEAF_WORDS = WORDS_PER_FRAME / 16;

export class PermissionTable {
  private top: Int32Array | undefined;
  /** Leaves, LEAF_WORDS each; leaf i at [i * LEAF_WORDS, …). Leaf 0 is never used (0 means "default"). */
  private leaves = new Int32Array(LEAF_WORDS * 4);
  private leafCount = 1;
  private readonly free: number[] = [];

  constructor(private readonly frames: number) {}

  /** The permission of the word holding physical address `pa` (the reference: no cache, no counters). */
  get(pa: number): Perm {
    const e = this.top === undefined ? 0 : this.top[pa >>> 12];
    if (e === 0) return PERM.RW;
    if (e & 1) return ((e >>> 1) & 3) as Perm;
    return this.leafPerm(e >>> 1, (pa >>> 2) & 1023);
  }

  /** The top-level entry of a frame (what the first table reference reads). */
  entry(frame: number): number {
    return this.top === undefined ? 0 : this.top[frame];
  }

  /** The leaf word covering word `w` (0–1023) of leaf `leaf` (what the second table reference reads). */
  leafWord(leaf: number, w: number): number {
    return this.leaves[leaf * LEAF_WORDS + (w >>> 4)];
  }

  private leafPerm(leaf: number, w: number): Perm {
    return ((this.leafWord(leaf, w) >>> ((w & 15) << 1)) & 3) as Perm;
  }

  /** Sets words [pa, pa + bytes) (word aligned, in range: checked by the caller) to `perm`. Returns the frames touched. */
  set(pa: number, bytes: number, perm: Perm): { first: number; last: number } {
    this.top ??= new Int32Array(this.frames);
    const first = pa >>> 12;
    const end = pa + bytes;
    const last = (end - 1) >>> 12;
    for (let f = first; f <= last; f++) {
      const lo = Math.max(pa, f * 4096);
      const hi = Math.min(end, (f + 1) * 4096);
      if (lo === f * 4096 && hi === (f + 1) * 4096) {
        this.freeLeafOf(f);
        this.top[f] = perm === PERM.RW ? 0 : (perm << 1) | 1;
        continue;
      }
      const leaf = this.leafOf(f);
      for (let a = lo; a < hi; a += 4) {
        const w = (a >>> 2) & 1023;
        const i = leaf * LEAF_WORDS + (w >>> 4);
        const sh = (w & 15) << 1;
        this.leaves[i] = (this.leaves[i] & ~(3 << sh)) | (perm << sh);
      }
      this.fold(f, leaf);
    }
    return { first, last };
  }

  /** Whether any word of the frame is not read-write (its accesses must be checked). */
  restricts(frame: number): boolean {
    return this.entry(frame) !== 0;
  }

  /** Bytes the table occupies: the top level (if any) and the live leaves. */
  bytes(): number {
    if (this.top === undefined) return 0;
    return this.top.byteLength + (this.leafCount - 1 - this.free.length) * LEAF_WORDS * 4;
  }

  /** Live leaves (mixed frames). */
  mixedFrames(): number {
    return this.leafCount - 1 - this.free.length;
  }

  /** The frame's leaf, creating one from its uniform entry when it has none. */
  private leafOf(f: number): number {
    const e = this.top![f];
    if (e !== 0 && (e & 1) === 0) return e >>> 1;
    const uniform = e === 0 ? PERM.RW : (e >>> 1) & 3;
    let leaf = this.free.pop();
    if (leaf === undefined) {
      leaf = this.leafCount++;
      if (leaf * LEAF_WORDS >= this.leaves.length) {
        const grown = new Int32Array(this.leaves.length * 2);
        grown.set(this.leaves);
        this.leaves = grown;
      }
    }
    // Every 2-bit field = the frame's uniform permission.
    let pattern = 0;
    for (let k = 0; k < 16; k++) pattern |= uniform << (k << 1);
    this.leaves.fill(pattern, leaf * LEAF_WORDS, (leaf + 1) * LEAF_WORDS);
    this.top![f] = leaf << 1;
    return leaf;
  }

  /** A leaf whose words all agree becomes a uniform entry again (the compression). */
  private fold(f: number, leaf: number): void {
    const base = leaf * LEAF_WORDS;
    const w0 = this.leaves[base];
    const p = w0 & 3;
    let pattern = 0;
    for (let k = 0; k < 16; k++) pattern |= p << (k << 1);
    if (w0 !== pattern) return;
    for (let i = 1; i < LEAF_WORDS; i++) if (this.leaves[base + i] !== pattern) return;
    this.free.push(leaf);
    this.top![f] = p === PERM.RW ? 0 : (p << 1) | 1;
  }

  private freeLeafOf(f: number): void {
    const e = this.top![f];
    if (e !== 0 && (e & 1) === 0) this.free.push(e >>> 1);
  }
}
