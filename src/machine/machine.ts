// The machine: CPU + MMU + physical memory + port bus with its devices,
// cycle accounting, and the hook points for a monitor. Every back end runs
// on it; `bare` attaches no monitor.
//
// Consumes: options (RAM size, cost model, console input/output, disk), an
// optional Monitor, a loaded image (loader.ts). Produces: a RunResult from
// `run()` — power-off with an exit code, or a stop with a reason and a
// one-screen diagnosis — and the counters (`stats()`). Nothing the guest
// does makes it throw.
//
// The run loop: between calls to `cpu.run(limit)` (which executes until the
// next device event, the cycle budget, or a slow-path instruction) the
// machine fires due device events and takes a pending interrupt when IE=1
// (lowest line first, epc = the next instruction). System instructions and
// exceptions are executed here, on the slow path, where the monitor hooks sit.
//
// A multiprocessor (`cpus` > 1, docs/machine.md "Multiprocessor") has one
// Cpu object whose loop is the uniprocessor's, and a CpuContext per CPU
// switched into it; multiprocessor.ts holds the contexts and runs the epochs
// (`runUntil` hands the run to it), and the methods monitors call here
// (startCpu, inCpu, wake, …) delegate to it. With one CPU none of that
// exists: the loop below is the uniprocessor's, unchanged.
//
// Its other parts have files of their own: machine-options.ts (what it is
// built with), machine-devices.ts (its devices and their buses) and
// machine-snapshot.ts (saving and restoring its state, the dirty log) and
// write-tracking.ts (a host's own record of which frames were written).

import { BY_OPCODE, OP, type Mnemonic } from "../guest-isa/isa-table.js";
import { CAUSE, CR, IRQ, PGCTL_ENABLE, PSR } from "../guest-isa/registers.js";
import { InterruptLines, PortBus } from "./bus/ports.js";
import { CpuContext, type CpuRunState, type LastFault } from "./cpu-context.js";
import { checkSmpOptions, DEFAULT_QUANTUM, Multiprocessor, type MultiprocessorHost } from "./multiprocessor.js";
import type { Tlb } from "./mmu/tlb.js";
import { COST_EVENTS, defaultCostModel, validateCostModel, type CostEvent, type CostModel } from "./cost-model.js";
import { Cpu, justAbove, type CpuHost } from "./cpu.js";
import { costTable } from "./decode.js";
import type { ConsoleDevice } from "./devices/console.js";
import type { DiskDevice } from "./devices/disk.js";
import { NVDISK_BASE, type NvdiskDevice } from "./devices/nvdisk.js";
import type { TimerDevice } from "./devices/timer.js";
import { formatDiagnosis, type DiagnosisContext, type RunResult, type StopReason, EXIT_STATUS } from "./diagnosis.js";
import { JitEngine } from "./jit/engine.js";
import { makeDevices } from "./machine-devices.js";
import { defaultEngine, processResidentBytes, type Engine, type HostStats, type MachineOptions } from "./machine-options.js";
import { SpinAccounting } from "./spin-accounting.js";
import { claimWarmUp, trainingImage } from "./warm-up.js";
import { DEFAULT_RAM_SIZE, PhysicalMemory } from "./memory.js";
import { Mmu, type MmuHost } from "./mmu/mmu.js";
import type { MachineState } from "./machine-state.js";
import { restoreMachineState, saveMachineState, startDirtyLog, stopDirtyLog, takeDirty, type MachineInternals } from "./machine-snapshot.js";
import { takeTrackedWrites, trackWrites } from "./write-tracking.js";
import { Protection } from "./protection/protection.js";
import type { SupervisorDevice } from "./protection/supervisor.js";
import { ACCESS, Fault, type Access, type Monitor } from "./monitor.js";
import { causeName, emptyStats, EVENT_ID, Tally, type MachineStats } from "./stats.js";

/** The same fault (cause, epc, badva) this many times in a row, with no other fault between, is a fault loop. */
export const FAULT_LOOP_LIMIT = 256;

/** Cause codes with a cached tally slot in `raise`: the exceptions and every interrupt line's (INTERRUPT_BASE + 0–31). */
const CAUSE_IDS = CAUSE.INTERRUPT_BASE + 32;

const UF_AND_MODE = PSR.IE | PSR.SU | PSR.UF_MASK;
/** Causes that are faults (epc = the faulting instruction): the ones the crash rules look at. */
export const FAULT_CAUSES: ReadonlySet<number> = new Set<number>([
  CAUSE.ILLEGAL_INSTRUCTION, CAUSE.PRIVILEGED_INSTRUCTION, CAUSE.MISALIGNED,
  CAUSE.PAGE_FAULT_FETCH, CAUSE.PAGE_FAULT_LOAD, CAUSE.PAGE_FAULT_STORE, CAUSE.BUS_ERROR, CAUSE.PROTECTION_FAULT,
]);

