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

import { UserError } from "../guest-isa/diagnostics.js";
import { BY_OPCODE, OP, type Mnemonic } from "../guest-isa/isa-table.js";
import { CAUSE, CR, IRQ, PGCTL_ENABLE, PSR } from "../guest-isa/registers.js";
import { InterruptLines, PortBus } from "./bus/ports.js";
import { defaultCostModel, validateCostModel, type CostEvent, type CostModel } from "./cost-model.js";
import { Cpu, type CpuHost } from "./cpu.js";
import { costTable } from "./decode.js";
import { ConsoleDevice, bytesInput, type ConsoleInput } from "./devices/console.js";
import { CycleCounterDevice } from "./devices/cycle-counter.js";
import { DiskDevice, DISK_LATENCY_CYCLES, type DiskBacking } from "./devices/disk.js";
import { PowerDevice } from "./devices/power.js";
import { TimerDevice } from "./devices/timer.js";
import { formatDiagnosis, type RunResult, type StopReason, EXIT_STATUS } from "./diagnosis.js";
import { JitEngine, type JitCounters } from "./jit/engine.js";
import { DEFAULT_RAM_SIZE, PhysicalMemory } from "./memory.js";
import { Mmu, type MmuHost } from "./mmu/mmu.js";
import type { MachineState } from "./machine-state.js";
import { ACCESS, Fault, type Access, type Monitor } from "./monitor.js";
import { causeName, emptyStats, type MachineStats } from "./stats.js";

/** The same fault (cause, epc, badva) this many times in a row, with no other fault between, is a fault loop. */
export const FAULT_LOOP_LIMIT = 256;

export interface MachineOptions {
  /** Physical RAM in bytes (multiple of 4 KiB); default 64 MiB. */
  ramSize?: number;
  /**
   * Run the CPU one instruction per slice, checking events and interrupts
   * between every two instructions: the reference the normal run must match
   * exactly (test/machine/slicing.test.ts). Slow; for tests only.
   */
  referenceSlicing?: boolean;
  costModel?: CostModel;
  /** Console input; default: none (reads return -1). */
  consoleInput?: ConsoleInput;
  /** Receives console output text (flushed per line and at the end). */
  consoleOutput?: (text: string) => void;
  disk?: DiskBacking;
  /** Modelled disk latency in cycles (default DISK_LATENCY_CYCLES). */
  diskLatency?: number;
  /**
   * How guest code is executed: "interp" (the interpreter, the reference) or
   * "jit" (translated blocks, jit/engine.ts; identical results). Default: the
   * PREVIRT_ENGINE environment variable, else "jit". The JIT is used only
   * where it is exact — an all-integer cost model, no reference slicing —
   * and the interpreter otherwise (`engine` tells which one runs).
   */
  engine?: Engine;
  /** JIT only: times a page is reached before code in it is translated (default 512; tests use 1 to translate everything). */
  jitThreshold?: number;
}

export const ENGINES = ["interp", "jit"] as const;
export type Engine = (typeof ENGINES)[number];

/** The engine asked for by PREVIRT_ENGINE, or "jit"; a UserError for any other value. */
export function defaultEngine(): Engine {
  const v = process.env.PREVIRT_ENGINE;
  // The interpreter, until the JIT wins end to end (docs/machine.md, "Measured speed").
  if (v === undefined || v === "") return "interp";
  if (!(ENGINES as readonly string[]).includes(v)) throw new UserError(`PREVIRT_ENGINE must be ${ENGINES.join(" or ")}, not '${v}'`);
  return v as Engine;
}

/** Host-side facts about a run: how the emulator executed it, never a simulated result. */
export interface HostStats {
  engine: Engine;
  jit?: JitCounters;
  /** Resident memory of the whole process when the run ended (bytes). */
  residentBytes: number;
}

/** The `--stats` block of HostStats, marked as host facts (they may differ by engine; simulated counters never do). */
export function formatHostStats(h: HostStats): string {
  const jit = h.jit ? ` ${Object.entries(h.jit).map(([k, n]) => `${k}=${n}`).join(" ")}` : "";
  return `host (not simulated): engine=${h.engine} residentMiB=${Math.round(h.residentBytes / 2 ** 20)}${jit}\n`;
}

