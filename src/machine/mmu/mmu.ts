// Address translation (docs/design.md §2 "Paging"): the slow path behind the TLB.
//
// Consumes a virtual address, an access kind and the mode; produces a
// physical address or a Fault value. On a TLB miss it asks the monitor
// first (if one translates), else — with paging off — maps identity, else
// walks the guest's two-level page table at `ptbr` (walk.ts). A walk counts
// as a TLB miss and is charged `tlbMissWalk`; identity fills with paging off
// are not TLB misses (there is no TLB with paging off — the emulator just
// caches). A monitor's translation counts as a miss (the hardware walks the
// monitor's shadow tables).

import { CAUSE, PGCTL_ENABLE } from "../../guest-isa/registers.js";
import { RAM_BASE, type PhysicalMemory } from "../memory.js";
import { ACCESS, Fault, type Access, type Monitor } from "../monitor.js";
import { PAGE_MASK, PERM, Tlb } from "./tlb.js";
import { pageFaultCause, walkPageTable } from "./walk.js";

const PTE_PERM_MASK = PERM.V | PERM.W | PERM.U;

/**
 * Host switch, for the differential test (test/hypervisors/monitor-refill.test.ts):
 * false asks every monitor `translate` instead of `refill` (Monitor.refill),
 * which must give the same results.
 */
export const mmuOptions = { refill: true };

/** What the MMU needs from the machine around it. */
export interface MmuHost {
  readonly memory: PhysicalMemory;
  /** Control registers (ptbr, pgctl are read here). */
  readonly cr: Int32Array;
  monitor: Monitor | undefined;
  /** Counts a TLB miss and charges its walk. */
  noteTlbMiss(): void;
}

export interface WalkResult {
  frame: number;
  perm: number;
}

export class Mmu {
  /** The executing CPU's TLB (machine.ts re-points it when it switches CPUs). */
  tlb: Tlb;
  /** Every CPU's TLB: watch-state changes re-derive the fast tags of all of them. */
  readonly tlbs: Tlb[];
  /**
   * Per physical frame: 1 when stores to it take the slow path — a monitor
   * watches it (`monitorWatched`), the dirty log protects it (`logProtected`)
   * or a host tracks writes to it (`trackProtected`).
   */
  readonly watched: Uint8Array;
  /** Per frame: 1 when a monitor watches stores to it (machine.watchFrame). */
  readonly monitorWatched: Uint8Array;
  /** Per frame, while dirty logging (machine.startDirtyLog): 1 until the frame's first store of the round. */
  logProtected: Uint8Array | undefined;
  /**
   * Per frame, once a host tracks writes (machine.trackWrites, write-tracking.ts): 1 until the
   * frame's first store since the host last took its writes. Host-only: nothing is charged or counted.
   */
  trackProtected: Uint8Array | undefined;

  constructor(
    private readonly host: MmuHost,
    private readonly ptbrIndex: number,
    private readonly pgctlIndex: number,
    /** Per frame: 1 when a protection domain restricts it (protection/protection.ts): no fast tag at all. */
    private readonly checked?: Uint8Array,
  ) {
    this.watched = new Uint8Array(host.memory.size >>> 12);
    this.monitorWatched = new Uint8Array(host.memory.size >>> 12);
    this.tlb = this.newTlb();
    this.tlbs = [this.tlb];
  }

  /** A TLB for one more CPU (its fast arrays in the state region too). */
  addTlb(): Tlb {
    const t = this.newTlb();
    this.tlbs.push(t);
    return t;
  }

  /** A CPU's TLB: its fast arrays in the state region, tags derived from this MMU's watched, checked and RAM frames. */
  private newTlb(): Tlb {
    return new Tlb((frame) => this.watched[frame >>> 12] === 1, (words) => this.host.memory.allocState(words), RAM_BASE, this.noFastTag, this.isRam, this.host.memory.written);
  }

  /** Frames [first, last] changed protection state: re-derive the fast tags of entries mapping them, in every CPU's TLB. */
  refreshFrames(first: number, last: number): void {
    for (const t of this.tlbs) {
      if (last - first >= 4) t.refreshAll();
      else for (let f = first; f <= last; f++) t.refreshFrame(f << 12);
    }
  }

