// The fourth layer of the host side of xen and l4 (wedge-monitor.ts has the
// whole chain): the virtual psr and event delivery. WedgeEvents extends
// WedgePaging (wedge-paging.ts).
//
// Consumes the running vCPU's VPSR/VPEND/VUPCALL words in its shared-info
// page and the machine's interrupt lines. Produces the guest's psr
// (guestPsr, storePsr, the mode switch), exception and event entries into
// the guest (reflect, returnFromTrap), and the interrupt entry (onInterrupt):
// an interrupt is delivered through the event callback when the virtual IE
// (VPSR bit 0) is set and pc is outside the soft layer (the window and the
// inside of every rewritten site: the monitor first lets the CPU finish that
// path, a few instructions). Otherwise it is held: VPEND=1 and the real IE
// off, until the guest unmasks (its sti/wrpsr sites see VPEND and call
// DELIVER; iret and the monitor's own psr writes release it too); the upcall
// then rides on that call's return, with no second entry. A line still
// asserted at delivery is held at once; a hold whose line dropped during a
// call is dropped; an event on the multi-guest host's edge-triggered line is
// left in the shared-info page (VUPCALL) for DELIVER to deliver in place
// (docs/in-place-vmm.md "Events").

import { CAUSE, CR, IRQ, PSR } from "../../guest-isa/registers.js";
import type { TrapDisposition } from "../../machine/monitor.js";
import { EVENT_ID } from "../../machine/stats.js";
import { WedgePaging } from "./wedge-paging.js";
import { inWindow } from "./window.js";

/** Instructions the monitor lets the CPU run to leave the soft layer before it delivers an event. */
const MAX_FINISH_STEPS = 256;

export abstract class WedgeEvents extends WedgePaging {
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

  /** Stops holding events back: the machine delivers a pending line at its next check. */
  protected release(): void {
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
  protected syncFromWindow(): void {
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
   * An event held back (VPEND) whose line has dropped since — the guest's
   * handler acknowledged its device through this very call (an emulated
   * `out`, a port op) — is no longer pending: nothing is held. The guest's
   * next unmask or iret then needs no call into the hypervisor only to find
   * nothing to deliver (its IRET fast path checks VPEND). What the guest
   * sees is the same: a level-triggered line that went away before the
   * guest unmasked is not delivered, here as on bare metal.
   */
  protected dropStaleHold(): void {
    const m = this.machine;
    if (!this.holding || m.lines.pending !== 0 || m.stopped) return;
    // Not for a guest migrated here (resumeFixups): its trap frames may hold a pc inside a rewritten site,
    // which only the monitor's IRET fixes up — the hold keeps its returns on that path, as before.
    if (this.resumeFixups !== undefined && this.resumeFixups.size !== 0) return;
    this.tick("event.dropped");
    this.release();
  }

  protected noteUpcallDue(): void {
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

  protected override halt(at?: number): void {
    if (this.vie) this.release();
    // A pending upcall (taken off its line, VPEND = 2) wakes hlt at once, as a pending line does.
    else if (this.machine.memory.i32[this.iVupcall] !== 0 && this.domainCalls?.upcall) return;
    this.machine.idle(this.vie, at);
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

  // ---------------------------------------------------------------- the soft layer

  protected siteIndexAt(pc: number): number {
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

  // ---------------------------------------------------------------- interrupts

  /** An interrupt reached the monitor (onException, wedge-monitor.ts): delivered, held, or left in place for the VMM. */
  protected onInterrupt(): TrapDisposition {
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
}