export class Machine implements CpuHost, MmuHost, MultiprocessorHost {
  readonly memory: PhysicalMemory;
  readonly cpu: Cpu;
  readonly mmu: Mmu;
  readonly costModel: CostModel;
  readonly console: ConsoleDevice;
  readonly disk: DiskDevice;
  /** The memory-mapped disk, when attached (MachineOptions.nvdisk). */
  readonly nvdisk: NvdiskDevice | undefined;
  /** Protection domains (protection/): the monitor-facing API, `defineDomain`, `grant`. */
  readonly protection: Protection;
  /** The guest kernel's interface to them (ports 0x50–0x54). */
  readonly supervisor: SupervisorDevice;
  /** The pc of the `in`/`out` being executed (the memory supervisor asks who calls it). */
  ioPc = 0;
  /** CPUs (1–MAX_CPUS) and the interleaving quantum in cycles. */
  readonly cpuCount: number;
  readonly quantum: number;
  /** The executing CPU's port bus, interrupt lines and timer (its own on a multiprocessor; shared devices are on every bus). */
  private curBus = new PortBus();
  private curLines = new InterruptLines();
  private curTimer!: TimerDevice;
  /** A multiprocessor's CPUs and their schedule (multiprocessor.ts); undefined with one CPU. */
  private readonly mp: Multiprocessor | undefined;
  /** The executing CPU (`cpuId`): a field, as monitors read it in nearly every hook; set at each switch (`useContext`). */
  private current = 0;
  monitor: Monitor | undefined;
  /** Per opcode: 1 when the monitor asks an exit for the instruction (set at attach; the JIT reads it too). */
  readonly exitMask = new Uint8Array(64);
  private readonly counters: MachineStats = emptyStats();
  /** counters.counts, .events and .exceptions by index (stats.ts Tally): folded in when the counters are read. */
  private readonly countTally = new Tally(() => this.counters.counts);
  private readonly eventTally = new Tally(() => this.counters.events as Record<string, number>);
  private readonly exceptionTally = new Tally(() => this.counters.exceptions);
  /** Per EVENT_ID: the event's price in the cost model. */
  private readonly eventCost: Float64Array;
  /** Per cause code below CAUSE_IDS (interrupts included): its slot in exceptionTally (-1: not made yet). */
  private readonly causeIds = new Int32Array(CAUSE_IDS).fill(-1);
  /**
   * counters.interrupts by line (stats.ts Tally), and each line's slot in it
   * (-1: not made yet): a keyed update of a fresh record per machine missed
   * its elements at each machine's first interrupt, and V8 deoptimized the
   * run loop there.
   */
  private readonly interruptTally = new Tally(() => this.counters.interrupts);
  private readonly lineIds = new Int32Array(32).fill(-1);
  private readonly idleCyclesId: number;
  private result: RunResult | undefined;
  private maxCycles = Infinity;
  private readonly referenceSlicing: boolean;
  private lastFault: LastFault = { cause: -1, epc: 0, badva: 0, repeats: 0 };
  /** The engine that runs guest code (see MachineOptions.engine). */
  readonly engine: Engine;
  private readonly jit: JitEngine | undefined;
  /** Spin cycles and lock-holder preemptions (spin-accounting.ts); active once lock sites are known. */
  readonly spin: SpinAccounting;
  private readonly residentBytes: () => number;
  /**
   * Set by a host that raises this machine's lines from outside between
   * `runUntil` calls (the multi-guest host, src/hypervisors/domains: an
   * event from another guest). A uniprocessor's hlt then waits as a state
   * (`haltedUntil`): it wakes at its next device event as before, or when a
   * line is pending, and a hlt with nothing to wait for waits (idle, up to
   * each pause) instead of ending the run: the host decides when no guest
   * can ever wake one. A multiprocessor's halted CPUs likewise. Off (the
   * default): the machine behaves exactly as without the field.
   */
  externalEvents = false;
  /** Uniprocessor with externalEvents: -1 running, else the cycle its hlt wakes at (Infinity: only a line wakes it). */
  private haltedUntil = -1;

  constructor(options: MachineOptions = {}) {
    this.residentBytes = options.residentBytes ?? processResidentBytes;
    this.memory = new PhysicalMemory(options.ramSize ?? DEFAULT_RAM_SIZE);
    this.costModel = options.costModel ?? defaultCostModel();
    validateCostModel(this.costModel);
    for (const e of COST_EVENTS) this.eventTally.id(e); // slot = EVENT_ID[e]
    this.eventCost = Float64Array.from(COST_EVENTS, (e) => this.costModel[e]);
    this.idleCyclesId = this.countTally.id("idleCycles");
    this.referenceSlicing = options.referenceSlicing ?? false;
    const memory = this.memory;
    this.protection = new Protection({
      memorySize: memory.size,
      get guestLimit() {
        return memory.guestLimit;
      },
      framesChanged: (first, last) => this.mmu.refreshFrames(first, last),
      chargeRefs: (refs) => this.charge("permissionRef", refs),
    });
    this.mmu = new Mmu(this, CR.ptbr, CR.pgctl, this.protection.checked);
    this.cpu = new Cpu(this.memory, this.mmu.tlb, this, costTable(this.costModel));
    const wanted = options.engine ?? defaultEngine();
    const exact = !this.referenceSlicing && Object.values(this.costModel).every((c) => Number.isInteger(c));
    this.engine = wanted === "jit" && exact ? "jit" : "interp";
    this.jit = this.engine === "jit" ? new JitEngine(this.cpu, this.memory, this.mmu.tlb, this, options.jitThreshold) : undefined;

    checkSmpOptions(options.cpus, options.quantum);
    this.cpuCount = options.cpus ?? 1;
    this.spin = new SpinAccounting(this.cpuCount, this.memory.heap32);
    if ((options.lockSites && options.lockSites.length > 0) || (options.ticketSites && options.ticketSites.length > 0)) {
      this.watchLocks(options.lockSites ?? [], undefined, options.ticketSites);
    }
    this.quantum = options.quantum ?? DEFAULT_QUANTUM;
    // Shared devices interrupt CPU 0: they hold CPU 0's lines.
    const devices = makeDevices(this, options, this.curLines);
    this.console = devices.console;
    this.disk = devices.disk;
    this.nvdisk = devices.nvdisk;
    this.supervisor = devices.supervisor;
    this.curTimer = devices.attach(0, this.curBus, this.curLines);
    if (this.cpuCount > 1) {
      const contexts = [new CpuContext(0, this.mmu.tlb, this.curLines, this.curTimer, this.curBus)];
      for (let n = 1; n < this.cpuCount; n++) {
        const bus = new PortBus();
        const lines = new InterruptLines();
        contexts.push(new CpuContext(n, this.mmu.addTlb(), lines, devices.attach(n, bus, lines), bus));
      }
      this.mp = new Multiprocessor(this, contexts, this.quantum, this.jit, this.referenceSlicing);
      this.lastFault = contexts[0].lastFault;
    }
    // Once per process, before the first guest: train the interpreter loop (warm-up.ts says why).
    if (claimWarmUp()) warmUpInterpreter();
  }

  /** The executing CPU's port bus (its timer; the shared devices). */
  get bus(): PortBus {
    return this.curBus;
  }
  /** The executing CPU's interrupt lines. */
  get lines(): InterruptLines {
    return this.curLines;
  }
  /** The executing CPU's timer. */
  get timer(): TimerDevice {
    return this.curTimer;
  }

