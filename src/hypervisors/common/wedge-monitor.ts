// The host side of a pre-virtualized back end (xen, l4): a monitor under
// which the guest kernel runs deprivileged (real SU=0) with a virtual CPU
// whose state lives in the soft-layer window, shared with the in-place VMM
// (guest code, common/vmm-core.s.ts). Rewritten sites read and write that state
// without trapping; the monitor is entered only by hypercalls (`hcall`),
// exceptions and interrupts. xen-monitor.ts and l4-monitor.ts say what each
// entry costs and how guest memory reaches the task (direct paging with
// validated updates; map/unmap). docs/in-place-vmm.md has the whole story.
//
// The monitor is a chain of classes, a file each, every one extending the
// one before it (VirtualCpu, virtual-cpu.ts, is the first):
//   wedge-state.ts      per-vCPU state, setup, the back end's hooks, counters
//   wedge-migration.ts  the neutral and exact state (moving a guest)
//   wedge-paging.ts     translation, ptbr/pgctl and TLB operations, the
//                       page-table update queue
//   wedge-events.ts     the virtual psr, holding and delivering events, the
//                       soft layer's extent
//   wedge-monitor.ts    (this file) the entries: exceptions, hypercalls,
//                       device accesses, and what they run
// XenMonitor and L4Monitor extend WedgeMonitor.
//
// This file consumes a trap, a hypercall number with the guest's a0–a2, or a
// device access, and produces the monitor's answer:
// - exceptions (onException): a page fault with updates queued is retried
//   after the queue; a fault in the VMM's own code stops the guest; a site in
//   virtual user mode is executed (below); a privileged instruction that was
//   not rewritten is emulated, as under trap (plain binaries run, slowly, and
//   with the rdpsr/wrpsr hole, which only annotation closes); anything else is
//   reflected to the guest kernel. Interrupts go to onInterrupt
//   (wedge-events.ts).
// - sites in virtual user mode: a rewritten site touches the window, which
//   faults in user mode; the monitor recognises the site and executes its
//   original instruction with user-mode semantics (rdpsr shows SU=0, wrpsr
//   changes UF only, a privileged instruction is a privileged-instruction
//   fault for the guest kernel). A window access that is not a site is the
//   guest's page fault.
// - hypercalls (onHcall): the table (hypercalls.ts, docs/xen.md), MULTICALL,
//   EMULATE (the site that called, found by k0, runs its original
//   instruction on the virtual CPU). The kernel's port writes 0x43/0x42
//   (start a CPU), which reach the monitor through EMULATE, become the
//   VCPU_UP hypercall, which a para-virtualized guest calls itself.
// - device accesses (onDeviceAccess, docs/driver-vms.md "VMM-bypass I/O").
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

import type { DecodedInstruction } from "../../guest-isa/encoding.js";
import { CAUSE, CR, PSR, REG } from "../../guest-isa/registers.js";
import { ACCESS, Fault, type ExitAction, type TrapDisposition, type TrapInfo } from "../../machine/monitor.js";
import { causeName } from "../../machine/stats.js";
import { GuestMemory, type AccessSize } from "./guest-memory.js";
import { HC, HC_ERROR, HYPERCALL_NAMES, MAX_BATCH, MAX_MULTICALL } from "./hypercalls.js";
import { FAULT_CAUSES } from "./virtual-cpu.js";
import { checkBypassAccess, isSetupRegister } from "./bypass.js";
import { WedgeEvents } from "./wedge-events.js";
import { inWindow, STUB_BASE, STUB_LIMIT } from "./window.js";

export { wedgeHostOptions } from "./wedge-paging.js";

const PAGE_MASK = 0xfffff000 | 0;
/** The machine's CPU-start ports (docs/machine.md): start address, start CPU. */
const PORT_START_ADDRESS = 0x43;
const PORT_START_CPU = 0x42;
const MEMORY_KINDS = new Set(["pte-load", "pte-store", "mmio-load", "mmio-store"]);

