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
// Charged: every trap into the monitor costs exceptionEntry + exceptionReturn
// (the round trip); injected interrupts interruptInjection; shadow fills and
// page-table writes as in shadow-paging.ts; port I/O deviceAccess.

import { decodeInstruction } from "../../guest-isa/encoding.js";
import { CAUSE, CR, PSR } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import { ACCESS, Fault, type Access, type Monitor, type MonitorTranslation, type TrapDisposition, type TrapInfo } from "../../machine/monitor.js";
import { causeName } from "../../machine/stats.js";
import { permissionFault, ShadowPager } from "../common/shadow-paging.js";

const FAULTS = new Set<number>([
  CAUSE.ILLEGAL_INSTRUCTION, CAUSE.PRIVILEGED_INSTRUCTION, CAUSE.MISALIGNED,
  CAUSE.PAGE_FAULT_FETCH, CAUSE.PAGE_FAULT_LOAD, CAUSE.PAGE_FAULT_STORE, CAUSE.BUS_ERROR,
]);

export class TrapMonitor implements Monitor {
  readonly name = "trap";
  private machine!: Machine;
  private shadow!: ShadowPager;
  /** Virtual SU and IE (the UF bits live in the real psr, which user-mode wrpsr may change). */
  private vpsr = PSR.SU;
  /** Virtual control registers; ptbr and pgctl live in the shadow pager. */
  private readonly vcr = new Int32Array(8);

  attach(machine: Machine): void {
    this.machine = machine;
    this.shadow = new ShadowPager(machine, "exceptionEntry");
  }

  onReset(): void {
    // Reset state is "supervisor, interrupts off" — for the virtual CPU. The real one is user mode.
    this.vpsr = PSR.SU;
    this.vcr.fill(0);
    this.shadow.setRoot(0, 0);
    this.machine.psr = 0;
  }

  /** The guest-visible psr: virtual SU/IE with the real UF bits. */
  private get guestPsr(): number {
    return this.vpsr | (this.machine.psr & PSR.UF_MASK);
  }

  private setGuestPsr(v: number): void {
    const m = this.machine;
    const modeChanged = ((this.vpsr ^ v) & PSR.SU) !== 0;
    this.vpsr = v & (PSR.SU | PSR.IE);
    m.psr = (v & (PSR.IE | PSR.UF_MASK)) & ~PSR.SU; // the real CPU stays in user mode
    if (modeChanged) {
      // Shadows granted for one virtual mode are wrong for the other.
      m.count("modeSwitchFlushes");
      this.shadow.dropAll();
    }
  }

  onException(trap: TrapInfo): TrapDisposition {
    const m = this.machine;
    m.charge("exceptionEntry");
    m.charge("exceptionReturn");
    if (trap.cause === CAUSE.PRIVILEGED_INSTRUCTION && this.vpsr & PSR.SU) {
      m.count("trap:emulated");
      this.emulate(trap.epc);
      return "resume";
    }
    if (trap.cause >= CAUSE.INTERRUPT_BASE) {
      m.count("trap:interrupt");
      m.charge("interruptInjection");
    } else {
      m.count("trap:reflected");
    }
    this.reflect(trap.cause, trap.epc, trap.badva);
    return "resume";
  }

  /** Delivers an exception to the guest's virtual trap vector, as the hardware would on bare metal. */
  private reflect(cause: number, epc: number, badva?: number): void {
    const m = this.machine;
    const tvec = this.vcr[CR.tvec];
    if (tvec === 0) return m.stop("crash", `${causeName(cause)} with no trap vector (tvec = 0) in the guest`);
    if (FAULTS.has(cause) && epc === tvec) return m.stop("crash", `${causeName(cause)} at the guest's trap handler entry`);
    this.vcr[CR.epc] = epc;
    this.vcr[CR.epsr] = this.guestPsr;
    this.vcr[CR.cause] = cause;
    if (badva !== undefined) this.vcr[CR.badva] = badva;
    this.setGuestPsr((this.guestPsr | PSR.SU) & ~PSR.IE);
    m.pc = tvec;
  }

  /** Emulates the privileged instruction at `pc` for the guest kernel. */
  private emulate(pc: number): void {
    const m = this.machine;
    const word = this.fetch(pc);
    const insn = word === undefined ? undefined : decodeInstruction(word);
    if (!insn) return m.stop("crash", `monitor could not read the trapping instruction at 0x${(pc >>> 0).toString(16)}`);
    const regs = m.regs;
    const setReg = (r: number, v: number) => {
      if (r !== 0) regs[r] = v;
    };
    m.pc = (pc + 4) | 0;
    switch (insn.row.mnemonic) {
      case "cli":
        return this.setGuestPsr(this.guestPsr & ~PSR.IE);
      case "sti":
        return this.setGuestPsr(this.guestPsr | PSR.IE);
      case "hlt":
        return m.idle();
      case "iret":
        m.pc = this.vcr[CR.epc];
        return this.setGuestPsr(this.vcr[CR.epsr]);
      case "tlbflush":
        return this.shadow.dropAll();
      case "tlbinv":
        return this.shadow.dropPage(regs[insn.b]);
      case "mfcr":
        return setReg(insn.a, insn.imm === CR.ptbr ? this.shadow.ptbr : insn.imm === CR.pgctl ? this.shadow.pgctl : this.vcr[insn.imm]);
      case "mtcr":
        if (insn.imm === CR.ptbr) return this.shadow.setRoot(regs[insn.b], this.shadow.pgctl);
        if (insn.imm === CR.pgctl) return this.shadow.setRoot(this.shadow.ptbr, regs[insn.b]);
        this.vcr[insn.imm] = regs[insn.b];
        return;
      case "in":
        m.charge("deviceAccess");
        return setReg(insn.a, m.portRead(insn.imm));
      case "out":
        m.charge("deviceAccess");
        return m.portWrite(insn.imm, regs[insn.b]);
      default:
        return m.stop("crash", `monitor cannot emulate '${insn.row.mnemonic}'`);
    }
  }

  /** Reads the guest's instruction word at a virtual address (it was just fetched, so it is mapped). */
  private fetch(va: number): number | undefined {
    const e = this.shadow.lookup(va, ACCESS.FETCH);
    if (e instanceof Fault) return undefined;
    const pa = e.frame + (va & 0xfff);
    return this.machine.memory.contains(pa, 4) ? this.machine.memory.i32[pa >>> 2] : undefined;
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
    this.machine.count("trap:ptwrite");
    this.shadow.emulateStore(pa, value, size);
  }
}