  // ---------------------------------------------------------------- multiprocessor (multiprocessor.ts does the work)

  /** The CPU executing now: `regs`, `pc`, `psr`, `cr`, `cycles` and every monitor hook refer to it. */
  get cpuId(): number {
    return this.current;
  }

  /** A CPU's run state (a read-only view for schedulers). */
  cpuState(n: number): CpuRunState {
    return this.mp ? this.mp.state(n) : "running";
  }

  /** Port 0x43 of the executing CPU (devices/smp.ts). */
  get startAddress(): number {
    return this.mp ? this.mp.executing.startAddress : this.startAddress1;
  }
  set startAddress(v: number) {
    if (this.mp) this.mp.executing.startAddress = v;
    else this.startAddress1 = v;
  }
  private startAddress1 = 0;

  /**
   * Starts CPU `n` at `entry` (what port 0x42 does, and what a hypervisor's
   * start-vCPU hypercall calls): supervisor mode, IE=0, paging off,
   * registers and control registers 0, its TLB empty, its clock no earlier
   * than the starter's. Then `monitor.onCpuStart(n, entry)` in n's context.
   * False (nothing happens) when n does not exist or is not stopped.
   */
  startCpu(n: number, entry: number): boolean {
    return this.mp ? this.mp.startCpu(n, entry) : false;
  }

  /**
   * Runs `fn` in CPU `n`'s context and switches back: for code that looks at
   * every CPU between runs or turns (snapshots, migration's safe points, a
   * monitor's `runnable`, which runs before a turn), never from a hook
   * called while a CPU executes.
   */
  inCpu<T>(n: number, fn: () => T): T {
    return this.mp ? this.mp.inCpu(n, fn) : fn();
  }

  /**
   * Turns on spin accounting for these lock-site addresses (and a cure's
   * extra range of attempt addresses): every amoswap is then reported to
   * `spin` (spin-accounting.ts).
   */
  watchLocks(sites: readonly number[], range?: readonly [number, number], ticketSites?: readonly number[]): void {
    this.spin.addSites(sites);
    if (ticketSites) this.spin.addTicketSites(ticketSites);
    if (range) this.spin.addRange(range[0], range[1]);
    this.cpu.amoHook = spinAmoHook;
  }

  /** An atomic the CPU executed, for spin accounting (the CPU's amoHook, `spinAmoHook`, calls it). */
  noteAmo(pc: number, word: number, old: number, value: number, cycles: number): void {
    this.spin.amo(this.current, pc, word, old, value, this.executedCycles(cycles));
  }

  /**
   * The executing CPU's clock less the cycles it spent halted or
   * descheduled: what it has executed (`clock`: its clock now, when the
   * caller has a fresher value than cpu.cycles, e.g. inside the run loop).
   */
  executedCycles(clock: number = this.cpu.cycles): number {
    if (!this.mp) return clock - this.countTally.total(this.idleCyclesId);
    return this.mp.executedCycles(clock);
  }

  /**
   * The executing vCPU gives up its physical CPU for the rest of the epoch
   * (a hypervisor's pause-loop exit, or a vCPU yielding at unlock): the run
   * loop returns after the current instruction, and its clock moves to the
   * epoch's end as descheduled cycles. No effect with one CPU.
   */
  endTurn(): void {
    if (this.mp) this.cpu.leaveTurn = true;
  }

  /**
   * The executing vCPU gets a physical CPU only at cycle `t` of this epoch (a
   * hypervisor's hand-over within the epoch): its clock moves there, the
   * cycles counted as descheduled. No effect with one CPU, or if it is past `t`.
   */
  descheduleUntil(t: number): void {
    this.mp?.descheduleUntil(t);
  }

  /**
   * Wakes CPU `n` if it is halted (a hypervisor's kick of a vCPU blocked in
   * it, e.g. a para-virtual spinlock's waiter): it runs on from where it halted.
   */
  wake(n: number): void {
    this.mp?.wake(n);
  }

  /**
   * Blocks the executing CPU until a hypervisor's `wake` (pc already past
   * the instruction that called): halted, and unlike `idle` a pending
   * interrupt line does not wake it — a para-virtual spinlock's waiter
   * whose events are masked sleeps until the releaser kicks it (Xen's
   * SCHEDOP_poll). With one CPU it is `idle`.
   */
  sleep(): void {
    if (!this.mp) return this.halt();
    this.mp.sleep();
  }

  /**
   * When CPU `n`, halted, would wake (for a hypervisor's scheduler): its
   * clock if a line is pending for it, else its next device event (its
   * timer; CPU 0's shared devices too), Infinity when nothing is due.
   */
  wakeTime(n: number): number {
    if (!this.mp) return this.lines.pending !== 0 ? this.cpu.cycles : this.curBus.nextEvent();
    return this.mp.wakeTime(n);
  }

  /** Raises the IPI line (3) on CPU `n` (itself included). False when n does not exist. */
  sendIpi(n: number): boolean {
    if (!Number.isInteger(n) || n < 0 || n >= this.cpuCount) return false;
    this.raiseLine(IRQ.IPI, n);
    return true;
  }

  /**
   * MultiprocessorHost: makes CPU `c.id` the executing one, pointing the
   * executing-CPU references at its context (its TLB in the MMU and the JIT,
   * its bus, lines, timer and fault-loop memory). Only the multiprocessor's
   * switch calls it.
   */
  useContext(c: CpuContext): void {
    this.mmu.tlb = c.tlb;
    this.jit?.useTlb(c.tlb);
    this.curBus = c.bus;
    this.curLines = c.lines;
    this.curTimer = c.timer;
    this.lastFault = c.lastFault;
    this.current = c.id;
  }

  /** CPU `n`'s pc, whether or not it is the executing one (safe points, schedulers). */
  pcOf(n: number): number {
    return this.mp ? this.mp.view(n).pc : this.cpu.pc;
  }

  /** Every CPU's TLB (index = CPU), for a monitor that must keep all of them coherent. */
  get tlbs(): readonly Tlb[] {
    return this.mmu.tlbs;
  }

  get watched(): Uint8Array {
    return this.mmu.watched;
  }

  /** CpuHost: frames a protection domain restricts. */
  get checked(): Uint8Array {
    return this.protection.checked;
  }

