// The JIT engine: what the machine loop calls instead of the interpreter's
// `cpu.run(limit)` when the engine is "jit" (machine.ts).
//
// Consumes the CPU (cpu.ts), the TLB's fast arrays (mmu/tlb.ts) and the
// heap views of physical memory (memory.ts). Produces the same state
// changes, cycles, counters and trace as `cpu.run(limit)` would — the
// interpreter is the reference, test/machine/jit*.test.ts the proof — and
// the host-side counters of `hostStats()` (translations, invalidations, …),
// which are about the emulator, not the guest, and may differ by engine.
//
// Until the process has interpreted EVIDENCE_INSNS instructions (while it
// has compiled nothing), there is no loop: `cpu.run` alone, in slices
// (cache.ts `interpretsOnly`), so that a short run costs what the
// interpreter costs.
//
// The loop, per dispatch:
// 1. cycles >= limit: return (the interpreter would not start another instruction).
// 2. Fetch as the interpreter does: the TLB fast tag of pc's page for the
//    current mode. A miss (TLB miss, a protection-checked frame, no
//    permission): the interpreter's fetch slow path, done here — the MMU's
//    translateAccess (the walk, its charge and counters, the monitor's
//    translation), the fault or bus error it raises — and, as in the
//    interpreter, the instruction then runs even when the walk's charge
//    reached the limit (`fetchSlow`). A misaligned pc: step.
// 3. The translation entered at that physical address (cache.ts, which
//    translates on a miss and verifies words written since); none (a trap,
//    privileged or sensitive instruction, an illegal word): step.
// 4. Run it. It returns NEXT (dispatch again), STORE (it wrote into a code
//    page: new epoch, dispatch again), SYS (it ran sti or wrpsr: return to
//    the machine loop), LIMIT (its next block
//    would reach the limit: the interpreter runs up to the limit), or STEP
//    (the instruction at pc needs a slow path). A load, store or atomic at
//    a STEP is the engine's (`access`): the interpreter's slow path for it
//    (cpu.ts accessSlow), then dispatch again where the interpreter would
//    go on with the next instruction, else return.
// "Step" is the interpreter for one instruction (`cpu.run` with a limit just
// above the current cycle count), and then a return to the machine loop,
// exactly as after the interpreter's own slow paths and system
// instructions: the loop fires events and takes interrupts at the same
// instruction boundaries (returning *more* often than the interpreter is
// harmless: test/machine/slicing.test.ts). Anything other than translated
// code may write memory while the engine is not running translations: after
// the interpreter ran (unless it was one non-store instruction with no
// monitor attached), and when the machine reports device events,
// interrupts or a new run (`memoryMayHaveChanged`), a new verification
// epoch starts (cache.ts). An entry's first calls are judged by what they
// lead to: the instructions run from the call until the engine next
// interprets or returns (`judge`); too few, and the entry is left to the
// interpreter (cache.ts demote).

import { INSTRUCTIONS } from "../../guest-isa/isa-table.js";
import { CAUSE, PSR } from "../../guest-isa/registers.js";
import type { Cpu } from "../cpu.js";
import { RAM_BASE, type PhysicalMemory } from "../memory.js";
import { ACCESS, type Fault } from "../monitor.js";
import { Tlb } from "../mmu/tlb.js";
import { type Entry, JUDGE_AFTER, MIN_INSNS_PER_CALL, noteInterpreted, TranslationCache, type CacheCounters } from "./cache.js";
import { EXIT } from "./translate.js";

/** Host-side counters of the JIT: about the emulator's work, never simulated results. */
export interface JitCounters extends CacheCounters {
  /** Translations run (calls from the dispatcher). */
  dispatches: number;
  /** Instructions handed to the interpreter one at a time (slow paths, fetch misses). */
  steps: number;
  /** Slices the interpreter finished because a block did not fit before the next event. */
  limitSlices: number;
  /** Exits after a store into a page holding translations. */
  storeExits: number;
  /** Instructions the interpreter executed (the rest ran translated). */
  interpreted: number;
  /** Fetches the TLB's fast tag could not serve that the engine took through the MMU's slow path itself (`fetchSlow`). */
  fetchWalks: number;
  /** Loads, stores and atomics a translation left to the interpreter's slow path that the engine ran itself (`access`). */
  slowAccesses: number;
  /** Protection-checked loads and stores translations did themselves (cpu.ts checkedAccess). */
  checkedAccesses: number;
}

