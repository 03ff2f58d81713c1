// Builds a machine for one image, runs it, and returns the result, the
// counters and the console output: the in-process entry point the CLI,
// `previrt matrix`, tests and benchmarks use (through src/hypervisors'
// runElf, which adds the back end).

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
  const result = machine.run(options.maxCycles ?? Infinity);
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