  /** CpuHost: the protection check of a load or store to a restricted frame. */
  allows(pc: number, pa: number, write: boolean): boolean {
    return this.protection.allows(pc, pa, write);
  }

  /** CpuHost: `allows` without its side effects (translated code asks first, cpu.ts checkedAccess). */
  permits(pc: number, pa: number, write: boolean): boolean {
    return this.protection.permits(pc, pa, write);
  }

  // ---------------------------------------------------------------- monitor API

  /** Attaches a monitor (before `run`). */
  attach(monitor: Monitor): void {
    if (this.monitor) throw new Error(`machine already has monitor ${this.monitor.name}`);
    this.monitor = monitor;
    this.exitMask.fill(0);
    for (const m of monitor.exits ?? []) {
      const op = OP[m];
      const row = BY_OPCODE[op]!;
      if (!row.privileged && !row.sensitive && m !== "syscall" && m !== "brk") {
        throw new Error(`monitor ${monitor.name}: '${m}' cannot exit (only privileged, sensitive, syscall, brk)`);
      }
      this.exitMask[op] = 1;
    }
    monitor.attach?.(this);
  }

  get regs(): Int32Array {
    return this.cpu.regs;
  }
  get pc(): number {
    return this.cpu.pc;
  }
  set pc(v: number) {
    this.cpu.pc = v | 0;
  }
  get psr(): number {
    return this.cpu.psr;
  }
  set psr(v: number) {
    this.cpu.psr = v & UF_AND_MODE;
  }
  /** Control registers by CR number (tvec, epc, epsr, cause, badva, ptbr, scratch, pgctl). */
  get cr(): Int32Array {
    return this.cpu.cr;
  }
  get cycles(): number {
    return this.cpu.cycles;
  }

  /** Charges `count` events of a priced kind (adds cycles and counts them). */
  charge(event: CostEvent, count = 1): void {
    this.chargeAt(EVENT_ID[event], count);
  }

  /** charge() by the event's index (`EVENT_ID.vmExit`): what hot paths call, with no string lookup. */
  chargeAt(id: number, count = 1): void {
    this.cpu.cycles += this.eventCost[id] * count;
    this.eventTally.add(id, count);
  }

  /** Counts an unpriced event (exits by reason, …). */
  count(name: string, n = 1): void {
    this.countTally.add(this.countTally.id(name), n);
  }

  /** The index of the unpriced counter `name` in this machine, for countAt (a hot path looks it up once). */
  counterId(name: string): number {
    return this.countTally.id(name);
  }

  /** count() by a counterId(). */
  countAt(id: number, n = 1): void {
    this.countTally.add(id, n);
  }

  /** Writes the indexed counters' totals into `counters` (before it is read or copied). */
  private flushCounters(): void {
    this.countTally.flush();
    this.eventTally.flush();
    this.exceptionTally.flush();
    this.interruptTally.flush();
  }

  /** Counts an interrupt taken on `line` (counters.interrupts). */
  countInterrupt(line: number): void {
    let id = this.lineIds[line];
    if (id < 0) id = this.lineIds[line] = this.interruptTally.id(String(line));
    this.interruptTally.add(id, 1);
  }

  /** Reserves physical memory at the top of RAM, invisible to the guest; returns its base. */
  reserveTop(bytes: number): number {
    return this.memory.reserveTop(bytes);
  }

  /** Write-protects (or releases) the physical frame holding `pa`: stores call monitor.onWatchedStore. */
  watchFrame(pa: number, on = true): void {
    this.mmu.setWatched(pa, on);
  }

  /** Translation as the hardware would do it now, without touching the TLB or counters. */
  translate(va: number, access: Access, user: boolean): number | Fault {
    return this.mmu.probe(va, access, user);
  }

  /** Drops every cached translation (counted and charged as a TLB flush). */
  tlbFlush(): void {
    this.mmu.tlb.flush();
    this.counters.tlbFlushes++;
    this.chargeAt(EVENT_ID.tlbFlush);
  }

  /**
   * Drops every cached translation without charging a TLB flush: for a
   * monitor whose own protection state changed where the hardware it models
   * would need no flush (e.g. a deprivileged kernel's ring-1 pages when its
   * virtual mode changes). Refills are charged as usual.
   */
  tlbDrop(): void {
    this.mmu.tlb.flush();
  }

  /** Drops the cached translation of one virtual page (not charged). */
  tlbInvalidate(va: number): void {
    this.mmu.tlb.invalidate(va);
  }

  /** Asserts interrupt line `line` of CPU `cpu` (default: the executing one). */
  raiseLine(line: number, cpu = this.current): void {
    (this.mp ? this.mp.contexts[cpu].lines : this.curLines).raise(line);
  }
  lowerLine(line: number, cpu = this.current): void {
    (this.mp ? this.mp.contexts[cpu].lines : this.curLines).lower(line);
  }

  /**
   * Port I/O on the machine's devices, for a monitor forwarding a guest's
   * access: counted and charged like `in`/`out`. `pc`: the guest's
   * instruction being performed (a trapped or rewritten `in`/`out`; the
   * memory supervisor judges its caller by it), default the executing one.
   */
  portRead(port: number, pc = this.cpu.pc): number {
    this.ioPc = pc;
    this.noteDeviceAccess(port);
    return this.bus.read(port, this.cpu.cycles);
  }
  portWrite(port: number, value: number, pc = this.cpu.pc): void {
    this.ioPc = pc;
    this.noteDeviceAccess(port);
    this.bus.write(port, value, this.cpu.cycles);
  }

  /**
   * A 32-bit read of the device register at physical `pa` (the device
   * window, docs/machine.md "MMIO"), for a monitor's device model performing
   * a guest's access: counted and charged as a device access. `undefined`
   * when no register is there (the guest's access would be a bus error).
   */
  mmioRead(pa: number): number | undefined {
    if (!this.nvdisk || !this.memory.isDevice(pa) || pa & 3) return undefined;
    this.noteDeviceAccess();
    return this.nvdisk.mmioRead((pa >>> 0) - NVDISK_BASE) | 0;
  }
  /** A 32-bit write of a device register, as `mmioRead`; false when no register is there. */
  mmioWrite(pa: number, value: number): boolean {
    if (!this.nvdisk || !this.memory.isDevice(pa) || pa & 3) return false;
    this.noteDeviceAccess();
    this.nvdisk.mmioWrite((pa >>> 0) - NVDISK_BASE, value | 0, this.cpu.cycles);
    return true;
  }

