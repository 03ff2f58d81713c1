// Cures for lock-holder preemption (`--spinlocks native|pv|delayed|ple`,
// docs/smp-virtualization.md): what each back end does with the guest's
// `lock` and `unlock` sites (docs/design.md §3), chosen at load time.
//
// Consumes: the back end's choice (Backend.spinlocks lists the cures it
// offers), the rewritten sites, the in-place VMM's shared-info words
// (common/vmm-core.s.ts: SPINS, WAITERS, CRIT, OWED) and the vCPU scheduler
// (common/vcpu-scheduler.ts). Produces: replacement-table rows for the two
// site kinds (data for the rewriter), and the monitor-side halves of the
// cures (a hypervisor's block/kick, a yield, a pause-loop exit).
//
//   native   the test-and-set loop as compiled (every back end; bare's only).
//   pv       para-virtual spinlocks (xen, l4): the lock site spins at most
//            PV_SPIN_BOUND failed attempts, then blocks in the hypervisor
//            (EMULATE: a hypercall on xen, an IPC on l4); the unlock site
//            releases, then kicks the sleepers if the hypervisor has any.
//            The lost wakeup is closed because the hypervisor checks the
//            lock word and goes to sleep in one step (one CPU executes at
//            a time and the call is atomic), and the releaser reads the
//            sleeper count only after its release store: a sleeper either
//            saw the word free (and took the lock) or is counted.
//   delayed  delayed preemption (xen, l4; L4Ka's): the lock site raises the
//            vCPU's CRIT count in its shared-info page before its attempt
//            (and lowers it again if the attempt fails), the unlock site
//            lowers it after the release; the scheduler postpones a
//            slice's end a quantum at a time (up to DELAY_BOUND_QUANTA)
//            while a vCPU it would preempt has CRIT > 0, and marks it OWED;
//            when CRIT comes back to 0 with OWED set the vCPU yields at once.
//   ple      pause-loop exiting (hvm, no guest help): PLE_THRESHOLD pauses
//            each within PLE_WINDOW cycles of the last exit to the VMM,
//            which gives the spinner's physical CPU to another vCPU — by a
//            directed yield to a preempted one that is not itself spinning
//            (KVM's kvm_vcpu_on_spin), else to the next ready one.
//
// Ticket locks (the `ticket` site: the amoadd that takes a ticket from the
// lock's next-ticket word; now-serving is the word after it; the release is
// an `unlock` site storing the next ticket to serve):
//   pv       the ticket site's stub takes the ticket, then waits for its turn
//            itself: PV_SPIN_BOUND reads of now-serving, then EMULATE, where
//            the hypervisor sleeps the vCPU unless its turn has come (checked
//            in the same step); the releaser's kick wakes only the vCPU whose
//            ticket is now served — the next in line (Linux's pv ticketlocks).
//   delayed  CRIT goes up before the vCPU takes its ticket, not only when it
//            holds the lock: a queued waiter is the next holder, and
//            preempting it stalls every waiter behind it.

import { UserError } from "../../guest-isa/diagnostics.js";
import type { Machine } from "../../machine/machine.js";
import { RAM_BASE } from "../../machine/memory.js";
import type { Replacement, ReplacementTable, SiteOutcome } from "../../rewriter/index.js";
import type { VcpuScheduler } from "./vcpu-scheduler.js";

export const SPINLOCK_CURES = ["native", "pv", "delayed", "ple"] as const;
export type SpinlockCure = (typeof SPINLOCK_CURES)[number];

/**
 * Failed attempts a pv lock spins before it blocks in the hypervisor. Swept
 * over 1–64 (scripts/pv-bound-sweep.ts; docs/smp-virtualization.md, "The
 * spin bound"): a lock still held after a couple of attempts stays held
 * until its holder's next turn, so a longer bound only adds spin.
 */
export const PV_SPIN_BOUND = 2;
/** The most quanta delayed preemption postpones a slice's end. */
export const DELAY_BOUND_QUANTA = 2;
/** Pause-loop exiting: pauses at most PLE_WINDOW cycles apart, PLE_THRESHOLD in a row, exit. */
export const PLE_WINDOW = 256;
export const PLE_THRESHOLD = 64;

/** The `--spinlocks` value for a back end that offers `offered`; a one-line UserError otherwise. */
export function checkSpinlockCure(backend: string, offered: readonly SpinlockCure[] | undefined, cure: string | undefined): SpinlockCure {
  const c = cure ?? "native";
  if (!(SPINLOCK_CURES as readonly string[]).includes(c)) throw new UserError(`--spinlocks must be one of ${SPINLOCK_CURES.join(", ")}, not '${c}'`);
  const has = offered ?? ["native"];
  if (!has.includes(c as SpinlockCure)) throw new UserError(`--hv ${backend} does not offer --spinlocks ${c} (it offers: ${has.join(", ")})`);
  return c as SpinlockCure;
}

