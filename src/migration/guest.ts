// A running guest as migration sees it: the original binary (the snapshot
// keeps it, and every back end re-patches from it), the back end, what the
// rewriter did for it, the machine, the disk and the console so far.
//
// Consumes an ELF (bytes and parsed image) and a back end (its name, or the
// object, as runElf takes it); produces a booted (reset, not yet run) Guest,
// or — from snapshot.ts — a restored one.
// Sits between the CLI and src/hypervisors: the CLI's run/resume/migrate
// commands drive a Guest; it drives a Machine and a Monitor.

import { backendFrom, checkCpuOptions, prepareImage, spinSites, type Backend } from "../hypervisors/index.js";
import { checkPassthrough } from "../hypervisors/common/bypass.js";
import { isMigratable } from "../hypervisors/common/neutral-state.js";
import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { defaultCostModel, type CostModel } from "../machine/cost-model.js";
import { bytesInput, type ConsoleInput } from "../machine/devices/console.js";
import { DISK_LATENCY_CYCLES, type DiskBacking } from "../machine/devices/disk.js";
import type { RunResult } from "../machine/diagnosis.js";
import { loadImage } from "../machine/loader.js";
import { Machine, type Engine } from "../machine/machine.js";
import { DEFAULT_RAM_SIZE } from "../machine/memory.js";
import type { Monitor } from "../machine/monitor.js";
import type { RewriteResult } from "../rewriter/index.js";

export interface GuestOptions {
  costModel?: CostModel;
  ramSize?: number;
  diskLatency?: number;
  disk?: DiskBacking;
  stdin?: ConsoleInput;
  /** Receives console output as the guest produces it. */
  onOutput?: (text: string) => void;
  /** The binary's file name, for error messages. */
  file?: string;
  /** CPUs, interleaving quantum and physical CPUs (MachineOptions.cpus/quantum; the back end's --pcpus). */
  cpus?: number;
  quantum?: number;
  pcpus?: number;
  /** The --pcpus scheduler's time slice (`--timeslice`; docs/vcpus.md). */
  timeslice?: number;
  /** The memory-mapped disk (`--nvdisk`), and whether it is passed through (`--passthrough`; docs/driver-vms.md). */
  nvdisk?: DiskBacking;
  passthrough?: boolean;
  /** The engine that runs guest code (MachineOptions.engine; identical results). */
  engine?: Engine;
  /** See MachineOptions.jitThreshold (tests). */
  jitThreshold?: number;
  /** The in-place VMM's protection domain on xen and l4 (default on; `--no-protect`, docs/protection.md). */
  protect?: boolean;
}

export class Guest {
  /** Everything the guest printed so far (across migrations). */
  console = "";
  readonly costModel: CostModel;
  readonly ramSize: number;
  readonly diskLatency: number;

  constructor(
    readonly elf: Uint8Array,
    readonly image: ElfImage,
    readonly backend: Backend,
    readonly rewrite: RewriteResult,
    readonly machine: Machine,
    readonly monitor: Monitor | undefined,
    readonly disk: DiskBacking | undefined,
    /** What the guest was made with (a migration gives the target the same console and disk). */
    readonly options: GuestOptions,
  ) {
    this.costModel = options.costModel ?? defaultCostModel();
    this.ramSize = options.ramSize ?? DEFAULT_RAM_SIZE;
    this.diskLatency = options.diskLatency ?? DISK_LATENCY_CYCLES;
  }

  get cycles(): number {
    return this.machine.cycles;
  }

  /** Runs on to the end (power-off, a stop, or maxCycles). */
  finish(maxCycles = Infinity): RunResult {
    return this.machine.run(maxCycles);
  }
}

/**
 * Builds a machine for `on` (a back end's name, or the object, as runElf
 * takes it) with its monitor attached — nothing
 * loaded yet. The rewriter runs first, so a binary the back end refuses
 * (para-virtualized for another hypervisor, a bad site table) is a UserError
 * before any machine exists.
 */
export function newGuest(elf: Uint8Array, image: ElfImage, on: string | Backend, options: GuestOptions): Guest {
  const backend = backendFrom(on);
  const passthrough = checkPassthrough(backend, options.passthrough, options.nvdisk !== undefined);
  const monitorOptions = { ...checkCpuOptions(backend, options), passthrough };
  const rewrite = prepareImage(backend, image, options.file, "native", passthrough);
  // Spin accounting (docs/smp-virtualization.md), as runElfOn sets it up.
  const { lockSites, ticketSites } = spinSites(rewrite);
  const monitor = backend.createMonitor?.(rewrite, { ...monitorOptions, protect: options.protect });
  checkMigratable(backend, monitor);
  const holder: { guest?: Guest } = {};
  const machine = new Machine({
    ramSize: options.ramSize,
    costModel: options.costModel,
    consoleInput: options.stdin ?? bytesInput(""),
    consoleOutput: (t) => {
      holder.guest!.console += t;
      options.onOutput?.(t);
    },
    disk: options.disk,
    nvdisk: options.nvdisk,
    diskLatency: options.diskLatency,
    cpus: options.cpus,
    quantum: options.quantum,
    engine: options.engine,
    jitThreshold: options.jitThreshold,
    // --no-protect: no protection unit at all (the guest's memory supervisor is off too), as run-image.ts builds it.
    protection: options.protect,
    lockSites,
    ticketSites,
  });
  if (monitor) machine.attach(monitor);
  holder.guest = new Guest(elf, image, backend, rewrite, machine, monitor, options.disk, options);
  return holder.guest;
}

/**
 * A UserError unless a guest under `monitor` (the back end's; none on bare
 * metal) can be snapshotted and moved: its monitor must be a
 * MigratableMonitor, or the guest's virtual state would be taken from (or
 * put into) the CPU as if it ran on bare metal — silently wrong for any
 * monitor that keeps some of it itself.
 */
export function checkMigratable(backend: Backend, monitor: Monitor | undefined): void {
  if (monitor && !isMigratable(monitor)) {
    throw new UserError(`--hv ${backend.name} cannot snapshot or move a guest: its monitor is no MigratableMonitor (src/hypervisors/common/neutral-state.ts)`);
  }
}

/** A guest booted from its binary: loaded, at the reset state, not yet run. */
export function bootGuest(elf: Uint8Array, image: ElfImage, on: string | Backend, options: GuestOptions): Guest {
  const g = newGuest(elf, image, on, options);
  loadImage(g.machine, g.rewrite.image, options.file);
  return g;
}

/**
 * `f()`; when it throws (a move or a restore refused), `guest`'s RAM goes back
 * for the next machine of the process (PhysicalMemory.recycle: a recycled
 * buffer is zeroed, no simulated result changes) before the error leaves.
 * The caller promises that it made `guest` and hands it out only in what
 * `f` returns, so after a throw nothing reads that RAM again.
 */
export function giveBackIfThrows<T>(guest: Guest, f: () => T): T {
  try {
    return f();
  } catch (e) {
    guest.machine.memory.recycle();
    throw e;
  }
}