  /**
   * Delivers an exception to the guest's trap vector exactly as the hardware
   * does (also what a monitor calls to inject one): epc, epsr, cause, badva,
   * SU=1, IE=0, pc = tvec; charges exceptionEntry. Stops the machine instead
   * when it is a crash (no tvec, fault at the handler entry, fault loop).
   */
  deliverException(cause: number, epc: number, badva?: number): void {
    const cpu = this.cpu;
    const tvec = cpu.cr[CR.tvec];
    if (this.crashInsteadOfDelivery(cause, epc, badva, tvec)) return;
    cpu.cr[CR.epc] = epc;
    cpu.cr[CR.epsr] = cpu.psr;
    cpu.cr[CR.cause] = cause;
    if (badva !== undefined) cpu.cr[CR.badva] = badva;
    cpu.psr = (cpu.psr | PSR.SU) & ~PSR.IE;
    cpu.noteTransfer(cause >= CAUSE.INTERRUPT_BASE ? epc | 1 : epc, tvec);
    cpu.pc = tvec;
    this.chargeAt(EVENT_ID.exceptionEntry);
  }

  /**
   * The crash rules for an exception about to enter the guest's handler at
   * `handler` (docs/machine.md "Run results"): no handler (0), a fault at the
   * handler's own entry, or the same fault (cause, epc, badva) FAULT_LOOP_LIMIT
   * times in a row. Stops the machine and returns true when one applies.
   * Every delivery goes through here — the machine's own, and a monitor's
   * that reflects an exception into a virtual CPU (trap, xen, l4) — so there
   * is one loop detector and every back end gives the same diagnosis.
   */
  crashInsteadOfDelivery(cause: number, epc: number, badva: number | undefined, handler: number): boolean {
    if (handler === 0) {
      this.stopCrash("crash", `${causeName(cause)} with no trap vector (tvec = 0)`, cause, epc, badva);
      return true;
    }
    if (!FAULT_CAUSES.has(cause)) return false;
    if (epc === handler) {
      this.stopCrash("crash", `${causeName(cause)} at the trap handler entry 0x${hex(handler)}`, cause, epc, badva);
      return true;
    }
    const lf = this.lastFault;
    if (lf.cause === cause && lf.epc === epc && lf.badva === (badva ?? 0)) {
      if (++lf.repeats >= FAULT_LOOP_LIMIT) {
        this.stopCrash("fault-loop", `the same ${causeName(cause)} ${FAULT_LOOP_LIMIT} times in a row without progress`, cause, epc, badva);
        return true;
      }
    } else {
      Object.assign(lf, { cause, epc, badva: badva ?? 0, repeats: 1 });
    }
    return false;
  }

  /**
   * Waits as `hlt` does, for a monitor emulating it (pc already past the
   * instruction): returns at once if a line is pending, else fast-forwards to
   * the next device event, or stops the run when nothing can ever wake the CPU.
   * `interruptsOn`: the guest's own IE where the monitor virtualizes it (the
   * real psr's is the host's), for the diagnosis's wording; `at`: the
   * instruction that halted, for the diagnosis (default pc − 4; a hypercall
   * that blocks passes its own pc, not yet moved past).
   */
  idle(interruptsOn = (this.cpu.psr & PSR.IE) !== 0, at?: number): void {
    this.halt(interruptsOn, at);
  }

  /** Stops the run with a reason (a monitor's verdict, or the machine's own). */
  stop(reason: StopReason, message: string, pcHasRun = false): void {
    if (this.result) return;
    // A budget or the user stops the whole machine, not one CPU's run.
    if (this.mp && reason !== "max-cycles" && reason !== "interrupted") message = `cpu ${this.current}: ${message}`;
    this.stopWith(reason, message, { message, inclusive: pcHasRun });
  }

  /**
   * Ends the run stopped (unless it has ended already): the diagnosis is the
   * executing CPU's registers and recent instructions, as `diagnosis` says,
   * and on a multiprocessor a line naming the other CPUs.
   */
  stopWith(reason: StopReason, message: string, diagnosis: DiagnosisContext): void {
    if (this.result) return;
    this.result = {
      kind: "stopped",
      reason,
      message,
      exitCode: EXIT_STATUS[reason],
      diagnosis: formatDiagnosis(this, diagnosis) + (this.mp ? this.mp.otherCpus() : ""),
    };
  }

  powerOff(exitCode: number): void {
    if (!this.result) this.result = { kind: "poweroff", exitCode: exitCode & 0xff };
  }

  get stopped(): boolean {
    return this.result !== undefined;
  }

  // ---------------------------------------------------------------- running

  /** Sets the entry state (docs/design.md §2 reset: SU=1, IE=0, paging off, registers 0). */
  reset(entry: number): void {
    this.mp?.switchTo(0);
    this.resetCpu(entry);
    this.monitor?.onReset?.(entry);
  }

  /** The reset state in the executing CPU (CPU 0's at reset, a started CPU's at its start): its TLB empty. */
  resetCpu(entry: number): void {
    const cpu = this.cpu;
    cpu.regs.fill(0);
    cpu.cr.fill(0);
    cpu.psr = PSR.SU;
    cpu.pc = entry | 0;
    this.mmu.tlb.flush();
    // The trace starts with a transfer to the entry point (from: nothing ran before it).
    cpu.trace.fill(-1);
    cpu.traceIdx = 0;
    cpu.noteTransfer(entry | 1, entry);
  }

  /** Runs until power-off, a stop, or `maxCycles`. */
  run(maxCycles = Infinity): RunResult {
    this.runUntil(Infinity, maxCycles);
    return this.result!;
  }

