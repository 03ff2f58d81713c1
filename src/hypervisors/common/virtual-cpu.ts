// The virtual CPU shared by every back end that runs the guest kernel
// deprivileged (trap, xen, l4): the CPU really runs in user mode (SU=0)
// and the monitor keeps the guest's *virtual* psr and control registers.
// This class holds what is the same for all of them:
//
//   reflect(cause, epc, badva)  the hardware's exception entry, done for the
//                               guest: virtual epc/epsr/cause/badva, virtual
//                               SU=1, IE=0, then pc = where the back end
//                               delivers (trap: the guest's tvec; xen/l4: the
//                               registered event callback)
//   emulate(pc)                 a privileged instruction that trapped (cause 2)
//                               in virtual supervisor mode, executed on the
//                               virtual CPU
//   setGuestPsr(v)              a new virtual psr; a change of virtual mode
//                               calls modeSwitched() (the back end drops the
//                               translations granted for the other mode)
//
// Where the state lives and what paging, TLB and I/O mean are the back end's
// (abstract members below): trap keeps its virtual psr in monitor memory and
// pages through a shadow; xen and l4 keep it in the soft-layer window, where
// the in-place VMM reads and writes it without trapping (wedge-monitor.ts).

import { decodeInstruction, type DecodedInstruction } from "../../guest-isa/encoding.js";
import { CR, PSR } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import type { Access, Fault, GuestRegisters, Monitor, MonitorTranslation, TrapDisposition, TrapInfo } from "../../machine/monitor.js";

export { FAULT_CAUSES } from "../../machine/machine.js";

export abstract class VirtualCpu implements Monitor {
  abstract readonly name: string;
  protected machine!: Machine;

  /** The virtual control registers (ptbr and pgctl may be mirrors: see readPagingCr). */
  protected abstract readonly vcr: Int32Array;
  /** The psr the guest would see on bare metal. */
  abstract get guestPsr(): number;
  /** Stores a new virtual psr (no mode-switch side effects: setGuestPsr does those). */
  protected abstract storePsr(v: number): void;
  /** The virtual mode changed: translations granted for the other mode are void. */
  protected abstract modeSwitched(toSupervisor: boolean): void;
  /** Where reflect() sends the guest. */
  protected abstract deliveryTarget(): number;

  /** ptbr / pgctl as the guest sees them, and the effect of writing them. */
  protected abstract readPagingCr(cr: number): number;
  protected abstract writePagingCr(cr: number, value: number): void;
  protected abstract flushTlb(): void;
  protected abstract invalidateTlb(va: number): void;
  /** Reads the guest's instruction word at a virtual address. */
  protected abstract fetch(va: number): number | undefined;

  abstract onException(trap: TrapInfo): TrapDisposition;
  abstract translate(va: number, access: Access, user: boolean): MonitorTranslation | Fault | undefined;

  /** Monitor.guestRegisters: the virtual psr and control registers, ptbr and pgctl as the guest reads them. */
  guestRegisters(): GuestRegisters {
    const cr = Array.from(this.vcr);
    cr[CR.ptbr] = this.readPagingCr(CR.ptbr);
    cr[CR.pgctl] = this.readPagingCr(CR.pgctl);
    return { psr: this.guestPsr, cr };
  }

  get virtualSupervisor(): boolean {
    return (this.guestPsr & PSR.SU) !== 0;
  }

  setGuestPsr(v: number): void {
    const modeChanged = ((this.guestPsr ^ v) & PSR.SU) !== 0;
    this.storePsr(v);
    if (modeChanged) this.modeSwitched((v & PSR.SU) !== 0);
  }

  /**
   * Delivers an exception to the guest, as the hardware would on bare metal.
   * The machine's crash rules (no handler, a fault at its entry, a fault
   * loop) apply first, with the guest's own handler: a guest whose handler
   * retries the same fault forever is stopped here as on bare metal.
   */
  reflect(cause: number, epc: number, badva?: number): void {
    this.reflectTo(this.vcr[CR.tvec], cause, epc, badva);
  }

