// The translation cache: translations (translate.ts) by the physical
// addresses of the blocks they can be entered at, grouped per physical
// page, and what keeps them exact when code changes.
//
// Consumes heap byte indexes (physical + RAM_BASE, memory.ts) from the
// engine. Produces the translation (and the block to start at) to run at an
// address — translating once its page has been reached HOT times with
// nothing translated there, where slices from the entry ran long enough to
// repay a compile (`Page.plain`), so code that runs once or a few
// instructions at a time is interpreted, not compiled; at once where the
// process compiled it before (`hotPages`); and no new function before the
// process interpreted START_INSNS instructions, and no engine at all before
// EVIDENCE_INSNS (`interpretsOnly`) — and the host-side counters.
//
// Invalidation, two ways, so that no write path can be missed:
// 1. Writes the translated code does not see happen only while something
//    else runs: the interpreter, the machine loop (device events: disk DMA),
//    a monitor (its stores, raw or through machine.memory), the loader, a
//    migration re-patching sites, … The engine bumps `epoch` whenever control
//    comes back from any of them. A translation records the epoch in which
//    its words last matched memory; reached in a newer epoch, it compares
//    them again (`get`), and is dropped and made anew if any differs. So a
//    write through any API, or straight into a typed-array view, is seen
//    before the next fetch from the translation it changed, and only the
//    translations whose words changed go.
// 2. While translated code runs, only its own stores write memory. Each
//    store checks `codePages` (one byte per heap page): a store into a page
//    holding translations exits at once and the engine starts a new epoch.

import type { Heap, Translation } from "./translate.js";
import { costTableKey, translate } from "./translate.js";

/** Times a page is reached with nothing translated before code in it is translated (default). */
export const HOT = 512;

/** Marks an entry address where the interpreter must run (a slow-path instruction). */
export const INTERPRET = null;
/** What `get` returns for an address not hot enough to translate yet. */
export const COLD = undefined;
/** What `get` returns for an address whose translation was judged not worth calling (`demote`). */
export const DEMOTED = false;

/** A translation in the cache, and every entry address it serves (one per block start). */
export class Live {
  /** The entries registered for it (dropped together when its words change). */
  readonly entries: Entry[] = [];
  constructor(
    readonly t: Translation,
    /** The epoch in which the words last matched memory. */
    public epoch: number,
  ) {}
}

/** An entry address served by a translation: which block it starts at, and how much its calls ran. */
export class Entry {
  /** Calls, and guest instructions they led to (the engine counts them until it judges the entry: engine.ts `judge`). */
  calls = 0;
  insns = 0;
  constructor(
    readonly live: Live,
    /** The block the translation starts at for this entry (its last argument). */
    readonly block: number,
    /** Heap byte index of the entry. */
    readonly at: number,
  ) {}
}

/**
 * An entry whose calls lead to fewer guest instructions than this on
 * average — run translated or by the engine's slow accesses from the call
 * until the engine next interprets or returns to the machine loop (engine.ts
 * `judge`): kernel code between two system instructions — costs more to
 * call than the interpreter takes to run it: it is dropped and its address
 * left to the interpreter for good.
 */
export const MIN_INSNS_PER_CALL = 12;
/** Calls after which a translation is judged. */
export const JUDGE_AFTER = 32;

/**
 * Before taking a translation the process compiled before at an entry of a
 * hot page (a new one needs COMPILE_SLICE_INSNS), the interpreter's slices
 * from that entry must have run this many instructions on average (over at
 * least SAMPLES slices). A slice runs until the cycle limit or until the
 * interpreter returns (a system instruction, a fault, a hypercall), so its
 * length is what a translation entered there would run per call at best:
 * kernel code between two system instructions runs a handful, a user loop
 * thousands. In `mixed` under xen, 227 of 281 translations made without
 * this test ran under 1,000 instructions in all, and made 73% of the
 * generated JavaScript (docs/machine.md "Adaptive choices").
 */