/** What the engine needs of the machine (machine.ts passes itself). */
export interface JitHost {
  /** The attached monitor, if any (its hooks may write memory). */
  readonly monitor: unknown;
  /** Per opcode: 1 when the monitor asks an exit for it (filled at attach). */
  readonly exitMask: Uint8Array;
  /** The MMU's slow path, as the interpreter's fetch calls it (cpu.ts CpuHost). */
  translateAccess(va: number, access: typeof ACCESS.FETCH, user: boolean): number | Fault;
  /** Raises an exception, as the interpreter's fetch does on a fault. */
  raise(cause: number, epc: number, badva?: number): void;
}

/**
 * Per opcode, from the ISA table's groups: the loads (READS) and the stores
 * and atomics (WRITES, which may write code) whose slow path the engine runs
 * itself after a translation's STEP (`access`); 0 for everything else.
 */
const READS = 1;
const WRITES = 2;
const ACCESS_KIND = new Uint8Array(64);
for (const row of INSTRUCTIONS) ACCESS_KIND[row.opcode] = row.group === "load" ? READS : row.group === "store" || row.group === "atomic" ? WRITES : 0;

/** Cycles the interpreter runs where nothing is translated, before the engine looks for a translation again. */
const INTERPRET_SLICE = 4096;

/**
 * The most cycles one call of a translation may run. A translation that
 * loops until the next device event (none, in a compute loop) is called
 * once and V8 only ever runs it through on-stack replacement, whose code for
 * these switch-in-a-loop functions ran the loads-and-stores loop at about
 * 60% of the speed of the same function entered by a call; and a function
 * that runs long per call is called too rarely to get optimized for calls
 * at all. So a call is given at most CALL_SPAN cycles: its blocks then exit
 * untouched (EXIT.LIMIT) at the first block start past that, and the
 * engine calls again. A LIMIT exit before the real limit only hands back a
 * block start, so this cannot change a result.
 */
const CALL_SPAN = 65_536;

/** Entries judged together on one chain of dispatches (`judge`); later ones in a longer chain wait for another. */
const CHAIN_JUDGED = 8;

export class JitEngine {
  private readonly cache: TranslationCache;
  private readonly H: Int32Array;
  private readonly H16: Uint16Array;
  private readonly H8: Uint8Array;
  private readonly codePages: Uint8Array;
  private tagRS = 0;
  private tagRU = 0;
  private tagWS = 0;
  private tagWU = 0;
  private add = 0;
  private readonly trace: number;
  private dispatches = 0;
  private steps = 0;
  private limitSlices = 0;
  private storeExits = 0;
  private interpreted = 0;
  private fetchWalks = 0;
  private slowAccesses = 0;
  /**
   * The entries still being judged that were dispatched since the engine
   * last interpreted or returned (`judge`), with the instruction count at
   * their call: preallocated, no allocation per dispatch. Their number is
   * `chain[0]`, not a field: a field first written at the process's first
   * dispatch (after START_INSNS) was a constant to V8 until then, and that
   * first write threw away the optimized machine loop and the engine's run,
   * interpret and interpretTo, which read it (--trace-deopt; about 40 ms of
   * a compiler thread to make them again in `mixed` at scale 24 under xen:
   * docs/speed-history.md "Twelfth round: short runs").
   */
  private readonly chain = new Int32Array(1);
  private readonly chainEntries: (Entry | undefined)[] = new Array(CHAIN_JUDGED).fill(undefined);
  private readonly chainInsns = new Float64Array(CHAIN_JUDGED);
  /** Bytes of RAM: a fetch at or past it is a bus error (cpu.ts run). */
  private readonly memSize: number;

  constructor(
    private readonly cpu: Cpu,
    memory: PhysicalMemory,
    tlb: Tlb,
    /** The machine: its monitor, exit mask, and the fetch slow path. */
    private readonly host: JitHost,
    threshold?: number,
  ) {
    this.H = memory.heap32;
    this.H16 = memory.heap16;
    this.H8 = memory.heap8;
    this.codePages = memory.codePages; // in the buffer: compiled loops read it (wasm-loop.ts)
    this.cache = new TranslationCache({ heap32: this.H, heap16: this.H16, heap8: this.H8, codePages: this.codePages }, cpu.cost, threshold);
    this.memSize = memory.size;
    this.useTlb(tlb);
    this.trace = Tlb.at(cpu.trace);
  }