  /**
   * Runs until power-off, a stop, `maxCycles` (a stop), or until the clock
   * reaches `pause` at an instruction boundary (returns false: the run can go
   * on with another call, exactly as if it had not paused — pausing is one
   * more slice, which test/machine/slicing.test.ts shows changes nothing).
   * Returns true once the run has ended (`result()` then says how).
   */
  runUntil(pause: number, maxCycles = Infinity): boolean {
    if (this.mp) return this.mp.runEpochs(pause, maxCycles);
    this.maxCycles = maxCycles;
    const cpu = this.cpu;
    const bus = this.curBus;
    const lines = this.curLines; // one CPU: never switched
    const jit = this.jit;
    jit?.memoryMayHaveChanged(); // the loader, a monitor, a test: anything may have written since
    while (!this.result) {
      const now = cpu.cycles;
      if (now >= pause) return false;
      if (now >= maxCycles) {
        this.stop("max-cycles", `stopped after ${Math.floor(now)} cycles (--max-cycles ${maxCycles})`);
        break;
      }
      if (this.haltedUntil >= 0) {
        // externalEvents: a hlt waiting (see the field). It ends as halt()'s fast-forward would, or at a pending line.
        if (lines.pending !== 0 || now >= this.haltedUntil) this.haltedUntil = -1;
        else {
          const target = Math.min(this.haltedUntil, pause, maxCycles);
          this.countAt(this.idleCyclesId, target - now);
          cpu.cycles = target;
          continue;
        }
      }
      let next = bus.nextEvent();
      if (now >= next) {
        bus.fireDue(now);
        next = bus.nextEvent();
        jit?.memoryMayHaveChanged(); // disk DMA
      }
      if ((cpu.psr & PSR.IE) !== 0 && lines.pending !== 0) {
        const line = lines.lowest()!;
        this.countInterrupt(line);
        this.raise(CAUSE.INTERRUPT_BASE + line, cpu.pc);
        jit?.memoryMayHaveChanged(); // a monitor saw it
        if (this.result) break;
        // Check again before the next instruction: a monitor may resume with IE on and the
        // line still asserted (the guest has not acknowledged the device yet), as hardware would.
        continue;
      }
      if (jit) jit.run(Math.min(next, maxCycles, pause));
      else cpu.run(this.referenceSlicing ? Math.min(next, maxCycles, pause, justAbove(cpu.cycles)) : Math.min(next, maxCycles, pause));
    }
    this.console.flush();
    return true;
  }

  /**
   * For a host with externalEvents: whether only a line raised from outside
   * can ever wake this machine — every CPU halted (or stopped) with no line
   * pending and no device event or console input to come.
   */
  get waitingForever(): boolean {
    if (this.result) return false;
    if (!this.mp) return this.haltedUntil === Infinity && this.lines.pending === 0 && !this.console.canWake();
    return this.mp.waitingForever;
  }

  /** How the run ended (undefined while it can go on). */
  get outcome(): RunResult | undefined {
    return this.result;
  }

  /** The counters so far. */
  stats(): MachineStats {
    this.flushCounters();
    const s = structuredClone(this.counters);
    if (this.spin.active) {
      s.counts.spinCycles = this.spin.total((n) => (this.mp ? this.mp.executedCyclesOf(n) : this.executedCycles()));
      s.counts.lockHolderPreemptions = this.spin.lockHolderPreemptions;
      if (this.spin.lockWaiterPreemptions > 0) s.counts.lockWaiterPreemptions = this.spin.lockWaiterPreemptions;
      if (this.spin.ticketTakes > 0) s.counts.ticketTakes = this.spin.ticketTakes;
      s.counts.lockAttempts = this.spin.attempts;
    } else {
      // A binary without lock sites spins in no lock-acquire loop: every run's counters name both (docs/design.md).
      s.counts.spinCycles = 0;
      s.counts.lockHolderPreemptions = 0;
    }
    // The nvdisk's refusals (a bad request, DMA outside guest RAM, a halt): only when there were any.
    if (this.nvdisk && this.nvdisk.errors > 0) s.counts["nvdisk.errors"] = this.nvdisk.errors;
    const p = this.protection.counters;
    if (p.checks > 0) {
      s.counts["protection.checks"] = p.checks;
      s.counts["protection.plbMisses"] = p.plbMisses;
      s.counts["protection.extraRefs"] = p.extraRefs;
    }
    if (this.mp) {
      this.mp.sumStats(s);
      return s;
    }
    s.instructions = this.cpu.instret;
    s.cycles = this.cpu.cycles;
    if (this.cpu.pauses !== 0) s.counts.pauses = (s.counts.pauses ?? 0) + this.cpu.pauses;
    return s;
  }

  /** How the emulator ran the guest (engine, translation counters): host facts, not simulated results. */
  hostStats(): HostStats {
    const residentBytes = this.residentBytes();
    return this.jit ? { engine: this.engine, jit: this.jit.counters(), residentBytes } : { engine: this.engine, residentBytes };
  }

  // ---------------------------------------------------------------- snapshots and dirty logging (machine-snapshot.ts does the work)

  /** Everything but RAM and the monitor's own state (docs/migration.md): every CPU's. */
  saveState(): MachineState {
    return saveMachineState(this, this.internals());
  }

  /**
   * Loads saved state into this machine (its monitor attached, RAM already
   * loaded; as many CPUs as the state has: a UserError otherwise). `exact`:
   * also the TLBs, the watched frames, psr and the control registers —
   * resuming on the back end that saved them. Otherwise those stay as the
   * new back end's monitor sets them from the neutral form (the TLBs empty).
   * The quantum is this machine's own (a resume may change it).
   */
  restoreState(s: MachineState, exact: boolean): void {
    restoreMachineState(this, this.internals(), s, exact);
  }

  /** What machine-snapshot.ts saves and replaces beyond the public API. */
  private internals(): MachineInternals {
    return {
      mp: this.mp,
      lastFault: this.lastFault,
      counters: () => {
        this.flushCounters();
        return this.counters;
      },
      replaceCounters: (counters) => {
        Object.assign(this.counters, counters);
        this.countTally.reload();
        this.eventTally.reload();
        this.exceptionTally.reload();
        this.interruptTally.reload();
      },
    };
  }

