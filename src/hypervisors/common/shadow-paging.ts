// Shadow paging for monitors that run an unmodified guest (hvm, trap): the
// guest's page tables stay its own, in its memory, under a *virtual* ptbr;
// the monitor walks them on every TLB miss and hands the machine the
// translation (the "shadow"). Guest page-table pages are write-protected
// (watched frames): each store to one exits to the monitor, which performs it
// and charges the update — correct, and as slow as it was on real hardware.
//
// Costs charged here, by the cost model's names:
//   shadow fill (the first TLB miss on a page since the shadow was dropped,
//   a "hidden page fault")          → the monitor's exit event
//   a guest store to a page table   → exit event + shadowUpdate

import { CAUSE, PGCTL_ENABLE } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import { walkPageTable } from "../../machine/mmu/walk.js";
import { Fault, type Access } from "../../machine/monitor.js";
import type { CostEvent } from "../../machine/cost-model.js";

export interface ShadowEntry {
  frame: number;
  /** The guest PTE's W and U bits. */
  writable: boolean;
  user: boolean;
}

const PAGE_MASK = 0xfffff000 | 0;

export class ShadowPager {
  /** The guest's view of ptbr and pgctl. */
  ptbr = 0;
  pgctl = 0;
  /** Pages with a shadow entry since the last drop (a later TLB miss on them is a plain hardware walk). */
  private readonly filled = new Set<number>();
  /** Frames holding guest page tables, write-protected. */
  private readonly watched = new Set<number>();

  constructor(
    private readonly machine: Machine,
    /** What one exit to the monitor costs on this back end (vmExit for hvm, exceptionEntry for trap). */
    private readonly exitEvent: CostEvent,
  ) {}

  get pagingEnabled(): boolean {
    return (this.pgctl & PGCTL_ENABLE) !== 0;
  }

  /** The guest's translation of `va`, or the fault the guest would see. Permissions are the caller's to check. */
  lookup(va: number, access: Access): ShadowEntry | Fault {
    if (!this.pagingEnabled) {
      // The identity map ends where guest RAM does, as on bare metal (a bus error above).
      const frame = (va & PAGE_MASK) >>> 0;
      if (frame + 4096 > this.machine.memory.guestLimit) return new Fault(CAUSE.BUS_ERROR, va);
      return { frame, writable: true, user: true };
    }
    const w = walkPageTable(this.machine.memory, this.ptbr, va, access);
    if (w instanceof Fault) return w;
    this.watch(w.pdeAddr);
    this.watch(w.pteAddr);
    const page = va >>> 12;
    if (!this.filled.has(page)) {
      this.filled.add(page);
      this.machine.count("shadowFills");
      this.machine.charge(this.exitEvent);
    }
    return { frame: w.frame, writable: (w.perm & 2) !== 0, user: (w.perm & 4) !== 0 };
  }

  private watch(pa: number): void {
    const f = pa >>> 12;
    if (this.watched.has(f)) return;
    this.watched.add(f);
    this.machine.watchFrame(pa, true);
  }

  /** The guest wrote ptbr or pgctl: drop every shadow and write protection. */
  setRoot(ptbr: number, pgctl: number): void {
    this.ptbr = ptbr;
    this.pgctl = pgctl;
    for (const f of this.watched) this.machine.watchFrame(f << 12, false);
    this.watched.clear();
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
    for (const f of this.watched) this.machine.watchFrame(f << 12, false);
    this.watched.clear();
    this.filled.clear();
  }

  /** Root, filled pages and watched frames, for an exact snapshot (the machine restores its watch bits itself). */
  saveState(): { ptbr: number; pgctl: number; filled: number[]; watched: number[] } {
    return { ptbr: this.ptbr, pgctl: this.pgctl, filled: [...this.filled], watched: [...this.watched] };
  }
  restoreState(s: { ptbr: number; pgctl: number; filled: number[]; watched: number[] }): void {
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
    if (size === 4) mem.i32[pa >>> 2] = value;
    else if (size === 2) mem.u16[pa >>> 1] = value;
    else mem.u8[pa] = value;
    this.machine.count("pageTableWrites");
    this.machine.charge(this.exitEvent);
    this.machine.charge("shadowUpdate");
  }
}

/** A page fault as the guest sees it, for a permission the guest's PTE denies. */
export function permissionFault(access: Access, va: number): Fault {
  return new Fault(CAUSE.PAGE_FAULT_FETCH + access, va);
}