  /**
   * Points the engine at the TLB of the CPU whose context is now loaded
   * (machine.ts, at a CPU switch). Translations are keyed by physical
   * address and take the TLB's arrays as arguments, so nothing else is
   * keyed on the CPU: this is all a switch needs.
   */
  useTlb(tlb: Tlb): void {
    this.tagRS = Tlb.at(tlb.tagReadSup);
    this.tagRU = Tlb.at(tlb.tagReadUser);
    this.tagWS = Tlb.at(tlb.tagWriteSup);
    this.tagWU = Tlb.at(tlb.tagWriteUser);
    this.add = Tlb.at(tlb.addend);
  }

  /** Runs like `cpu.run(limit)`: until `cycles >= limit`, or after an instruction the machine loop must look at. */
  run(limit: number): void {
    this.dispatchLoop(limit);
    if (this.chain[0] !== 0) this.judge();
  }

  /**
   * The chain of dispatches ends (the engine interprets, or returns to the
   * machine loop): each entry dispatched in it that is still being judged is
   * credited with the instructions run from its call to here, translated or
   * by the engine's slow accesses. After JUDGE_AFTER calls an entry whose
   * chains ran fewer than MIN_INSNS_PER_CALL instructions per call is
   * demoted. Judged by its own call instead, a loop whose call stops at a TLB
   * miss after xen's flush, or calls a function in another page, was demoted
   * although the engine ran on translated after it; its interpreter slices
   * then ran the loop (docs/speed-history.md "Eleventh round: short
   * translated paths").
   */
  private judge(): void {
    const n = this.cpu.instret;
    const pending = this.chain[0];
    for (let k = 0; k < pending; k++) {
      const e = this.chainEntries[k]!;
      this.chainEntries[k] = undefined;
      if (e.calls >= JUDGE_AFTER) continue; // judged already (dispatched twice in the chain)
      e.insns += n - this.chainInsns[k];
      if (++e.calls === JUDGE_AFTER && e.insns < MIN_INSNS_PER_CALL * JUDGE_AFTER) this.cache.demote(e);
    }
    this.chain[0] = 0;
  }

