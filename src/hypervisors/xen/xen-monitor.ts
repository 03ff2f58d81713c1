// The xen back end's hypervisor: a Xen-like monitor (Barham et al., SOSP
// 2003) under a deprivileged guest kernel. The shared machinery — virtual CPU
// in the soft-layer window, event delivery, hypercalls, the page-table update
// queue — is common/wedge-monitor.ts (and the layers it extends, named
// there); this file is what makes it Xen:
//
// - Direct paging: the guest's page tables are the real ones. The monitor
//   walks them on a TLB miss (the hardware walk: tlbMissWalk, charged by the
//   machine) and write-protects every page-table frame it walks through.
// - Writable page tables (Xen 2/3's VMASST_TYPE_writable_pagetables): a
//   guest store into a write-protected page table (a page directory's
//   entries point to it) traps once; the hypervisor then *unhooks* that page
//   table — the guest writes it directly, and reads it directly, so every
//   write is visible at once — and revalidates it (write-protected again)
//   before the next walk goes through it. A store into a page directory is
//   emulated and validated one by one (Xen never unhooks a directory).
//   Translations cached before the unhook stay valid until the guest
//   invalidates them, as on bare metal. Annotated page-table accesses
//   (`pte-store`, `pte-load` sites) therefore run natively; the shared
//   update queue and `mmu_update` remain for para-virtualized guests.
// - Costs: a hypercall per `hcall` (a multicall is one); exceptionEntry +
//   exceptionReturn per exception, interrupt, page-table write fault (an
//   unhook or an emulated directory write) and revalidation (the fault Xen
//   takes on the unhooked range); interruptInjection per event delivered
//   through the callback. Counters: xen:ptwr.unhook / .rehook / .invalid,
//   xen:ptwrite.emulated, xen:mmu_update.batches / .entries / .refused,
//   xen:event.delivered / .held, xen:hcall.NAME, …
// - Several vCPUs share the guest's page tables: a frame stays
//   write-protected (and a directory known as one, an unhooked page table
//   due for revalidation) while any vCPU's walks went through it — a bit
//   per vCPU — so one vCPU's new root releases only its own claims, and a
//   write by any vCPU into a page table another one uses is still seen.
//   A para-virtualized guest's queued page-table updates are its vCPU's
//   until applied; before each vCPU's turn the others' are (runnable).

import type { PageWalk } from "../../machine/mmu/walk.js";
import type { RewriteResult } from "../../rewriter/index.js";
import { WedgeMonitor } from "../common/wedge-monitor.js";
import { isWholeIn, pairsAsMap } from "../common/neutral-state.js";
import type { MonitorOptions } from "../index.js";
import { EVENT_ID } from "../../machine/stats.js";
import { FrameMap, FrameSet } from "./frame-map.js";

const PTE_V = 1;
const PAGE_MASK = 0xfffff000 | 0;
/** Page tables noteFill's memo holds (a power of two). */
const MEMO_SIZE = 32;

/**
 * Host switch, for the differential test (test/hypervisors/xen-refill.test.ts):
 * false runs every refill and root change the long way (no noteFill memo, no
 * one-vCPU release), which must give the same results.
 */
export const xenHostOptions = { shortcuts: true };

export class XenMonitor extends WedgeMonitor {
  readonly name = "xen";
  /** Frames holding guest page tables and directories (write-protected), each with the vCPUs (a bit each) whose walks went through it. */
  private readonly watched = new FrameMap();
  /** Of those, the page directories: never unhooked, every write to one is emulated. */
  private readonly directories = new FrameSet();
  /** Page tables unhooked by a write (with their vCPUs): the guest's to write until the next walk through them revalidates them. */
  private readonly unhooked = new Map<number, number>();

  /**
   * A para-virtualized image's page-table queue routines, [__pv_pte_queue,
   * __pv_pte_end) (src/compiler/paravirt.ts PARAVIRT_RUNTIME_ASM): a vCPU
   * whose pc is in them may hold its queue's count in a register, so its
   * queue is not applied from outside then. Undefined for other images.
   */
  private readonly queueCode: readonly [number, number] | undefined;

  constructor(rewrite: RewriteResult, options: MonitorOptions & { paravirt?: boolean } = { cpus: 1 }) {
    super("xen", rewrite, options);
    const at = (name: string) => rewrite.image.symbols.find((s) => s.name === name)?.value;
    const start = at("__pv_pte_queue");
    const end = at("__pv_pte_end");
    this.queueCode = this.paravirt && start !== undefined && end !== undefined ? [start >>> 0, end >>> 0] : undefined;
  }