  /**
   * Starts (or restarts, for a new round) dirty logging: every guest frame is
   * write-protected; its first store is logged and charged `dirtyFault`, as a
   * hypervisor's log-dirty mode does. Writes by devices and monitors through
   * the memory API are logged by PhysicalMemory. Read the log with `takeDirty`.
   */
  startDirtyLog(): void {
    startDirtyLog(this.memory, this.mmu);
  }

  /** The frames written since the log was (re)started, ascending; restarts the log for the next round. */
  takeDirty(): number[] {
    return takeDirty(this.memory, this.mmu);
  }

  stopDirtyLog(): void {
    stopDirtyLog(this.memory, this.mmu);
  }

  /**
   * Host-only write tracking (write-tracking.ts): starts (`on`) or stops
   * noting writes to the physical frame holding `pa` — its CPU stores and
   * the memory API's writes — without charging or counting anything. Read
   * with `takeTrackedWrites`. Coexists with a monitor's watches and with the
   * dirty log.
   */
  trackWrites(pa: number, on: boolean): void {
    trackWrites(this.memory, this.mmu, pa >>> 12, on);
  }

  /** The tracked frames (numbers) written since the last call, each once; tracking goes on for the next round. */
  takeTrackedWrites(): readonly number[] {
    return takeTrackedWrites(this.memory, this.mmu);
  }

  // ---------------------------------------------------------------- CpuHost (slow paths)

  raise(cause: number, epc: number, badva?: number): void {
    let id = cause >= 0 && cause < CAUSE_IDS ? this.causeIds[cause] : -1;
    if (id < 0) {
      id = this.exceptionTally.id(causeName(cause));
      if (cause >= 0 && cause < CAUSE_IDS) this.causeIds[cause] = id;
    }
    this.exceptionTally.add(id, 1);
    const monitor = this.monitor;
    if (monitor?.onException && monitor.onException({ cause, epc, badva }) === "resume") return;
    this.deliverException(cause, epc, badva);
  }

  translateAccess(va: number, access: Access, user: boolean): number | Fault {
    return this.mmu.translate(va, access, user);
  }

  /**
   * CpuHost: a guest load or store that translated into the device window.
   * Word-sized only; on bare metal supervisor mode only (a user-mode access
   * is a bus error); under a monitor, the monitor's translations decide who
   * reaches the window, and `onDeviceAccess` may charge an exit or refuse.
   * Counted and charged as a device access.
   */
  mmio(pa: number, size: number, store: boolean, value: number, user: boolean): number | Fault {
    const nv = this.nvdisk;
    const monitor = this.monitor;
    if (!nv || size !== 4 || (user && !monitor)) return new Fault(CAUSE.BUS_ERROR, pa);
    if (monitor?.onDeviceAccess && !monitor.onDeviceAccess(pa, store, value)) return new Fault(CAUSE.BUS_ERROR, pa);
    this.noteDeviceAccess();
    const offset = (pa >>> 0) - NVDISK_BASE;
    if (!store) return nv.mmioRead(offset) | 0;
    nv.mmioWrite(offset, value, this.cpu.cycles);
    return 0;
  }

  watchedStore(pa: number, value: number, size: 1 | 2 | 4, va: number, pc: number): void {
    const f = pa >>> 12;
    const mmu = this.mmu;
    const logged = mmu.logProtected?.[f] === 1;
    const tracked = mmu.trackProtected?.[f] === 1;
    if (logged || tracked) {
      // The frame's first store since the dirty log was (re)started: log it, charged as a trap. Or
      // since a host last took its tracked writes (write-tracking.ts): noted, nothing charged or counted.
      if (logged) {
        this.memory.dirty![f] = 1;
        this.count("dirtyFaults");
        this.charge("dirtyFault");
      }
      if (tracked) this.memory.markTracked(pa, 1);
      mmu.unprotect(f); // later stores run fast, until the next round
      if (mmu.monitorWatched[f] === 0) {
        // Through the memory API, so anything caching the frame's contents (decoded code) hears of it.
        if (size === 4) this.memory.write32(pa, value);
        else if (size === 2) this.memory.write16(pa, value);
        else this.memory.write8(pa, value);
        return;
      }
    }
    const m = this.monitor;
    if (m?.onWatchedStore) m.onWatchedStore(pa, value, size, va, pc);
    else throw new Error(`internal: store to watched frame 0x${hex(pa)} with no monitor hook`);
  }

  system(op: number, word: number): void {
    const cpu = this.cpu;
    const pc = cpu.pc;
    const next = (pc + 4) | 0;
    const regs = cpu.regs;
    const rd = (word >>> 6) & 15;
    const rs = (word >>> 10) & 15;
    const imm = word >>> 14;

    if (this.exitMask[op] === 1) {
      const action = this.monitor!.onExit?.(BY_OPCODE[op]!.mnemonic as Mnemonic, word, pc) ?? "native";
      if (action === "advance") {
        if (cpu.pc === pc) cpu.pc = next;
        return;
      }
      if (action === "resume") return;
    }

    switch (op) {
      case OP.syscall:
        return this.raise(CAUSE.SYSCALL, next);
      case OP.brk:
        return this.raise(CAUSE.BREAKPOINT, next);
      case OP.hcall: {
        const action = this.monitor?.onHcall?.(imm, pc) ?? "native";
        if (action === "advance") cpu.pc = next;
        else if (action === "native") {
          cpu.refund(op);
          this.raise(CAUSE.ILLEGAL_INSTRUCTION, pc);
        }
        return;
      }
      case OP.rdpsr:
        regs[rd] = cpu.psr;
        regs[0] = 0;
        cpu.pc = next;
        return;
      case OP.wrpsr:
        // Supervisor: every defined bit. User: only UF, silently (the virtualization hole).
        if (cpu.psr & PSR.SU) cpu.psr = regs[rs] & UF_AND_MODE;
        else cpu.psr = (cpu.psr & ~PSR.UF_MASK) | (regs[rs] & PSR.UF_MASK);
        cpu.pc = next;
        return;
    }

    // Privileged from here on.
    if ((cpu.psr & PSR.SU) === 0) {
      cpu.refund(op);
      return this.raise(CAUSE.PRIVILEGED_INSTRUCTION, pc);
    }
    cpu.pc = next;
    switch (op) {
      case OP.cli:
        cpu.psr &= ~PSR.IE;
        return;
      case OP.sti:
        cpu.psr |= PSR.IE;
        return;
      case OP.hlt:
        return this.halt();
      case OP.iret:
        cpu.psr = cpu.cr[CR.epsr] & UF_AND_MODE;
        cpu.pc = cpu.cr[CR.epc];
        cpu.noteTransfer(pc, cpu.pc);
        this.chargeAt(EVENT_ID.exceptionReturn);
        return;
      case OP.tlbflush:
        return this.tlbFlush();
      case OP.tlbinv:
        return this.tlbInvalidate(regs[rs]);
      case OP.mfcr:
        regs[rd] = cpu.cr[imm];
        regs[0] = 0;
        return;
      case OP.mtcr: {
        const old = cpu.cr[imm];
        cpu.cr[imm] = regs[rs];
        // A new page directory, or paging switched on/off: cached translations are void.
        if (imm === CR.ptbr || (imm === CR.pgctl && ((old ^ regs[rs]) & PGCTL_ENABLE) !== 0)) this.tlbFlush();
        return;
      }
      case OP.in:
        this.ioPc = pc;
        this.noteDeviceAccess(imm);
        regs[rd] = this.bus.read(imm, cpu.cycles);
        regs[0] = 0;
        return;
      case OP.out:
        this.ioPc = pc;
        this.noteDeviceAccess(imm);
        this.bus.write(imm, regs[rs], cpu.cycles);
        return;
      default:
        throw new Error(`internal: opcode ${op} reached Machine.system`);
    }
  }