  private dispatchLoop(limit: number): void {
    // The process's first instructions: the interpreter alone (cache.ts EVIDENCE_INSNS), in slices that
    // end about where the process reaches EVIDENCE_INSNS (every instruction costs a cycle or more), so
    // that a run with no event for the interpreter to stop at still gets the engine from there on.
    // Here rather than in `run`: `run` then calls dispatchLoop from its first call on, so the machine
    // loop's optimized code, which inlines `run`, is not thrown away when the engine starts.
    const only = this.cache.interpretsOnly();
    if (only > 0) {
      this.interpretTo(Math.min(limit, this.cpu.cycles + Math.max(only, INTERPRET_SLICE)));
      return;
    }
    const cpu = this.cpu;
    const H = this.H;
    const cache = this.cache;
    for (;;) {
      if (!(cpu.cycles < limit) || cpu.leaveTurn) return;
      const pc = cpu.pc | 0;
      const user = (cpu.psr & PSR.SU) === 0;
      const s = (pc >>> 12) & 1023;
      const tagR = user ? this.tagRU : this.tagRS;
      let at: number;
      if ((pc & 0xfffff003) === H[(tagR + s) | 0]) at = (pc + H[(this.add + s) | 0]) | 0;
      // No read tag but the fetch tag (a frame a protection domain checks: the in-place VMM's code),
      // exactly as the interpreter's fetch checks it (cpu.ts exec): a TLB hit, no walk to make.
      else if (((pc & 0xfffff003) | (user ? 0 : 4)) === (cpu.tlb.fetchTag[s] | (user ? 0 : 4))) at = (pc + H[(this.add + s) | 0]) | 0;
      else if ((at = this.fetchSlow(pc, user, limit)) < 0) return;
      const e = cache.get(at);
      if (e === null) return this.step(limit, true); // a trap, privileged or sensitive instruction, or an illegal word
      if (e === undefined) return this.interpret(limit, at); // cold
      if (e === false) return this.interpret(limit, -1); // demoted
      this.dispatches++;
      const n0 = cpu.instret;
      if (e.calls < JUDGE_AFTER && this.chain[0] < CHAIN_JUDGED) {
        const k = this.chain[0]++;
        this.chainEntries[k] = e;
        this.chainInsns[k] = n0;
      }
      const span = cpu.cycles + CALL_SPAN;
      const callLimit = span < limit ? span : limit;
      const ex = e.live.t.fn(cpu, pc & 0xfffff000, tagR, user ? this.tagWU : this.tagWS, this.add, this.trace, callLimit, H, this.H16, this.H8, this.codePages, e.block, this.host.exitMask);
      if (ex === EXIT.NEXT) continue;
      if (ex === EXIT.SYS) return; // after sti or wrpsr: the machine loop looks at interrupts (and the mode), as after the interpreter's
      if (ex === EXIT.STORE) {
        this.storeExits++;
        cache.epoch++; // its own page, or another translation's: every block checks its words again
        continue;
      }
      if (ex === EXIT.LIMIT) {
        // The call's span ran out, not the slice: call again (unless a block costs more than the span).
        if (callLimit < limit && cpu.instret !== n0) continue;
        this.limitSlices++;
        this.interpretTo(limit);
        return;
      }
      // EXIT.STEP: pc is in the page just run (its TLB entry unchanged). A load, store or atomic there
      // is the engine's (`access`); anything else the interpreter's. A store or atomic may write code.
      const w = H[((cpu.pc + H[(this.add + s) | 0]) | 0) >> 2];
      const kind = ACCESS_KIND[w & 63];
      if (kind !== 0) {
        if (this.access(w, user, limit, kind === WRITES)) continue;
        return;
      }
      return this.step(limit, true);
    }
  }

  /**
   * A load, store or atomic a translation left before (EXIT.STEP: a TLB
   * miss, a watched frame, a frame a protection domain checks whose access
   * the translation could not take, misaligned): what the interpreter does
   * there — the instruction charged as `exec` charges it, then its slow
   * path (cpu.ts accessSlow, the interpreter's own code). True when the
   * interpreter would go on with the next instruction: the engine dispatches
   * again (its loop top checks the limit and the fetch, as `exec` does);
   * false when it would return to the machine loop (a fault raised, a
   * device register, a watched store). The translation's limit check placed
   * the instruction before `limit`; should it not be (never, by that
   * check), the machine loop gets it back untouched. Memory may have changed
   * as after a step: a store, or a monitor's translation on the TLB fill.
   */
  private access(w: number, user: boolean, limit: number, writes: boolean): boolean {
    const cpu = this.cpu;
    if (!(cpu.cycles < limit)) return false;
    this.slowAccesses++;
    this.interpreted++;
    cpu.cycles += cpu.cost[w & 63];
    cpu.instret++;
    // Whether the TLB holds the page already (then the MMU calls no monitor), read before a load
    // may overwrite its base register.
    const va = cpu.accessAddress(w);
    const tlb = cpu.tlb;
    const hit = tlb.lookup(va) >= 0;
    const on = cpu.accessSlow(w, user);
    const monitor = this.host.monitor !== undefined;
    if (!on) {
      if (writes || monitor) this.cache.epoch++; // as after a step: a monitor's hook, a store
    } else if (!hit && monitor) this.cache.epoch++; // the monitor's translation of the TLB fill may write memory
    else if (writes) {
      const s = tlb.lookup(va);
      if (s < 0 || this.codePages[(tlb.frame[s] + RAM_BASE) >>> 12] !== 0) this.cache.epoch++; // into a page holding translations
    }
    return on;
  }

  /**
   * Something other than the CPU may have written memory (the machine loop
   * fired device events — disk DMA — or took an interrupt a monitor saw, or
   * a new run starts after the loader, a test or a monitor wrote): every
   * translation verifies its words before it runs again.
   */
  memoryMayHaveChanged(): void {
    this.cache.epoch++;
  }