export const MIN_SLICE_INSNS = 32;
/**
 * Slices from an entry before it is judged. An entry reached only a few
 * times in a run cannot repay V8's compile of its translation, and a fresh
 * process pays for every compile: with 2, `mixed` under xen at scale 24
 * made 88 translations (466 KB of JavaScript), 32 of which ran under 1,000
 * instructions in all; with 16, 39 translations (175 KB) for 4% more
 * interpreted instructions, and `compute` 36 instead of 60 (167 KB instead
 * of 271 KB). A fresh `previrt run` of either took 6–15% less CPU time
 * (docs/speed-history.md "Kernel workloads (fourth round)"). Below SAMPLE_WINDOW, which halves
 * the counts.
 */
const SAMPLES = 16;
/**
 * A new function is compiled only for an entry whose slices ran this many
 * instructions on average (over at least SAMPLES): code that runs on until
 * the slice's cycle limit (a loop) rather than to the next system
 * instruction. Everything compiled costs V8's compile of it (tens of
 * milliseconds of a compiler thread on this machine) before it runs faster
 * than the interpreter; in `mixed` at scale 15 under hvm, the entries whose
 * slices averaged 45–870 instructions got 60 of the 68 functions compiled,
 * which ran 150,000 instructions in all, while those averaging 1,150–4,000
 * ran 4.7 M (docs/speed-history.md "Ninth round: kernel code"). Entries in between still reuse
 * what the process compiled before (MIN_SLICE_INSNS).
 */
export const COMPILE_SLICE_INSNS = 768;
/** Slices after which an entry's counts are halved, so that they follow a change of behaviour. */
const SAMPLE_WINDOW = 64;
/**
 * Instructions the machines of a process interpret before any of them
 * compiles a new function (functions compiled before are taken at once).
 * A short run cannot repay V8's compile of even a few translations: the
 * bundled kernel at scale 1 runs 1.5–1.6 M instructions per back end, and
 * `npm start`'s demo runs the five back ends one after the other in one
 * process (a matrix with `--jobs` puts several in each worker thread) — with
 * 2, 4 or 6 M it took 1.01–1.03 s, with 8 M 0.90 s, the interpreter's
 * 0.93 s. A long run loses at most this many instructions' worth of
 * interpretation, about 80 ms (`compute` at scale 1000: 0.37 → 0.38 s),
 * and the evidence gathered after it (EVIDENCE_INSNS: some 2–3 M more).
 * Per process, not per machine: a bench worker runs dozens of cells, and a
 * budget per machine had each cell's first run interpret its first
 * instructions (docs/speed-history.md "Tenth round: the first instructions").
 */
export const START_INSNS = 8_000_000;
/**
 * Instructions the machines of a process interpret before their engines run
 * at all: until then `run` is the interpreter's `cpu.run` and nothing else
 * (`interpretsOnly`; in slices that end about there), unless the process
 * compiled something before. From there the engine gathers the evidence its
 * rules weigh (the pages reached, the slices' lengths), so a loop is
 * compiled some 0.7–3 M instructions later (512 reaches of its page). A run
 * shorter than this costs what the interpreter costs: the engine's slices
 * and look-ups, and V8's compiles of the engine's own functions (several,
 * as the back ends of `npm start`'s matrix come one after the other), took
 * 0.02–0.06 s more CPU than the interpreter on the bundled kernel at scale 1
 * and 0.06–0.09 s on `npm start` (8.3 M instructions in one process) with
 * the engine from 4 M on. Measured at 4, 6 and 8 M (docs/speed-history.md "Twelfth round:
 * short runs"): the demo 1.40, 1.37 and 1.34 s of CPU (the interpreter
 * 1.31 s); `compute` at scale 1000 and `mixed` at scale 24 the same at all
 * three (8.7, 10.1, 12.1 M and 17.7, 19.3, 20.8 M instructions interpreted);
 * `mixed` at scale 200 1.59 and 1.68 s at 4 and 8 M (84.2 and 87.1 M
 * interpreted; the interpreter 1.92 s), `previrt bench` the same.
 */
export const EVIDENCE_INSNS = START_INSNS;