const inline = (...code: string[]): Replacement => ({ strategy: "inline", code });

/**
 * The wedge back ends' rows for a cure. Each template's first word reads the
 * window (the in-place VMM's rule: in virtual user mode it faults and the
 * monitor runs the original instruction), and a call into the VMM is its
 * last word. They do not fit a one-word site: each goes to a stub.
 */
export function wedgeLockReplacements(cure: SpinlockCure): ReplacementTable {
  switch (cure) {
    case "pv":
      return {
        lock: inline(
          "lw k0, SPINS(zero)",
          "amoswap {A}, {A}, {IMM}({B})",
          "bnez {A}, .Lfail",
          "sw zero, SPINS(zero)",
          "j .Ldone",
          ".Lfail:",
          "addi k0, k0, 1",
          "sw k0, SPINS(zero)",
          `addi k0, k0, -${PV_SPIN_BOUND}`,
          "bnez k0, .Ldone", // spin on (the guest's loop pauses and comes back)
          "jalr k0, EMULATE(zero)", // block in the hypervisor until the holder's unlock kicks
          ".Ldone:",
        ),
        unlock: inline(
          "lw k0, WAITERS(zero)",
          "sw {A}, {IMM}({B})", // the release
          "lw k0, WAITERS(zero)", // read after the release: a sleeper is counted, or it saw the lock free
          "beqz k0, .Ldone",
          "jalr k0, EMULATE(zero)", // kick
          ".Ldone:",
        ),
        ticket: inline(
          "lw k0, SPINS(zero)",
          "amoadd {A}, {A}, {IMM}({B})", // take a ticket (the template's only amoadd: spin accounting finds it, runElf)
          ".Lagain:",
          "sw zero, SPINS(zero)",
          ".Lspin:",
          "addi k0, {B}, {IMM}",
          "lw k0, 4(k0)", // now serving
          "beq k0, {A}, .Ldone", // our turn: the guest's own wait loop sees it at once
          "pause",
          "lw k0, SPINS(zero)",
          "addi k0, k0, 1",
          "sw k0, SPINS(zero)",
          `addi k0, k0, -${PV_SPIN_BOUND}`,
          "bnez k0, .Lspin",
          "jalr k0, EMULATE(zero)", // sleep until our turn (unless it has come); then look again
          "j .Lagain",
          ".Ldone:",
        ),
      };
    case "delayed":
      return {
        // CRIT goes up before the attempt (as L4Ka's flag and Linux's preempt_count do): a turn that ends
        // right after the amoswap that took the lock finds the flag already up. A failed attempt lowers it
        // again and, if that leaves the vCPU outside every critical section with a preemption owed, pays it.
        lock: inline(
          "lw k0, CRIT(zero)",
          "addi k0, k0, 1",
          "sw k0, CRIT(zero)",
          "amoswap {A}, {A}, {IMM}({B})",
          "beqz {A}, .Ldone", // taken: CRIT stays up until the unlock
          "addi k0, k0, -1",
          "sw k0, CRIT(zero)",
          "bnez k0, .Ldone", // still inside an outer critical section
          "lw k0, OWED(zero)",
          "beqz k0, .Ldone",
          "jalr k0, EMULATE(zero)", // owed a preemption: yield
          ".Ldone:",
        ),
        // The release comes before CRIT goes down (never a held lock with the flag down), and the owed
        // preemption is paid only when CRIT reaches 0: an inner lock's release with an outer one (klock)
        // still held does not yield.
        unlock: inline(
          "lw k0, CRIT(zero)",
          "sw {A}, {IMM}({B})",
          "addi k0, k0, -1",
          "sw k0, CRIT(zero)",
          "bnez k0, .Ldone",
          "lw k0, OWED(zero)",
          "beqz k0, .Ldone",
          "jalr k0, EMULATE(zero)", // owed a preemption: yield
          ".Ldone:",
        ),
        // A queued waiter counts as in its critical section from its ticket on (its unlock lowers CRIT);
        // CRIT goes up before the ticket is taken.
        ticket: inline("lw k0, CRIT(zero)", "addi k0, k0, 1", "sw k0, CRIT(zero)", "amoadd {A}, {A}, {IMM}({B})"),
      };
    default:
      return { lock: { strategy: "native" }, unlock: { strategy: "native" }, ticket: { strategy: "native" } };
  }
}