  counters(): JitCounters {
    return { ...this.cache.counters, dispatches: this.dispatches, steps: this.steps, limitSlices: this.limitSlices, storeExits: this.storeExits, interpreted: this.interpreted, fetchWalks: this.fetchWalks, slowAccesses: this.slowAccesses, checkedAccesses: this.cpu.checkedAccesses };
  }

  /**
   * A fetch the TLB's fast tag cannot serve: a TLB miss (under xen, whose
   * monitor flushes the TLB at every guest mode switch: 38,000 of them in
   * `mixed` at scale 24), or a frame a protection domain restricts (the
   * in-place VMM's code), which has no fast tag at all. Does what the
   * interpreter's fetch slow path does (cpu.ts `run`, EXIT.FETCH): the MMU's
   * translateAccess — the walk with its charge and counters, or the
   * monitor's translation; nothing at all on a TLB hit, since a fetch is
   * not a protection-checked access — then raises its fault, or a bus error
   * past RAM. Returns the heap byte index of pc, from which the engine
   * dispatches as after a fast fetch (the interpreter too runs on in that
   * page); or -1 when the machine loop must look: the exception raised, or
   * the walk's charge reached the limit — the interpreter still runs that
   * one instruction (`force`), so the engine steps it. A misaligned pc is
   * the interpreter's (it raises before any walk). Before this, such a fetch
   * started an interpreter slice: 9.6 M of the 24 M instructions of `mixed`
   * under xen ran interpreted that way, the kernel code after every TLB
   * flush included.
   */
  private fetchSlow(pc: number, user: boolean, limit: number): number {
    if ((pc & 3) !== 0) {
      this.step(limit, false);
      return -1;
    }
    this.fetchWalks++;
    const r = this.host.translateAccess(pc, ACCESS.FETCH, user);
    // A monitor's translation (shadow tables, page-table write tracking) may have written memory.
    if (this.host.monitor !== undefined) this.cache.epoch++;
    if (typeof r !== "number" || r >= this.memSize) {
      if (typeof r !== "number") this.host.raise(r.cause, pc, r.badva);
      else this.host.raise(CAUSE.BUS_ERROR, pc, pc); // no code in device registers
      this.cache.epoch++; // a monitor may have reflected the fault (a trap frame written)
      return -1;
    }
    if (!(this.cpu.cycles < limit)) {
      // The walk's charge reached the limit: the interpreter runs the instruction anyway, then
      // returns (every cost is at least one cycle, so this runs exactly one).
      this.steps++;
      const c = this.cpu.cycles;
      this.interpretTo(c + Math.max(1e-9, Math.abs(c) * 4 * Number.EPSILON));
      return -1;
    }
    return (r + RAM_BASE) | 0;
  }

  /**
   * No translation at pc (cold or demoted): the interpreter runs a short slice. `at`: the heap byte
   * index of a cold entry, whose slice the cache weighs (cache.ts noteSlice); -1 otherwise.
   */
  private interpret(limit: number, at: number): void {
    this.steps++;
    const ran = this.interpretTo(Math.min(limit, this.cpu.cycles + INTERPRET_SLICE));
    if (at >= 0) this.cache.noteSlice(at, ran);
  }

  /**
   * One instruction by the interpreter (its slow paths), as the reference
   * slicing does. `storeFree`: the instruction is known not to be a store;
   * with no monitor either (whose hooks may write memory), nothing can have
   * written memory and the translations stay verified.
   */
  private step(limit: number, storeFree: boolean): void {
    this.steps++;
    const c = this.cpu.cycles;
    this.interpretTo(Math.min(limit, c + Math.max(1e-9, Math.abs(c) * 4 * Number.EPSILON)), storeFree && this.host.monitor === undefined);
  }

  /**
   * The interpreter up to `limit`; then a new epoch (its stores, its
   * monitor's writes) unless `clean` and it ran at most the one instruction
   * (with zero-cost instructions one slice can run several).
   */
  private interpretTo(limit: number, clean = false): number {
    if (this.chain[0] !== 0) this.judge(); // the chain of translated calls ends here
    const n = this.cpu.instret;
    this.cpu.run(limit);
    const ran = this.cpu.instret - n;
    this.interpreted += ran;
    noteInterpreted(ran);
    if (!clean || ran > 1) this.cache.epoch++;
    return ran;
  }
}
