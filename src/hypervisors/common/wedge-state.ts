// The first layer of the host side of xen and l4 (wedge-monitor.ts has the
// whole chain): the monitor's state, its setup, and the hooks each back end
// fills in. WedgeState extends VirtualCpu (virtual-cpu.ts); the layers above
// it — wedge-migration.ts, wedge-paging.ts, wedge-events.ts, wedge-monitor.ts
// — work on the state kept here.
//
// Consumes the rewriter's result (the sites, sorted and decoded once; the
// stubs), the back end's name (its VMM image, window.ts) and the monitor
// options; at attach, the machine. Produces the per-vCPU state (below), the
// installed window (the VMM, the stubs, a shared-info page per vCPU), the
// `NAME:SUFFIX` counters (tick) and the back end's abstract hooks: what each
// entry costs and how guest memory reaches the task (xen-monitor.ts,
// l4-monitor.ts).
//
// Several vCPUs (docs/design.md §7; docs/in-place-vmm.md "Several vCPUs"):
// each vCPU (a machine CPU) has its own shared-info page — the VMM's .data
// (VPSR, VPEND, VCR, the queue, SAVE, STUB_SAVE) at the same virtual address,
// backed by a frame of its own — so every site and VMM path works on the vCPU
// that runs it, and the re-entrancy rules (k0, the save area, no event inside
// the soft layer) hold per vCPU. The monitor's own per-vCPU state (virtual
// mode, held events, ptbr/pgctl) is indexed by the machine CPU running now.
// A started vCPU begins as CPU 0 did at reset (virtual supervisor mode, IE=0,
// paging off), on a real CPU in user mode (onCpuStart). The event callback is
// the guest's (one for all vCPUs).

import { decodeInstruction, type DecodedInstruction } from "../../guest-isa/encoding.js";
import { CR, PSR } from "../../guest-isa/registers.js";
import { UserError } from "../../guest-isa/diagnostics.js";
import type { Machine } from "../../machine/machine.js";
import type { PageWalk } from "../../machine/mmu/walk.js";
import { ACCESS, type Access, type Fault } from "../../machine/monitor.js";
import type { RewriteResult, SiteOutcome } from "../../rewriter/index.js";
import { GuestMemory, type AccessSize, type GuestView } from "./guest-memory.js";
import type { DomainCalls } from "./hypercalls.js";
import { VirtualCpu } from "./virtual-cpu.js";
import { VcpuScheduler } from "./vcpu-scheduler.js";
import { WedgeSpinlockCure } from "./spinlock-cures.js";
import type { MonitorOptions } from "../index.js";
import { protectVmm } from "./vmm-protection.js";
import { buildVmm, QUEUE_ENTRIES, STUB_BASE, STUB_LIMIT, WINDOW_BACKED, WINDOW_BACKED_BYTES, type VmmImage } from "./window.js";

