// Shadow paging for monitors that run an unmodified guest (hvm, trap): the
// guest's page tables stay its own, in its memory, under a *virtual* ptbr;
// the monitor walks them on every TLB miss and hands the machine the
// translation (the "shadow"). Guest page-table pages are write-protected
// (watched frames): each store to one exits to the monitor, which performs it
// and charges the update — correct, and as slow as it was on real hardware.
//
// With several vCPUs (docs/design.md §7) each vCPU has its own pager — its
// own virtual ptbr/pgctl and its own shadow (the pages filled since its last
// flush, as its own TLB) — while the write protection is the guest's, shared
// (PageTableWatch): a page-table frame stays write-protected as long as any
// vCPU's shadow was built through it, so a page-table write on one vCPU
// always reaches the monitor and every vCPU's next walk sees it (the shadows
// stay coherent; each vCPU's TLB keeps a stale entry only until the guest
// invalidates it there, as on bare metal). A vCPU's new root releases only
// its own claims.
//
// Costs charged here, by the cost model's names:
//   shadow fill (the first TLB miss on a page since the shadow was dropped,
//   a "hidden page fault")          → the monitor's exit event
//   a guest store to a page table   → exit event + shadowUpdate

import { CAUSE, PGCTL_ENABLE } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import { walkPageTableInto, type PageWalk } from "../../machine/mmu/walk.js";
import { Fault, type Access } from "../../machine/monitor.js";
import type { CostEvent } from "../../machine/cost-model.js";
import { EVENT_ID } from "../../machine/stats.js";
import { isWord } from "./neutral-state.js";

export interface ShadowEntry {
  frame: number;
  /** The guest PTE's W and U bits. */
  writable: boolean;
  user: boolean;
}

const PAGE_MASK = 0xfffff000 | 0;

/**
 * The guest's write-protected page-table frames, shared by its vCPUs' pagers:
 * per frame, a bit per vCPU whose shadow was built through it. The frame is
 * watched (stores exit to the monitor) while any bit is set.
 */
export class PageTableWatch {
  private readonly users = new Map<number, number>();

  constructor(private readonly machine: Machine) {}

  /** vCPU `cpu`'s shadow goes through frame `f`. */
  claim(f: number, cpu: number): void {
    const mask = this.users.get(f) ?? 0;
    if (mask === 0) this.machine.watchFrame(f << 12, true);
    this.users.set(f, mask | (1 << cpu));
  }

  /** vCPU `cpu` no longer needs frame `f` protected; released when no vCPU does. */
  release(f: number, cpu: number): void {
    const mask = (this.users.get(f) ?? 0) & ~(1 << cpu);
    if (mask !== 0) return void this.users.set(f, mask);
    this.users.delete(f);
    this.machine.watchFrame(f << 12, false);
  }

  /** Rebuilds the claims from the pagers' own sets (after an exact restore; the machine restores its watch bits itself). */
  rebuild(pagers: readonly ShadowPager[]): void {
    this.users.clear();
    pagers.forEach((p, cpu) => {
      for (const f of p.watchedFrames()) this.users.set(f, (this.users.get(f) ?? 0) | (1 << cpu));
    });
  }
}

export class ShadowPager {
  /** The guest's view of ptbr and pgctl. */
  ptbr = 0;
  pgctl = 0;
  /** Pages with a shadow entry since the last drop (a later TLB miss on them is a plain hardware walk). */
  private readonly filled = new Set<number>();
  /** Frames holding guest page tables this vCPU's shadow was built through (write-protected through `watch`). */
  private readonly watched = new Set<number>();

  constructor(
    private readonly machine: Machine,
    /** What one exit to the monitor costs on this back end (vmExit for hvm, exceptionEntry for trap). */
    exitEvent: CostEvent,
    /** The guest's shared write protection (one per guest). */
    private readonly pageTables: PageTableWatch = new PageTableWatch(machine),
    /** The vCPU this pager belongs to. */
    private readonly cpu = 0,
  ) {
    this.exitId = EVENT_ID[exitEvent];
    this.fillsId = machine.counterId("shadowFills");
    this.writesId = machine.counterId("pageTableWrites");
  }

  /** EVENT_ID of exitEvent (charged at every fill and page-table write). */
  private readonly exitId: number;
  /** The machine's counter ids of shadowFills and pageTableWrites (no string-keyed lookup per fill). */
  private readonly fillsId: number;
  private readonly writesId: number;

  watchedFrames(): Iterable<number> {
    return this.watched;
  }

  get pagingEnabled(): boolean {
    return (this.pgctl & PGCTL_ENABLE) !== 0;
  }

