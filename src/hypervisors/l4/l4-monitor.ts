// The l4 back end's microkernel: an L4-like kernel (L4Ka::Pistachio) under
// which the guest kernel is a user task and the monitor is its pager and
// exception handler. The shared machinery — virtual CPU in the soft-layer
// window, event delivery, the VMM's requests — is common/wedge-monitor.ts
// (and the layers it extends, named there); this file is what makes it L4:
//
// - Every exception, fault and interrupt that reaches the monitor is an IPC
//   (the kernel sends the faulting thread's state to its handler, which
//   replies: one `ipc` event is that round trip, the figure the cost model
//   cites). A request from the in-place VMM (`hcall`) is an IPC too.
// - Memory is granted with map/unmap. The task's address space starts
//   empty; the first touch of a guest page (a TLB miss walking the guest's
//   own page tables, which stay plain guest memory) is a page fault whose
//   reply maps the frame: one `map`. Guest user processes run in their own
//   address space (separate from the guest kernel's), so a page touched in
//   both modes is mapped in both. The guest's TLB operations are where the
//   VMM learns of page-table changes: tlbinv unmaps that page (one `unmap`
//   if it was mapped), tlbflush and a new ptbr unmap the whole space (one
//   `unmap` of the space's flexpage). A TLB refill that finds a different
//   frame than the one mapped is an unmap + map.
// - A thread per vCPU: the guest kernel's task has one thread per virtual
//   CPU, all in the task's one address space (the mappings above are the
//   task's, shared by its threads); each thread has its own virtual CPU
//   state (common/wedge-state.ts keeps it per vCPU). CPU 0's thread exists
//   from the start; a vCPU the guest starts (port 0x42 through the VMM, or
//   VCPU_UP) is a new thread the monitor creates and starts in the task
//   (L4's ThreadControl + ExchangeRegisters: one `ipc`, counted
//   l4:thread.start). With --pcpus the threads are time-sliced on the
//   physical CPUs by common/vcpu-scheduler.ts.
// - Counters: l4:map, l4:unmap, l4:ipc.*, l4:event.delivered / .held, …

import type { Machine } from "../../machine/machine.js";
import type { PageWalk } from "../../machine/mmu/walk.js";
import type { RewriteResult } from "../../rewriter/index.js";
import { WedgeMonitor } from "../common/wedge-monitor.js";
import { isWholeIn, pairsAsMap } from "../common/neutral-state.js";
import type { MonitorOptions } from "../index.js";
import { EVENT_ID } from "../../machine/stats.js";

const PAGE_MASK = 0xfffff000 | 0;

export class L4Monitor extends WedgeMonitor {
  readonly name = "l4";
  /** The task's mappings: (space << 20 | virtual page) → frame | perm. Space 1 = guest kernel, 0 = guest user. */
  private readonly mapped = new Map<number, number>();

  /** The machine's counter ids of the l4: counts, looked up once at attach (no string-keyed lookup per IPC or map). */
  private ids = { threadStart: 0, ipcException: 0, ipcVmm: 0, map: 0, unmap: 0 };

  constructor(rewrite: RewriteResult, options: MonitorOptions = { cpus: 1 }) {
    super("l4", rewrite, options);
  }

  override attach(machine: Machine): void {
    super.attach(machine);
    this.ids = {
      threadStart: machine.counterId("l4:thread.start"),
      ipcException: machine.counterId("l4:ipc.exception"),
      ipcVmm: machine.counterId("l4:ipc.vmm"),
      map: machine.counterId("l4:map"),
      unmap: machine.counterId("l4:unmap"),
    };
  }

  /** A started vCPU: the monitor creates its thread in the guest kernel's task and starts it. */
  protected override vcpuStarted(): void {
    this.machine.countAt(this.ids.threadStart);
    this.machine.chargeAt(EVENT_ID.ipc);
  }

  protected chargeEntry(): void {
    this.machine.countAt(this.ids.ipcException);
    this.machine.chargeAt(EVENT_ID.ipc);
  }

  protected chargeCall(): void {
    this.machine.countAt(this.ids.ipcVmm);
    this.machine.chargeAt(EVENT_ID.ipc);
  }

  protected noteFill(va: number, w: PageWalk): void {
    const key = ((this.su ? 1 : 0) << 20) | (va >>> 12);
    const want = w.frame | w.perm;
    const have = this.mapped.get(key);
    if (have === want) return;
    const m = this.machine;
    if (have !== undefined) {
      m.countAt(this.ids.unmap);
      m.chargeAt(EVENT_ID.unmap);
    }
    m.countAt(this.ids.map);
    m.chargeAt(EVENT_ID.map);
    this.mapped.set(key, want);
  }

  protected tlbOperation(va: number | "all"): void {
    const m = this.machine;
    if (va === "all") return this.unmapAll();
    const inUser = this.mapped.delete(va >>> 12); // space 0
    const inKernel = this.mapped.delete((1 << 20) | (va >>> 12)); // space 1
    if (inUser || inKernel) {
      m.countAt(this.ids.unmap);
      m.chargeAt(EVENT_ID.unmap);
    }
  }

  protected saveBackend(): Record<string, unknown> {
    return { mapped: [...this.mapped] };
  }

  protected restoreBackend(s: Record<string, unknown>): void {
    // As noteFill keeps them (a snapshot file is input): each (space, virtual page) once, to what a walk yields —
    // a valid entry's permissions (V, W, U) on a frame of guest RAM or a device's.
    const mem = this.machine.memory;
    const isMapping = (v: unknown) => {
      if (!isWholeIn(v, -0x8000_0000, 0x7fff_ffff) || (v & 0xfff & ~7) !== 0 || (v & 1) === 0) return false;
      const frame = (v & PAGE_MASK) >>> 0;
      return frame + 4096 <= mem.guestLimit || mem.isDevice(frame);
    };
    const mapped = pairsAsMap(s.mapped, (k) => isWholeIn(k, 0, (1 << 21) - 1), isMapping);
    if (mapped === undefined) throw new Error("mapped is not distinct pages, each to a valid entry of a guest frame");
    this.mapped.clear();
    for (const [k, v] of mapped) this.mapped.set(k, v);
  }

  private unmapAll(): void {
    if (this.mapped.size === 0) return;
    this.machine.countAt(this.ids.unmap);
    this.machine.chargeAt(EVENT_ID.unmap);
    this.mapped.clear();
  }

  protected rootChanged(): void {
    this.unmapAll();
  }
}
