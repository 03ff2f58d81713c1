// The xen back end's hypervisor: a Xen-like monitor (Barham et al., SOSP
// 2003) under a deprivileged guest kernel. The shared machinery — virtual CPU
// in the soft-layer window, event delivery, hypercalls, the page-table update
// queue — is common/wedge-monitor.ts; this file is what makes it Xen:
//
// - Direct paging: the guest's page tables are the real ones. The monitor
//   walks them on a TLB miss (the hardware walk: tlbMissWalk, charged by the
//   machine) and write-protects every page-table frame it walks through. A
//   direct store by the guest into one traps and is emulated (validated) —
//   correct, and charged as a trap into the hypervisor. Sites queue their
//   updates instead: one mmu_update hypercall per batch.
// - Costs: a hypercall per `hcall` (a multicall is one); exceptionEntry +
//   exceptionReturn per exception, interrupt or page-table write fault that
//   enters the hypervisor; interruptInjection per event delivered through
//   the callback. Counters: xen:mmu_update.batches / .entries / .refused,
//   xen:ptwrite.emulated, xen:event.delivered / .held, xen:hcall.NAME, …

import type { PageWalk } from "../../machine/mmu/walk.js";
import type { RewriteResult } from "../../rewriter/index.js";
import { WedgeMonitor } from "../common/wedge-monitor.js";

const PTE_V = 1;
const PAGE_MASK = 0xfffff000 | 0;

export class XenMonitor extends WedgeMonitor {
  readonly name = "xen";
  /** Frames holding guest page tables (write-protected). */
  private readonly watched = new Set<number>();

  constructor(rewrite: RewriteResult, options: { paravirt?: boolean } = {}) {
    super("xen", rewrite, options);
  }

  protected chargeEntry(): void {
    this.machine.charge("exceptionEntry");
    this.machine.charge("exceptionReturn");
  }

  protected chargeCall(): void {
    this.machine.charge("hypercall");
  }

  protected noteFill(_va: number, w: PageWalk): void {
    this.protect(w.pdeAddr);
    this.protect(w.pteAddr);
  }

  private protect(pa: number): void {
    const f = pa >>> 12;
    if (this.watched.has(f)) return;
    this.watched.add(f);
    this.machine.watchFrame(pa, true);
  }

  protected tlbOperation(): void {}

  protected saveBackend(): Record<string, unknown> {
    return { watched: [...this.watched] };
  }

  protected restoreBackend(s: Record<string, unknown>): void {
    this.watched.clear();
    for (const f of s.watched as number[]) this.watched.add(f);
  }

  protected rootChanged(): void {
    for (const f of this.watched) this.machine.watchFrame(f << 12, false);
    this.watched.clear();
  }

  protected override ptWriteFault(pa: number, value: number, size: 1 | 2 | 4): void {
    const m = this.machine;
    m.count("xen:ptwrite.emulated");
    if (size === 4 && (value & PTE_V) !== 0 && ((value & PAGE_MASK) >>> 0) + 4096 > m.memory.guestLimit) {
      m.count("xen:mmu_update.refused");
      return;
    }
    this.writePageTable(pa, value, size);
  }
}
