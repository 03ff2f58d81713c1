// The hypervisor's vCPU scheduler for `--pcpus M`: a guest's N virtual CPUs
// (the machine's N CPUs) time-sliced on M < N physical CPUs. Every back end
// with a monitor (hvm, trap, xen, l4) answers the machine's scheduling hook
// `monitor.runnable(cpu, epochStart)` with one of these.
//
// Consumes the machine's per-CPU run states (running / halted / stopped, and
// whether a halted CPU has an interrupt pending) at the start of each epoch
// of the machine's interleaving; produces, per epoch, which vCPUs hold a
// physical CPU. A vCPU that holds none does not execute in that epoch: the
// machine moves its clock to the epoch's end and counts the cycles as
// `descheduledCycles`.
//
// The policy (docs/design.md §7, "--pcpus"):
//   - time is cut into slices of `timeslice` cycles (a multiple of the
//     machine's quantum, so a slice is a whole number of epochs, and longer
//     than a vCPU switch, or a slice would be spent switching; default
//     DEFAULT_SLICE_QUANTA quanta, or more quanta if that is not ten
//     switches long); slices start at multiples of the slice;
//   - round robin: at each slice's start the M physical CPUs go to the next
//     M vCPUs in circular order after the last one picked, taking first the
//     *ready* ones (running, or halted with an interrupt pending: it wakes)
//     and only then, for physical CPUs left over, halted ones (they idle, but
//     wake at once when an interrupt reaches them); stopped vCPUs never run;
//   - a vCPU that keeps its physical CPU into the next slice stays on the
//     same one; newcomers take the freed ones in ascending order;
//   - blocking yields: within a slice, at each epoch, a physical CPU whose
//     vCPU is halted with nothing pending (or stopped) is handed to the next
//     ready vCPU that waits, as Xen's scheduler runs on a block;
//   - hand-over within an epoch (the lock-holder preemption cures): a vCPU
//     that yields (a pause-loop exit, an owed preemption paid at unlock) or
//     blocks in the hypervisor (a pv spinlock's waiter) frees its physical
//     CPU from that moment (`release`); the next ready vCPU without one
//     whose turn in the epoch comes later takes it then — its clock moves to
//     that moment as descheduled cycles — instead of at the next epoch;
//   - directed yield (a pause-loop exit, hvm's ple cure): the spinner's
//     physical CPU goes to a chosen vCPU — runnable, without a physical CPU,
//     and not itself descheduled in a PLE exit (such a one only every other
//     time), searched in circular order after the last one boosted — and is
//     kept for it until it takes it (this epoch if its turn is still to
//     come, else the next) or the slice ends: a boost never outlives the
//     slice, and the round robin at slice starts is unchanged (KVM's
//     kvm_vcpu_on_spin over a round-robin host scheduler);
//   - yield to a woken lock holder (pv ticket locks): the releaser whose kick
//     woke the waiter now served hands it its physical CPU the same way
//     (`yieldTo`, reserved as a directed yield's), or a convoy forms;
//   - a physical CPU that starts running a different vCPU than the last one
//     it ran pays a `vcpuSwitch` (the hypervisor saving one vCPU's state and
//     loading another's), charged to the incoming vCPU's clock, and counts
//     `vcpuSwitches`. The TLB is taken as tagged (VPID/ASID): a vCPU keeps
//     its translations across a switch.
// Everything is a function of the machine's state at epoch starts, so a
// run is deterministic; with M ≥ N every vCPU always holds a physical CPU
// and nothing is charged (the same run as without --pcpus).

import { UserError } from "../../guest-isa/diagnostics.js";
import type { Machine } from "../../machine/machine.js";
import { isWholeIn } from "./neutral-state.js";

/** The default time slice, in machine quanta. */
export const DEFAULT_SLICE_QUANTA = 10;

/**
 * Delayed preemption (issue 15, common/spinlock-cures.ts): the scheduler
 * postpones a slice's end while a vCPU it would preempt is inside a critical
 * section, by one quantum at a time up to `bound` quanta, and tells it that
 * it owes a preemption (it yields at its unlock).
 */