const UF_AND_MODE = PSR.IE | PSR.SU | PSR.UF_MASK;
/** Causes that are faults (epc = the faulting instruction): the ones the crash rules look at. */
export const FAULT_CAUSES: ReadonlySet<number> = new Set<number>([
  CAUSE.ILLEGAL_INSTRUCTION, CAUSE.PRIVILEGED_INSTRUCTION, CAUSE.MISALIGNED,
  CAUSE.PAGE_FAULT_FETCH, CAUSE.PAGE_FAULT_LOAD, CAUSE.PAGE_FAULT_STORE, CAUSE.BUS_ERROR,
]);

export class Machine implements CpuHost, MmuHost {
  readonly memory: PhysicalMemory;
  readonly cpu: Cpu;
  readonly mmu: Mmu;
  readonly bus = new PortBus();
  readonly lines = new InterruptLines();
  readonly costModel: CostModel;
  readonly console: ConsoleDevice;
  readonly timer: TimerDevice;
  readonly disk: DiskDevice;
  monitor: Monitor | undefined;
  /** Per opcode: 1 when the monitor wants that instruction to exit. */
  private readonly exitMask = new Uint8Array(64);
  private readonly counters: MachineStats = emptyStats();
  private result: RunResult | undefined;
  private maxCycles = Infinity;
  private readonly referenceSlicing: boolean;
  private lastFault = { cause: -1, epc: 0, badva: 0, repeats: 0 };
  /** The engine that runs guest code (see MachineOptions.engine). */
  readonly engine: Engine;
  private readonly jit: JitEngine | undefined;

  constructor(options: MachineOptions = {}) {
    this.memory = new PhysicalMemory(options.ramSize ?? DEFAULT_RAM_SIZE);
    this.costModel = options.costModel ?? defaultCostModel();
    validateCostModel(this.costModel);
    this.referenceSlicing = options.referenceSlicing ?? false;
    this.mmu = new Mmu(this, CR.ptbr, CR.pgctl);
    this.cpu = new Cpu(this.memory, this.mmu.tlb, this, costTable(this.costModel));
    const wanted = options.engine ?? defaultEngine();
    const exact = !this.referenceSlicing && Object.values(this.costModel).every((c) => Number.isInteger(c));
    this.engine = wanted === "jit" && exact ? "jit" : "interp";
    this.jit = this.engine === "jit" ? new JitEngine(this.cpu, this.memory, this.mmu.tlb, this, options.jitThreshold) : undefined;

    this.console = new ConsoleDevice(options.consoleInput ?? bytesInput(""), options.consoleOutput ?? (() => {}), this.lines);
    this.timer = new TimerDevice(this.lines);
    this.disk = new DiskDevice(options.disk, this.memory, this.lines, options.diskLatency ?? DISK_LATENCY_CYCLES);
    this.bus.attach(this.console);
    this.bus.attach(this.timer);
    this.bus.attach(new CycleCounterDevice());
    this.bus.attach(this.disk);
    this.bus.attach(new PowerDevice((code) => this.powerOff(code)));
  }

  get watched(): Uint8Array {
    return this.mmu.watched;
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
    this.cpu.cycles += this.costModel[event] * count;
    this.counters.events[event] = (this.counters.events[event] ?? 0) + count;
  }