  /**
   * Several vCPUs of a para-virtualized guest: before a vCPU's turn, the
   * page-table updates the others queued are applied. A vCPU's queue is its
   * own (its shared-info page), and the monitor applies it only at that
   * vCPU's own TLB operations, root changes, faults, returns to user mode
   * and full queues; the kernel's page-table writes are plain stores that
   * every CPU sees. Without this, vCPU 0 mapped a new process's pages,
   * blocked in the idle loop with the last entries still queued, and vCPU 1
   * took the process and faulted on them (`io`, `pagetable`: killed, page
   * fault at 0x00804090). On the interleaved machine another CPU observes
   * memory only between turns, so applying the queues before each turn
   * makes them, to every other vCPU, the direct stores the native kernel
   * does. A vCPU stopped inside the queue routines keeps its queue until
   * its next turn: it is inside writePte/readPte, which the kernel calls
   * with klock held (or at boot, alone), so no other CPU reads or writes
   * page tables meanwhile. One vCPU never gets here (the machine's
   * uniprocessor loop asks no `runnable`): one-vCPU runs are unchanged.
   * (machine.inCpu between turns: no CPU is executing.)
   */
  override runnable(cpu: number, epochStart: number): boolean {
    const runs = super.runnable(cpu, epochStart);
    if (runs && this.queueCode !== undefined) this.publishQueues(cpu);
    return runs;
  }

  private publishQueues(running: number): void {
    const m = this.machine;
    const [start, end] = this.queueCode!;
    for (let c = 0; c < m.cpuCount; c++) {
      if (c === running || this.queuedOn(c) === 0) continue;
      const pc = m.pcOf(c) >>> 0;
      if (pc >= start && pc < end) {
        m.count("xen:queue.publish_deferred");
        continue;
      }
      m.count("xen:queue.published");
      // In vCPU c's context: its shared-info page, address space and permissions apply the entries.
      m.inCpu(c, () => this.applyQueue());
    }
  }

  protected chargeEntry(): void {
    this.machine.chargeAt(EVENT_ID.exceptionEntry);
    this.machine.chargeAt(EVENT_ID.exceptionReturn);
  }

  protected chargeCall(): void {
    this.machine.chargeAt(EVENT_ID.hypercall);
  }

  /** A walk through an unhooked page table: Xen revalidates it first (the guest hit the zapped range), fault or not. */
  protected override beforeWalk(va: number): void {
    if (this.unhooked.size === 0) return;
    const mem = this.machine.memory;
    const pdeAddr = ((this.ptbr & PAGE_MASK) >>> 0) + (va >>> 22) * 4;
    if (pdeAddr + 4 > mem.guestLimit) return;
    if (this.unhooked.has(pdeAddr >>> 12)) this.rehook(pdeAddr >>> 12);
    const pde = mem.i32[pdeAddr >>> 2];
    if ((pde & PTE_V) !== 0 && this.unhooked.has(pde >>> 12 & 0xfffff)) this.rehook(pde >>> 12 & 0xfffff);
  }

  /**
   * noteFill's memo: page tables (direct-mapped by frame, -1 empty) whose
   * refill effects — `memoPd` known as a directory, both write-protected
   * for vCPU `memoCpu` — are already in place, so a refill through them
   * changes nothing and skips the map and set look-ups. Only adding claims
   * happens between two forgets; whatever drops one (rootChanged, an
   * unhook, a restore) calls forgetFills first. The TLB is refilled 1.7 M
   * times in `mixed` at scale 200 (it is dropped at each guest mode switch),
   * nearly always through a page table refilled through a moment before.
   */
  private readonly memoPt = new Int32Array(MEMO_SIZE).fill(-1);
  private memoPd = -1;
  private memoCpu = -1;

  private forgetFills(): void {
    if (this.memoPd === -1) return;
    this.memoPd = -1;
    this.memoPt.fill(-1);
  }

  protected noteFill(_va: number, w: PageWalk): void {
    const pd = w.pdeAddr >>> 12;
    const pt = w.pteAddr >>> 12;
    const cpu = this.machine.cpuId;
    if (pd === this.memoPd && cpu === this.memoCpu && this.memoPt[pt & (MEMO_SIZE - 1)] === pt) return;
    this.directories.add(pd);
    this.protect(pd);
    this.protect(pt);
    if (!xenHostOptions.shortcuts) return;
    if (pd !== this.memoPd || cpu !== this.memoCpu) {
      this.forgetFills();
      this.memoPd = pd;
      this.memoCpu = cpu;
    }
    this.memoPt[pt & (MEMO_SIZE - 1)] = pt;
  }

  /** Write-protects frame `f` for the running vCPU (and the vCPUs of `more`). */
  private protect(f: number, more = 0): void {
    const bit = (1 << this.machine.cpuId) | more;
    const mask = this.watched.get(f);
    if (mask !== undefined) {
      if ((mask | bit) !== mask) this.watched.set(f, mask | bit);
      return;
    }
    this.watched.set(f, bit);
    this.machine.watchFrame(f << 12, true);
  }

