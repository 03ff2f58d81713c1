// Builds a machine for one image, runs it, and returns the result, the
// counters and the console output: the in-process entry point the CLI,
// `previrt matrix`, tests and benchmarks use (through src/hypervisors'
// runElf, which adds the back end). `previrt run` runs it in slices
// (runImageSliced), so that the user's Ctrl-C ends a guest that would run
// for ever with a diagnosis rather than with nothing.

import type { ElfImage } from "../guest-isa/elf-types.js";
import type { Device } from "./bus/ports.js";
import type { CostModel } from "./cost-model.js";
import { bytesInput, type ConsoleInput } from "./devices/console.js";
import { memoryDisk, type DiskBacking } from "./devices/disk.js";
import type { RunResult } from "./diagnosis.js";
import { loadImage } from "./loader.js";
import { Machine, type Engine, type HostStats } from "./machine.js";
import type { Monitor } from "./monitor.js";
import type { MachineStats } from "./stats.js";

export interface RunImageOptions {
  /** The binary's file name, for the loader's errors (a section outside guest RAM). */
  file?: string;
  monitor?: Monitor;
  maxCycles?: number;
  /** Console input: bytes, a string, or a ConsoleInput (e.g. the CLI's stdinInput()). Default: none. */
  stdin?: Uint8Array | string | ConsoleInput;
  /** A disk: an in-memory image (modified in place by writes) or a backing. */
  disk?: Uint8Array | DiskBacking;
  /** The memory-mapped disk (devices/nvdisk.ts): an in-memory image or a backing; none when absent. */
  nvdisk?: Uint8Array | DiskBacking;
  costModel?: CostModel;
  ramSize?: number;
  diskLatency?: number;
  /** See MachineOptions.referenceSlicing (tests only). */
  referenceSlicing?: boolean;
  /** See MachineOptions.engine: "interp" or "jit" (default: PREVIRT_ENGINE, else "jit"). */
  engine?: Engine;
  /** See MachineOptions.jitThreshold (tests). */
  jitThreshold?: number;
  /** Whether protection domains the guest asks for take effect (default true; docs/protection.md). */
  protect?: boolean;
  /** Streams console output as it is produced (it is also returned). */
  onOutput?: (text: string) => void;
  /** CPUs (MachineOptions.cpus, 1–8) and the interleaving quantum (MachineOptions.quantum). */
  cpus?: number;
  quantum?: number;
  /**
   * Physical CPUs a hypervisor time-slices the CPUs on (`--pcpus`, fewer than
   * `cpus`): for the back end's monitor (src/hypervisors runElf passes it to
   * Backend.createMonitor); the machine itself does not read it.
   */
  pcpus?: number;
  /** Addresses of the image's `lock` sites: spin accounting (MachineOptions.lockSites). */
  lockSites?: readonly number[];
  /** Where the image takes ticket-lock tickets (MachineOptions.ticketSites). */
  ticketSites?: readonly number[];
  /** More devices on the port bus (MachineOptions.devices). */
  devices?: readonly Device[];
}

export interface RunOutcome {
  result: RunResult;
  stats: MachineStats;
  /** How the emulator ran it (engine, JIT counters): host facts that may differ by engine, unlike `stats`. */
  host: HostStats;
  /** Everything the guest wrote to the console. */
  console: string;
  machine: Machine;
}

export function runImage(image: ElfImage, options: RunImageOptions = {}): RunOutcome {
  const { machine, console } = buildMachine(image, options);
  return outcomeOf(machine.run(options.maxCycles ?? Infinity), machine, console);
}

/**
 * What runSliced's caller does between two slices (the CLI: lets Node's
 * event loop run, so that a SIGINT handler can run): resolves to the reason
 * to stop the run with ("interrupted (SIGINT)"), or undefined to go on.
 */
export type BetweenSlices = () => Promise<string | undefined>;

/**
 * Cycles per slice of runSliced: 2^24, a few hundredths of a second of host
 * time under either engine — soon enough for a user's Ctrl-C, and rare
 * enough that the pauses (each a new verification epoch for the JIT) cost
 * nothing measurable.
 */
export const SLICE_CYCLES = 1 << 24;

/**
 * runImage, with the run in slices of `slice` cycles and `between` awaited
 * after each. Pausing changes nothing (Machine.runUntil; a multiprocessor
 * pauses at an epoch boundary; test/machine/slicing.test.ts), so a run that
 * `between` never stops has runImage's results exactly
 * (test/machine/run-sliced.test.ts). When `between` gives a reason, the run
 * stops there — reason "interrupted", status 130 — with the diagnosis of
 * where the guest was.
 */
export async function runImageSliced(image: ElfImage, options: RunImageOptions, between: BetweenSlices, slice = SLICE_CYCLES): Promise<RunOutcome> {
  const { machine, console } = buildMachine(image, options);
  return outcomeOf(await runSliced(machine, options.maxCycles ?? Infinity, between, slice), machine, console);
}

/**
 * Stops `machine` for the reason `between` gave (the user's Ctrl-C): reason
 * "interrupted", status 130, `cycles` its clock (a multi-guest host's is
 * global time).
 */
export function stopInterrupted(machine: Machine, why: string, cycles = machine.cycles): void {
  machine.stop("interrupted", `${why} after ${Math.floor(cycles)} cycles`);
}

/** `machine.run(maxCycles)` in slices, `between` awaited after each (runImageSliced; `previrt resume` runs a restored machine so). */
export async function runSliced(machine: Machine, maxCycles: number, between: BetweenSlices, slice = SLICE_CYCLES): Promise<RunResult> {
  while (!machine.runUntil(machine.cycles + slice, maxCycles)) {
    const why = await between();
    if (why !== undefined) {
      stopInterrupted(machine, why);
      break;
    }
  }
  return machine.outcome!;
}

function outcomeOf(result: RunResult, machine: Machine, console: () => string): RunOutcome {
  return { result, stats: machine.stats(), host: machine.hostStats(), console: console(), machine };
}

/**
 * The machine runImage runs, built and loaded but not started (the
 * multi-guest host, src/hypervisors/domains, runs several in windows):
 * `console()` is everything the guest has written so far.
 */
export function buildMachine(image: ElfImage, options: RunImageOptions = {}): { machine: Machine; console: () => string } {
  let consoleText = "";
  const stdin = options.stdin;
  const machine = new Machine({
    ramSize: options.ramSize,
    costModel: options.costModel,
    consoleInput: stdin === undefined ? undefined : typeof stdin === "string" || stdin instanceof Uint8Array ? bytesInput(stdin) : stdin,
    consoleOutput: (t) => {
      consoleText += t;
      options.onOutput?.(t);
    },
    disk: options.disk instanceof Uint8Array ? memoryDisk(options.disk) : options.disk,
    nvdisk: options.nvdisk instanceof Uint8Array ? memoryDisk(options.nvdisk) : options.nvdisk,
    diskLatency: options.diskLatency,
    referenceSlicing: options.referenceSlicing,
    engine: options.engine,
    jitThreshold: options.jitThreshold,
    protection: options.protect,
    cpus: options.cpus,
    quantum: options.quantum,
    lockSites: options.lockSites,
    ticketSites: options.ticketSites,
    devices: options.devices,
  });
  if (options.monitor) machine.attach(options.monitor);
  loadImage(machine, image, options.file);
  return { machine, console: () => consoleText };
}