  /** Counts an unpriced event (exits by reason, …). */
  count(name: string, n = 1): void {
    this.counters.counts[name] = (this.counters.counts[name] ?? 0) + n;
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
    this.charge("tlbFlush");
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

  raiseLine(line: number): void {
    this.lines.raise(line);
  }
  lowerLine(line: number): void {
    this.lines.lower(line);
  }

  /** Port I/O on the machine's devices, for a monitor forwarding a guest's access: counted and charged like `in`/`out`. */
  portRead(port: number): number {
    this.noteDeviceAccess();
    return this.bus.read(port, this.cpu.cycles);
  }
  portWrite(port: number, value: number): void {
    this.noteDeviceAccess();
    this.bus.write(port, value, this.cpu.cycles);
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
    this.charge("exceptionEntry");
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
   */
  idle(): void {
    this.halt();
  }

  /** Stops the run with a reason (a monitor's verdict, or the machine's own). */
  stop(reason: StopReason, message: string, pcHasRun = false): void {
    if (this.result) return;
    this.result = {
      kind: "stopped",
      reason,
      message,
      exitCode: EXIT_STATUS[reason],
      diagnosis: formatDiagnosis(this, { message, inclusive: pcHasRun }),
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
    this.cpu.regs.fill(0);
    this.cpu.cr.fill(0);
    this.cpu.psr = PSR.SU;
    this.cpu.pc = entry | 0;
    this.mmu.tlb.flush();
    // The trace starts with a transfer to the entry point (from: nothing ran before it).
    this.cpu.trace.fill(-1);
    this.cpu.traceIdx = 0;
    this.cpu.noteTransfer(entry | 1, entry);
    this.monitor?.onReset?.(entry);
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
    this.maxCycles = maxCycles;
    const cpu = this.cpu;
    const bus = this.bus;
    const jit = this.jit;
    jit?.memoryMayHaveChanged(); // the loader, a monitor, a test: anything may have written since
    while (!this.result) {
      const now = cpu.cycles;
      if (now >= pause) return false;
      if (now >= maxCycles) {
        this.stop("max-cycles", `stopped after ${Math.floor(now)} cycles (--max-cycles ${maxCycles})`);
        break;
      }
      let next = bus.nextEvent();
      if (now >= next) {
        bus.fireDue(now);
        next = bus.nextEvent();
        jit?.memoryMayHaveChanged(); // disk DMA
      }
      if ((cpu.psr & PSR.IE) !== 0 && this.lines.pending !== 0) {
        const line = this.lines.lowest()!;
        this.counters.interrupts[line] = (this.counters.interrupts[line] ?? 0) + 1;
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

  /** How the run ended (undefined while it can go on). */
  get outcome(): RunResult | undefined {
    return this.result;
  }

  /** The counters so far. */
  stats(): MachineStats {
    const s = structuredClone(this.counters);
    s.instructions = this.cpu.instret;
    s.cycles = this.cpu.cycles;
    if (this.cpu.pauses !== 0) s.counts.pauses = (s.counts.pauses ?? 0) + this.cpu.pauses;
    return s;
  }

  /** How the emulator ran the guest (engine, translation counters): host facts, not simulated results. */
  hostStats(): HostStats {
    const residentBytes = process.memoryUsage.rss();
    return this.jit ? { engine: this.engine, jit: this.jit.counters(), residentBytes } : { engine: this.engine, residentBytes };
  }

  // ---------------------------------------------------------------- snapshots and dirty logging (src/migration)

  /** Everything but RAM and the monitor's own state (docs/migration.md). */
  saveState(): MachineState {
    const cpu = this.cpu;
    return {
      cpu: { regs: cpu.regs.slice(), pc: cpu.pc, psr: cpu.psr, cr: cpu.cr.slice(), cycles: cpu.cycles, instret: cpu.instret, trace: cpu.trace.slice(), traceIdx: cpu.traceIdx },
      tlb: this.mmu.tlb.save(),
      watched: this.mmu.monitorWatched.slice(),
      lines: this.lines.pending,
      counters: structuredClone(this.counters),
      lastFault: { ...this.lastFault },
      guestLimit: this.memory.guestLimit,
      timer: this.timer.saveState(),
      disk: this.disk.saveState(),
      console: this.console.saveState(),
    };
  }

  /**
   * Loads saved state into this machine (its monitor attached, RAM already
   * loaded). `exact`: also the TLB, the watched frames, psr and the control
   * registers — resuming on the back end that saved them. Otherwise those
   * stay as the new back end's monitor sets them from the neutral form.
   */
  restoreState(s: MachineState, exact: boolean): void {
    const cpu = this.cpu;
    cpu.regs.set(s.cpu.regs);
    cpu.pc = s.cpu.pc;
    cpu.cycles = s.cpu.cycles;
    cpu.instret = s.cpu.instret;
    cpu.trace.set(s.cpu.trace);
    cpu.traceIdx = s.cpu.traceIdx;
    this.lines.pending = s.lines;
    Object.assign(this.counters, structuredClone(s.counters));
    Object.assign(this.lastFault, s.lastFault);
    this.timer.restoreState(s.timer);
    this.disk.restoreState(s.disk);
    this.console.restoreState(s.console);
    if (exact) {
      cpu.psr = s.cpu.psr;
      cpu.cr.set(s.cpu.cr);
      for (let f = 0; f < s.watched.length; f++) if (s.watched[f] !== this.mmu.monitorWatched[f]) this.mmu.setWatched(f << 12, s.watched[f] === 1);
      this.mmu.tlb.restore(s.tlb);
    } else {
      this.mmu.tlb.flush();
    }
  }

  /**
   * Starts (or restarts, for a new round) dirty logging: every guest frame is
   * write-protected; its first store is logged and charged `dirtyFault`, as a
   * hypervisor's log-dirty mode does. Writes by devices and monitors through
   * the memory API are logged by PhysicalMemory. Read the log with `takeDirty`.
   */
  startDirtyLog(): void {
    this.memory.dirty = new Uint8Array(this.memory.size >>> 12);
    this.mmu.protectAll(this.memory.guestLimit);
  }

  /** The frames written since the log was (re)started, ascending; restarts the log for the next round. */
  takeDirty(): number[] {
    const d = this.memory.dirty!;
    const out: number[] = [];
    const limit = this.memory.guestLimit >>> 12;
    for (let f = 0; f < limit; f++) if (d[f] === 1) out.push(f);
    this.startDirtyLog();
    return out;
  }

  stopDirtyLog(): void {
    this.memory.dirty = undefined;
    this.mmu.stopLogging();
  }

  // ---------------------------------------------------------------- CpuHost (slow paths)

  raise(cause: number, epc: number, badva?: number): void {
    const name = causeName(cause);
    this.counters.exceptions[name] = (this.counters.exceptions[name] ?? 0) + 1;
    const monitor = this.monitor;
    if (monitor?.onException && monitor.onException({ cause, epc, badva }) === "resume") return;
    this.deliverException(cause, epc, badva);
  }

  translateAccess(va: number, access: Access, user: boolean): number | Fault {
    return this.mmu.translate(va, access, user);
  }

  watchedStore(pa: number, value: number, size: 1 | 2 | 4, va: number, pc: number): void {
    const f = pa >>> 12;
    if (this.mmu.logProtected?.[f] === 1) {
      // The frame's first store since the dirty log was (re)started: log it, let later stores run fast.
      this.memory.dirty![f] = 1;
      this.mmu.unprotect(f);
      this.count("dirtyFaults");
      this.charge("dirtyFault");
      if (this.mmu.monitorWatched[f] === 0) {
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
        this.charge("exceptionReturn");
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
        this.noteDeviceAccess();
        regs[rd] = this.bus.read(imm, cpu.cycles);
        regs[0] = 0;
        return;
      case OP.out:
        this.noteDeviceAccess();
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
  private halt(): void {
    const cpu = this.cpu;
    if (this.lines.pending !== 0) return;
    const next = this.bus.nextEvent();
    if (next === Infinity) {
      if (this.console.canWake()) {
        this.console.read(0x11); // refreshes line 1
        if (this.lines.pending !== 0) return;
      }
      cpu.pc = (cpu.pc - 4) | 0; // report the hlt itself
      const why = cpu.psr & PSR.IE ? "hlt with no device event that could wake the CPU" : "hlt with interrupts disabled and nothing pending";
      this.stop("hlt-deadlock", why, true);
      return;
    }
    const target = Math.min(next, this.maxCycles);
    if (target > cpu.cycles) {
      this.count("idleCycles", target - cpu.cycles);
      cpu.cycles = target;
    }
  }

  private stopCrash(reason: StopReason, message: string, cause: number, epc: number, badva?: number): void {
    if (this.result) return;
    this.cpu.pc = epc;
    this.result = {
      kind: "stopped",
      reason,
      message,
      exitCode: EXIT_STATUS[reason],
      diagnosis: formatDiagnosis(this, { message, cause, badva, faultPc: FAULT_CAUSES.has(cause) ? epc : undefined }),
    };
  }

  /** MmuHost: a TLB miss was walked. */
  noteTlbMiss(): void {
    this.counters.tlbMisses++;
    this.charge("tlbMissWalk");
  }

  private noteDeviceAccess(): void {
    this.counters.deviceAccesses++;
    this.charge("deviceAccess");
  }
}

/** The smallest limit above `cycles` that float64 can tell from it: one instruction per slice, at any clock. */
export function justAbove(cycles: number): number {
  return cycles + Math.max(1e-9, Math.abs(cycles) * 4 * Number.EPSILON);
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

export { IRQ, ACCESS };