class Page {
  /** By word offset in the page: the translation entered there, INTERPRET, or undefined (not translated yet). */
  readonly byOffset: (Entry | null | undefined)[] = new Array(1024);
  /** For INTERPRET slots: the word that was there (a different word is looked at again); else how often it was reached. */
  readonly seen = new Int32Array(1024);
  /** Times the page was reached where nothing was translated (code in a hot page is translated where reached). */
  hits = 0;
  /**
   * A plain page: nothing in it is translated or was compiled before in the
   * process, and no entry's slices have shown a loop worth compiling
   * (`worthCompiling`): `get` only counts the reach and answers COLD, and
   * `noteSlice` keeps only slices of COMPILE_SLICE_INSNS or more. Kernel
   * code between two system instructions stays in such pages for good, and
   * costs the engine no more than those two steps (docs/speed-history.md
   * "Ninth round: kernel code": the engine's look-ups and slice records made `mixed` at scale
   * 15 under hvm take 15% more CPU than the interpreter with next to
   * nothing compiled).
   */
  plain = false;
  /**
   * Per word offset: the interpreter's slices that started there while
   * nothing was translated, and the instructions they ran (`noteSlice`).
   * Allocated with the page's first slice.
   */
  slices: Int32Array | undefined;
  sliceInsns: Int32Array | undefined;
  /**
   * For a page whose contents were hot before in this process (`hotPages`),
   * or that holds translations: per word offset, 1 once the process-wide
   * translations were looked up there. Undefined for other pages.
   */
  probed: Uint8Array | undefined;
}

/**
 * Hashes of the contents of pages in which a translation was made, by any
 * machine of the process. A machine reaching a page with the same contents
 * (the same kernel run again: `bench` repeats, `matrix`, tests) looks for
 * the translations already compiled (translate-memo.ts `shared`) at each entry
 * the first time it is reached, instead of interpreting until the page is
 * hot: the compiled code is already there and warm, so waiting gains
 * nothing. A hash collision costs one look-up; a translation is still only
 * reused for exactly the words it was made from.
 */
const hotPages = new Set<number>();

/** Instructions the interpreter ran for the machines of this process (START_INSNS). */
let interpretedInProcess = 0;

/** The engines report what their interpreter ran (`noteInterpreted`); tests may spend the start budget with it. */
export function noteInterpreted(insns: number): void {
  interpretedInProcess += insns;
}

/** Whether the process is past its first START_INSNS interpreted instructions: new functions may be compiled. */
const started = () => interpretedInProcess >= START_INSNS;

/** FNV-1a over the page's words (heap page number `pageNo`). */
function pageHash(H: Int32Array, pageNo: number): number {
  let h = 0x811c9dc5 | 0;
  const end = (pageNo + 1) << 10;
  for (let i = pageNo << 10; i < end; i++) h = Math.imul(h ^ H[i], 16777619);
  return h;
}

export interface CacheCounters {
  /** Translations made (each covers one or more basic blocks). */
  translations: number;
  /** Basic blocks translated. */
  blocks: number;
  /** Guest instructions translated. */
  instructions: number;
  /** Characters of JavaScript generated. */
  codeBytes: number;
  /** Translations dropped because their words changed. */
  invalidations: number;
  /** Comparisons of a translation's words with memory (after something else ran). */
  verifications: number;
  /** Translations left to the interpreter because their calls ran too few instructions. */
  demoted: number;
  /**
   * Translations whose function was generated and compiled for this machine;
   * the rest reuse a function compiled before by a machine of the process
   * (translate-memo.ts `shared`), already warm in V8.
   */
  compiled: number;
}

export class TranslationCache {
  private readonly pages: (Page | undefined)[];
  private readonly costKey: string;
  /** Bumped by the engine whenever something other than translated code may have written memory. */
  epoch = 1;
  readonly counters: CacheCounters = { translations: 0, blocks: 0, instructions: 0, codeBytes: 0, invalidations: 0, verifications: 0, demoted: 0, compiled: 0 };

  constructor(
    private readonly heap: Heap,
    private readonly cost: Float64Array,
    private readonly hot = HOT,
  ) {
    this.pages = new Array(heap.heap8.length >>> 12);
    this.costKey = costTableKey(cost);
  }

  /**
   * Instructions the engine only interprets for now (0: none): the rest of
   * the process's first EVIDENCE_INSNS, while the process has compiled
   * nothing (`hotPages`: a translation to reuse); never at threshold 1 (the
   * tests' harshest setting translates at once).
   */
  interpretsOnly(): number {
    return this.hot > 1 && hotPages.size === 0 ? Math.max(0, EVIDENCE_INSNS - interpretedInProcess) : 0;
  }

