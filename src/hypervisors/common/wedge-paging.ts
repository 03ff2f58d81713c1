// The third layer of the host side of xen and l4 (wedge-monitor.ts has the
// whole chain): how the virtual CPU reaches memory. WedgePaging extends
// WedgeMigration (wedge-migration.ts).
//
// Consumes the running vCPU's virtual mode and ptbr/pgctl (wedge-state.ts)
// and the guest's page tables in the machine's memory. Produces:
// - translate / refill (the TLB miss): the window (only while the virtual
//   CPU is in supervisor mode; from virtual user mode it is a page fault for
//   the guest kernel), then the guest's own page tables with the permissions
//   of its virtual mode. Paging off: the machine's identity map. The back end
//   hears of each walk (beforeWalk, noteFill).
// - guestPhysical, the same translation for the monitor's own accesses on
//   the guest's behalf (guest-memory.ts).
// - the guest's ptbr/pgctl writes and TLB operations, with the flushes the
//   hardware would make.
// - the page-table update queue: updates a para-virtualized guest queues in
//   the shared-info page are applied (validated) by mmu_update, and by the
//   monitor itself before a TLB flush/invalidate, a ptbr/pgctl write, a
//   return to user mode, a direct write to a page-table frame, and any page
//   fault (the access is retried once the queue is applied). Pre-virtualized
//   page-table accesses run natively (xen: writable page tables,
//   xen-monitor.ts).

import { CAUSE, CR, PGCTL_ENABLE } from "../../guest-isa/registers.js";
import { walkPageTable, walkPageTableInto, pageFaultCause, type PageWalk } from "../../machine/mmu/walk.js";
import { ACCESS, Fault, type Access, type MonitorTranslation } from "../../machine/monitor.js";
import { KERNEL_DOMAIN } from "../../machine/protection/protection.js";
import { GuestMemory, type AccessSize } from "./guest-memory.js";
import { HC_ERROR } from "./hypercalls.js";
import { WedgeMigration } from "./wedge-migration.js";
import { inWindow, QUEUE_ENTRIES, STUB_LIMIT, WINDOW_BACKED } from "./window.js";

const PAGE_MASK = 0xfffff000 | 0;
const PTE_V = 1;

/**
 * Host switch, for the differential test (test/hypervisors/xen-refill.test.ts):
 * false leaves a flushing ptbr/pgctl write's TLB to the flush after
 * rootChanged (no early drop: writePagingCr), which must give the same results.
 */
export const wedgeHostOptions = { dropBeforeRootChange: true };

export abstract class WedgePaging extends WedgeMigration {
  // ---------------------------------------------------------------- paging

  protected readPagingCr(cr: number): number {
    return cr === CR.ptbr ? this.ptbr : this.pgctl;
  }

  protected writePagingCr(cr: number, value: number): void {
    const m = this.machine;
    this.applyQueue();
    const old = this.pgctl;
    if (cr === CR.ptbr) this.ptbr = value;
    else this.pgctl = value;
    this.vcr[CR.ptbr] = this.ptbr;
    this.vcr[CR.pgctl] = this.pgctl;
    m.cr[CR.ptbr] = this.ptbr;
    m.cr[CR.pgctl] = this.pgctl & PGCTL_ENABLE;
    // As on the hardware: a new root, or paging switched on/off, flushes the TLB.
    const flush = cr === CR.ptbr || ((old ^ value) & PGCTL_ENABLE) !== 0;
    // The running CPU's entries go before rootChanged (uncharged; the flush is charged after it, as
    // always): each frame xen releases then re-derives the tags of the entries left mapping it, and
    // there are none (47 K root changes in `mixed` at scale 200, each releasing every page table).
    if (flush && wedgeHostOptions.dropBeforeRootChange) m.tlbDrop();
    this.rootChanged();
    if (flush) m.tlbFlush();
  }

  protected flushTlb(): void {
    this.applyQueue();
    this.tlbOperation("all");
    this.machine.tlbFlush();
  }