export interface DelayedPreemption {
  inCritical(v: number): boolean;
  owe(v: number): void;
  /** The most quanta a slice's end is postponed. */
  bound: number;
}

export interface SchedulerOptions {
  /** Physical CPUs (1 ≤ pcpus ≤ the machine's CPUs). */
  pcpus: number;
  /** Slice length in cycles: a positive multiple of the machine's quantum (default DEFAULT_SLICE_QUANTA quanta). */
  timeslice?: number;
}

/** The default slice: DEFAULT_SLICE_QUANTA quanta, or the fewest quanta that last ten vCPU switches. */
export function defaultTimeslice(quantum: number, switchCost: number): number {
  return Math.max(DEFAULT_SLICE_QUANTA, Math.ceil((10 * switchCost) / quantum)) * quantum;
}

/** Checks `--pcpus` and `--timeslice` against the guest's CPUs, the machine's quantum and the price of a switch (UserErrors). */
export function checkSchedulerOptions(cpus: number, quantum: number, switchCost: number, pcpus: number | undefined, timeslice: number | undefined): void {
  if (pcpus !== undefined && (!Number.isInteger(pcpus) || pcpus < 1 || pcpus > cpus)) {
    throw new UserError(`--pcpus must be a whole number from 1 to --cpus (${cpus}), not ${pcpus}`);
  }
  if (timeslice !== undefined && (!Number.isInteger(timeslice) || timeslice < quantum || timeslice % quantum !== 0)) {
    throw new UserError(`--timeslice must be a positive multiple of the quantum (${quantum} cycles), not ${timeslice}`);
  }
  if (timeslice !== undefined && timeslice <= switchCost) {
    throw new UserError(`--timeslice ${timeslice} is not longer than a vCPU switch (vcpuSwitch: ${switchCost} cycles): every slice would be spent switching`);
  }
}

export class VcpuScheduler {
  /** The scheduler a monitor needs for `options`, or undefined when every vCPU has a physical CPU of its own. */
  static forMonitor(machine: Machine, options: { pcpus?: number; timeslice?: number }): VcpuScheduler | undefined {
    checkSchedulerOptions(machine.cpuCount, machine.quantum, machine.costModel.vcpuSwitch, options.pcpus, options.timeslice);
    if (options.pcpus === undefined || options.pcpus >= machine.cpuCount) return undefined;
    return new VcpuScheduler(machine, { pcpus: options.pcpus, timeslice: options.timeslice });
  }

  readonly pcpus: number;
  readonly timeslice: number;
  private readonly n: number;
  /** Per vCPU: the physical CPU it holds, or -1. */
  private readonly onPcpu: Int8Array;
  /** Per physical CPU: the vCPU it runs this epoch (-1: idle), and the last one it ran (-1: none yet). */
  private readonly holder: Int8Array;
  private readonly lastRan: Int8Array;
  /** Per vCPU: a switch cost to charge when it next runs (charged in its own context). */
  private readonly owesSwitch: Uint8Array;
  /** Scratch: the vCPUs picked for a slice. */
  private readonly picked: Uint8Array;
  /** Where the round robin looks first. */
  private next = 0;
  private sliceEnd = 0;
  private epoch = -1;
  /** Per vCPU: gave its physical CPU up during the last epoch (yieldVcpu): not picked at the next decision. */
  private readonly yielded: Uint8Array;
  /** Per physical CPU: from when in the current epoch it is free for a hand-over (Infinity: its vCPU runs on). */
  private readonly freeAt: Float64Array;
  /**
   * Directed yield (pause-loop exits, directedYield): per physical CPU, the
   * vCPU a PLE exit gave it to (-1: none) — reserved for it until it takes
   * it or the slice ends. Per vCPU: descheduled inside its own PLE exit and
   * not run since (KVM's `in_spin_loop`), and the toggle that makes such a
   * vCPU a target every other time it is considered (`dy_eligible`). Where
   * the search for a target starts: after the last vCPU boosted.
   */
  private readonly boostTo: Int8Array;
  private readonly inSpinLoop: Uint8Array;
  private readonly dyEligible: Uint8Array;
  private lastBoosted = 0;
  /** Delayed preemption, when the cure is on; quanta the current slice was postponed by. */
  delay: DelayedPreemption | undefined;
  private postponed = 0;