/** `hcall.NAME` by hypercall number (the counter suffixes onHcall ticks, made once). */
const HCALL_SUFFIX = new Map([...HYPERCALL_NAMES].map(([n, name]) => [n, `hcall.${name}`]));
const EMULATE_SUFFIX = new Map<string, string>();
/** `emulate.KIND`, made once per site kind. */
function emulateSuffix(kind: string): string {
  let s = EMULATE_SUFFIX.get(kind);
  if (s === undefined) EMULATE_SUFFIX.set(kind, (s = `emulate.${kind}`));
  return s;
}

export abstract class WedgeMonitor extends WedgeEvents {
  /** The pc of the hcall being handled (-1 outside one): where a halt inside it halts (halt below). */
  private hcallAt = -1;

  // ---------------------------------------------------------------- exceptions (interrupts: wedge-events.ts)

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
    if (cause === CAUSE.PROTECTION_FAULT && this.su && (trap.epc >>> 0) >= STUB_BASE && (trap.epc >>> 0) < STUB_LIMIT) {
      // A stub's access to guest memory, judged for its site's caller (Protection.accessDomain): the guest's
      // own instruction's fault, at the site, as on bare metal.
      const k = this.byReturn.get(this.stubReturn >>> 0);
      if (k !== undefined) {
        this.tick("site.protection_fault");
        this.reflect(cause, this.siteList[k].record.addr, trap.badva);
        return "resume";
      }
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

  // ---------------------------------------------------------------- sites in virtual user mode, and a site's memory access

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
   * model (docs/driver-vms.md "VMM-bypass I/O"): word-sized and from virtual
   * supervisor mode only, else the bus error the hardware would raise.
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
        // From virtual user mode, refused as a native access is (onDeviceAccess) and as bare metal refuses it: a
        // process the kernel mapped the registers for must not aim the device's DMA at the kernel.
        const ok = !asUser && size === 4 && checkBypassAccess(m, pa, store, m.regs[insn.a], false);
        const v = !ok ? undefined : store ? (m.mmioWrite(pa, m.regs[insn.a]) ? 0 : undefined) : m.mmioRead(pa);
        if (v === undefined) {
          this.reflect(CAUSE.BUS_ERROR, siteAddr, va);
          return false;
        }
        if (!store && insn.a !== 0) m.regs[insn.a] = v;
        return true;
      }
    }
    // The guest's own access, checked as the CPU checks a direct one: by the protection domain whose
    // instruction the site performs (the site's code is the VMM's), on a frame some domain restricts.
    // A store into a protected page table goes where its direct store would (validated).
    const caller = m.protection.callerDomain(siteAddr);
    const r = store ? this.guest.write(caller, va, m.regs[insn.a], size, true, asUser) : this.guest.read(caller, va, size, asUser);
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
    this.hcallAt = pc;
    const r = this.hypercall(n, m.regs[REG.a0], m.regs[REG.a1], m.regs[REG.a2]);
    this.hcallAt = -1;
    // A hypercall that ended the run (a halt nothing can wake, a shutdown) leaves pc where it stopped: at the hcall.
    if (m.stopped) return "resume";
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

  /**
   * A halt inside a hypercall (BLOCK, or EMULATE of a `hlt` or lock site)
   * halts at the hcall, whose pc has not moved past it yet: a halt that can
   * never wake reports the hcall itself, not the instruction before it.
   */
  protected override halt(at?: number): void {
    super.halt(at ?? (this.hcallAt !== -1 ? this.hcallAt : undefined));
  }

  /** One hypercall; returns a0's new value, undefined to leave a0, or "resume" when pc was set. */
  private hypercall(n: number, a0: number, a1: number, a2 = 0): number | undefined | "resume" {
    const m = this.machine;
    switch (n) {
      case HC.CONSOLE_WRITE:
        m.portWrite(0x10, a0, m.pc);
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
        return this.mmuUpdate(a0, a1);
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
        m.portWrite(0x20, a0, m.pc);
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
        // The port is the guest's `in` immediate: 0–0xFFFF (never truncated into another device's port). The
        // `hcall`'s pc is the caller, as for PORT_WRITE (the memory supervisor judges reads and writes by it).
        return a0 >>> 0 > 0xffff ? HC_ERROR.INVAL : m.portRead(a0, m.pc);
      case HC.PORT_WRITE:
        if (a0 >>> 0 > 0xffff) return HC_ERROR.INVAL;
        this.portOut(a0, a1, m.pc);
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
   * MMU_UPDATE's batch, applied for the caller's protection domain. The
   * shared queue (`va` = QUEUE, `count` = QCOUNT) is consumed in the same
   * hypercall — by a caller that may write QCOUNT (a para-virtualized
   * kernel's domain 0; not a module, which would drop the kernel's queued
   * updates).
   */
  private mmuUpdate(va: number, count: number): number {
    const m = this.machine;
    const caller = m.protection.callerDomain(m.pc);
    const qcount = this.iQcount;
    if ((va >>> 0) === this.vmm.symbols.QUEUE && count === m.memory.i32[qcount] && m.protection.allowsFor(caller, qcount * 4, true)) {
      m.memory.i32[qcount] = 0;
    }
    return this.applyBatch(va, count, !this.su, caller);
  }

  /**
   * MULTICALL: `count` entries {op, a0, a1, a2} at `va`, each read with the
   * guest's read permission and the caller's protection domain's
   * (callerDomain of the `hcall`); an entry's result goes back into its a0
   * slot, a write checked as a write (the slot must be writable by the
   * guest, by the caller's domain, and not a page table the hypervisor
   * validates) before the entry runs and again after it (the call may have
   * changed the address space). Returns
   * the number of entries done, or an HC_ERROR: INVAL for a bad count or a
   * nested MULTICALL/IRET/EMULATE, FAULT for an array that is misaligned,
   * wraps, or cannot be read or written back.
   */
  private multicall(va: number, count: number): number {
    const m = this.machine;
    if (count < 0 || count > MAX_MULTICALL) return HC_ERROR.INVAL;
    if (!GuestMemory.validRange(va, 16 * count, 4)) return HC_ERROR.FAULT;
    const entry = this.words;
    const caller = m.protection.callerDomain(m.pc);
    let done = 0;
    for (let i = 0; i < count; i++) {
      const at = (va + 16 * i) | 0;
      const slot = (at + 4) | 0;
      if (this.guest.readWords(caller, at, 4, entry) !== undefined || !this.guest.canWrite(caller, slot, 4)) return HC_ERROR.FAULT;
      const op = entry[0];
      if (op === HC.MULTICALL || op === HC.IRET || op === HC.EMULATE) return HC_ERROR.INVAL;
      this.tick(`multicall.${HYPERCALL_NAMES.get(op) ?? op}`);
      const r = HYPERCALL_NAMES.has(op) ? this.hypercall(op, entry[1], entry[2], entry[3]) : HC_ERROR.NOSYS;
      if (typeof r === "number" && this.guest.write(caller, slot, r, 4) !== undefined) return HC_ERROR.FAULT;
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
  protected override portOut(port: number, value: number, pc: number): void {
    const m = this.machine;
    if (port === PORT_START_ADDRESS) {
      this.vStartAddress[m.cpuId] = value;
      m.portWrite(port, value, pc);
      return;
    }
    if (port === PORT_START_CPU && this.startVcpu(value, this.vStartAddress[m.cpuId])) return;
    m.portWrite(port, value, pc);
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
    // The site performs the guest's instruction at its address (its port I/O is judged by that pc).
    this.execute(insn, site.record.addr);
    return m.pc !== pc ? "resume" : undefined;
  }
}