  /** The guest's translation of `va`, or the fault the guest would see. Permissions are the caller's to check. */
  lookup(va: number, access: Access): ShadowEntry | Fault {
    const r = this.refill(va, access);
    return typeof r === "number" ? { frame: (r & PAGE_MASK) >>> 0, writable: (r & 2) !== 0, user: (r & 4) !== 0 } : r;
  }

  /** The walk a lookup makes, reused (a lookup reads it before the next one). */
  private readonly walkOut: PageWalk = { frame: 0, perm: 0, pdeAddr: 0, pteAddr: 0 };

  /**
   * lookup's answer as one number, the frame | V 1 | W 2 | U 4 (Monitor.refill's
   * form), with no object made: what the TLB refill of hvm and trap asks.
   */
  refill(va: number, access: Access): number | Fault {
    if (!this.pagingEnabled) {
      // The identity map ends where guest RAM does, as on bare metal (a bus error above), but for device registers (MMIO).
      const frame = (va & PAGE_MASK) >>> 0;
      if (frame + 4096 > this.machine.memory.guestLimit && !this.machine.memory.isDevice(frame)) return new Fault(CAUSE.BUS_ERROR, va);
      return frame | 1 | 2 | 4;
    }
    const w = walkPageTableInto(this.machine.memory, this.ptbr, va, access, this.walkOut);
    if (w instanceof Fault) return w;
    this.watch(w.pdeAddr);
    this.watch(w.pteAddr);
    const page = va >>> 12;
    if (!this.filled.has(page)) {
      this.filled.add(page);
      this.machine.countAt(this.fillsId);
      this.machine.chargeAt(this.exitId);
    }
    return w.frame | 1 | (w.perm & 6);
  }

  private watch(pa: number): void {
    const f = pa >>> 12;
    if (this.watched.has(f)) return;
    this.watched.add(f);
    this.pageTables.claim(f, this.cpu);
  }

  /** Releases this vCPU's claims on page-table frames. */
  private unwatchAll(): void {
    for (const f of this.watched) this.pageTables.release(f, this.cpu);
    this.watched.clear();
  }

  /** The guest wrote ptbr or pgctl: drop every shadow and write protection. */
  setRoot(ptbr: number, pgctl: number): void {
    this.ptbr = ptbr;
    this.pgctl = pgctl;
    this.unwatchAll();
    this.dropAll();
  }

  /**
   * Takes over a migrated guest's page-table root without charging anything:
   * the shadow starts empty and is rebuilt from the guest's tables on demand
   * (each first miss is a shadow fill, as after a guest TLB flush).
   */
  adopt(ptbr: number, pgctl: number): void {
    this.ptbr = ptbr;
    this.pgctl = pgctl;
    this.unwatchAll();
    this.filled.clear();
  }

  /** Root, filled pages and watched frames, for an exact snapshot (the machine restores its watch bits itself; the caller rebuilds the PageTableWatch). */
  saveState(): { ptbr: number; pgctl: number; filled: number[]; watched: number[] } {
    return { ptbr: this.ptbr, pgctl: this.pgctl, filled: [...this.filled], watched: [...this.watched] };
  }
  restoreState(s: { ptbr: number; pgctl: number; filled: number[]; watched: number[] }): void {
    // From a snapshot file: whole 32-bit numbers only (a fractional ptbr was exported again as the guest's, then refused).
    if (!isWord(s.ptbr) || !isWord(s.pgctl) || !Array.isArray(s.filled) || !Array.isArray(s.watched) || !s.filled.every(isWord) || !s.watched.every(isWord)) {
      throw new Error("a shadow pager's state is not whole 32-bit numbers");
    }
    this.ptbr = s.ptbr;
    this.pgctl = s.pgctl;
    this.filled.clear();
    for (const p of s.filled) this.filled.add(p);
    this.watched.clear();
    for (const f of s.watched) this.watched.add(f);
  }

  /** The guest flushed its TLB: shadows are rebuilt on demand. */
  dropAll(): void {
    this.filled.clear();
    this.machine.tlbFlush();
  }

  dropPage(va: number): void {
    this.filled.delete(va >>> 12);
    this.machine.tlbInvalidate(va);
  }

  /** A guest store to a write-protected page-table frame: perform it, charge it. */
  emulateStore(pa: number, value: number, size: 1 | 2 | 4): void {
    const mem = this.machine.memory;
    mem.markWritten(pa, size);
    if (size === 4) mem.i32[pa >>> 2] = value;
    else if (size === 2) mem.u16[pa >>> 1] = value;
    else mem.u8[pa] = value;
    this.machine.countAt(this.writesId);
    this.machine.chargeAt(this.exitId);
    this.machine.chargeAt(EVENT_ID.shadowUpdate);
  }
}

/** A page fault as the guest sees it, for a permission the guest's PTE denies. */
export function permissionFault(access: Access, va: number): Fault {
  return new Fault(CAUSE.PAGE_FAULT_FETCH + access, va);
}