  constructor(
    private readonly machine: Machine,
    options: SchedulerOptions,
  ) {
    this.n = machine.cpuCount;
    checkSchedulerOptions(this.n, machine.quantum, machine.costModel.vcpuSwitch, options.pcpus, options.timeslice);
    this.pcpus = options.pcpus;
    this.timeslice = options.timeslice ?? defaultTimeslice(machine.quantum, machine.costModel.vcpuSwitch);
    this.onPcpu = new Int8Array(this.n).fill(-1);
    this.holder = new Int8Array(this.pcpus).fill(-1);
    this.lastRan = new Int8Array(this.pcpus).fill(-1);
    this.owesSwitch = new Uint8Array(this.n);
    this.picked = new Uint8Array(this.n);
    this.yielded = new Uint8Array(this.n);
    this.freeAt = new Float64Array(this.pcpus).fill(Infinity);
    this.boostTo = new Int8Array(this.pcpus).fill(-1);
    this.inSpinLoop = new Uint8Array(this.n);
    this.dyEligible = new Uint8Array(this.n);
  }

  /**
   * A pause-loop exit of vCPU `v` at cycle `at` (KVM's kvm_vcpu_on_spin): v
   * spins, most likely on a lock whose holder — or, for a ticket lock, the
   * waiter whose turn it is — has no physical CPU. Without guest help the
   * VMM cannot tell which vCPU that is, so it boosts one that *could* be:
   * the first vCPU, in circular order after the last one boosted (so every
   * vCPU gets its turn), that is runnable but holds no physical CPU
   * (preempted, or halted with a wakeup due) and is eligible — not itself
   * descheduled in a PLE exit of its own, or such a one only every other
   * time it is considered (a spinner is a poor bet, but not never: it may
   * hold another lock). v gives its physical CPU to that vCPU from `at`:
   * within this epoch if the target's turn in it is still to come, else at
   * the next epoch's start (the physical CPU waits for it; a slice's end
   * cancels the boost — the round robin decides again); counted
   * `ple.directedYields`. Returns the target, or -1 when no vCPU qualifies
   * (counted `ple.yieldFailures`; v still holds its physical CPU — the
   * caller yields it: v stays marked as inside its PLE exit until it runs).
   */
  directedYield(v: number, at: number): number {
    const m = this.machine;
    this.inSpinLoop[v] = 1;
    let t = -1;
    for (let i = 1; i <= this.n && t < 0; i++) {
      const w = (this.lastBoosted + i) % this.n;
      if (w === v || this.onPcpu[w] >= 0 || this.yielded[w] === 1 || !this.ready(w) || this.boosted(w)) continue;
      if (this.eligible(w)) t = w;
    }
    if (t < 0) {
      m.count("ple.yieldFailures");
      return -1;
    }
    this.lastBoosted = t;
    m.count("ple.directedYields");
    const p = this.onPcpu[v];
    if (p >= 0) this.boostTo[p] = t;
    this.yieldVcpu(v, at);
    return t;
  }

  /**
   * vCPU `v` hands its physical CPU to vCPU `t` from cycle `at` (a pv ticket
   * lock's releaser to the waiter its kick just woke, which holds the lock
   * now: KVM's PV sched yield, a vCPU yielding to the preempted target of
   * its wake-up IPI; Xen boosts a woken vCPU likewise). Reserved for `t`
   * as a directed yield's target is (this epoch if its turn is still to
   * come, else the next; a slice's end cancels it), counted
   * `vcpuYieldsTo`. False, and nothing done, when `t` already holds a
   * physical CPU, has one reserved, or is not ready, or `v` holds none.
   */
  yieldTo(v: number, t: number, at: number): boolean {
    const p = this.onPcpu[v];
    if (p < 0 || t === v || this.onPcpu[t] >= 0 || this.yielded[t] === 1 || !this.ready(t) || this.boosted(t)) return false;
    this.boostTo[p] = t;
    this.machine.count("vcpuYieldsTo");
    this.yieldVcpu(v, at);
    return true;
  }