  // ---------------------------------------------------------------- internals

  /**
   * hlt (pc already at the next instruction): with a line pending, return —
   * the run loop takes it if IE=1, or execution simply continues if IE=0 (a
   * masked interrupt still wakes the CPU, like RISC-V's wfi). Otherwise fast-
   * forward the clock to the next device event. If no event can ever come,
   * the run ends: "hlt with interrupts disabled" (IE=0) or "hlt with nothing
   * to wait for" (IE=1, no timer, no disk transfer, no console input).
   */
  private halt(interruptsOn = (this.cpu.psr & PSR.IE) !== 0, at = (this.cpu.pc - 4) | 0): void {
    const cpu = this.cpu;
    if (this.lines.pending !== 0) return;
    if (this.mp) return this.mp.halt(); // it waits in its run loop, where another CPU's IPI can wake it
    const next = this.bus.nextEvent();
    if (this.externalEvents) {
      if (next === Infinity && this.console.canWake()) {
        this.console.read(0x11); // refreshes line 1
        if (this.lines.pending !== 0) return;
      }
      this.haltedUntil = next; // the run loop waits (the CPU's run returns after a system instruction)
      return;
    }
    if (next === Infinity) {
      if (this.console.canWake()) {
        this.console.read(0x11); // refreshes line 1
        if (this.lines.pending !== 0) return;
      }
      cpu.pc = at; // report the hlt itself
      const why = interruptsOn ? "hlt with no device event that could wake the CPU" : "hlt with interrupts disabled and nothing pending";
      this.stop("hlt-deadlock", why, true);
      return;
    }
    const target = Math.min(next, this.maxCycles);
    if (target > cpu.cycles) {
      this.countAt(this.idleCyclesId, target - cpu.cycles);
      cpu.cycles = target;
    }
  }

  private stopCrash(reason: StopReason, message: string, cause: number, epc: number, badva?: number): void {
    if (this.result) return;
    this.cpu.pc = epc;
    if (this.mp) message = `cpu ${this.current}: ${message}`;
    this.stopWith(reason, message, { message, cause, badva, faultPc: FAULT_CAUSES.has(cause) ? epc : undefined });
  }

  /** MmuHost: a TLB miss was walked. */
  noteTlbMiss(): void {
    this.counters.tlbMisses++;
    this.chargeAt(EVENT_ID.tlbMissWalk);
  }

  /** Counts and charges a device access: a port (`in`/`out`), or a device register when `port` is undefined (MMIO). */
  private noteDeviceAccess(port?: number): void {
    this.counters.deviceAccesses++;
    // A device the hypervisor implements in software is no bus transaction (Device.inHypervisor).
    if (port === undefined || !this.bus.inHypervisor(port)) this.charge("deviceAccess");
  }
}

/**
 * Cpu.amoHook with spin accounting on: one function for every machine,
 * called as a method of the CPU (the interpreter's `this.amoHook(…)`, the
 * JIT's `cpu.amoHook(…)`), whose host is its machine. A closure per machine
 * would give V8's optimized interpreter loop a new call target with each
 * machine, and a deoptimization and recompile of the loop with it.
 */
function spinAmoHook(this: Cpu, pc: number, word: number, old: number, value: number, cycles: number): void {
  (this.host as Machine).noteAmo(pc, word, old, value, cycles);
}

/**
 * Runs warm-up.ts's training program on a scratch machine of its own (no
 * monitor, no devices of the caller's, discarded after): a host-side speed
 * measure, invisible to every real machine.
 */
export function warmUpInterpreter(): void {
  const t = trainingImage();
  // Twice: V8 gives a function its feedback vector only after it has run a
  // while, so the first round's start may record nothing.
  for (let round = 0; round < 2; round++) {
    const m = new Machine({ ramSize: t.ramSize, engine: "interp", lockSites: t.lockSites, residentBytes: () => 0 });
    for (const [pa, w] of t.words) m.memory.write32(pa, w);
    m.reset(t.entry);
    for (const [r, v] of t.cr) m.cpu.cr[r] = v;
    // In short steps, so the loop also leaves at its cycle limit (a device event's place) many times.
    // Ended here rather than by a max-cycles stop, whose diagnosis (a disassembly) would be thrown away.
    while (m.cpu.cycles < t.maxCycles && !m.runUntil(Math.min(m.cpu.cycles + t.step, t.maxCycles)));
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

export { IRQ, ACCESS };
// Where callers have always found them.
export { defaultEngine, ENGINES, formatHostStats, type Engine, type HostStats, type MachineOptions } from "./machine-options.js";
export { justAbove } from "./cpu.js";
export { DEFAULT_QUANTUM, MAX_CPUS } from "./multiprocessor.js";
