// The monitor hook interface: how a back end (hvm, trap, xen, l4) sits
// under a guest without the CPU core knowing it exists.
//
// A Monitor is attached to a Machine before it runs. The machine calls it
// only on slow paths — exceptions, privileged/sensitive instructions, hcall,
// TLB misses, stores to watched pages — so a machine without a monitor (bare)
// pays nothing for the hooks, and one with a monitor pays only where it asked
// to. In the other direction the monitor drives the machine through the
// Machine's public methods: CPU state (`regs`, `pc`, `psr`, `cr`), physical
// memory, `translate`, `tlbFlush`/`tlbInvalidate`, `watchFrame`,
// `raiseLine`/`lowerLine`, `deliverException`, `charge`/`count`, `portRead`/
// `portWrite`, `reserveTop`, `stop`. test/machine/monitor.test.ts is the
// contract test: a small monitor exercising every hook.
//
// Costs: the machine charges what the hardware does (instruction classes,
// exception entry when it delivers to the guest's tvec, TLB walks, device
// accesses). A monitor charges what *it* represents — `vmExit`, `hypercall`,
// `shadowUpdate`, `ipc`, … — with `machine.charge(event, n)`.

import type { Mnemonic } from "../guest-isa/isa-table.js";
import type { Machine } from "./machine.js";

/** Kinds of memory access, for translation and page-fault causes. */
export const ACCESS = { FETCH: 0, LOAD: 1, STORE: 2 } as const;
export type Access = (typeof ACCESS)[keyof typeof ACCESS];

/** A guest-visible fault, as a value (never thrown). */
export class Fault {
  constructor(
    readonly cause: number,
    /** The faulting virtual address, for memory faults. */
    readonly badva?: number,
  ) {}
}

/** An exception about to be delivered: `epc` follows docs/design.md §2's rules. */
export interface TrapInfo {
  readonly cause: number;
  readonly epc: number;
  /** Set for memory faults (page faults, misaligned, bus error). */
  readonly badva?: number;
}

/**
 * What the monitor did with an intercepted exception:
 * - "deliver": not mine — the machine delivers it to the guest's tvec as on bare metal;
 * - "resume": handled — execution continues at the machine's current `pc`
 *   (unchanged: retry the faulting instruction; or wherever the monitor set it).
 */
export type TrapDisposition = "deliver" | "resume";

/**
 * What the monitor did with an exiting instruction (or an hcall):
 * - "advance": emulated it — the machine continues at pc + 4;
 * - "resume": continue at the machine's current pc, which the monitor may have set;
 * - "native": execute it as the hardware would (for hcall: illegal instruction).
 */
export type ExitAction = "advance" | "resume" | "native";

/** A translation a monitor supplies on a TLB miss. `frame` may lie in monitor-reserved RAM. */
export interface MonitorTranslation {
  /** Physical base address of the 4 KiB frame. */
  readonly frame: number;
  readonly writable: boolean;
  /** Accessible in user mode (SU=0). */
  readonly user: boolean;
}

/** A psr and control registers (by CR number) as a guest sees them. */
export interface GuestRegisters {
  psr: number;
  cr: number[];
}

export interface Monitor {
  readonly name: string;
  /**
   * Instructions that exit to `onExit` before any privilege check, in any
   * mode (hvm: every sensitive instruction; trap: none — privileged ones
   * reach it as cause-2 exceptions, rdpsr/wrpsr run natively). Only
   * privileged and sensitive instructions (the "system" slow path) can exit.
   */
  readonly exits?: readonly Mnemonic[];
  /** Called once by `machine.attach(monitor)`: reserve memory, watch frames, set state. */
  attach?(machine: Machine): void;
  /**
   * The executing CPU's psr and control registers as its guest sees them,
   * where the monitor keeps some virtual (a deprivileged kernel's mode and
   * trap vector, shadowed ptbr/pgctl): a crash diagnosis shows them beside
   * the real CPU's. Reads only. Without this hook the real ones are the guest's.
   */
  guestRegisters?(): GuestRegisters;
  /**
   * Called by `machine.reset(entry)` after the architectural reset state is
   * set: a monitor whose guest does not run on the bare CPU state (a
   * deprivileged kernel, a virtual CPU) sets up its own here.
   */
  onReset?(entry: number): void;
  /**
   * A multiprocessor's CPU `n` was started at `entry` (port 0x42 or
   * `machine.startCpu`): called in CPU n's context (machine.cpuId = n) after
   * its architectural reset state is set, as `onReset` is for CPU 0.
   */
  onCpuStart?(n: number, entry: number): void;
  /**
   * Scheduling of virtual CPUs on fewer physical ones (`--pcpus`): asked at
   * the start of each interleaving epoch for every running or halted CPU.
   * False: the CPU holds no physical CPU this epoch — it does not execute,
   * its clock moves to the epoch's end, counted as descheduled cycles.
   * Without this hook every CPU runs every epoch.
   */
  runnable?(cpu: number, epochStart: number): boolean;
  /** An instruction in `exits` is about to execute at `pc`; the machine's pc still points at it. */
  onExit?(mnemonic: Mnemonic, word: number, pc: number): ExitAction;
  /** Every exception and interrupt, before the guest's tvec sees it. */
  onException?(trap: TrapInfo): TrapDisposition;
  /** `hcall n` at `pc`. Without this hook (bare metal) hcall is an illegal instruction. */
  onHcall?(n: number, pc: number): ExitAction;
  /**
   * Every TLB miss, before the guest's page tables are walked: return a
   * translation (cached in the TLB until the guest or the monitor flushes
   * it), a Fault to raise, or undefined for the native walk. A monitor
   * whose answer depends on its own state (e.g. the soft-layer window,
   * visible only while the virtual CPU is in guest supervisor mode) must
   * call `machine.tlbInvalidate(va)` when that state changes.
   */
  translate?(va: number, access: Access, user: boolean): MonitorTranslation | Fault | undefined;
  /**
   * `translate` as the MMU's TLB refill asks it, with no object made per
   * miss: the frame's base with the entry's permission bits in its low bits
   * (V 1, W 2, U 4: mmu/tlb.ts PERM), a Fault, or undefined. A monitor that
   * has it is asked this on every TLB miss instead of `translate`, which
   * must give the same answers (the same frame, W and U) and effects.
   */
  refill?(va: number, access: Access, user: boolean): number | Fault | undefined;
  /**
   * A store to a watched frame (`machine.watchFrame`) instead of the write:
   * the machine then continues at pc + 4, so the monitor emulates the store
   * (or not). `pa` is the physical address the store would have written.
   */
  onWatchedStore?(pa: number, value: number, size: 1 | 2 | 4, va: number, pc: number): void;
  /**
   * A guest load or store (`store`, with `value`) reached a device register
   * at physical `pa` through a translation (docs/machine.md "MMIO"), before
   * the machine performs it: the monitor charges what the access costs it (a
   * trapped access: an exit) and may refuse it (false: a bus error for the
   * guest). Without this hook the access goes straight to the device.
   */
  onDeviceAccess?(pa: number, store: boolean, value: number): boolean;
}