  /** KVM's dy_eligible rule: a vCPU that is not inside a PLE exit always; one that is, every other time it is asked. */
  private eligible(w: number): boolean {
    if (this.inSpinLoop[w] === 0) return true;
    const e = this.dyEligible[w] === 1;
    this.dyEligible[w] = e ? 0 : 1;
    return e;
  }

  /** Whether a physical CPU is already reserved for `w`. */
  private boosted(w: number): boolean {
    for (let p = 0; p < this.pcpus; p++) if (this.boostTo[p] === w) return true;
    return false;
  }

  /**
   * vCPU `v` gives its physical CPU up (a pause-loop exit, a yield at
   * unlock): at the next epoch it goes to another ready vCPU, if one waits.
   */
  yieldVcpu(v: number, at?: number): void {
    this.yielded[v] = 1;
    if (at !== undefined) this.release(v, at);
  }

  /**
   * vCPU `v` stops using its physical CPU at cycle `at` of the current epoch
   * (it yielded, or blocked in the hypervisor): a ready vCPU whose turn in
   * the epoch comes later may take it from then on (runnable).
   */
  release(v: number, at: number): void {
    const p = this.onPcpu[v];
    if (p >= 0) this.freeAt[p] = Math.min(this.freeAt[p], at);
  }

  /**
   * The machine's hook, called in vCPU `cpu`'s context: whether it holds a
   * physical CPU in the epoch starting at `epochStart`. A vCPU started
   * during the epoch takes a physical CPU nobody holds at once.
   */
  runnable(cpu: number, epochStart: number): boolean {
    if (epochStart !== this.epoch) this.decide(epochStart);
    if (this.onPcpu[cpu] < 0) {
      if (!this.ready(cpu)) return false;
      const free = this.holder.indexOf(-1);
      if (free >= 0) this.place(cpu, free);
      else if (!this.takeReleased(cpu, epochStart + this.machine.quantum)) return false;
    }
    // It runs: out of any PLE exit it was descheduled in (KVM clears in_spin_loop and dy_eligible as the handler returns).
    this.inSpinLoop[cpu] = 0;
    this.dyEligible[cpu] = 0;
    if (this.owesSwitch[cpu] === 1) {
      this.owesSwitch[cpu] = 0;
      const m = this.machine;
      m.count("vcpuSwitches");
      m.charge("vcpuSwitch"); // on the incoming vCPU's clock: this is its context
    }
    return true;
  }

  /** A physical CPU released earlier in this epoch goes to `cpu` (not one that yielded) from the moment it was freed. */
  private takeReleased(cpu: number, epochEnd: number): boolean {
    if (this.yielded[cpu] === 1) return false;
    let p = -1;
    for (let q = 0; q < this.pcpus; q++) {
      if (this.boostTo[q] >= 0 && this.boostTo[q] !== cpu) continue; // reserved for the vCPU a PLE exit boosted
      if (this.freeAt[q] < epochEnd && (p < 0 || this.freeAt[q] < this.freeAt[p])) p = q;
    }
    if (p < 0) return false;
    const from = this.freeAt[p];
    const v = this.holder[p];
    if (v >= 0) this.onPcpu[v] = -1;
    this.holder[p] = -1;
    this.freeAt[p] = Infinity;
    this.boostTo[p] = -1;
    this.place(cpu, p);
    this.machine.count("vcpuHandOvers");
    this.machine.descheduleUntil(from); // it had no physical CPU until then
    return true;
  }

  /**
   * Will run this epoch: running, or halted with something that wakes it by
   * the epoch's start (an interrupt pending, or its own device event — its
   * timer — due: a hypervisor's virtual timer fires whether the vCPU runs or not).
   */
  private ready(v: number): boolean {
    const s = this.machine.cpuState(v);
    return s === "running" || (s === "halted" && this.machine.wakeTime(v) <= this.epoch);
  }

  private decide(epochStart: number): void {
    this.epoch = epochStart;
    this.freeAt.fill(Infinity);
    if (epochStart >= this.sliceEnd && this.postpone(epochStart)) this.handOverBlocked();
    else if (epochStart >= this.sliceEnd) {
      this.boostTo.fill(-1);
      this.newSlice(epochStart);
    } else this.handOverBlocked();
    this.yielded.fill(0);
  }

