// The host side of a pre-virtualized back end (xen, l4): a monitor under
// which the guest kernel runs deprivileged (real SU=0) with a virtual CPU
// whose state lives in the soft-layer window, shared with the in-place VMM
// (guest code, common/vmm-core.s.ts). Rewritten sites read and write that state
// without trapping; the monitor is entered only by hypercalls (`hcall`),
// exceptions and interrupts. xen-monitor.ts and l4-monitor.ts say what each
// entry costs and how guest memory reaches the task (direct paging with
// validated updates; map/unmap).
//
// What the monitor does (docs/in-place-vmm.md has the whole story):
// - translate: the window (only while the virtual CPU is in supervisor
//   mode; from virtual user mode it is a page fault for the guest kernel),
//   then the guest's own page tables with the permissions of its virtual
//   mode. Paging off: the machine's identity map.
// - events: an interrupt is delivered through the event callback when the
//   virtual IE (VPSR bit 0) is set and pc is outside the soft layer (the
//   window and the inside of every rewritten site: the monitor first lets
//   the CPU finish that path, a few instructions). Otherwise it is held:
//   VPEND=1 and the real IE off, until the guest unmasks (its sti/wrpsr
//   sites see VPEND and call DELIVER; iret and the monitor's own psr writes
//   release it too); the upcall then rides on that call's return, with no
//   second entry. A line still asserted at delivery is held at once; a hold
//   whose line dropped during a call is dropped; an event on the
//   multi-guest host's edge-triggered line is left in the shared-info page
//   (VUPCALL) for DELIVER to deliver in place (docs/in-place-vmm.md "Events").
// - sites in virtual user mode: a rewritten site touches the window, which
//   faults in user mode; the monitor recognises the site and executes its
//   original instruction with user-mode semantics (rdpsr shows SU=0, wrpsr
//   changes UF only, a privileged instruction is a privileged-instruction
//   fault for the guest kernel). A window access that is not a site is the
//   guest's page fault.
// - page-table updates a para-virtualized guest queues in the shared-info
//   page are applied (validated) by mmu_update, and by the monitor itself
//   before a TLB flush/invalidate, a ptbr/pgctl write, a return to user
//   mode, a direct write to a page-table frame, and any page fault (the
//   access is retried once the queue is applied). Pre-virtualized page-table
//   accesses run natively (xen: writable page tables, xen-monitor.ts).
// - privileged instructions that were not rewritten trap (cause 2) and are
//   emulated, as under trap: plain binaries run, slowly (and with the
//   rdpsr/wrpsr hole, which only annotation closes).
//
// - several vCPUs (docs/design.md §7; docs/in-place-vmm.md "Several
//   vCPUs"): each vCPU (a machine CPU) has its own shared-info page — the
//   VMM's .data (VPSR, VPEND, VCR, the queue, SAVE, STUB_SAVE) at the same
//   virtual address, backed by a frame of its own — so every site and VMM
//   path works on the vCPU that runs it, and the re-entrancy rules (k0, the
//   save area, no event inside the soft layer) hold per vCPU. The monitor's
//   own per-vCPU state (virtual mode, held events, ptbr/pgctl) is indexed by
//   the machine CPU running now. The kernel's port writes 0x43/0x42 (start
//   a CPU), which reach the monitor through EMULATE, become the VCPU_UP
//   hypercall, which a para-virtualized guest calls itself; a started vCPU
//   begins as CPU 0 did at reset (virtual supervisor mode, IE=0, paging
//   off), on a real CPU in user mode. The event callback is the guest's
//   (one for all vCPUs).
//
// Everything read from the window is treated as guest data: counts are
// bounded, addresses translated and checked, so a guest scribbling on its
// shared-info page only hurts itself. Every access the monitor makes to
// guest memory on the guest's behalf goes through one accessor
// (guest-memory.ts: copy_from_guest / copy_to_guest), checked as the access
// it is — a write as a write, with the guest's own permissions, never into
// the window's read-only parts or a page table xen validates — and a hostile
// hypercall argument gets an HC_ERROR result (hypercalls.ts), never a
// host exception.

import { decodeInstruction, type DecodedInstruction } from "../../guest-isa/encoding.js";
import { CAUSE, CR, IRQ, PGCTL_ENABLE, PSR, REG } from "../../guest-isa/registers.js";
import { UserError } from "../../guest-isa/diagnostics.js";
import type { Machine } from "../../machine/machine.js";
import { walkPageTable, walkPageTableInto, pageFaultCause, type PageWalk } from "../../machine/mmu/walk.js";
import { ACCESS, Fault, type Access, type ExitAction, type MonitorTranslation, type TrapDisposition, type TrapInfo } from "../../machine/monitor.js";
import type { RewriteResult, SiteOutcome } from "../../rewriter/index.js";
import { GuestMemory, type AccessSize, type GuestView } from "./guest-memory.js";
import { HC, HC_ERROR, HYPERCALL_NAMES, MAX_BATCH, MAX_MULTICALL, type DomainCalls } from "./hypercalls.js";
import { FAULT_CAUSES, VirtualCpu } from "./virtual-cpu.js";
import { isWholeIn, type MigratableMonitor, type NeutralState } from "./neutral-state.js";
import { VcpuScheduler } from "./vcpu-scheduler.js";
import { WedgeSpinlockCure } from "./spinlock-cures.js";
import type { MonitorOptions } from "../index.js";
import { causeName } from "../../machine/stats.js";
import { protectVmm } from "./vmm-protection.js";
import { checkBypassAccess, isSetupRegister } from "./bypass.js";
import { buildVmm, inWindow, QUEUE_ENTRIES, STUB_BASE, STUB_LIMIT, WINDOW_BACKED, WINDOW_BACKED_BYTES, type VmmImage } from "./window.js";
import { EVENT_ID } from "../../machine/stats.js";
import { SHF_WRITE } from "../../guest-isa/elf-types.js";