  /** The translation entered at heap byte `at`: INTERPRET for a slow-path instruction, COLD when not translated yet, DEMOTED. */
  get(at: number): Entry | null | undefined | false {
    const page = this.pages[at >>> 12];
    if (page !== undefined) {
      if (page.plain) {
        page.hits++;
        return COLD;
      }
      const e = page.byOffset[(at & 4095) >>> 2];
      if (e !== undefined && e !== null && e.live.epoch === this.epoch) return e;
    }
    return this.lookup(at);
  }

  private lookup(at: number): Entry | null | undefined | false {
    const pageNo = at >>> 12;
    let page = this.pages[pageNo];
    if (page === undefined) {
      page = this.pages[pageNo] = new Page();
      if (hotPages.has(pageHash(this.heap.heap32, pageNo))) page.probed = new Uint8Array(1024);
      else if (this.hot > 1) {
        page.plain = true;
        page.hits++;
        return COLD;
      }
    }
    const slot = (at & 4095) >>> 2;
    const e = page.byOffset[slot];
    if (e !== undefined) {
      if (e === INTERPRET) {
        if (this.heap.heap32[at >> 2] === page.seen[slot]) return e;
      } else {
        this.counters.verifications++;
        if (matches(this.heap.heap32, e.live.t)) {
          e.live.epoch = this.epoch;
          return e;
        }
        this.counters.invalidations++;
        this.drop(e.live);
      }
      page.byOffset[slot] = undefined;
      page.seen[slot] = 0;
    }
    // Hotness by page: the interpreter's slices end at scattered addresses of a hot loop, and a
    // translation from any of them covers the loop (its in-page branch targets).
    if (page.seen[slot] < 0) return DEMOTED;
    let t: Translation | null | undefined;
    let probedNow = false;
    if (page.probed !== undefined && page.probed[slot] === 0 && (page.hits < this.hot || sliceRanLong(page, slot))) {
      // Also in a page hot in this run that holds translations, once a slice from the entry ran
      // long: an entry inside one of their blocks (where a timer interrupt's return or a LIMIT
      // exit left a loop) gets the block's tail instead of interpreter slices until the entry
      // itself is judged. (Short slices — kernel code between system instructions, the TLB
      // misses of `mixed` under xen — stay the interpreter's: their tails did not pay.)
      page.probed[slot] = 1;
      probedNow = true;
      t = translate(this.heap, pageNo << 12, at, this.cost, this.costKey, true);
      if (t === undefined && page.hits < this.hot) return COLD; // not compiled before: this entry waits for the page to get hot
    }
    if (t === undefined) {
      if (++page.hits < this.hot) return COLD;
      // Hot page: translate where slices from this entry ran long (not at all with threshold 1, the tests' harshest setting).
      if (this.hot > 1 && !longSlices(page, slot)) return COLD;
      // What the process compiled from these page contents first: a function with a block starting
      // here, or the tail of the known block this entry lies inside (an interpreter slice that ended
      // mid-loop) — not a whole new function of everything reachable from a mid-block address. Asked
      // once per entry: in a page the process never compiled from (no `probed`), only its own
      // translations could be there, which register their block starts themselves.
      if (!probedNow && page.probed !== undefined && page.probed[slot] === 0) {
        page.probed[slot] = 1;
        t = translate(this.heap, pageNo << 12, at, this.cost, this.costKey, true);
      }
      if (t === undefined) {
        // A new function: only where the interpreter's slices from here ran long (`worthCompiling`), once the process is past START_INSNS.
        if (this.hot > 1 && (!worthCompiling(page, slot) || !started())) return COLD;
        t = translate(this.heap, pageNo << 12, at, this.cost, this.costKey);
      }
      if (t !== null) {
        hotPages.add(pageHash(this.heap.heap32, pageNo));
        page.probed ??= new Uint8Array(1024);
      }
    }
    if (t === null) {
      page.byOffset[slot] = INTERPRET;
      page.seen[slot] = this.heap.heap32[at >> 2];
      return INTERPRET;
    }
    // Every block start of the translation is an entry into it (where nothing else is registered).
    const live = new Live(t, this.epoch);
    const base = pageNo << 12;
    let entry: Entry | undefined;
    for (let b = 0; b < t.starts.length; b++) {
      const i = t.starts[b] >>> 2;
      const mine = base + t.starts[b] === at;
      if (!mine && (page.byOffset[i] !== undefined || page.seen[i] < 0)) continue;
      const e = new Entry(live, b, base + t.starts[b]);
      // The tail of a known block (translate-memo.ts `covering`) runs that block's rest and hands over to
      // the known translation at the next block start: short calls by design. Demoted, its entry
      // would interpret whole slices from there instead (the kernel's byte-copy loop resumed
      // mid-body, in `mixed` under xen), so it is never judged.
      if (t.tail) e.calls = JUDGE_AFTER;
      page.byOffset[i] = e;
      live.entries.push(e);
      if (mine) entry = e;
    }
    this.heap.codePages[pageNo] = 1;
    const c = this.counters;
    c.translations++;
    c.blocks += t.blocks;
    c.instructions += t.insns;
    c.codeBytes += t.codeBytes;
    if (t.fresh) c.compiled++;
    return entry!;
  }