  /** Delayed preemption: whether the slice's end is postponed by a quantum (a holder in a critical section, within the bound). */
  private postpone(epochStart: number): boolean {
    const d = this.delay;
    if (d === undefined || this.postponed >= d.bound) {
      this.postponed = 0;
      return false;
    }
    let any = false;
    for (let p = 0; p < this.pcpus; p++) {
      const v = this.holder[p];
      if (v >= 0 && this.yielded[v] === 0 && d.inCritical(v)) {
        d.owe(v);
        any = true;
      }
    }
    if (!any) {
      this.postponed = 0;
      return false;
    }
    this.postponed++;
    this.machine.count("delayedPreemptions");
    this.sliceEnd = epochStart + this.machine.quantum;
    return true;
  }

  private newSlice(epochStart: number): void {
    const n = this.n;
    const m = this.machine;
    this.sliceEnd = (Math.floor(epochStart / this.timeslice) + 1) * this.timeslice;
    // Who runs this slice: ready vCPUs in circular order from `next`, then halted ones.
    const picked = this.picked.fill(0);
    let count = 0;
    let lastReady = -1;
    for (let i = 0; i < n && count < this.pcpus; i++) {
      const v = (this.next + i) % n;
      if (this.ready(v)) {
        picked[v] = 1;
        count++;
        lastReady = v;
      }
    }
    for (let i = 0; i < n && count < this.pcpus; i++) {
      const v = (this.next + i) % n;
      if (picked[v] === 0 && m.cpuState(v) === "halted") {
        picked[v] = 1;
        count++;
      }
    }
    if (lastReady >= 0) this.next = (lastReady + 1) % n;
    // Those that keep running stay where they are; the others leave.
    for (let p = 0; p < this.pcpus; p++) {
      const v = this.holder[p];
      if (v >= 0 && picked[v] === 0) {
        this.onPcpu[v] = -1;
        this.holder[p] = -1;
      }
    }
    // Newcomers, in ascending vCPU order, take the free physical CPUs in ascending order.
    let p = 0;
    for (let v = 0; v < n; v++) {
      if (picked[v] === 0 || this.onPcpu[v] >= 0) continue;
      while (this.holder[p] >= 0) p++;
      this.place(v, p);
    }
  }

  /** Within a slice: a physical CPU whose vCPU blocked goes to the next ready vCPU waiting. */
  private handOverBlocked(): void {
    const n = this.n;
    for (let p = 0; p < this.pcpus; p++) {
      const v = this.holder[p];
      const b = this.boostTo[p];
      this.boostTo[p] = -1;
      if (b >= 0 && b !== v && this.onPcpu[b] < 0 && this.ready(b)) {
        // A PLE exit's directed yield whose target's turn had passed: it runs now (at the epoch's start: not a
        // hand-over within an epoch, so not counted in vcpuHandOvers).
        if (v >= 0) this.onPcpu[v] = -1;
        this.place(b, p);
        continue;
      }
      if (v >= 0 && this.ready(v) && this.yielded[v] === 0) continue;
      let to = -1;
      for (let i = 0; i < n; i++) {
        const w = (this.next + i) % n;
        if (this.onPcpu[w] < 0 && this.ready(w) && this.yielded[w] === 0) {
          to = w;
          break;
        }
      }
      if (to < 0) continue;
      if (v >= 0) this.onPcpu[v] = -1;
      this.holder[p] = -1;
      this.place(to, p);
      this.next = (to + 1) % n;
    }
  }

  private place(v: number, p: number): void {
    this.holder[p] = v;
    this.onPcpu[v] = p;
    if (this.lastRan[p] !== v) {
      // The first vCPU a physical CPU ever runs is loaded as the domain is built: no switch.
      if (this.lastRan[p] >= 0) this.owesSwitch[v] = 1;
      this.lastRan[p] = v;
    }
  }