  protected invalidateTlb(va: number): void {
    this.applyQueue();
    this.tlbOperation(va);
    this.machine.tlbInvalidate(va);
  }

  private get pagingOn(): boolean {
    return (this.pgctl & PGCTL_ENABLE) !== 0;
  }

  /**
   * The walk a TLB refill makes, reused: a refill happens at every TLB miss
   * (1.7 M in `mixed` at scale 200 under xen, the TLB being dropped at each
   * guest mode switch) and reads the walk before the next one, so no walk
   * object is allocated per miss. (The translation it returns is a new
   * object: a monitor's caller may keep it.)
   */
  private readonly walkOut: PageWalk = { frame: 0, perm: 0, pdeAddr: 0, pteAddr: 0 };

  /** Monitor.refill: the translation as frame | PERM bits (V 1, W 2, U 4), with no object made per TLB miss. */
  refill(va: number, access: Access): number | Fault | undefined {
    if (inWindow(va)) return this.windowRefill(va, access);
    if (!this.pagingOn) return undefined; // the machine's identity map, as on bare metal
    this.beforeWalk(va);
    const w = walkPageTableInto(this.machine.memory, this.ptbr, va, access, this.walkOut);
    if (w instanceof Fault) return w;
    if (!this.su && (w.perm & 4) === 0) return new Fault(pageFaultCause(access), va);
    if (access === ACCESS.STORE && (w.perm & 2) === 0) return new Fault(pageFaultCause(access), va);
    this.noteFill(va, w);
    return w.frame | 1 | (w.perm & 2) | 4;
  }

  translate(va: number, access: Access): MonitorTranslation | Fault | undefined {
    const r = this.refill(va, access);
    return typeof r === "number" ? { frame: (r & PAGE_MASK) >>> 0, writable: (r & 2) !== 0, user: true } : r;
  }

  /** The window's translation (refill's form): the running vCPU's shared-info page, the VMM's text and stubs; supervisor mode only. */
  private windowRefill(va: number, access: Access): number | Fault {
    const off = (va >>> 0) - WINDOW_BACKED;
    // Below the backed part and the page above the stubs: unmapped.
    if (!this.su || off < 0 || off >= STUB_LIMIT - WINDOW_BACKED) return new Fault(pageFaultCause(access), va);
    const page = off >>> 12;
    const writable = this.vmm.writablePages[page] === 1;
    if (access === ACCESS.STORE && !writable) return new Fault(pageFaultCause(access), va);
    // The shared-info page is the running vCPU's own; the frames backing the other vCPUs' copies have no address of their own.
    if (writable) return (this.windowPa + (off & PAGE_MASK) + this.machine.cpuId * this.dataPages * 4096) | 1 | 2 | 4;
    const extra = page - (this.dataPage + this.dataPages);
    if (extra >= 0 && extra < (this.machine.cpuCount - 1) * this.dataPages) return new Fault(pageFaultCause(access), va);
    return (this.windowPa + (off & PAGE_MASK)) | 1 | 4;
  }

  get guestIsUser(): boolean {
    return !this.su;
  }

  /** GuestView: a guest virtual address as the virtual CPU would reach it (physical address or the fault). Use `this.guest`. */
  guestPhysical(va: number, access: Access, size: AccessSize, asUser: boolean): number | Fault {
    if (va & (size - 1)) return new Fault(CAUSE.MISALIGNED, va);
    if (inWindow(va)) {
      if (asUser) return new Fault(pageFaultCause(access), va);
      const t = this.windowRefill(va, access);
      return t instanceof Fault ? t : ((t & PAGE_MASK) >>> 0) + (va & 0xfff);
    }
    if (!this.pagingOn) {
      const pa = va >>> 0;
      const mem = this.machine.memory;
      return pa + size <= mem.guestLimit || mem.isDevice(pa) ? pa : new Fault(CAUSE.BUS_ERROR, va);
    }
    const w = walkPageTable(this.machine.memory, this.ptbr, va, access);
    if (w instanceof Fault) return w;
    if ((asUser && (w.perm & 4) === 0) || (access === ACCESS.STORE && (w.perm & 2) === 0)) return new Fault(pageFaultCause(access), va);
    return w.frame + (va & 0xfff);
  }