  /** reflect() with the handler entry the crash rules check (xen/l4: the registered event callback, if any). */
  protected reflectTo(handler: number, cause: number, epc: number, badva?: number): void {
    const m = this.machine;
    if (m.crashInsteadOfDelivery(cause, epc, badva, handler)) return;
    this.enterTrap(cause, epc, badva);
    m.pc = this.deliveryTarget();
  }

  /** The virtual CPU's half of a trap entry: epc, epsr, cause, badva; supervisor mode, interrupts off. */
  protected enterTrap(cause: number, epc: number, badva?: number): void {
    const psr = this.guestPsr;
    this.vcr[CR.epc] = epc;
    this.vcr[CR.epsr] = psr;
    this.vcr[CR.cause] = cause;
    if (badva !== undefined) this.vcr[CR.badva] = badva;
    this.setGuestPsr((psr | PSR.SU) & ~PSR.IE);
  }

  /** iret on the virtual CPU: psr ← epsr, pc ← epc. */
  protected returnFromTrap(): void {
    this.machine.pc = this.vcr[CR.epc];
    this.setGuestPsr(this.vcr[CR.epsr]);
  }

  /** hlt on the virtual CPU; `at`: the halting instruction (default: pc has moved past it). */
  protected halt(at?: number): void {
    this.machine.idle((this.guestPsr & PSR.IE) !== 0, at);
  }

  /** Emulates the privileged instruction at `pc` for the guest kernel; pc moves past it. */
  emulate(pc: number): void {
    const m = this.machine;
    const word = this.fetch(pc);
    const insn = word === undefined ? undefined : decodeInstruction(word);
    if (!insn) return m.stop("crash", `monitor could not read the trapping instruction at 0x${(pc >>> 0).toString(16)}`);
    m.pc = (pc + 4) | 0;
    this.execute(insn, pc);
  }

  /** An emulated `out` of the guest's instruction at `pc` (xen/l4 turn the CPU-start ports into their vCPU start). */
  protected portOut(port: number, value: number, pc: number): void {
    this.machine.portWrite(port, value, pc);
  }

  /**
   * Executes one privileged (or sensitive) instruction on the virtual CPU, in
   * virtual supervisor mode. `pc`: where the guest has it (the trapping pc,
   * or the rewritten site's), which is what its port I/O is judged by.
   */
  protected execute(insn: DecodedInstruction, pc: number): void {
    const m = this.machine;
    const regs = m.regs;
    const setReg = (r: number, v: number) => {
      if (r !== 0) regs[r] = v;
    };
    switch (insn.row.mnemonic) {
      case "cli":
        return this.setGuestPsr(this.guestPsr & ~PSR.IE);
      case "sti":
        return this.setGuestPsr(this.guestPsr | PSR.IE);
      case "rdpsr":
        return setReg(insn.a, this.guestPsr);
      case "wrpsr":
        return this.setGuestPsr(regs[insn.b]);
      case "hlt":
        return this.halt();
      case "iret":
        return this.returnFromTrap();
      case "tlbflush":
        return this.flushTlb();
      case "tlbinv":
        return this.invalidateTlb(regs[insn.b]);
      case "mfcr":
        return setReg(insn.a, insn.imm === CR.ptbr || insn.imm === CR.pgctl ? this.readPagingCr(insn.imm) : this.vcr[insn.imm]);
      case "mtcr":
        if (insn.imm === CR.ptbr || insn.imm === CR.pgctl) return this.writePagingCr(insn.imm, regs[insn.b]);
        this.vcr[insn.imm] = regs[insn.b];
        return;
      case "in":
        return setReg(insn.a, m.portRead(insn.imm, pc));
      case "out":
        return this.portOut(insn.imm, regs[insn.b], pc);
      default:
        return m.stop("crash", `monitor cannot emulate '${insn.row.mnemonic}'`);
    }
  }
}