export abstract class WedgeState extends VirtualCpu implements GuestView {
  protected readonly vmm: VmmImage;
  /** Guest memory as the monitor reaches it on the guest's behalf (set by attach). */
  protected guest!: GuestMemory;
  /** Scratch for the words a hypercall copies from the guest (no allocation per call). */
  protected readonly words = new Int32Array(4);
  /** Physical base of the backed window (monitor-reserved RAM). */
  protected windowPa = 0;
  /** The event callback (0 = the VMM's EVENT entry): the guest's, one for all vCPUs. */
  protected callback = 0;
  /**
   * Per vCPU (index = machine CPU): the authoritative virtual mode (VPSR.SU
   * in the window is the guest's mirror of it), whether the real IE is off
   * because an event is held back, the virtual ptbr/pgctl, and the word
   * indexes of its shared-info page's VPSR, VPEND and QCOUNT.
   */
  protected vSu = Uint8Array.of(1);
  protected vHolding = new Uint8Array(1);
  protected vPtbr = new Int32Array(1);
  protected vPgctl = new Int32Array(1);
  private vIVpsr = new Int32Array(1);
  private vIVpend = new Int32Array(1);
  private vIVupcall = new Int32Array(1);
  private vIQcount = new Int32Array(1);
  private vIStubSave = new Int32Array(1);
  private vcrs: Int32Array[] = [new Int32Array(8)];
  /** Window pages of the VMM's .data (the shared-info page), copied per vCPU: first page and count. */
  protected dataPage = 0;
  protected dataPages = 0;
  /** Per vCPU, the address it last wrote to port 0x43: where the next vCPU it starts begins (as the machine's port is per CPU). */
  protected vStartAddress = new Int32Array(1);
  protected scheduler: VcpuScheduler | undefined;
  /** Rewritten sites, sorted: start and end addresses, and the outcome. */
  protected readonly siteStart: Int32Array;
  protected readonly siteEnd: Int32Array;
  protected readonly siteList: SiteOutcome[];
  /** Site (its index in siteList) by the return address its call (or its stub's call) leaves in k0. */
  protected readonly byReturn = new Map<number, number>();
  /**
   * Per site (siteList's index): its original instruction, decoded once —
   * an EMULATE hypercall runs it (91 K times in `mixed` at scale 200 under
   * xen), and decoding `before[0]` each time cost a subarray and a decode —
   * and its `emulate.KIND` counter's id in the attached machine (-1 until
   * its first use, as tick() makes it).
   */
  protected readonly siteInsn: (DecodedInstruction | undefined)[];
  protected siteTick: Int32Array;
  /** Whether the image was para-virtualized (no sites; the guest calls hypercalls itself). */
  protected readonly paravirt: boolean;
  /** The --spinlocks cure's monitor half (pv, delayed). */
  protected lockCure: WedgeSpinlockCure | undefined;
  /** Whether the VMM gets its own protection domain (common/vmm-protection.ts; off with --no-protect). */
  protected readonly protectVmm: boolean;
  /** The inter-domain services (HC 18–28) when the multi-guest host runs this guest (src/hypervisors/domains); else ENOSYS. */
  domainCalls: DomainCalls | undefined;
  /**
   * Xen delivers a pending event on the way out of the hypervisor: the
   * return from the hypercall that unmasked it (EVENTS — XenoLinux's
   * force_evtchn_callback — or IRET) carries the upcall, so the guest is not
   * entered again for it. Here the machine takes the line at the guest's next
   * instruction (after the soft-layer path finishes: nothing is injected
   * there); that entry is the hypercall's own return, charged nothing more
   * than the injection. Set (for the running vCPU) when such a hypercall
   * leaves an event deliverable; any other entry clears it.
   */
  protected vUpcallDue = new Uint8Array(1);
  /**
   * For a guest migrated here from a back end whose sites are native (bare,
   * hvm, trap): there an interrupt can be taken right after a site's native
   * instruction, saving pc = site + 4 (the jump over the padding) in epc and
   * in the guest's trap frames. Here that word is part of the rewritten
   * sequence, so an iret to it continues after the site instead — what the
   * jump would have done. This back end never saves such a pc itself (it
   * delivers events only outside the soft layer), so the map is exact.
   */
  protected resumeFixups: Map<number, number> | undefined;

  constructor(
    backend: string,
    protected readonly rewrite: RewriteResult,
    protected readonly options: MonitorOptions & { paravirt?: boolean } = { cpus: 1 },
  ) {
    super();
    this.vmm = buildVmm(backend);
    this.paravirt = options.paravirt ?? false;
    this.protectVmm = options.protect ?? true;
    this.siteList = rewrite.sites.filter((s) => s.strategy !== "native").slice().sort((a, b) => a.record.addr - b.record.addr);
    this.siteStart = Int32Array.from(this.siteList, (s) => s.record.addr);
    this.siteEnd = Int32Array.from(this.siteList, (s) => s.record.addr + s.record.length);
    this.siteInsn = this.siteList.map((s) => decodeInstruction(s.before[0]));
    this.siteTick = new Int32Array(this.siteList.length).fill(-1);
    this.siteList.forEach((s, k) => {
      this.byReturn.set((s.record.addr + 4) >>> 0, k);
      if (s.stubAddr !== undefined) {
        const stub = rewrite.stubs.find((x) => x.addr === s.stubAddr)!;
        for (let i = 1; i <= stub.words.length; i++) this.byReturn.set((s.stubAddr + 4 * i) >>> 0, k);
      }
    });
  }