  protected fetch(va: number): number | undefined {
    const w = this.guest.fetchWord(va);
    return w instanceof Fault ? undefined : w;
  }

  // ---------------------------------------------------------------- the page-table update queue

  /** Applies the VMM's queued page-table updates (the monitor is already entered: no extra hypercall). */
  protected applyQueue(): void {
    const mem = this.machine.memory;
    const raw = mem.i32[this.iQcount];
    if (raw === 0) return;
    mem.i32[this.iQcount] = 0;
    if (raw < 0 || raw > QUEUE_ENTRIES) {
      this.tick("mmu_update.bad_count");
      return;
    }
    // The kernel queued them: applied with its permissions, even after a switch to user mode, and as domain 0's
    // (only domain 0 may write the queue: vmm-protection.ts).
    this.applyBatch(this.vmm.symbols.QUEUE, raw, false, KERNEL_DOMAIN);
  }

  /**
   * mmu_update: `count` (address, value) pairs at virtual `va`, read with the
   * guest's read permission (`asUser`: its user or supervisor mode); returns
   * the number applied, or HC_ERROR.FAULT when the array is misaligned or
   * wraps around 2^32 (nothing applied). An entry that cannot be read ends
   * the batch. `caller`: the protection domain the batch is applied for (the
   * hypercall's, callerDomain), which must be allowed to read each pair
   * and to write each entry's word.
   */
  protected applyBatch(va: number, count: number, asUser: boolean, caller: number): number {
    this.tick("mmu_update.batches");
    if (!GuestMemory.validRange(va, 8 * count, 4)) {
      this.tick("mmu_update.refused");
      return HC_ERROR.FAULT;
    }
    let applied = 0;
    const pair = this.words;
    for (let i = 0; i < count; i++) {
      if (this.guest.readWords(caller, (va + 8 * i) | 0, 2, pair, asUser) !== undefined) {
        this.tick("mmu_update.refused");
        break;
      }
      if (this.applyUpdate(pair[0], pair[1], asUser, caller)) applied++;
    }
    this.tick("mmu_update.entries", applied);
    return applied;
  }

  /**
   * One validated page-table update: the entry's address must be writable
   * by the guest (its own page tables and permissions), in guest RAM and
   * outside the window, and writable by the `caller` domain; a
   * valid entry's frame must be guest RAM. The write itself is the
   * hypervisor's validated one, so it may land in a write-protected page
   * table.
   */
  protected applyUpdate(ptrVa: number, value: number, asUser: boolean, caller: number): boolean {
    const m = this.machine;
    const pa = this.guest.physical(caller, ptrVa, ACCESS.STORE, 4, asUser);
    const limit = m.memory.guestLimit;
    if (pa instanceof Fault || pa + 4 > limit || inWindow(ptrVa) || ((value & PTE_V) !== 0 && ((value & PAGE_MASK) >>> 0) + 4096 > limit)) {
      this.tick("mmu_update.refused");
      return false;
    }
    this.writePageTable(pa, value, 4);
    return true;
  }

  /** Writes a page-table word (the back end hears about it: l4 tracks mappings). */
  protected writePageTable(pa: number, value: number, size: 1 | 2 | 4): void {
    // Through the memory API: a live migration's dirty log sees monitor writes too.
    const mem = this.machine.memory;
    if (size === 4) mem.write32(pa, value);
    else if (size === 2) mem.write16(pa, value);
    else mem.write8(pa, value);
  }

  onWatchedStore(pa: number, value: number, size: 1 | 2 | 4): void {
    this.chargeEntry();
    this.applyQueue(); // queued updates were written first
    this.ptWriteFault?.(pa, value, size);
  }
}
