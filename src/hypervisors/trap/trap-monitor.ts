// The trap back end's monitor: classic trap-and-emulate, no hardware assist.
// The guest kernel is deprivileged — the CPU runs it in user mode (SU=0) —
// and the monitor keeps a virtual CPU: virtual SU and IE, and the virtual
// control registers. A privileged instruction in the guest kernel faults
// (cause 2) into the monitor, which emulates it; every other exception and
// every interrupt is reflected into the guest's own trap vector.
//
// The hole: rdpsr and wrpsr are sensitive but not privileged, so they do not
// trap. rdpsr shows the guest the real psr (SU=0: "you are in user mode");
// wrpsr from user mode changes only the UF bits, so a kernel that restores
// its interrupt state with wrpsr leaves interrupts disabled. Guests that
// rely on them misbehave — visibly, never by crashing the host.
//
// The real IE follows the virtual IE, so a device line the guest has masked
// stays pending in the machine until the guest enables interrupts. The real
// MMU runs on shadow translations (common/shadow-paging.ts); since the CPU
// is always in user mode, the shadow grants a kernel-only page only while
// the virtual CPU is in supervisor mode, and a virtual mode switch flushes
// the TLB — the classic price of deprivileging.
//
// The virtual-CPU logic (reflect, emulate, mode switches) is shared with
// xen and l4: common/virtual-cpu.ts.
//
// Several vCPUs (docs/design.md §7): the virtual psr, control registers and
// shadow pager are per vCPU (indexed by the machine CPU running now), the
// page-table write protection is the guest's (common/shadow-paging.ts). A
// vCPU the guest starts (its emulated `out` to port 0x42) begins as CPU 0
// did at reset: virtual supervisor mode, interrupts off, paging off — on a
// real CPU in user mode. The hole is per vCPU too.
//
// Charged: every trap into the monitor costs exceptionEntry + exceptionReturn
// (the round trip); injected interrupts interruptInjection; shadow fills and
// page-table writes as in shadow-paging.ts; port I/O is counted and charged by the machine.

import { CAUSE, CR, PSR } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import { ACCESS, Fault, type Access, type MonitorTranslation, type TrapDisposition, type TrapInfo } from "../../machine/monitor.js";
import { GuestMemory, type AccessSize, type GuestView } from "../common/guest-memory.js";
import { PageTableWatch, permissionFault, ShadowPager } from "../common/shadow-paging.js";
import { VirtualCpu } from "../common/virtual-cpu.js";
import { isWord, type MigratableMonitor, type NeutralState } from "../common/neutral-state.js";
import { VcpuScheduler } from "../common/vcpu-scheduler.js";
import type { MonitorOptions } from "../index.js";
import { EVENT_ID } from "../../machine/stats.js";

export class TrapMonitor extends VirtualCpu implements GuestView, MigratableMonitor {
  readonly name = "trap";
  /** Per vCPU: shadow pager, virtual SU and IE (the UF bits live in the real psr, which user-mode wrpsr may change), virtual control registers (ptbr and pgctl live in the shadow pager). */
  private shadows: ShadowPager[] = [];
  private watch!: PageTableWatch;
  private vpsrs = new Int32Array(1);
  private vcrs: Int32Array[] = [];
  /** Guest memory as the monitor reads it for the guest (guest-memory.ts). */
  private guest!: GuestMemory;
  private scheduler: VcpuScheduler | undefined;

  constructor(private readonly options: MonitorOptions = { cpus: 1 }) {
    super();
  }

  attach(machine: Machine): void {
    this.machine = machine;
    const n = machine.cpuCount;
    const watch = (this.watch = new PageTableWatch(machine));
    this.shadows = Array.from({ length: n }, (_, cpu) => new ShadowPager(machine, "exceptionEntry", watch, cpu));
    this.vpsrs = new Int32Array(n).fill(PSR.SU);
    this.vcrs = Array.from({ length: n }, () => new Int32Array(8));
    this.guest = new GuestMemory(machine, this);
    this.scheduler = VcpuScheduler.forMonitor(machine, this.options);
    this.ids = {
      emulated: machine.counterId("trap:emulated"),
      interrupt: machine.counterId("trap:interrupt"),
      reflected: machine.counterId("trap:reflected"),
      ptWrite: machine.counterId("trap:ptwrite"),
      modeSwitchFlushes: machine.counterId("modeSwitchFlushes"),
    };
  }