  /**
   * Frames whose every access takes the slow path (no fast tag at all): those
   * a protection domain restricts, and the device window's (MMIO: not RAM,
   * so the fast path's typed-array access would read the wrong bytes).
   */
  private readonly noFastTag = (frame: number): boolean => (frame >>> 0) >= this.host.memory.size || this.checked?.[frame >>> 12] === 1;

  /** Frames code can be fetched from (RAM; the CPU raises a bus error for the device window's). */
  private readonly isRam = (frame: number): boolean => (frame >>> 0) < this.host.memory.size;

  pagingEnabled(): boolean {
    return (this.host.cr[this.pgctlIndex] & PGCTL_ENABLE) !== 0;
  }

  /** Translates through the TLB, filling it on a miss. */
  translate(va: number, access: Access, user: boolean): number | Fault {
    let s = this.tlb.lookup(va);
    if (s < 0) {
      const r = this.fill(va, access, user);
      if (r instanceof Fault) return r;
      s = r;
    }
    const perm = this.tlb.perm[s];
    if ((user && (perm & PERM.U) === 0) || (access === ACCESS.STORE && (perm & PERM.W) === 0)) {
      return new Fault(pageFaultCause(access), va);
    }
    return (this.tlb.frame[s] + (va & ~PAGE_MASK)) >>> 0;
  }

  /**
   * The translation the hardware would find, without touching the TLB or the
   * counters (for monitors, the loader, diagnoses). Ignores the monitor.
   */
  probe(va: number, access: Access, user: boolean, cr: ArrayLike<number> = this.host.cr): number | Fault {
    const w = (cr[this.pgctlIndex] & PGCTL_ENABLE) !== 0 ? walkPageTable(this.host.memory, cr[this.ptbrIndex], va, access) : this.identity(va);
    if (w instanceof Fault) return w;
    if ((user && (w.perm & PERM.U) === 0) || (access === ACCESS.STORE && (w.perm & PERM.W) === 0)) {
      return new Fault(pageFaultCause(access), va);
    }
    return (w.frame + (va & ~PAGE_MASK)) >>> 0;
  }

  /**
   * `probe` through the guest's own paging registers: a shadow pager (hvm,
   * trap) keeps the guest's ptbr and pgctl virtual (Monitor.guestRegisters)
   * and the real ones to itself — the real pgctl is 0 there, so `probe`
   * would answer physical address `va`, a frame the guest never named. The
   * guest's tables are in the same physical memory (the shadow pager walks
   * them there too). What the guest means by an address it hands the
   * machine (the memory supervisor's GRANT) or ran at (a diagnosis).
   */
  probeGuest(va: number, access: Access, user: boolean, cr = this.guestPaging()): number | Fault {
    return this.probe(va, access, user, cr);
  }

  /**
   * Where the CPU fetches `va` from now, with supervisor rights: through the
   * TLB entry it holds for the page while it has one (a monitor's
   * translation — the in-place VMM's window, say — which the guest's own
   * page tables do not have), else through the guest's page tables as they
   * are now (probeGuest; not the real registers, which a shadow pager keeps
   * to itself). The frame an instruction the guest is executing was read
   * from: what a diagnosis prints and what the host patches to inject a
   * crash. Changes nothing (no TLB fill, no counter).
   */
  probeFetch(va: number): number | Fault {
    const held = this.tlb.hit(va, false, false);
    return held >= 0 ? held : this.probeGuest(va, ACCESS.FETCH, false);
  }

  /** The control registers as the guest sees them now (probeGuest's; read once for many translations). */
  guestPaging(): ArrayLike<number> {
    return this.host.monitor?.guestRegisters?.().cr ?? this.host.cr;
  }

