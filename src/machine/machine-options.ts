// What a machine is built with and what it reports about the host: the
// options (MachineOptions), the choice of engine (`defaultEngine`: the
// PREVIRT_ENGINE variable, else the JIT) and the host-side facts of a run
// (HostStats, never a simulated result).
//
// Consumed by machine.ts (its constructor and hostStats), the CLI, back ends
// and tests that build machines; re-exported by machine.ts, where callers
// have always found them. Data only, and two small functions.

import { UserError } from "../guest-isa/diagnostics.js";
import type { Device } from "./bus/ports.js";
import type { CostModel } from "./cost-model.js";
import type { ConsoleInput } from "./devices/console.js";
import type { DiskBacking } from "./devices/disk.js";
import type { JitCounters } from "./jit/engine.js";

export interface MachineOptions {
  /** Physical RAM in bytes (multiple of 4 KiB); default 64 MiB. */
  ramSize?: number;
  /**
   * Run the CPU one instruction per slice, checking events and interrupts
   * between every two instructions: the reference the normal run must match
   * exactly (test/machine/slicing.test.ts). Slow; for tests only.
   */
  referenceSlicing?: boolean;
  /**
   * Addresses of the image's `lock` sites (the rewriter's site table): turns
   * on spin accounting (spin-accounting.ts; counters spinCycles,
   * lockHolderPreemptions). Default: none.
   */
  lockSites?: readonly number[];
  /** Addresses of the amoadds that take a ticket lock's ticket (`ticket` sites, or their stub copies): spin accounting. */
  ticketSites?: readonly number[];
  costModel?: CostModel;
  /** Console input; default: none (reads return -1). */
  consoleInput?: ConsoleInput;
  /** Receives console output text (flushed per line and at the end). */
  consoleOutput?: (text: string) => void;
  disk?: DiskBacking;
  /** Modelled disk latency in cycles (default DISK_LATENCY_CYCLES); the nvdisk's too. */
  diskLatency?: number;
  /** The memory-mapped disk (devices/nvdisk.ts, docs/machine.md "MMIO"): attached only when given. */
  nvdisk?: DiskBacking;
  /**
   * How guest code is executed: "interp" (the interpreter, the reference) or
   * "jit" (translated blocks, jit/engine.ts; identical results). Default: the
   * PREVIRT_ENGINE environment variable, else "jit" (`defaultEngine`). The JIT is used only
   * where it is exact — an all-integer cost model, no reference slicing —
   * and the interpreter otherwise (`engine` tells which one runs).
   */
  engine?: Engine;
  /** JIT only: times a page is reached before code in it is translated (default 512; tests use 1 to translate everything). */
  jitThreshold?: number;
  /** Whether the guest's memory-supervisor calls take effect (protection/supervisor.ts; default true). */
  protection?: boolean;
  /** CPUs sharing physical memory, 1–MAX_CPUS (default 1). CPU 0 starts at the entry; the others when started (port 0x42). */
  cpus?: number;
  /** Cycles per interleaving epoch of a multiprocessor (default DEFAULT_QUANTUM); ignored with one CPU. */
  quantum?: number;
  /**
   * The host's resident memory in bytes, for hostStats (a host fact, never a
   * simulated one). Default: the Node process's resident set where there is
   * one, else 0 (a browser has no such figure).
   */
  residentBytes?: () => number;
  /**
   * More devices on every CPU's port bus, without events (a device that
   * interrupts raises lines itself): the multi-guest host's domain device
   * (ports 0x60–0x65, src/hypervisors/domains). Default: none.
   */
  devices?: readonly Device[];
}

/** The default MachineOptions.residentBytes. */
export function processResidentBytes(): number {
  return globalThis.process?.memoryUsage?.rss() ?? 0;
}

export const ENGINES = ["interp", "jit"] as const;
export type Engine = (typeof ENGINES)[number];

/** The engine asked for by PREVIRT_ENGINE, or "jit"; a UserError for any other value. */
export function defaultEngine(): Engine {
  // Guarded: in a browser (the playground) there is no process and no environment.
  const v = globalThis.process?.env?.PREVIRT_ENGINE;
  // The JIT: same results, and faster on the whole of what users run (docs/speed-history.md
  // "Tenth round: the default engine"); the machine still interprets where it is not exact.
  if (v === undefined || v === "") return "jit";
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