  /** The machine's counter ids of this monitor's counts, looked up once at attach (no string-keyed lookup per trap). */
  private ids = { emulated: 0, interrupt: 0, reflected: 0, ptWrite: 0, modeSwitchFlushes: 0 };

  private get shadow(): ShadowPager {
    return this.shadows[this.machine.cpuId];
  }
  private get vpsr(): number {
    return this.vpsrs[this.machine.cpuId];
  }
  private set vpsr(v: number) {
    this.vpsrs[this.machine.cpuId] = v;
  }
  protected get vcr(): Int32Array {
    return this.vcrs[this.machine.cpuId];
  }

  onReset(): void {
    // Reset state is "supervisor, interrupts off" — for the virtual CPU. The real one is user mode.
    this.vpsr = PSR.SU;
    this.vcr.fill(0);
    this.shadow.setRoot(0, 0);
    this.machine.psr = 0;
  }

  /** A started vCPU (called in its context, its TLB empty): the same reset state, for that vCPU. */
  onCpuStart(): void {
    this.vpsr = PSR.SU;
    this.vcr.fill(0);
    this.shadow.adopt(0, 0);
    this.machine.psr = 0;
  }

  runnable(cpu: number, epochStart: number): boolean {
    return this.scheduler === undefined || this.scheduler.runnable(cpu, epochStart);
  }

  /** The guest-visible psr: virtual SU/IE with the real UF bits. */
  get guestPsr(): number {
    return this.vpsr | (this.machine.psr & PSR.UF_MASK);
  }

  protected storePsr(v: number): void {
    this.vpsr = v & (PSR.SU | PSR.IE);
    this.machine.psr = (v & (PSR.IE | PSR.UF_MASK)) & ~PSR.SU; // the real CPU stays in user mode
  }

  protected modeSwitched(): void {
    // Shadows granted for one virtual mode are wrong for the other.
    this.machine.countAt(this.ids.modeSwitchFlushes);
    this.shadow.dropAll();
  }

  protected deliveryTarget(): number {
    return this.vcr[CR.tvec];
  }

  protected readPagingCr(cr: number): number {
    return cr === CR.ptbr ? this.shadow.ptbr : this.shadow.pgctl;
  }

  protected writePagingCr(cr: number, value: number): void {
    if (cr === CR.ptbr) this.shadow.setRoot(value, this.shadow.pgctl);
    else this.shadow.setRoot(this.shadow.ptbr, value);
  }

  protected flushTlb(): void {
    this.shadow.dropAll();
  }

  protected invalidateTlb(va: number): void {
    this.shadow.dropPage(va);
  }

  onException(trap: TrapInfo): TrapDisposition {
    const m = this.machine;
    m.chargeAt(EVENT_ID.exceptionEntry);
    m.chargeAt(EVENT_ID.exceptionReturn);
    if (trap.cause === CAUSE.PRIVILEGED_INSTRUCTION && this.vpsr & PSR.SU) {
      m.countAt(this.ids.emulated);
      this.emulate(trap.epc);
      return "resume";
    }
    if (trap.cause >= CAUSE.INTERRUPT_BASE) {
      m.countAt(this.ids.interrupt);
      m.chargeAt(EVENT_ID.interruptInjection);
    } else {
      m.countAt(this.ids.reflected);
    }
    this.reflect(trap.cause, trap.epc, trap.badva);
    return "resume";
  }

  /** Reads the guest's instruction word at a virtual address (it was just fetched, so it is mapped). */
  protected fetch(va: number): number | undefined {
    const w = this.guest.fetchWord(va);
    return w instanceof Fault ? undefined : w;
  }

  get guestIsUser(): boolean {
    return (this.vpsr & PSR.SU) === 0;
  }

  /** GuestView: the guest's translation (its page tables through the shadow pager) with its permissions. */
  guestPhysical(va: number, access: Access, _size: AccessSize, asUser: boolean): number | Fault {
    const e = this.shadow.lookup(va, access);
    if (e instanceof Fault) return e;
    if ((asUser && !e.user) || (access === ACCESS.STORE && !e.writable)) return permissionFault(access, va);
    const pa = e.frame + (va & 0xfff);
    return pa < this.machine.memory.guestLimit ? pa : new Fault(CAUSE.BUS_ERROR, va);
  }

