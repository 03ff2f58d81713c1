// The hvm back end's monitor: hardware-assisted virtualization in the style
// of VT-x with shadow paging. The guest runs unmodified, its kernel in
// "non-root" supervisor mode — so the CPU's own psr, trap vector and
// exception delivery are the guest's (as in a VMCS guest-state area) — and
// every sensitive instruction, rdpsr and wrpsr included, exits to the
// monitor first. Most exits are then executed as the hardware would (the
// exit's cost is what matters); ptbr and pgctl are virtual, because the
// real MMU runs on shadow translations the monitor builds from the guest's
// page tables (common/shadow-paging.ts).
//
// Several vCPUs (docs/design.md §7): each vCPU is a machine CPU with its
// own VMCS (the CPU's psr and control registers) and exits; the monitor
// keeps a shadow pager per vCPU (its virtual ptbr/pgctl and shadow) over
// the guest's shared write protection, so a page-table write on one vCPU
// exits and every vCPU's shadow sees it (common/shadow-paging.ts). A vCPU
// the guest starts (port 0x42, an exit executed natively) begins with
// paging off and an empty shadow. With --pcpus the vCPUs are time-sliced by
// common/vcpu-scheduler.ts.
//
// Charged: vmExit per exit (instruction, external interrupt, guest page
// fault, shadow fill, page-table write, device-register access — common/bypass.ts) + interruptInjection per injected
// interrupt + shadowUpdate per emulated page-table write.

import { INSTRUCTIONS, OP, type Mnemonic } from "../../guest-isa/isa-table.js";
import { CAUSE, CR, PSR } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import { Fault, type Access, type ExitAction, type GuestRegisters, type Monitor, type MonitorTranslation, type TrapDisposition, type TrapInfo } from "../../machine/monitor.js";
import { PageTableWatch, ShadowPager } from "../common/shadow-paging.js";
import type { MigratableMonitor, NeutralState } from "../common/neutral-state.js";
import { VcpuScheduler } from "../common/vcpu-scheduler.js";
import { installPauseLoopExiting } from "../common/spinlock-cures.js";
import { checkBypassAccess, isSetupRegister } from "../common/bypass.js";
import type { MonitorOptions } from "../index.js";
import { EVENT_ID } from "../../machine/stats.js";


/** Every sensitive instruction exits: the hardware closes the virtualization hole. */
export const HVM_EXITS: readonly Mnemonic[] = INSTRUCTIONS.filter((r) => r.sensitive).map((r) => r.mnemonic as Mnemonic);

export class HvmMonitor implements Monitor, MigratableMonitor {
  readonly name = "hvm";
  readonly exits = HVM_EXITS;
  private machine!: Machine;
  /** Per vCPU. */
  private shadows: ShadowPager[] = [];
  private watch!: PageTableWatch;
  private scheduler: VcpuScheduler | undefined;
  /**
   * The machine's counter ids (machine.counterId), looked up once at attach:
   * `exit:MNEMONIC` by opcode, and the other exit reasons — no string-keyed
   * lookup at every exit.
   */
  private exitIds = new Int32Array(64);
  private interruptId = 0;
  private pageFaultId = 0;
  private mmioId = 0;
  private bypassId = 0;
  private ptWriteId = 0;

  constructor(private readonly options: MonitorOptions = { cpus: 1 }) {}

  attach(machine: Machine): void {
    this.machine = machine;
    for (const m of HVM_EXITS) this.exitIds[OP[m]] = machine.counterId(`exit:${m}`);
    this.interruptId = machine.counterId("exit:interrupt");
    this.pageFaultId = machine.counterId("exit:pagefault");
    this.mmioId = machine.counterId("exit:mmio");
    this.bypassId = machine.counterId("bypass.direct");
    this.ptWriteId = machine.counterId("exit:ptwrite");
    const watch = (this.watch = new PageTableWatch(machine));
    this.shadows = Array.from({ length: machine.cpuCount }, (_, cpu) => new ShadowPager(machine, "vmExit", watch, cpu));
    this.scheduler = VcpuScheduler.forMonitor(machine, this.options);
    if (this.options.spinlocks === "ple") installPauseLoopExiting(machine, this.scheduler);
  }

  /** The shadow of the vCPU running now. */
  private get shadow(): ShadowPager {
    return this.shadows[this.machine.cpuId];
  }

  /** A vCPU the guest started: paging off, empty shadow. */
  onCpuStart(cpu: number): void {
    this.shadows[cpu].adopt(0, 0);
  }

  runnable(cpu: number, epochStart: number): boolean {
    return this.scheduler === undefined || this.scheduler.runnable(cpu, epochStart);
  }