  // ---------------------------------------------------------------- per-vCPU state (the vCPU running now)

  protected get su(): boolean {
    return this.vSu[this.machine.cpuId] === 1;
  }
  protected set su(v: boolean) {
    this.vSu[this.machine.cpuId] = v ? 1 : 0;
  }
  protected get holding(): boolean {
    return this.vHolding[this.machine.cpuId] === 1;
  }
  protected set holding(v: boolean) {
    this.vHolding[this.machine.cpuId] = v ? 1 : 0;
  }
  protected get ptbr(): number {
    return this.vPtbr[this.machine.cpuId];
  }
  protected set ptbr(v: number) {
    this.vPtbr[this.machine.cpuId] = v;
  }
  protected get pgctl(): number {
    return this.vPgctl[this.machine.cpuId];
  }
  protected set pgctl(v: number) {
    this.vPgctl[this.machine.cpuId] = v;
  }
  protected get iVpsr(): number {
    return this.vIVpsr[this.machine.cpuId];
  }
  protected get iVpend(): number {
    return this.vIVpend[this.machine.cpuId];
  }
  protected get iVupcall(): number {
    return this.vIVupcall[this.machine.cpuId];
  }
  protected get iQcount(): number {
    return this.vIQcount[this.machine.cpuId];
  }
  /** The return address the running vCPU's last out-of-line stub saved (its site's address + 4). */
  protected get stubReturn(): number {
    return this.machine.memory.i32[this.vIStubSave[this.machine.cpuId]];
  }
  /** Page-table updates vCPU `cpu` has queued in its shared-info page and not had applied yet. */
  protected queuedOn(cpu: number): number {
    return this.machine.memory.i32[this.vIQcount[cpu]];
  }
  protected get vcr(): Int32Array {
    return this.vcrs[this.machine.cpuId];
  }
  /** The running vCPU's virtual IE (VPSR bit 0). */
  protected get vie(): boolean {
    return (this.machine.memory.i32[this.iVpsr] & PSR.IE) !== 0;
  }

  // ---------------------------------------------------------------- costs (per back end)

  /** An exception, interrupt or page-table write fault reached the monitor. */
  protected abstract chargeEntry(): void;
  /** A hypercall (or, on l4, an IPC from the VMM). */
  protected abstract chargeCall(): void;
  /** A TLB miss walked the guest's tables for `va` (l4: first touch → map). */
  protected abstract noteFill(va: number, walk: PageWalk): void;
  /** The guest's TLB operation (after queued updates are applied): drop what it drops. */
  protected abstract tlbOperation(va: number | "all"): void;
  /** A new page-table root (or paging switched): drop everything derived from the old one. */
  protected abstract rootChanged(): void;
  /** A TLB miss is about to walk the guest's tables for `va` (xen: revalidate an unhooked page table on the way). */
  protected beforeWalk(_va: number): void {}
  /** A direct store hit a write-protected page-table frame (xen only). */
  protected ptWriteFault?(pa: number, value: number, size: 1 | 2 | 4): void;
  /** vCPU `cpu` was started (in its context): l4 creates its thread. */
  protected vcpuStarted(_cpu: number): void {}
  /** GuestView (wedge-paging.ts): the guest's virtual mode and its translation of an address. */
  abstract get guestIsUser(): boolean;
  abstract guestPhysical(va: number, access: Access, size: AccessSize, asUser: boolean): number | Fault;

  // ---------------------------------------------------------------- setup

  /** `${name}:SUFFIX` counter ids in the attached machine, by SUFFIX (tick()). */
  private tickIds = new Map<string, number>();

  /**
   * Counts `${this.name}:${suffix}` (machine.count): the suffix, a literal at
   * almost every call, finds the counter's index with no string built (issue 16).
   */
  protected tick(suffix: string, n = 1): void {
    this.machine.countAt(this.tickId(suffix), n);
  }