/** What the wedge monitor lends the cure: its guest-memory view, shared-info words and scheduler. */
export interface WedgeCureHost {
  readonly machine: Machine;
  /** Index in machine.memory.i32 of a shared-info word of vCPU `cpu`. */
  sharedWord(name: string, cpu: number): number;
  /**
   * Physical address of the guest's word at `va` (its kernel's translation),
   * or -1 — also when protection domain `caller` (the site's,
   * Protection.callerDomain) may not both read and write it, as the site's
   * own amoswap could not: the monitor takes or inspects a lock only for a
   * domain that may.
   */
  physicalWord(va: number, caller: number): number;
  /**
   * Whether the monitor may write the word at physical `pa` itself
   * (GuestMemory.monitorMayWrite): not in a frame the hypervisor
   * write-protects — a page table xen validates — where only the guest's own
   * store goes, by the hypervisor's path.
   */
  monitorMayWrite(pa: number): boolean;
  scheduler(): VcpuScheduler | undefined;
  /** Halts the running vCPU (the hypervisor blocks it). */
  block(): void;
  readonly name: string;
}

/** The monitor's half of pv and delayed: EMULATE from a lock or unlock site's template. */
export class WedgeSpinlockCure {
  /** Per vCPU: the lock word (physical address) it sleeps on, or -1. */
  private readonly sleepsOn: Int32Array;
  /** Per vCPU asleep on a ticket lock: the ticket it waits to see served (sleepsOn is the now-serving word). */
  private readonly sleepTicket: Int32Array;
  private readonly ticketSleeper: Uint8Array;

  constructor(
    readonly cure: "pv" | "delayed",
    private readonly host: WedgeCureHost,
  ) {
    const m = host.machine;
    this.sleepsOn = new Int32Array(m.cpuCount).fill(-1);
    this.sleepTicket = new Int32Array(m.cpuCount);
    this.ticketSleeper = new Uint8Array(m.cpuCount);
    m.spin.onAcquire = (cpu) => {
      if (this.sleepsOn[cpu] >= 0) {
        this.sleepsOn[cpu] = -1;
        this.ticketSleeper[cpu] = 0;
        this.publishWaiters();
      }
    };
    const sched = host.scheduler();
    if (cure === "delayed" && sched) {
      const mem = m.memory.i32;
      sched.delay = {
        inCritical: (v) => mem[host.sharedWord("CRIT", v)] > 0,
        owe: (v) => {
          mem[host.sharedWord("OWED", v)] = 1;
        },
        bound: DELAY_BOUND_QUANTA,
      };
    }
  }

  /** EMULATE from a lock/unlock template: block, kick or yield. Registers: the site's A (rd / the stored register), B (base). */
  emulate(site: SiteOutcome): void {
    const m = this.host.machine;
    const rec = site.record;
    const cpu = m.cpuId;
    if (this.cure === "delayed") {
      // The unlock template (or a failed attempt's) calls when CRIT reached 0 with OWED set: the vCPU owed a
      // preemption and has left its critical sections.
      m.memory.i32[this.host.sharedWord("OWED", cpu)] = 0;
      m.count(`${this.host.name}:delayed.yield`);
      this.host.scheduler()?.yieldVcpu(cpu, m.cycles); // its physical CPU goes to another vCPU from now
      m.endTurn();
      return;
    }
    const va = (m.regs[rec.regB] + ((rec.imm << 16) >> 16) + (site.kindName === "ticket" ? 4 : 0)) | 0;
    const pa = this.host.physicalWord(va, m.protection.callerDomain(rec.addr));
    if (pa < 0) {
      m.count(`${this.host.name}:pv.badLock`);
      return; // the guest's loop retries (and faults natively if the word is really unmapped)
    }
    const mem = m.memory.i32;
    if (site.kindName === "ticket") {
      // The stub spun its bound on now-serving (pa): sleep unless the ticket in A is served now — one step.
      mem[this.host.sharedWord("SPINS", cpu)] = 0;
      if (mem[pa >>> 2] === m.regs[rec.regA]) {
        m.count(`${this.host.name}:pv.ticketServed`);
        return;
      }
      this.sleepsOn[cpu] = pa;
      this.sleepTicket[cpu] = m.regs[rec.regA];
      this.ticketSleeper[cpu] = 1;
      this.block(cpu);
      return;
    }
    if (site.kindName === "lock") {
      m.memory.i32[this.host.sharedWord("SPINS", cpu)] = 0;
      if (mem[pa >>> 2] === 0) {
        // Released since the template's last attempt: take it here (never sleep on a free lock) — a write of
        // the monitor's own, so not in a frame the hypervisor write-protects (a lock word in a page table xen
        // validates): that word is left alone, and the guest's loop retries with its own amoswap, which takes
        // the hypervisor's path. Guest RAM, so through the memory API as monitors write it (recorded for
        // recycling, and in a dirty log); the shared-info words above are in the monitor's reserved top.
        if (!this.host.monitorMayWrite(pa)) {
          m.count(`${this.host.name}:pv.badLock`);
          return;
        }
        m.memory.write32(pa, m.regs[rec.regA] === 0 ? 1 : m.regs[rec.regA]);
        m.regs[rec.regA] = 0;
        m.spin.attempt(cpu, (pa + RAM_BASE) >> 2, true, m.executedCycles());
        m.count(`${this.host.name}:pv.tookFree`);
        return;
      }
      this.sleepsOn[cpu] = pa;
      this.block(cpu);
      return;
    }
    // unlock: wake every vCPU asleep on this word (each retries; one wins, the others spin and sleep again);
    // on a ticket lock only the one whose ticket is served now (the others' turns have not come).
    let woken = 0;
    let holder = -1;
    for (let c = 0; c < this.sleepsOn.length; c++) {
      if (this.sleepsOn[c] !== pa) continue;
      if (this.ticketSleeper[c] === 1 && this.sleepTicket[c] !== mem[pa >>> 2]) continue;
      if (this.ticketSleeper[c] === 1) holder = c;
      this.sleepsOn[c] = -1;
      this.ticketSleeper[c] = 0;
      m.wake(c);
      woken++;
    }
    m.count(`${this.host.name}:pv.kick`);
    if (woken === 0) m.count(`${this.host.name}:pv.kickNobody`);
    this.publishWaiters();
    // The woken ticket waiter holds the lock from now on; if it has no physical CPU, every vCPU that takes a
    // ticket behind it would spin its bound and sleep until some vCPU blocks or the slice ends and the round
    // robin reaches it — a convoy that, once formed, feeds itself (docs/smp-virtualization.md). The releaser,
    // out of its critical section, hands it its own physical CPU (KVM's PV sched yield to an IPI's target).
    if (holder >= 0 && this.host.scheduler()?.yieldTo(cpu, holder, m.cycles)) {
      m.count(`${this.host.name}:pv.yieldToHolder`);
      m.endTurn();
    }
  }