  private fill(va: number, access: Access, user: boolean): number | Fault {
    const monitor = this.host.monitor;
    if (monitor?.refill && mmuOptions.refill) {
      // The monitor's translation as one number (frame | PERM bits): no object per miss (Monitor.refill).
      const r = monitor.refill(va, access, user);
      if (typeof r === "number") {
        const frame = (r & PAGE_MASK) >>> 0;
        const mem = this.host.memory;
        if (!mem.contains(frame, 4096) && !mem.isDevice(frame)) return new Fault(CAUSE.BUS_ERROR, va);
        this.host.noteTlbMiss();
        return this.tlb.fill(va, frame, PERM.V | (r & (PERM.W | PERM.U)));
      }
      if (r !== undefined) return r;
    } else if (monitor?.translate) {
      const t = monitor.translate(va, access, user);
      if (t instanceof Fault) return t;
      if (t !== undefined) {
        const mem = this.host.memory;
        if (t.frame & ~PAGE_MASK || (!mem.contains(t.frame, 4096) && !mem.isDevice(t.frame))) return new Fault(CAUSE.BUS_ERROR, va);
        this.host.noteTlbMiss();
        return this.tlb.fill(va, t.frame, PERM.V | (t.writable ? PERM.W : 0) | (t.user ? PERM.U : 0));
      }
    }
    if (!this.pagingEnabled()) {
      const w = this.identity(va);
      return w instanceof Fault ? w : this.tlb.fill(va, w.frame, w.perm);
    }
    this.host.noteTlbMiss();
    const w = this.walk(va, access);
    return w instanceof Fault ? w : this.tlb.fill(va, w.frame, w.perm);
  }

  private identity(va: number): WalkResult | Fault {
    const frame = (va & PAGE_MASK) >>> 0;
    if (frame + 4096 > this.host.memory.guestLimit && !this.host.memory.isDevice(frame)) return new Fault(CAUSE.BUS_ERROR, va);
    return { frame, perm: PTE_PERM_MASK };
  }

  /** The two-level walk of the guest's own page tables (walk.ts). */
  walk(va: number, access: Access): WalkResult | Fault {
    return walkPageTable(this.host.memory, this.host.cr[this.ptbrIndex], va, access);
  }

  /** Starts or stops write-watching a physical frame (address of any byte in it). */
  setWatched(pa: number, on: boolean): void {
    const f = pa >>> 12;
    this.monitorWatched[f] = on ? 1 : 0;
    this.rederive(f);
  }

  /** Frame `f`'s `watched` from its three sources, and the fast tags of the entries mapping it when that changed. */
  private rederive(f: number): void {
    const w = this.monitorWatched[f] | (this.logProtected?.[f] ?? 0) | (this.trackProtected?.[f] ?? 0);
    if (this.watched[f] === w) return; // the fast tags derive from `watched`: nothing to re-derive
    this.watched[f] = w;
    for (const t of this.tlbs) t.refreshFrame(f << 12);
  }

  /** Dirty logging: write-protects every frame below `limit` (their first store each round takes the slow path). */
  protectAll(limit: number): void {
    const frames = limit >>> 12;
    this.logProtected ??= new Uint8Array(this.watched.length);
    this.logProtected.fill(1, 0, frames);
    this.watched.fill(1, 0, frames);
    for (const t of this.tlbs) t.refreshAll();
  }

  /**
   * A frame the dirty log or a host's write tracking protects was written: stores to it go fast
   * again (unless a monitor watches it) until the next round of either protects it again.
   */
  unprotect(frame: number): void {
    if (this.logProtected !== undefined) this.logProtected[frame] = 0;
    if (this.trackProtected !== undefined) this.trackProtected[frame] = 0;
    this.rederive(frame);
  }

  /** Ends dirty logging: the monitor's watches remain, and a host's write tracking. */
  stopLogging(): void {
    this.logProtected = undefined;
    const tracked = this.trackProtected;
    if (tracked === undefined) this.watched.set(this.monitorWatched);
    else for (let f = 0; f < this.watched.length; f++) this.watched[f] = this.monitorWatched[f] | tracked[f];
    for (const t of this.tlbs) t.refreshAll();
  }

  /** Write tracking: frame `frame`'s next store takes the slow path (`on`), or no longer for tracking's sake. */
  protectTracked(frame: number, on: boolean): void {
    if (!on && this.trackProtected === undefined) return;
    this.trackProtected ??= new Uint8Array(this.watched.length);
    this.trackProtected[frame] = on ? 1 : 0;
    this.rederive(frame);
  }
}