  /** Revalidates an unhooked page table: its valid entries must map guest RAM; write-protected again. */
  private rehook(f: number): void {
    const m = this.machine;
    const users = this.unhooked.get(f) ?? 0;
    this.unhooked.delete(f);
    m.count("xen:ptwr.rehook");
    this.chargeEntry();
    const mem = m.memory;
    const limit = mem.guestLimit;
    for (let i = 0; i < 1024; i++) {
      const pte = mem.i32[(f << 10) + i];
      // An entry mapping a frame outside guest RAM (and not a device register page) is never used:
      // the walk refuses it (a bus error, as on bare metal).
      if ((pte & PTE_V) !== 0 && ((pte & PAGE_MASK) >>> 0) + 4096 > limit && !mem.isDevice(pte & PAGE_MASK)) m.count("xen:ptwr.invalid");
    }
    this.protect(f, users);
  }

  protected tlbOperation(): void {}

  protected saveBackend(): Record<string, unknown> {
    return { watched: [...this.watched], directories: [...this.directories], unhooked: [...this.unhooked] };
  }

  protected restoreBackend(s: Record<string, unknown>): void {
    // As the monitor keeps them (a snapshot file is input): page-table frames a walk can go through (inside guest
    // RAM), each once, with a non-empty set of this guest's vCPUs; the directories among the watched frames; the
    // watched frames exactly those the machine write-protects (or a page-table store would go unseen).
    const m = this.machine;
    const frames = m.memory.guestLimit >>> 12;
    const vcpus = 2 ** m.cpuCount - 1;
    const claims = (k: string): Map<number, number> => {
      const map = pairsAsMap(s[k], (f) => isWholeIn(f, 0, frames - 1), (mask) => isWholeIn(mask, 1, vcpus));
      if (map === undefined) throw new Error(`${k} is not distinct guest frames, each with its vCPUs`);
      return map;
    };
    const watched = claims("watched");
    const unhooked = claims("unhooked");
    const dirs = s.directories;
    if (!Array.isArray(dirs) || !dirs.every((f) => watched.has(f)) || new Set(dirs).size !== dirs.length) throw new Error("directories are not distinct watched frames");
    let machineWatches = 0;
    for (const w of m.mmu.monitorWatched) machineWatches += w;
    if (machineWatches !== watched.size || [...watched.keys()].some((f) => m.mmu.monitorWatched[f] !== 1)) throw new Error("the watched frames are not those the machine write-protects");
    this.forgetFills();
    this.watched.clear();
    for (const [f, mask] of watched) this.watched.set(f, mask);
    this.directories.clear();
    for (const f of dirs as number[]) this.directories.add(f);
    this.unhooked.clear();
    for (const [f, mask] of unhooked) this.unhooked.set(f, mask);
  }

  /** The running vCPU's new root: its claims are released; a frame no vCPU walks through any more is unprotected. */
  protected rootChanged(): void {
    this.forgetFills();
    const bit = 1 << this.machine.cpuId;
    if (this.machine.cpuCount === 1 && xenHostOptions.shortcuts) {
      // One vCPU: every claim is its own (every mask is 1), and every directory a watched frame — all go.
      // The same releases, in the same order, without a delete per entry.
      const watched = this.watched;
      for (let i = 0; i < watched.size; i++) this.machine.watchFrame(watched.keyAt(i) << 12, false);
      this.watched.clear();
      this.directories.clear();
    } else {
      for (const [f, mask] of this.watched) {
        if ((mask & bit) === 0) continue;
        if (mask !== bit) {
          this.watched.set(f, mask & ~bit);
          continue;
        }
        this.machine.watchFrame(f << 12, false);
        this.watched.delete(f);
        this.directories.delete(f);
      }
    }
    if (this.unhooked.size === 0) return;
    for (const [f, mask] of this.unhooked) {
      if ((mask & bit) === 0) continue;
      if (mask !== bit) this.unhooked.set(f, mask & ~bit);
      else this.unhooked.delete(f);
    }
  }

  protected override ptWriteFault(pa: number, value: number, size: 1 | 2 | 4): void {
    const m = this.machine;
    const f = pa >>> 12;
    if (!this.directories.has(f)) {
      // A page table: unhook it; this write and the next ones land directly (and are read back directly).
      m.count("xen:ptwr.unhook");
      this.forgetFills();
      const users = this.watched.get(f) ?? 0;
      this.watched.delete(f);
      m.watchFrame(pa, false);
      this.unhooked.set(f, users);
      this.writePageTable(pa, value, size);
      return;
    }
    // A page directory: emulated, and checked as a revalidation checks a page table (an entry
    // pointing outside guest RAM is counted; the walk never uses it: a bus error, as on bare metal).
    m.count("xen:ptwrite.emulated");
    if (size === 4 && (value & PTE_V) !== 0 && ((value & PAGE_MASK) >>> 0) + 4096 > m.memory.guestLimit && !m.memory.isDevice(value & PAGE_MASK)) m.count("xen:ptwr.invalid");
    this.writePageTable(pa, value, size);
  }
}
