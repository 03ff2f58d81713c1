// The software TLB: a direct-mapped cache of translations, as typed arrays.
//
// Consumed by the CPU's hot loop (the `tag*` arrays and `addend`) and filled
// by the MMU (mmu.ts) after a page walk or a monitor's translation. Like a
// real TLB it keeps a translation until `tlbinv`/`tlbflush`/a `ptbr` or
// `pgctl` write — or until another page that maps to the same slot evicts
// it. A guest that edits its page tables without invalidating keeps using
// the stale entry: deterministic, as docs/design.md §2 requires.
//
// Per slot the architectural entry is (page, frame, perm). From it we derive
// four fast-path tags, one per (mode, access): the tag equals the page's
// base address when that access is allowed, else TAG_INVALID. The CPU then
// checks an access with one compare, folding the alignment test in:
//
//     (va & 0xFFFFF003) === tagRead[slot]     // lw: aligned and allowed
//
// TAG_INVALID has bits 2–11 set, which no masked address has, so it never
// matches. Stores to watched frames (a monitor's write-protected pages) get
// no write tag: they take the slow path, which calls the monitor. Frames
// that a protection domain restricts (protection/protection.ts) get no tag
// at all: their loads and stores take the slow path, which checks them.

import { WRITTEN_SHIFT } from "../memory.js";

export const TLB_BITS = 10;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;
export const PAGE_MASK = 0xfffff000 | 0;
export const TAG_INVALID = 0xffc;
/** The fast-tag compare's mask of an access of `size` bytes: the page and the alignment bits (see above). */
export const TAG_MASK: Readonly<Record<1 | 2 | 4, number>> = { 1: PAGE_MASK, 2: 0xfffff001 | 0, 4: 0xfffff003 | 0 };

/** Permission bits of a TLB entry (the PTE's, plus V). */
export const PERM = { V: 1, W: 2, U: 4 } as const;

export class Tlb {
  /** Architectural entry: page base address (TAG_INVALID when empty), frame base, PERM bits. */
  readonly page = new Int32Array(TLB_SIZE).fill(TAG_INVALID);
  readonly frame = new Int32Array(TLB_SIZE);
  readonly perm = new Int32Array(TLB_SIZE);
  /** Index in the CPU's byte view of the host buffer = virtual + addend[slot] (mod 2^32); = physical + `base`. */
  readonly tagReadSup: Int32Array;
  readonly tagWriteSup: Int32Array;
  readonly tagReadUser: Int32Array;
  readonly tagWriteUser: Int32Array;
  readonly addend: Int32Array;
  /**
   * Per slot, the CPU's fetch check where the read tag is absent — a frame a
   * protection domain checks has no read tag, but fetches are never checked
   * (the in-place VMM's code sits in such frames): the page, plus 4 when only
   * supervisor mode may fetch from it; TAG_INVALID when empty or not RAM.
   * Outside the state region: the CPU reads it only when the page changes.
   */
  readonly fetchTag = new Int32Array(TLB_SIZE).fill(TAG_INVALID);
  /** `Tlb.at` of the fast arrays, computed once (the CPU looks them up at every entry to its loop). */
  readonly atReadSup: number;
  readonly atWriteSup: number;
  readonly atReadUser: number;
  readonly atWriteUser: number;
  readonly atAddend: number;
  /**
   * The slots filled since the last flush (`filled[0..nFilled)`, each once:
   * `isFilled`): a flush clears only those. Clearing all 1,024 slots of
   * five arrays at every flush took 4–7% of the CPU time of a kernel run
   * under xen (a para-virtual monitor drops the TLB at every guest mode
   * switch, when a few dozen slots are filled).
   */
  private readonly filled = new Int32Array(TLB_SIZE);
  private readonly isFilled = new Uint8Array(TLB_SIZE);
  private nFilled = 0;

  /**
   * `alloc` places the fast arrays (tags, addend) — in the machine, in the
   * state region of physical memory's buffer so the CPU indexes them
   * through `heap32` (memory.ts); `Tlb.at` gives their index there.
   */
  constructor(
    private readonly isWatched: (frame: number) => boolean,
    alloc: (words: number) => Int32Array = (words) => new Int32Array(words),
    /** Where physical address 0 sits in the buffer the CPU indexes (memory.ts RAM_BASE). */
    private readonly base = 0,
    /** Whether a frame's words need a permission check (no fast tag for any access). */
    private readonly isChecked: (frame: number) => boolean = () => false,
    /** Whether a frame is RAM (code can be fetched from it: no fetch tag for the device window). */
    private readonly isRam: (frame: number) => boolean = () => true,
    /**
     * Physical memory's written-chunk record (memory.ts `written`), marked for every entry filled with
     * write permission: every store that does not take the CPU's slow path goes through such an entry.
     */
    private readonly written?: Uint8Array,
  ) {
    this.tagReadSup = alloc(TLB_SIZE).fill(TAG_INVALID);
    this.tagWriteSup = alloc(TLB_SIZE).fill(TAG_INVALID);
    this.tagReadUser = alloc(TLB_SIZE).fill(TAG_INVALID);
    this.tagWriteUser = alloc(TLB_SIZE).fill(TAG_INVALID);
    this.addend = alloc(TLB_SIZE);
    this.atReadSup = Tlb.at(this.tagReadSup);
    this.atWriteSup = Tlb.at(this.tagWriteSup);
    this.atReadUser = Tlb.at(this.tagReadUser);
    this.atWriteUser = Tlb.at(this.tagWriteUser);
    this.atAddend = Tlb.at(this.addend);
  }

  /** Int32 index of a fast array in the buffer it lives in. */
  static at(a: Int32Array): number {
    return a.byteOffset >> 2;
  }