  /** The machine's counter id of `${this.name}:${suffix}` (made on first use). */
  protected tickId(suffix: string): number {
    let id = this.tickIds.get(suffix);
    if (id === undefined) this.tickIds.set(suffix, (id = this.machine.counterId(`${this.name}:${suffix}`)));
    return id;
  }

  /** Counter ids of the hottest ticks (-1 until first use; reset at attach): a mode switch, a hypercall by number. */
  protected modeSwitchId = -1;
  protected hcallIds = new Map<number, number>();

  attach(machine: Machine): void {
    this.machine = machine;
    this.tickIds = new Map();
    this.modeSwitchId = -1;
    this.hcallIds = new Map();
    this.siteTick.fill(-1);
    this.guest = new GuestMemory(machine, this);
    // A guest's RAM too small for the window (a --domains "memory") is the user's input, not a bug.
    if (machine.memory.guestLimit <= WINDOW_BACKED_BYTES) throw new UserError(`guest RAM of ${machine.memory.guestLimit} bytes leaves no room for the in-place VMM's ${WINDOW_BACKED_BYTES}-byte window at its top`);
    this.windowPa = machine.reserveTop(WINDOW_BACKED_BYTES);
    const n = machine.cpuCount;
    // The shared-info page(s): vCPU k's copy is the k-th run of data pages from the first one.
    const w = this.vmm.writablePages;
    this.dataPage = w.indexOf(1);
    this.dataPages = w.lastIndexOf(1) + 1 - this.dataPage;
    if (this.dataPage < 0 || this.dataPage + n * this.dataPages > (STUB_BASE - WINDOW_BACKED) >>> 12) {
      throw new Error(`in-place VMM: no room for ${n} shared-info pages below the stubs`);
    }
    const s = this.vmm.symbols;
    const idx = (name: string, cpu: number) => {
      const va = s[name];
      if (va === undefined) throw new Error(`in-place VMM: no symbol ${name}`);
      return (this.windowPa + (va - WINDOW_BACKED) + cpu * this.dataPages * 4096) >>> 2;
    };
    const per = (name: string) => Int32Array.from({ length: n }, (_, cpu) => idx(name, cpu));
    // Where each vCPU's stub saved its return address (stubReturn), whether or not the VMM has a domain.
    this.vIStubSave = per("STUB_SAVE");
    if (this.protectVmm) {
      // Each vCPU's page-table queue: QCOUNT, then QUEUE's pairs (adjacent in vmm-core.s.ts's data page).
      const queues = Array.from({ length: n }, (_, cpu) => [idx("QCOUNT", cpu) * 4, idx("QUEUE", cpu) * 4 + 8 * QUEUE_ENTRIES] as const);
      // A stub's site: the return address its first word saved in the running vCPU's STUB_SAVE, less one word.
      const stubSite = () => (this.stubReturn - 4) | 0;
      protectVmm(machine, this.windowPa, this.rewrite, this.paravirt, { first: this.dataPage, count: n * this.dataPages }, queues, stubSite);
    }
    this.vIVpsr = per("VPSR");
    this.vIVpend = per("VPEND");
    this.vIVupcall = per("VUPCALL");
    this.vIQcount = per("QCOUNT");
    this.vcrs = Array.from({ length: n }, (_, cpu) => machine.memory.i32.subarray(idx("VCR", cpu), idx("VCR", cpu) + 8));
    this.vSu = new Uint8Array(n).fill(1);
    this.vHolding = new Uint8Array(n);
    this.vPtbr = new Int32Array(n);
    this.vPgctl = new Int32Array(n);
    this.vStartAddress = new Int32Array(n);
    this.vUpcallDue = new Uint8Array(n);
    this.scheduler = VcpuScheduler.forMonitor(machine, this.options);
    const cure = this.options.spinlocks;
    if (cure === "pv" || cure === "delayed") {
      // Lock attempts now happen in the stubs: spin accounting watches them there (spin-accounting.ts).
      machine.watchLocks([], [STUB_BASE, STUB_LIMIT]);
      this.lockCure = new WedgeSpinlockCure(cure, {
        machine,
        name: this.name,
        sharedWord: (name, cpu) => idx(name, cpu),
        physicalWord: (va, caller) => {
          const pa = this.guest.physical(caller, va, ACCESS.STORE, 4);
          return typeof pa === "number" && machine.protection.allowsFor(caller, pa, false) ? pa : -1;
        },
        monitorMayWrite: (pa) => this.guest.monitorMayWrite(pa),
        scheduler: () => this.scheduler,
        // Events masked: sleep until the kick (a held line must not wake it — it would spin again at once).
        block: () => (this.vie ? this.halt() : machine.sleep()),
      });
    }
  }