  /** The scheduler's state as plain data (an exact snapshot resumes the same schedule). */
  save(): Record<string, unknown> {
    return {
      pcpus: this.pcpus,
      timeslice: this.timeslice,
      onPcpu: Array.from(this.onPcpu),
      holder: Array.from(this.holder),
      lastRan: Array.from(this.lastRan),
      owesSwitch: Array.from(this.owesSwitch),
      next: this.next,
      sliceEnd: this.sliceEnd,
      epoch: this.epoch,
      boostTo: Array.from(this.boostTo),
      inSpinLoop: Array.from(this.inSpinLoop),
      dyEligible: Array.from(this.dyEligible),
      lastBoosted: this.lastBoosted,
    };
  }

  /** Restores `save()`'s state; a schedule saved with other --pcpus or --timeslice is not continued (this one starts afresh). */
  restore(s: Record<string, unknown>): void {
    if (s.pcpus !== this.pcpus || s.timeslice !== this.timeslice) return;
    // As the scheduler keeps them (a snapshot file is input): a vCPU number or -1 where one is named, a physical
    // CPU or -1 per vCPU, flags 0 or 1; an Int8Array's set would wrap 200 to -56, and a value past the arrays
    // indexes nothing. Checked whole before anything is set.
    const n = this.n;
    const arr = (k: string, per: "vCPU" | "physical CPU", lo: number, hi: number): number[] => {
      const a = s[k];
      if (!Array.isArray(a) || a.length !== (per === "vCPU" ? n : this.pcpus) || !a.every((x) => isWholeIn(x, lo, hi))) {
        throw new Error(`scheduler.${k} is not one whole number from ${lo} to ${hi} per ${per}`);
      }
      return a as number[];
    };
    const onPcpu = arr("onPcpu", "vCPU", -1, this.pcpus - 1);
    const holder = arr("holder", "physical CPU", -1, n - 1);
    // Each physical CPU's vCPU holds that one, and each vCPU's physical CPU is held by it (place keeps both sides).
    if (!holder.every((v, p) => v < 0 || onPcpu[v] === p) || !onPcpu.every((p, v) => p < 0 || holder[p] === v)) throw new Error("scheduler.holder and scheduler.onPcpu disagree");
    const lastRan = arr("lastRan", "physical CPU", -1, n - 1);
    const owesSwitch = arr("owesSwitch", "vCPU", 0, 1);
    if (!isWholeIn(s.next, 0, n - 1)) throw new Error("scheduler.next is not a vCPU");
    // The last epoch decided: -1 (none yet) or an epoch's start no later than the machine's now; its slice ends
    // after it, by one slice at most (the round robin would stop for as long as a later end is away).
    const m = this.machine;
    const q = m.quantum;
    let low = Infinity;
    for (let v = 0; v < n; v++) low = Math.min(low, m.inCpu(v, () => m.cycles));
    const epoch = s.epoch;
    if (!(epoch === -1 || (isWholeIn(epoch, 0, Math.floor(low / q) * q) && epoch % q === 0))) throw new Error("scheduler.epoch is not an epoch's start up to the machine's clock");
    if (!isWholeIn(s.sliceEnd, epoch + 1, epoch + this.timeslice)) throw new Error("scheduler.sliceEnd is not within a slice after its epoch");
    // Directed yield's state (absent from snapshots written before it: none pending).
    const dy = s.lastBoosted !== undefined;
    const boostTo = dy ? arr("boostTo", "physical CPU", -1, n - 1) : undefined;
    const inSpinLoop = dy ? arr("inSpinLoop", "vCPU", 0, 1) : undefined;
    const dyEligible = dy ? arr("dyEligible", "vCPU", 0, 1) : undefined;
    if (dy && !isWholeIn(s.lastBoosted, 0, n - 1)) throw new Error("scheduler.lastBoosted is not a vCPU");
    this.onPcpu.set(onPcpu);
    this.holder.set(holder);
    this.lastRan.set(lastRan);
    this.owesSwitch.set(owesSwitch);
    this.next = s.next as number;
    this.sliceEnd = s.sliceEnd as number;
    this.epoch = epoch;
    if (dy) {
      this.boostTo.set(boostTo!);
      this.inSpinLoop.set(inSpinLoop!);
      this.dyEligible.set(dyEligible!);
      this.lastBoosted = s.lastBoosted as number;
    }
  }
}