const PAGE_MASK = 0xfffff000 | 0;
const PTE_V = 1;
/** The machine's CPU-start ports (docs/machine.md): start address, start CPU. */
const PORT_START_ADDRESS = 0x43;
const PORT_START_CPU = 0x42;
/** Instructions the monitor lets the CPU run to leave the soft layer before it delivers an event. */
const MAX_FINISH_STEPS = 256;
const MEMORY_KINDS = new Set(["pte-load", "pte-store", "mmio-load", "mmio-store"]);


/**
 * Host switch, for the differential test (test/hypervisors/xen-refill.test.ts):
 * false leaves a flushing ptbr/pgctl write's TLB to the flush after
 * rootChanged (no early drop: writePagingCr), which must give the same results.
 */
export const wedgeHostOptions = { dropBeforeRootChange: true };

/** `hcall.NAME` by hypercall number (the counter suffixes onHcall ticks, made once). */
const HCALL_SUFFIX = new Map([...HYPERCALL_NAMES].map(([n, name]) => [n, `hcall.${name}`]));
const EMULATE_SUFFIX = new Map<string, string>();
/** `emulate.KIND`, made once per site kind. */
function emulateSuffix(kind: string): string {
  let s = EMULATE_SUFFIX.get(kind);
  if (s === undefined) EMULATE_SUFFIX.set(kind, (s = `emulate.${kind}`));
  return s;
}

export abstract class WedgeMonitor extends VirtualCpu implements GuestView, MigratableMonitor {
  protected readonly vmm: VmmImage;
  /** Guest memory as the monitor reaches it on the guest's behalf (set by attach). */
  protected guest!: GuestMemory;
  /** Scratch for the words a hypercall copies from the guest (no allocation per call). */
  private readonly words = new Int32Array(4);
  /** Physical base of the backed window (monitor-reserved RAM). */
  protected windowPa = 0;
  /** The event callback (0 = the VMM's EVENT entry): the guest's, one for all vCPUs. */
  private callback = 0;
  /**
   * Per vCPU (index = machine CPU): the authoritative virtual mode (VPSR.SU
   * in the window is the guest's mirror of it), whether the real IE is off
   * because an event is held back, the virtual ptbr/pgctl, and the word
   * indexes of its shared-info page's VPSR, VPEND and QCOUNT.
   */
  private vSu = Uint8Array.of(1);
  private vHolding = new Uint8Array(1);
  private vPtbr = new Int32Array(1);
  private vPgctl = new Int32Array(1);
  private vIVpsr = new Int32Array(1);
  private vIVpend = new Int32Array(1);
  private vIVupcall = new Int32Array(1);
  private vIQcount = new Int32Array(1);
  private vcrs: Int32Array[] = [new Int32Array(8)];
  /** Window pages of the VMM's .data (the shared-info page), copied per vCPU: first page and count. */
  private dataPage = 0;
  private dataPages = 0;
  /** Per vCPU, the address it last wrote to port 0x43: where the next vCPU it starts begins (as the machine's port is per CPU). */
  private vStartAddress = new Int32Array(1);
  private scheduler: VcpuScheduler | undefined;
  /** Rewritten sites, sorted: start and end addresses, and the outcome. */
  private readonly siteStart: Int32Array;
  private readonly siteEnd: Int32Array;
  private readonly siteList: SiteOutcome[];
  /** Site (its index in siteList) by the return address its call (or its stub's call) leaves in k0. */
  private readonly byReturn = new Map<number, number>();
  /**
   * Per site (siteList's index): its original instruction, decoded once —
   * an EMULATE hypercall runs it (91 K times in `mixed` at scale 200 under
   * xen), and decoding `before[0]` each time cost a subarray and a decode —
   * and its `emulate.KIND` counter's id in the attached machine (-1 until
   * its first use, as tick() makes it).
   */
  private readonly siteInsn: (DecodedInstruction | undefined)[];
  private siteTick: Int32Array;
  /** Whether the image was para-virtualized (no sites; the guest calls hypercalls itself). */
  protected readonly paravirt: boolean;
  /** The --spinlocks cure's monitor half (pv, delayed). */
  private lockCure: WedgeSpinlockCure | undefined;
  /** Whether the VMM gets its own protection domain (common/vmm-protection.ts; off with --no-protect). */
  private readonly protectVmm: boolean;
  /** The inter-domain services (HC 18–28) when the multi-guest host runs this guest (src/hypervisors/domains); else ENOSYS. */
  domainCalls: DomainCalls | undefined;