  onExit(mnemonic: Mnemonic, word: number, pc: number): ExitAction {
    const m = this.machine;
    m.countAt(this.exitIds[word & 63]);
    m.chargeAt(EVENT_ID.vmExit);
    if (mnemonic === "mfcr" || mnemonic === "mtcr") {
      const cr = word >>> 14;
      if (cr === CR.ptbr || cr === CR.pgctl) {
        // Privilege first: in guest user mode the hardware would fault.
        if ((m.psr & 2) === 0) return "native";
        if (mnemonic === "mfcr") {
          const rd = (word >>> 6) & 15;
          if (rd !== 0) m.regs[rd] = cr === CR.ptbr ? this.shadow.ptbr : this.shadow.pgctl;
        } else {
          const v = m.regs[(word >>> 10) & 15];
          if (cr === CR.ptbr) this.shadow.setRoot(v, this.shadow.pgctl);
          else this.shadow.setRoot(this.shadow.ptbr, v);
        }
        void pc;
        return "advance";
      }
    }
    if (mnemonic === "tlbflush" && (m.psr & 2) !== 0) {
      this.shadow.dropAll();
      return "advance";
    }
    if (mnemonic === "tlbinv" && (m.psr & 2) !== 0) {
      this.shadow.dropPage(m.regs[(word >>> 10) & 15]);
      return "advance";
    }
    return "native";
  }

  onException(trap: TrapInfo): TrapDisposition {
    const m = this.machine;
    if (trap.cause >= CAUSE.INTERRUPT_BASE) {
      // An external interrupt exits; the monitor injects it into the guest.
      m.countAt(this.interruptId);
      m.chargeAt(EVENT_ID.vmExit);
      m.chargeAt(EVENT_ID.interruptInjection);
    } else if (trap.cause >= CAUSE.PAGE_FAULT_FETCH && trap.cause <= CAUSE.PAGE_FAULT_STORE) {
      // Under shadow paging every guest page fault passes through the monitor first.
      m.countAt(this.pageFaultId);
      m.chargeAt(EVENT_ID.vmExit);
    }
    return "deliver";
  }

  /** Monitor.refill: the shadow entry as frame | PERM bits (no object per TLB miss). */
  refill(va: number, access: Access): number | Fault {
    return this.shadow.refill(va, access);
  }

  translate(va: number, access: Access): MonitorTranslation | Fault {
    // The shadow entry is the translation (a fresh object per lookup: nothing else holds it).
    return this.shadow.lookup(va, access);
  }

  /**
   * A guest access to a device register (docs/driver-vms.md "VMM-bypass
   * I/O"): it exits (an EPT violation on an emulated device's page) and the
   * VMM performs it on the device. Passed through, the per-request page is
   * mapped in the guest's EPT: no exit; the setup page still exits. From
   * guest user mode: refused (a bus error), as on bare metal.
   */
  onDeviceAccess(pa: number, store: boolean, value: number): boolean {
    const m = this.machine;
    if ((m.psr & PSR.SU) === 0) return false;
    if (this.options.passthrough && !isSetupRegister(pa)) {
      m.countAt(this.bypassId);
      return true;
    }
    m.countAt(this.mmioId);
    m.chargeAt(EVENT_ID.vmExit);
    return checkBypassAccess(m, pa, store, value, this.options.passthrough === true);
  }

  onWatchedStore(pa: number, value: number, size: 1 | 2 | 4): void {
    this.machine.countAt(this.ptWriteId);
    this.shadow.emulateStore(pa, value, size);
  }

  // ---------------------------------------------------------------- migration (common/neutral-state.ts)

  /** The guest's psr and control registers are the CPU's (a VMCS guest area), but for the virtual ptbr/pgctl. */
  exportNeutral(): NeutralState {
    return this.guestRegisters();
  }

  /** Monitor.guestRegisters: the CPU's, with the virtual ptbr and pgctl. */
  guestRegisters(): GuestRegisters {
    const m = this.machine;
    const cr = Array.from(m.cr);
    cr[CR.ptbr] = this.shadow.ptbr;
    cr[CR.pgctl] = this.shadow.pgctl;
    return { psr: m.psr, cr };
  }

  /** The shadow page tables are rebuilt from the guest's own, on demand. */
  importNeutral(s: NeutralState): void {
    const m = this.machine;
    m.psr = s.psr;
    m.cr.set(s.cr);
    m.cr[CR.ptbr] = 0;
    m.cr[CR.pgctl] = 0;
    this.shadow.adopt(s.cr[CR.ptbr], s.cr[CR.pgctl]);
  }

  saveExact(): Record<string, unknown> {
    return { shadows: this.shadows.map((p) => p.saveState()), scheduler: this.scheduler?.save() ?? null };
  }

  restoreExact(s: Record<string, unknown>): void {
    const shadows = s.shadows as ReturnType<ShadowPager["saveState"]>[];
    if (!Array.isArray(shadows) || shadows.length !== this.shadows.length) throw new Error("not one shadow per vCPU");
    shadows.forEach((x, cpu) => this.shadows[cpu].restoreState(x));
    this.watch.rebuild(this.shadows);
    if (this.scheduler && s.scheduler) this.scheduler.restore(s.scheduler as Record<string, unknown>);
  }
}