  runnable(cpu: number, epochStart: number): boolean {
    return this.scheduler === undefined || this.scheduler.runnable(cpu, epochStart);
  }

  onReset(): void {
    const m = this.machine;
    const mem = m.memory;
    this.installWindow();
    // Every vCPU starts afresh (the others are stopped until the guest starts them).
    this.vSu.fill(1);
    this.vHolding.fill(0);
    this.vPtbr.fill(0);
    this.vPgctl.fill(0);
    this.vStartAddress.fill(0);
    this.vUpcallDue.fill(0);
    this.su = true;
    this.holding = false;
    this.callback = 0;
    this.ptbr = 0;
    this.pgctl = 0;
    m.cr[CR.ptbr] = 0;
    m.cr[CR.pgctl] = 0;
    this.rootChanged();
    mem.i32[this.iVpsr] = PSR.SU;
    // The real CPU: user mode, interrupts on (an interrupt the guest has masked is held by the monitor).
    m.psr = PSR.IE;
  }

  /**
   * A vCPU the guest started (called in its context, after the machine set
   * its architectural reset state): a fresh shared-info page, virtual
   * supervisor mode with IE=0 and paging off, on a real CPU in user mode.
   */
  onCpuStart(cpu: number): void {
    const m = this.machine;
    this.installSharedInfo(cpu);
    this.su = true;
    this.holding = false;
    this.ptbr = 0;
    this.pgctl = 0;
    m.cr[CR.ptbr] = 0;
    m.cr[CR.pgctl] = 0;
    m.memory.i32[this.iVpsr] = PSR.SU;
    m.psr = PSR.IE;
    this.tick("vcpu.started");
    this.vcpuStarted(cpu);
  }

  /** Copies the VMM image's .data into vCPU `cpu`'s shared-info page(s). */
  private installSharedInfo(cpu: number): void {
    const mem = this.machine.memory;
    const shift = cpu * this.dataPages * 4096;
    const base = this.windowPa + this.dataPage * 4096 + shift;
    mem.u8.fill(0, base, base + this.dataPages * 4096);
    for (const sec of this.vmm.image.sections) {
      if (sec.addr >= WINDOW_BACKED && sec.data.length && this.vmm.writablePages[(sec.addr - WINDOW_BACKED) >>> 12] === 1) {
        mem.writeBytes(this.windowPa + (sec.addr - WINDOW_BACKED) + shift, sec.data);
      }
    }
  }

  /** Loads the in-place VMM and the rewriter's stubs into the (zeroed) window, and a shared-info page per vCPU. */
  protected installWindow(): void {
    const mem = this.machine.memory;
    mem.u8.fill(0, this.windowPa, this.windowPa + WINDOW_BACKED_BYTES);
    for (const sec of this.vmm.image.sections) {
      if (sec.addr >= WINDOW_BACKED && sec.data.length) mem.writeBytes(this.windowPa + (sec.addr - WINDOW_BACKED), sec.data);
    }
    for (let cpu = 1; cpu < this.machine.cpuCount; cpu++) this.installSharedInfo(cpu);
    for (const stub of this.rewrite.stubs) {
      const bytes = new Uint8Array(stub.words.buffer, stub.words.byteOffset, stub.words.byteLength);
      mem.writeBytes(this.windowPa + (stub.addr - WINDOW_BACKED), bytes);
    }
  }
}