  /** The waiter goes to sleep in the hypervisor; its physical CPU goes to another vCPU from now (if it really sleeps). */
  private block(cpu: number): void {
    const m = this.host.machine;
    this.publishWaiters();
    m.count(`${this.host.name}:pv.block`);
    this.host.block();
    if (m.cpuState(cpu) === "halted") this.host.scheduler()?.release(cpu, m.cycles);
  }

  /** WAITERS in every vCPU's shared-info page: how many vCPUs sleep on some lock. */
  private publishWaiters(): void {
    let n = 0;
    for (const s of this.sleepsOn) if (s >= 0) n++;
    const mem = this.host.machine.memory.i32;
    for (let c = 0; c < this.sleepsOn.length; c++) mem[this.host.sharedWord("WAITERS", c)] = n;
  }
}

/**
 * Pause-loop exiting (hvm): the CPU's pause hook counts pauses that follow
 * each other within PLE_WINDOW cycles; at PLE_THRESHOLD the vCPU exits and
 * the VMM takes its physical CPU away. It gives it, by a *directed yield*
 * (KVM's kvm_vcpu_on_spin; VcpuScheduler.directedYield), to a vCPU that was
 * preempted and is not itself spinning in a PLE exit, in circular order
 * after the last one boosted — a spinner waits for a vCPU that has no
 * physical CPU (the lock's holder, or a ticket lock's next in line), and
 * handing the physical CPU to another spinner only burns another window.
 * When no vCPU qualifies (every vCPU without a physical CPU is itself
 * inside a PLE exit and not due its every-other-time turn), the exit is a
 * plain yield: the physical CPU goes to the next ready vCPU of the round
 * robin, as before directed yield (KVM would return to the guest instead,
 * where the spinner spins another whole window: measured in
 * docs/smp-virtualization.md). Without --pcpus there is no one to give it
 * to: the exit is counted and the vCPU goes on.
 */
export function installPauseLoopExiting(machine: Machine, scheduler: VcpuScheduler | undefined): void {
  const n = machine.cpuCount;
  const last = new Float64Array(n).fill(-Infinity);
  const run = new Int32Array(n);
  machine.cpu.pauseHook = (_pc, cycles) => {
    const v = machine.cpuId;
    run[v] = cycles - last[v] <= PLE_WINDOW ? run[v] + 1 : 1;
    last[v] = cycles;
    if (run[v] < PLE_THRESHOLD) return false;
    run[v] = 0;
    machine.count("exit:ple");
    if (!scheduler) return false;
    // A directed yield to a preempted vCPU that may hold the lock; with none eligible, a plain yield.
    if (scheduler.directedYield(v, cycles) < 0) scheduler.yieldVcpu(v, cycles);
    machine.endTurn();
    return true;
  };
}