  constructor(
    backend: string,
    protected readonly rewrite: RewriteResult,
    private readonly options: MonitorOptions & { paravirt?: boolean } = { cpus: 1 },
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
  private get holding(): boolean {
    return this.vHolding[this.machine.cpuId] === 1;
  }
  private set holding(v: boolean) {
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
  private get iVpsr(): number {
    return this.vIVpsr[this.machine.cpuId];
  }
  private get iVpend(): number {
    return this.vIVpend[this.machine.cpuId];
  }
  private get iVupcall(): number {
    return this.vIVupcall[this.machine.cpuId];
  }
  private get iQcount(): number {
    return this.vIQcount[this.machine.cpuId];
  }
  /** Page-table updates vCPU `cpu` has queued in its shared-info page and not had applied yet. */
  protected queuedOn(cpu: number): number {
    return this.machine.memory.i32[this.vIQcount[cpu]];
  }
  protected get vcr(): Int32Array {
    return this.vcrs[this.machine.cpuId];
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
  private tickId(suffix: string): number {
    let id = this.tickIds.get(suffix);
    if (id === undefined) this.tickIds.set(suffix, (id = this.machine.counterId(`${this.name}:${suffix}`)));
    return id;
  }

  /** Counter ids of the hottest ticks (-1 until first use; reset at attach): a mode switch, a hypercall by number. */
  private modeSwitchId = -1;
  private hcallIds = new Map<number, number>();

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
    if (this.protectVmm) protectVmm(machine, this.windowPa, this.rewrite, this.paravirt, { first: this.dataPage, count: n * this.dataPages });
    const s = this.vmm.symbols;
    const idx = (name: string, cpu: number) => {
      const va = s[name];
      if (va === undefined) throw new Error(`in-place VMM: no symbol ${name}`);
      return (this.windowPa + (va - WINDOW_BACKED) + cpu * this.dataPages * 4096) >>> 2;
    };
    const per = (name: string) => Int32Array.from({ length: n }, (_, cpu) => idx(name, cpu));
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
        physicalWord: (va) => {
          const pa = this.guest.physical(va, ACCESS.STORE, 4);
          return typeof pa === "number" ? pa : -1;
        },
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
  private installWindow(): void {
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

  // ---------------------------------------------------------------- migration (common/neutral-state.ts)

  /** Whether the window's read-only part (the VMM's sections other than its shared-info data) is as installWindow writes it. */
  exactProblem(): string | undefined {
    const u8 = this.machine.memory.u8;
    const differs = (va: number, bytes: Uint8Array) => {
      const at = this.windowPa + (va - WINDOW_BACKED);
      for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) return true;
      return false;
    };
    for (const sec of this.vmm.image.sections) {
      if (sec.addr >= WINDOW_BACKED && sec.data.length && (sec.flags & SHF_WRITE) === 0 && differs(sec.addr, sec.data)) return `the in-place VMM's ${sec.name} in its reserved pages differs from the back end's`;
    }
    // (No stubs to compare: a snapshot keeps the native lock sites, and only the --spinlocks cures' sites need stubs.)
    return undefined;
  }

  /** Virtual psr from the window (SU is the monitor's), control registers from the window, ptbr/pgctl from the monitor. */
  exportNeutral(): NeutralState {
    const cr = Array.from(this.vcr);
    cr[CR.ptbr] = this.ptbr;
    cr[CR.pgctl] = this.pgctl;
    return { psr: this.guestPsr, cr };
  }

  /** Installs the VMM in the window (and a shared-info page per vCPU). */
  beginImport(): void {
    this.installWindow();
    this.callback = 0;
    this.resumeFixups = new Map(this.siteList.filter((x) => x.record.length > 4).map((x) => [(x.record.addr + 4) >>> 0, (x.record.addr + x.record.length) | 0]));
  }

  /** The running vCPU's virtual CPU: the guest continues deprivileged. */
  importNeutral(s: NeutralState): void {
    const m = this.machine;
    this.holding = false;
    this.ptbr = s.cr[CR.ptbr];
    this.pgctl = s.cr[CR.pgctl];
    this.vcr.set(s.cr);
    m.cr.fill(0);
    m.cr[CR.ptbr] = this.ptbr;
    m.cr[CR.pgctl] = this.pgctl & PGCTL_ENABLE;
    // Port 0x43 as the guest last wrote it (the machine's, restored with it): its next `out 0x42` starts a vCPU there.
    this.vStartAddress[m.cpuId] = m.startAddress;
    this.rootChanged();
    this.storePsr(s.psr);
  }

  /** Migratable.siteReturnAddress: the instruction after EMULATE's hypercall (vmm-core.s.ts), the jump back past the site. */
  siteReturnAddress(): number | undefined {
    return this.vmm.symbols.EMULATE_RETURN;
  }

  /** A queued page-table update the monitor has not applied yet: the guest's memory is not its whole state. */
  unsafeReason(): string | undefined {
    const q = this.machine.memory.i32[this.iQcount];
    return q !== 0 ? `${q} page-table update${q === 1 ? "" : "s"} queued` : undefined;
  }

  saveExact(): Record<string, unknown> {
    return {
      su: Array.from(this.vSu),
      holding: Array.from(this.vHolding),
      ptbr: Array.from(this.vPtbr),
      pgctl: Array.from(this.vPgctl),
      startAddress: Array.from(this.vStartAddress),
      upcallDue: Array.from(this.vUpcallDue),
      callback: this.callback,
      resumeFixups: this.resumeFixups ? [...this.resumeFixups] : null,
      scheduler: this.scheduler?.save() ?? null,
      ...this.saveBackend(),
    };
  }

  restoreExact(s: Record<string, unknown>): void {
    const n = this.machine.cpuCount;
    // As saveExact writes them (a snapshot file is input): flags 0 or 1, the rest the Int32Arrays' whole numbers.
    // A typed array's set would turn 1.5 into 1, or 2^32 into 0, silently.
    const FLAG = [0, 1] as const;
    const WORD = [-0x8000_0000, 0x7fff_ffff] as const;
    const per = (k: string, [lo, hi]: readonly [number, number] = WORD): number[] => {
      const a = s[k];
      if (!Array.isArray(a) || a.length !== n || !a.every((x) => isWholeIn(x, lo, hi))) throw new Error(`${k} is not one ${hi === 1 ? "flag (0 or 1)" : "32-bit whole number"} per vCPU`);
      return a as number[];
    };
    this.vSu.set(per("su", FLAG));
    this.vHolding.set(per("holding", FLAG));
    this.vPtbr.set(per("ptbr"));
    this.vPgctl.set(per("pgctl"));
    this.vStartAddress.set(per("startAddress"));
    // (Absent from snapshots written before it existed: no upcall due.)
    if (s.upcallDue === undefined) this.vUpcallDue.fill(0);
    else this.vUpcallDue.set(per("upcallDue", FLAG));
    // As the monitor keeps them (a snapshot file is input): the callback a SET_CALLBACKS argument (a word-aligned
    // register value) or 0; each fixup a site's pc + 4 (unsigned) to its end (signed), both word-aligned.
    const aligned = (v: unknown, lo: number, hi: number) => isWholeIn(v, lo, hi) && (v & 3) === 0;
    if (!aligned(s.callback, ...WORD)) throw new Error("the event callback is not a word-aligned address");
    const fixups = s.resumeFixups;
    if (fixups !== null && !(Array.isArray(fixups) && fixups.every((f) => Array.isArray(f) && f.length === 2 && aligned(f[0], 0, 0xffff_ffff) && aligned(f[1], ...WORD)))) {
      throw new Error("resumeFixups is not pairs of word-aligned addresses");
    }
    this.callback = s.callback as number;
    this.resumeFixups = fixups ? new Map(fixups as [number, number][]) : undefined;
    if (this.scheduler && s.scheduler) this.scheduler.restore(s.scheduler as Record<string, unknown>);
    this.restoreBackend(s);
  }

  /** The back end's own bookkeeping (xen: write-protected frames; l4: the task's mappings). */
  protected abstract saveBackend(): Record<string, unknown>;
  protected abstract restoreBackend(s: Record<string, unknown>): void;

  // ---------------------------------------------------------------- the virtual psr

  get guestPsr(): number {
    const w = this.machine.memory.i32[this.iVpsr];
    const uf = this.su ? w & PSR.UF_MASK : this.machine.psr & PSR.UF_MASK;
    return (w & PSR.IE) | (this.su ? PSR.SU : 0) | uf;
  }

  protected storePsr(v: number): void {
    const m = this.machine;
    this.su = (v & PSR.SU) !== 0;
    m.memory.i32[this.iVpsr] = v & (PSR.IE | PSR.SU | PSR.UF_MASK);
    if (v & PSR.IE) this.release();
    // Supervisor: real IE on (inline sites change the virtual IE without the monitor; it holds
    // what they masked). User: only the monitor changes the virtual IE, so the real one follows it —
    // and an unannotated rdpsr in a user process sees the IE its kernel gave it.
    const ie = this.su ? (this.holding ? 0 : PSR.IE) : v & PSR.IE;
    m.psr = ie | (v & PSR.UF_MASK);
  }

  protected modeSwitched(toSupervisor: boolean): void {
    const m = this.machine;
    if (this.modeSwitchId < 0) this.modeSwitchId = this.tickId("modeSwitch");
    m.countAt(this.modeSwitchId);
    if (!toSupervisor) this.applyQueue();
    // Kernel pages and the window were granted for supervisor mode only: drop the cached
    // translations (what ring protection does on the hardware this models; refills are charged).
    m.tlbDrop();
  }

  private get vie(): boolean {
    return (this.machine.memory.i32[this.iVpsr] & PSR.IE) !== 0;
  }

  /** Stops holding events back: the machine delivers a pending line at its next check. */
  private release(): void {
    const i32 = this.machine.memory.i32;
    i32[this.iVpend] = 0;
    // An upcall left for the VMM to deliver in place (takeUpcall) that the guest unmasks through the
    // monitor instead (an IRET call, an emulated psr write): its line is raised again, and delivered as any.
    if (i32[this.iVupcall] !== 0) {
      i32[this.iVupcall] = 0;
      if (this.domainCalls?.upcall) this.machine.raiseLine(IRQ.EVENT);
    }
    if (this.holding) {
      this.holding = false;
      if (this.su || this.vie) this.machine.psr |= PSR.IE;
    }
  }

  private hold(): void {
    const m = this.machine;
    m.memory.i32[this.iVpend] = 1;
    this.holding = true;
    m.psr &= ~PSR.IE;
  }

  /** The kernel may have cleared VPSR.SU with an inline wrpsr: honour it at the next entry. */
  private syncFromWindow(): void {
    if (this.su && (this.machine.memory.i32[this.iVpsr] & PSR.SU) === 0) this.setGuestPsr(this.guestPsr & ~PSR.SU);
  }

  protected deliveryTarget(): number {
    return this.callback !== 0 ? this.callback : this.vmm.symbols.EVENT;
  }

  override reflect(cause: number, epc: number, badva?: number): void {
    // The handler is the registered event callback, or (through the VMM's EVENT entry) the virtual tvec.
    this.reflectTo(this.callback !== 0 ? this.callback : this.vcr[CR.tvec], cause, epc, badva);
    // The guest's handler now runs with events masked. A line still asserted (an interrupt just
    // delivered is level-triggered until the guest's handler acknowledges its device) is held at
    // once: the hypervisor knows it is masked, as Xen masks a guest's pirq until its EOI, instead of
    // letting the CPU take it again at the handler's first instruction only to hold it then.
    const m = this.machine;
    if (!m.stopped && this.su && !this.vie && !this.holding && m.lines.pending !== 0) {
      this.tick("event.held");
      this.hold();
    }
  }

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
  private vUpcallDue = new Uint8Array(1);

  /**
   * An event held back (VPEND) whose line has dropped since — the guest's
   * handler acknowledged its device through this very call (an emulated
   * `out`, a port op) — is no longer pending: nothing is held. The guest's
   * next unmask or iret then needs no call into the hypervisor only to find
   * nothing to deliver (its IRET fast path checks VPEND). What the guest
   * sees is the same: a level-triggered line that went away before the
   * guest unmasked is not delivered, here as on bare metal.
   */
  private dropStaleHold(): void {
    const m = this.machine;
    if (!this.holding || m.lines.pending !== 0 || m.stopped) return;
    // Not for a guest migrated here (resumeFixups): its trap frames may hold a pc inside a rewritten site,
    // which only the monitor's IRET fixes up — the hold keeps its returns on that path, as before.
    if (this.resumeFixups !== undefined && this.resumeFixups.size !== 0) return;
    this.tick("event.dropped");
    this.release();
  }

  private noteUpcallDue(): void {
    const m = this.machine;
    if (!m.stopped && this.vie && !this.holding && (m.psr & PSR.IE) !== 0 && m.lines.pending !== 0) this.vUpcallDue[m.cpuId] = 1;
  }

  protected override returnFromTrap(): void {
    if ((this.vcr[CR.epsr] & PSR.SU) === 0) this.applyQueue();
    super.returnFromTrap();
    const to = this.resumeFixups?.get(this.machine.pc >>> 0);
    if (to !== undefined) {
      this.tick("migration.resumeFixup");
      this.machine.pc = to;
    }
  }

  /**
   * For a guest migrated here from a back end whose sites are native (bare,
   * hvm, trap): there an interrupt can be taken right after a site's native
   * instruction, saving pc = site + 4 (the jump over the padding) in epc and
   * in the guest's trap frames. Here that word is part of the rewritten
   * sequence, so an iret to it continues after the site instead — what the
   * jump would have done. This back end never saves such a pc itself (it
   * delivers events only outside the soft layer), so the map is exact.
   */
  private resumeFixups: Map<number, number> | undefined;

  protected override halt(): void {
    if (this.vie) this.release();
    // A pending upcall (taken off its line, VPEND = 2) wakes hlt at once, as a pending line does.
    else if (this.machine.memory.i32[this.iVupcall] !== 0 && this.domainCalls?.upcall) return;
    this.machine.idle();
  }

  /**
   * An event on the multi-guest host's edge-triggered line (docs/driver-vms.md,
   * DOM_FEATURES) while the guest kernel has events masked: rather than hold
   * it (VPEND = 1, real IE off) and have the guest's unmask call the monitor
   * to deliver it, the monitor takes it off the line (the upcall) and leaves
   * it in the shared-info page — VUPCALL = its cause, VPEND = 2 — where the
   * in-place VMM's DELIVER performs the virtual trap entry itself when a site
   * unmasks (vmm-core.s.ts): pre-virtualization's in-place event delivery.
   * Only when it is the one line pending, the control port is not (it keeps
   * the line asserted), and the event would go to the guest's trap vector
   * (no callback registered). True when done.
   */
  private takeUpcall(line: number): boolean {
    const m = this.machine;
    const dc = this.domainCalls;
    if (line !== IRQ.EVENT || !dc?.upcall || !this.su || this.holding || this.callback !== 0 || this.vcr[CR.tvec] === 0) return false;
    if (m.lines.pending !== 1 << IRQ.EVENT) return false;
    dc.upcall();
    if (m.lines.pending !== 0) return false; // the control port keeps it asserted: held as any line
    m.memory.i32[this.iVupcall] = CAUSE.INTERRUPT_BASE + IRQ.EVENT;
    m.memory.i32[this.iVpend] = 2;
    this.tick("event.inPlace");
    return true;
  }

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
    const w = this.guest.read(va, 4, ACCESS.FETCH, false);
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
    // The kernel queued them: applied with its permissions, even after a switch to user mode.
    this.applyBatch(this.vmm.symbols.QUEUE, raw, false);
  }

  /**
   * mmu_update: `count` (address, value) pairs at virtual `va`, read with the
   * guest's read permission (`asUser`: its user or supervisor mode); returns
   * the number applied, or HC_ERROR.FAULT when the array is misaligned or
   * wraps around 2^32 (nothing applied). An entry that cannot be read ends
   * the batch.
   */
  protected applyBatch(va: number, count: number, asUser = !this.su): number {
    this.tick("mmu_update.batches");
    if (!GuestMemory.validRange(va, 8 * count, 4)) {
      this.tick("mmu_update.refused");
      return HC_ERROR.FAULT;
    }
    let applied = 0;
    const pair = this.words;
    for (let i = 0; i < count; i++) {
      if (this.guest.readWords((va + 8 * i) | 0, 2, pair, asUser) !== undefined) {
        this.tick("mmu_update.refused");
        break;
      }
      if (this.applyUpdate(pair[0], pair[1], asUser)) applied++;
    }
    this.tick("mmu_update.entries", applied);
    return applied;
  }

  /**
   * One validated page-table update: the entry's address must be writable
   * by the guest (its own page tables and permissions), in guest RAM and
   * outside the window; a valid entry's frame must be guest RAM. The write
   * itself is the hypervisor's validated one, so it may land in a
   * write-protected page table.
   */
  protected applyUpdate(ptrVa: number, value: number, asUser = !this.su): boolean {
    const m = this.machine;
    const pa = this.guest.physical(ptrVa, ACCESS.STORE, 4, asUser);
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

  // ---------------------------------------------------------------- devices (docs/driver-vms.md "VMM-bypass I/O")

  /**
   * A native load or store reached a device register (the machine's MMIO
   * slow path). Passed through (`--passthrough`): the per-request page goes
   * straight to the device, uncharged; a setup register traps to the
   * hypervisor, which checks what it names (queue bases in guest RAM) and
   * performs it. Not passed through, every native access traps and is
   * emulated (a plain binary's; an annotated kernel's mmio sites call the
   * device model instead). From virtual user mode: refused (a bus error).
   */
  onDeviceAccess(pa: number, store: boolean, value: number): boolean {
    const m = this.machine;
    if (!this.su) return false;
    const passthrough = this.options.passthrough === true;
    if (passthrough && !isSetupRegister(pa)) {
      this.tick("bypass.direct");
      return true;
    }
    this.chargeEntry();
    this.tick(passthrough ? "bypass.setup" : "mmio.trapped");
    return checkBypassAccess(m, pa, store, value, passthrough);
  }

  // ---------------------------------------------------------------- the soft layer

  private siteIndexAt(pc: number): number {
    let lo = 0;
    let hi = this.siteStart.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.siteStart[mid] <= pc) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && pc < this.siteEnd[hi] ? hi : -1;
  }

  /** Inside the window, or past the first word of a rewritten site (k0 may be live). */
  inSoftLayer(pc: number): boolean {
    if (inWindow(pc)) return true;
    const i = this.siteIndexAt(pc);
    return i >= 0 && pc !== this.siteStart[i];
  }

  /** Lets the CPU run until pc has left the soft layer (a few instructions of a site or a VMM path). */
  private finishSoftLayerPath(): void {
    const m = this.machine;
    for (let i = 0; i < MAX_FINISH_STEPS && !m.stopped && this.inSoftLayer(m.pc); i++) {
      this.tick("event.finishSteps");
      m.cpu.run(m.cycles + 1e-6);
    }
  }

  // ---------------------------------------------------------------- exceptions and interrupts

  onException(trap: TrapInfo): TrapDisposition {
    const m = this.machine;
    const cause = trap.cause;
    const upcall = this.vUpcallDue[m.cpuId] === 1 && cause >= CAUSE.INTERRUPT_BASE;
    this.vUpcallDue[m.cpuId] = 0;
    // The upcall a hypercall's return carries (noteUpcallDue) is no new entry into the hypervisor.
    if (upcall) this.tick("event.onReturn");
    else this.chargeEntry();
    this.syncFromWindow();
    if (cause >= CAUSE.INTERRUPT_BASE) return this.onInterrupt();

    if (cause >= CAUSE.PAGE_FAULT_FETCH && cause <= CAUSE.PAGE_FAULT_STORE && m.memory.i32[this.iQcount] !== 0) {
      // A queued update may be what this access needs: apply the queue and retry.
      this.tick("fault.retried");
      this.applyQueue();
      if (trap.badva !== undefined) m.tlbInvalidate(trap.badva);
      return "resume";
    }
    if (this.su && inWindow(trap.epc) && FAULT_CAUSES.has(cause)) {
      // The VMM's own code faulted: only guest-corrupted window state can do that. The guest is lost, not the host.
      m.stop("crash", `the in-place VMM faulted (${causeName(cause)} at 0x${(trap.epc >>> 0).toString(16)}): the guest corrupted its soft-layer window`);
      return "resume";
    }
    if (!this.su) {
      const k = this.userModeSite(trap);
      if (k >= 0) {
        const site = this.siteList[k];
        if (inWindow(trap.epc) || trap.epc === site.record.addr) {
          this.tick("site.user");
          this.executeUserSite(k);
        } else {
          // A later word of the template: the guest resumed past the site's original instruction
          // (its handler skipped a privileged instruction, as on bare metal): continue after the site.
          this.tick("site.skipped");
          m.pc = (site.record.addr + site.record.length) | 0;
        }
        return "resume";
      }
    }
    if (cause === CAUSE.PRIVILEGED_INSTRUCTION && this.su) {
      this.tick("trap.emulated");
      this.emulate(trap.epc);
      return "resume";
    }
    this.tick("trap.reflected");
    this.reflect(cause, trap.epc, trap.badva);
    return "resume";
  }

  private onInterrupt(): TrapDisposition {
    const m = this.machine;
    // Never inject inside the soft layer: let the site or VMM path finish first.
    if (this.inSoftLayer(m.pc)) this.finishSoftLayerPath();
    if (m.stopped) return "resume";
    const line = m.lines.lowest();
    if (line === undefined) return "resume"; // acknowledged meanwhile
    if (this.vie && !this.inSoftLayer(m.pc)) {
      this.tick("event.delivered");
      m.chargeAt(EVENT_ID.interruptInjection);
      // The multi-guest host's event line is an upcall: delivering it lowers it (DOM_FEATURES, docs/driver-vms.md).
      if (line === IRQ.EVENT) this.domainCalls?.upcall?.();
      this.reflect(CAUSE.INTERRUPT_BASE + line, m.pc);
    } else if (!this.takeUpcall(line)) {
      this.tick("event.held");
      this.hold();
    }
    return "resume";
  }

  /** A window fault from virtual user mode that comes from a rewritten site (not a genuine poke). */
  private userModeSite(trap: TrapInfo): number {
    const windowFault = inWindow(trap.epc) || (trap.badva !== undefined && inWindow(trap.badva) && trap.cause >= CAUSE.PAGE_FAULT_FETCH && trap.cause <= CAUSE.PAGE_FAULT_STORE);
    if (!windowFault) return -1;
    if (inWindow(trap.epc)) {
      const k = this.byReturn.get(this.machine.regs[REG.k0] >>> 0);
      return k !== undefined && this.siteList[k].record.addr + 4 === this.machine.regs[REG.k0] ? k : -1;
    }
    return this.siteIndexAt(trap.epc);
  }

  /** Runs a site's original instruction in virtual user mode, then continues after the site. */
  private executeUserSite(k: number): void {
    const m = this.machine;
    const site = this.siteList[k];
    const insn = this.siteInsn[k]!;
    const rec = site.record;
    const next = (rec.addr + rec.length) | 0;
    if (MEMORY_KINDS.has(site.kindName)) {
      if (this.emulateMemory(insn, rec.addr, true, site.kindName.startsWith("mmio"))) m.pc = next;
      return;
    }
    switch (insn.row.mnemonic) {
      case "rdpsr":
        if (insn.a !== 0) m.regs[insn.a] = this.guestPsr;
        m.pc = next;
        return;
      case "wrpsr":
        m.psr = (m.psr & ~PSR.UF_MASK) | (m.regs[insn.b] & PSR.UF_MASK);
        m.pc = next;
        return;
      default:
        this.reflect(CAUSE.PRIVILEGED_INSTRUCTION, rec.addr);
    }
  }

  /**
   * The original load/store of a memory-sensitive site; false when it faulted
   * (reflected with epc = the site). An mmio site's access that translates
   * into the device window is performed on the device — the VMM's device
   * model (docs/driver-vms.md "VMM-bypass I/O"): word-sized only, else the
   * bus error the hardware would raise.
   */
  private emulateMemory(insn: DecodedInstruction, siteAddr: number, asUser: boolean, device = false): boolean {
    const m = this.machine;
    const name = insn.row.mnemonic;
    const va = (m.regs[insn.b] + insn.imm) | 0;
    const size: AccessSize = name === "lw" || name === "sw" ? 4 : name === "lh" || name === "lhu" || name === "sh" ? 2 : 1;
    const store = name === "sw" || name === "sh" || name === "sb";
    if (device) {
      const pa = this.guestPhysical(va, store ? ACCESS.STORE : ACCESS.LOAD, size, asUser);
      if (typeof pa === "number" && m.memory.isDevice(pa)) {
        this.tick("mmio.emulated");
        const ok = size === 4 && checkBypassAccess(m, pa, store, m.regs[insn.a], false);
        const v = !ok ? undefined : store ? (m.mmioWrite(pa, m.regs[insn.a]) ? 0 : undefined) : m.mmioRead(pa);
        if (v === undefined) {
          this.reflect(CAUSE.BUS_ERROR, siteAddr, va);
          return false;
        }
        if (!store && insn.a !== 0) m.regs[insn.a] = v;
        return true;
      }
    }
    // The guest's own access: a store into a protected page table goes where its direct store would (validated).
    const r = store ? this.guest.write(va, m.regs[insn.a], size, true, asUser) : this.guest.read(va, size, ACCESS.LOAD, asUser);
    if (r instanceof Fault) {
      this.reflect(r.cause, siteAddr, r.badva);
      return false;
    }
    if (!store && insn.a !== 0) {
      m.regs[insn.a] = name === "lh" ? (r! << 16) >> 16 : name === "lb" ? (r! << 24) >> 24 : r!;
    }
    return true;
  }

  // ---------------------------------------------------------------- hypercalls

  onHcall(n: number): ExitAction {
    const m = this.machine;
    this.vUpcallDue[m.cpuId] = 0;
    this.chargeCall();
    this.syncFromWindow();
    const name = HYPERCALL_NAMES.get(n);
    let hid = this.hcallIds.get(n);
    if (hid === undefined) this.hcallIds.set(n, (hid = this.tickId(HCALL_SUFFIX.get(n) ?? `hcall.${n}`)));
    m.countAt(hid);
    // Unknown, or from a guest user process (only the guest kernel may call its hypervisor):
    // an illegal instruction, delivered to the guest kernel.
    if (name === undefined || !this.su) return "native";
    const pc = m.pc;
    const r = this.hypercall(n, m.regs[REG.a0], m.regs[REG.a1], m.regs[REG.a2]);
    this.dropStaleHold();
    if (n === HC.EVENTS || n === HC.IRET) this.noteUpcallDue();
    if (r === "resume") return "resume";
    if (n >= HC.GNT_GRANT && n <= HC.DEV_STATUS && this.domainCalls) {
      // An inter-domain op's second and third values (a multicall entry keeps its result only).
      m.regs[REG.a1] = this.domainCalls.out[0];
      m.regs[REG.a2] = this.domainCalls.out[1];
    }
    if (r !== undefined) m.regs[REG.a0] = r;
    return m.pc !== pc ? "resume" : "advance";
  }

  /** One hypercall; returns a0's new value, undefined to leave a0, or "resume" when pc was set. */
  private hypercall(n: number, a0: number, a1: number, a2 = 0): number | undefined | "resume" {
    const m = this.machine;
    switch (n) {
      case HC.CONSOLE_WRITE:
        m.portWrite(0x10, a0);
        return undefined;
      case HC.SET_CALLBACKS:
        if (a0 & 3) return HC_ERROR.INVAL;
        this.callback = a0;
        return 0;
      case HC.MMU_UPDATE:
        if (a1 < 0 || a1 > MAX_BATCH) {
          this.tick("mmu_update.refused");
          return HC_ERROR.INVAL;
        }
        if ((a0 >>> 0) === this.vmm.symbols.QUEUE && a1 === m.memory.i32[this.iQcount]) {
          m.memory.i32[this.iQcount] = 0; // the shared queue: consumed in the same hypercall
        }
        return this.applyBatch(a0, a1);
      case HC.NEW_BASEPTR:
        // Xen checks the new page directory: a frame outside guest RAM is refused (and nothing changes).
        if (((a0 & PAGE_MASK) >>> 0) + 4096 > m.memory.guestLimit) return HC_ERROR.INVAL;
        this.writePagingCr(CR.ptbr, a0);
        return 0;
      case HC.SET_PAGING:
        this.writePagingCr(CR.pgctl, a0);
        return 0;
      case HC.TLB_FLUSH:
        this.flushTlb();
        return 0;
      case HC.TLB_INVLPG:
        this.invalidateTlb(a0);
        return 0;
      case HC.SET_TIMER:
        m.portWrite(0x20, a0);
        return 0;
      case HC.BLOCK:
      case HC.YIELD:
        if (n === HC.BLOCK) this.halt();
        return undefined;
      case HC.IRET:
        this.returnFromTrap();
        return "resume";
      case HC.SHUTDOWN:
        m.powerOff(a0);
        return undefined;
      case HC.MULTICALL:
        return this.multicall(a0, a1);
      case HC.EVENTS:
        this.release();
        return undefined;
      case HC.EMULATE:
        return this.emulateSite();
      case HC.PORT_READ:
        // The port is the guest's `in` immediate: 0–0xFFFF (never truncated into another device's port).
        return a0 >>> 0 > 0xffff ? HC_ERROR.INVAL : m.portRead(a0);
      case HC.PORT_WRITE:
        if (a0 >>> 0 > 0xffff) return HC_ERROR.INVAL;
        this.portOut(a0, a1);
        return 0;
      case HC.VCPU_UP:
        return this.vcpuUp(a0, a1);
      default:
        if (n >= HC.GNT_GRANT && n <= HC.DEV_STATUS && this.domainCalls) {
          // The multi-guest host's services (docs/driver-vms.md): on l4 these are IPC to the host, charged as every call is.
          return this.domainCalls.call(n, a0, a1, a2);
        }
        return HC_ERROR.NOSYS;
    }
  }

  /**
   * MULTICALL: `count` entries {op, a0, a1, a2} at `va`, each read with the
   * guest's read permission; an entry's result goes back into its a0 slot,
   * a write checked as a write (the slot must be writable by the guest and
   * not a page table the hypervisor validates) before the entry runs and
   * again after it (the call may have changed the address space). Returns
   * the number of entries done, or an HC_ERROR: INVAL for a bad count or a
   * nested MULTICALL/IRET/EMULATE, FAULT for an array that is misaligned,
   * wraps, or cannot be read or written back.
   */
  private multicall(va: number, count: number): number {
    const m = this.machine;
    if (count < 0 || count > MAX_MULTICALL) return HC_ERROR.INVAL;
    if (!GuestMemory.validRange(va, 16 * count, 4)) return HC_ERROR.FAULT;
    const entry = this.words;
    let done = 0;
    for (let i = 0; i < count; i++) {
      const at = (va + 16 * i) | 0;
      const slot = (at + 4) | 0;
      if (this.guest.readWords(at, 4, entry) !== undefined || !this.guest.canWrite(slot, 4)) return HC_ERROR.FAULT;
      const op = entry[0];
      if (op === HC.MULTICALL || op === HC.IRET || op === HC.EMULATE) return HC_ERROR.INVAL;
      this.tick(`multicall.${HYPERCALL_NAMES.get(op) ?? op}`);
      const r = HYPERCALL_NAMES.has(op) ? this.hypercall(op, entry[1], entry[2], entry[3]) : HC_ERROR.NOSYS;
      if (typeof r === "number" && this.guest.write(slot, r, 4) !== undefined) return HC_ERROR.FAULT;
      done++;
      if (m.stopped || !this.su) break;
    }
    return done;
  }

  /**
   * The guest's port writes, from an emulated `out` or PORT_WRITE: the
   * CPU-start ports become VCPU_UP (0x43 sets the start address, 0x42 starts
   * that vCPU); a start the hypervisor refuses (no such vCPU, already
   * running) goes to the machine's port, which ignores and counts it as it
   * does on bare metal. Everything else is the device's.
   */
  protected override portOut(port: number, value: number): void {
    const m = this.machine;
    if (port === PORT_START_ADDRESS) {
      this.vStartAddress[m.cpuId] = value;
      m.portWrite(port, value);
      return;
    }
    if (port === PORT_START_CPU && this.startVcpu(value, this.vStartAddress[m.cpuId])) return;
    m.portWrite(port, value);
  }

  /**
   * VCPU_UP (Xen's VCPUOP_initialise + VCPUOP_up in one): vCPU `cpu` begins
   * at `entry` in virtual supervisor mode, IE=0, paging off, registers zero.
   * 0, or EINVAL (no such vCPU, a misaligned entry), EEXIST (already up).
   */
  private vcpuUp(cpu: number, entry: number): number {
    const m = this.machine;
    if (cpu < 0 || cpu >= m.cpuCount || (entry & 3) !== 0) return HC_ERROR.INVAL;
    return this.startVcpu(cpu, entry) ? 0 : HC_ERROR.EXIST;
  }

  /** Starts a stopped vCPU (onCpuStart then sets it up); false when `cpu` does not exist or is not stopped. */
  private startVcpu(cpu: number, entry: number): boolean {
    const m = this.machine;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= m.cpuCount || m.cpuState(cpu) !== "stopped") return false;
    this.tick("vcpu.up");
    return m.startCpu(cpu, entry);
  }

  /** EMULATE: the site that called is found by k0; its original instruction runs on the virtual CPU. */
  private emulateSite(): number | undefined | "resume" {
    const m = this.machine;
    const k = this.byReturn.get(m.regs[REG.k0] >>> 0);
    if (k === undefined || !this.su) {
      // Not called from a rewritten site: nothing to emulate (the guest's registers are left alone).
      this.tick("emulate.unknown_site");
      return undefined;
    }
    const site = this.siteList[k];
    const insn = this.siteInsn[k]!;
    let id = this.siteTick[k];
    if (id < 0) this.siteTick[k] = id = this.tickId(emulateSuffix(site.kindName));
    m.countAt(id);
    if (this.lockCure && (site.kindName === "lock" || site.kindName === "unlock" || site.kindName === "ticket")) {
      this.lockCure.emulate(site);
      return undefined;
    }
    if (MEMORY_KINDS.has(site.kindName)) {
      if (site.kindName === "pte-load") this.applyQueue();
      return this.emulateMemory(insn, site.record.addr, false, site.kindName.startsWith("mmio")) ? undefined : "resume";
    }
    const pc = m.pc;
    this.execute(insn);
    return m.pc !== pc ? "resume" : undefined;
  }
}