  /**
   * The interpreter ran a slice of `insns` instructions from heap byte `at`,
   * where `get` found nothing to run (COLD): the evidence `longSlices` weighs.
   */
  noteSlice(at: number, insns: number): void {
    const page = this.pages[at >>> 12];
    if (page === undefined) return;
    const slot = (at & 4095) >>> 2;
    if (page.plain) {
      // Only slices that ran long count here: one from a loop (or from code that runs long between
      // two returns to the machine loop) makes the page an ordinary one once the entry is worth compiling.
      if (insns < COMPILE_SLICE_INSNS) return;
      this.record(page, slot, insns);
      if (page.hits >= this.hot && worthCompiling(page, slot)) page.plain = false;
      return;
    }
    this.record(page, slot, insns);
  }

  private record(page: Page, slot: number, insns: number): void {
    const sl = (page.slices ??= new Int32Array(1024));
    const si = (page.sliceInsns ??= new Int32Array(1024));
    if (++sl[slot] >= SAMPLE_WINDOW) {
      sl[slot] >>= 1;
      si[slot] >>= 1;
    }
    si[slot] = Math.min(si[slot] + insns, 0x3fff_ffff);
  }

  /** Unregisters every entry of a translation whose words changed. */
  private drop(live: Live): void {
    for (const e of live.entries) {
      const page = this.pages[e.at >>> 12]!;
      const slot = (e.at & 4095) >>> 2;
      if (page.byOffset[slot] === e) {
        page.byOffset[slot] = undefined;
        page.seen[slot] = 0;
      }
    }
  }

  /** The engine judged an entry not worth calling: its address is interpreted from now on. */
  demote(e: Entry): void {
    const page = this.pages[e.at >>> 12]!;
    const slot = (e.at & 4095) >>> 2;
    if (page.byOffset[slot] !== e) return;
    page.byOffset[slot] = undefined;
    page.seen[slot] = -0x4000_0000; // never hot again
    this.counters.demoted++;
  }
}

/**
 * Whether the interpreter's slices from the entry at `slot` — at least
 * `samples` of them (1 or more) — ran `perSlice` instructions or more on
 * average.
 */
function slicesAveraged(page: Page, slot: number, samples: number, perSlice: number): boolean {
  const n = page.slices === undefined ? 0 : page.slices[slot];
  return n >= samples && page.sliceInsns![slot] >= perSlice * n;
}

/** Whether the entry's slices ran long enough on average to repay a translation the process compiled before. */
const longSlices = (page: Page, slot: number) => slicesAveraged(page, slot, SAMPLES, MIN_SLICE_INSNS);
/** Whether a new function may be compiled for the entry: its slices ran COMPILE_SLICE_INSNS or more on average. */
const worthCompiling = (page: Page, slot: number) => slicesAveraged(page, slot, SAMPLES, COMPILE_SLICE_INSNS);
/** Whether the entry's slices (at least one) ran MIN_SLICE_INSNS or more on average. */
const sliceRanLong = (page: Page, slot: number) => slicesAveraged(page, slot, 1, MIN_SLICE_INSNS);

/** Whether every word a translation was made from is still in memory. */
function matches(H: Int32Array, t: Translation): boolean {
  const at = t.at;
  const w = t.words;
  for (let i = 0; i < w.length; i++) if (H[at[i]] !== w[i]) return false;
  return true;
}