  static slot(va: number): number {
    return (va >>> 12) & TLB_MASK;
  }

  /** The slot holding `va`'s page, or -1. */
  lookup(va: number): number {
    const s = Tlb.slot(va);
    return this.page[s] === (va & PAGE_MASK) ? s : -1;
  }

  /**
   * The physical address of `va` when the TLB holds its page with the
   * permission the access needs (user mode: U; a store: W), as the MMU's
   * translate answers a hit; -1 on a miss or a missing permission (the
   * MMU's slow path then fills or faults). For the CPU's slow paths.
   */
  hit(va: number, write: boolean, user: boolean): number {
    const s = this.lookup(va);
    if (s < 0) return -1;
    const p = this.perm[s];
    if ((user && (p & PERM.U) === 0) || (write && (p & PERM.W) === 0)) return -1;
    return (this.frame[s] + (va & ~PAGE_MASK)) >>> 0;
  }

  fill(va: number, frame: number, perm: number): number {
    const s = Tlb.slot(va);
    const page = va & PAGE_MASK;
    this.page[s] = page;
    this.frame[s] = frame;
    this.perm[s] = perm;
    this.addend[s] = (frame + this.base - page) | 0;
    // Whether or not the entry gets a write tag now (a watched or checked frame: refreshFrame may give it one
    // later; cpu.ts checkedAccess stores through the entry's permission), its frame may be written from now on.
    if ((perm & PERM.W) !== 0 && this.written !== undefined && (frame >>> 0) >>> WRITTEN_SHIFT < this.written.length) this.written[(frame >>> 0) >>> WRITTEN_SHIFT] = 1;
    this.setTags(s);
    if (this.isFilled[s] === 0) {
      this.isFilled[s] = 1;
      this.filled[this.nFilled++] = s;
    }
    return s;
  }

  /** Drops the entry for `va`'s page, if cached. */
  invalidate(va: number): void {
    const s = this.lookup(va);
    if (s >= 0) this.clear(s);
  }

  flush(): void {
    // Every slot not filled since the last flush is empty already (only `fill` makes a slot valid).
    if (this.nFilled > TLB_SIZE / 8) {
      this.page.fill(TAG_INVALID);
      this.tagReadSup.fill(TAG_INVALID);
      this.tagWriteSup.fill(TAG_INVALID);
      this.tagReadUser.fill(TAG_INVALID);
      this.tagWriteUser.fill(TAG_INVALID);
      this.fetchTag.fill(TAG_INVALID);
      this.isFilled.fill(0);
    } else {
      for (let i = 0; i < this.nFilled; i++) {
        const s = this.filled[i];
        this.clear(s);
        this.isFilled[s] = 0;
      }
    }
    this.nFilled = 0;
  }

  /**
   * Re-derives the fast tags of entries mapping `frame` (after it became
   * watched or unwatched). Only slots filled since the last flush can hold
   * an entry, so only those are looked at: a para-virtual monitor watches
   * and releases page-table frames at every address-space switch, and
   * scanning all 1,024 slots each time took 14% of the CPU time of `mixed`
   * under xen.
   */
  refreshFrame(frame: number): void {
    const filled = this.filled;
    for (let i = 0; i < this.nFilled; i++) {
      const s = filled[i];
      if (this.page[s] !== TAG_INVALID && this.frame[s] === frame) this.setTags(s);
    }
  }

  /** The architectural entries (page, frame, perm per slot), for a snapshot. */
  save(): { page: Int32Array; frame: Int32Array; perm: Int32Array } {
    const frame = this.frame.slice();
    const perm = this.perm.slice();
    // An empty slot keeps the frame and permissions it last held; saved as 0, so that the state is the
    // architectural one alone: a guest restored and saved again at a cycle gives the bytes it gave there.
    for (let s = 0; s < TLB_SIZE; s++) if (this.page[s] === TAG_INVALID) frame[s] = perm[s] = 0;
    return { page: this.page.slice(), frame, perm };
  }

  /** Reloads saved entries and re-derives every fast tag and addend from them. */
  restore(saved: { page: Int32Array; frame: Int32Array; perm: Int32Array }): void {
    this.flush();
    for (let s = 0; s < TLB_SIZE; s++) if (saved.page[s] !== TAG_INVALID) this.fill(saved.page[s], saved.frame[s], saved.perm[s]);
  }

  /** Re-derives the fast tags of every entry (after many frames changed watch state at once). */
  refreshAll(): void {
    for (let i = 0; i < this.nFilled; i++) {
      const s = this.filled[i];
      if (this.page[s] !== TAG_INVALID) this.setTags(s);
    }
  }

  private clear(s: number): void {
    this.page[s] = TAG_INVALID;
    this.tagReadSup[s] = this.tagWriteSup[s] = this.tagReadUser[s] = this.tagWriteUser[s] = TAG_INVALID;
    this.fetchTag[s] = TAG_INVALID;
  }

  private setTags(s: number): void {
    const page = this.page[s];
    const p = this.perm[s];
    this.fetchTag[s] = this.isRam(this.frame[s]) ? page | ((p & PERM.U) !== 0 ? 0 : 4) : TAG_INVALID;
    if (this.isChecked(this.frame[s])) {
      this.tagReadSup[s] = this.tagWriteSup[s] = this.tagReadUser[s] = this.tagWriteUser[s] = TAG_INVALID;
      return;
    }
    const writable = (p & PERM.W) !== 0 && !this.isWatched(this.frame[s]);
    const user = (p & PERM.U) !== 0;
    this.tagReadSup[s] = page;
    this.tagWriteSup[s] = writable ? page : TAG_INVALID;
    this.tagReadUser[s] = user ? page : TAG_INVALID;
    this.tagWriteUser[s] = user && writable ? page : TAG_INVALID;
  }
}