  /** Monitor.refill: translate's answer as frame | PERM bits (no object per TLB miss). */
  refill(va: number, access: Access): number | Fault {
    const r = this.shadow.refill(va, access);
    if (typeof r !== "number") return r;
    // The guest's own permission rules, for the guest's virtual mode.
    if (!(this.vpsr & PSR.SU) && (r & 4) === 0) return permissionFault(access, va);
    if (access === ACCESS.STORE && (r & 2) === 0) return permissionFault(access, va);
    return r | 4;
  }

  translate(va: number, access: Access): MonitorTranslation | Fault {
    const e = this.shadow.lookup(va, access);
    if (e instanceof Fault) return e;
    // The guest's own permission rules, for the guest's virtual mode.
    if (!(this.vpsr & PSR.SU) && !e.user) return permissionFault(access, va);
    if (access === ACCESS.STORE && !e.writable) return permissionFault(access, va);
    return { frame: e.frame, writable: e.writable, user: true };
  }

  onWatchedStore(pa: number, value: number, size: 1 | 2 | 4): void {
    this.machine.countAt(this.ids.ptWrite);
    this.shadow.emulateStore(pa, value, size);
  }

  /**
   * Monitor.onDeviceAccess: a load or store reached a device register (the
   * nvdisk's, through a mapping the guest made). The CPU runs the guest
   * kernel and its user processes alike in user mode, so the machine cannot
   * refuse a user process's access as bare metal does: the virtual mode
   * decides — from virtual user mode, a bus error (else a process the
   * kernel mapped the registers for could aim the device's DMA at the
   * kernel); the kernel's access goes to the device, uncharged, as before.
   */
  onDeviceAccess(): boolean {
    return !this.guestIsUser;
  }

  // ---------------------------------------------------------------- migration (common/neutral-state.ts)

  exportNeutral(): NeutralState {
    return this.guestRegisters();
  }

  importNeutral(s: NeutralState): void {
    this.vpsr = s.psr & (PSR.SU | PSR.IE);
    this.machine.psr = s.psr & (PSR.IE | PSR.UF_MASK);
    this.vcr.set(s.cr);
    this.machine.cr.fill(0);
    this.shadow.adopt(s.cr[CR.ptbr], s.cr[CR.pgctl]);
  }

  saveExact(): Record<string, unknown> {
    return {
      vpsr: Array.from(this.vpsrs),
      vcr: this.vcrs.map((v) => v.slice()),
      shadows: this.shadows.map((p) => p.saveState()),
      scheduler: this.scheduler?.save() ?? null,
    };
  }

  restoreExact(s: Record<string, unknown>): void {
    const n = this.shadows.length;
    const vpsr = s.vpsr as number[];
    const vcr = s.vcr as Int32Array[];
    const shadows = s.shadows as ReturnType<ShadowPager["saveState"]>[];
    if (![vpsr, vcr, shadows].every((a) => Array.isArray(a) && a.length === n)) throw new Error("not one virtual CPU per vCPU");
    // As the monitor keeps them (a snapshot file is input), not converted by the typed arrays' set: a virtual psr
    // of SU and IE only (storePsr), eight control registers of whole 32-bit numbers.
    if (!vpsr.every((v) => isWord(v) && (v & ~(PSR.SU | PSR.IE)) === 0)) throw new Error("a virtual psr is not SU and IE bits");
    if (!vcr.every((v) => (Array.isArray(v) || v instanceof Int32Array) && v.length === 8 && Array.from(v as ArrayLike<number>).every(isWord))) throw new Error("a vCPU's control registers are not eight whole 32-bit numbers");
    this.vpsrs.set(vpsr);
    vcr.forEach((v, cpu) => this.vcrs[cpu].set(v));
    shadows.forEach((x, cpu) => this.shadows[cpu].restoreState(x));
    this.watch.rebuild(this.shadows);
    if (this.scheduler && s.scheduler) this.scheduler.restore(s.scheduler as Record<string, unknown>);
  }
}
