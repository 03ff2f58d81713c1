// The migration matrix (`previrt matrix ELF --migrate`): every ordered pair
// of back ends that accept the binary, each migrated (stop-and-copy) at
// several points, each migrated run compared with the unmigrated bare run —
// the invariant of docs/migration.md: the same console, the same ending.
// Snapshots are taken once per source and point (pausing the source run;
// pauses change nothing) and restored on every target. The runs are steps
// for drive.ts: at once, or in slices that Ctrl-C can stop (the CLI).

import type { ElfImage } from "../guest-isa/elf-types.js";
import { backends, checkCpuOptions, getBackend, prepareImage } from "../hypervisors/index.js";
import { compareRuns, type Verdict } from "../hypervisors/matrix.js";
import type { CostModel } from "../machine/cost-model.js";
import { memoryDisk } from "../machine/devices/disk.js";
import type { RunResult } from "../machine/diagnosis.js";
import type { Engine, HostStats, Machine } from "../machine/machine.js";
import type { MachineStats } from "../machine/stats.js";
import type { BetweenSlices } from "../machine/run-image.js";
import { driveAtOnce, driveSliced, type RunSteps } from "./drive.js";
import { bootGuest } from "./guest.js";
import { runToSafePoint } from "./safe-point.js";
import { captureSnapshot, restoreGuest } from "./snapshot.js";

export interface MigrationMatrixOptions {
  /** Back ends to pair (default: every registered one that accepts the binary). */
  backends?: readonly string[];
  /** Migration points in cycles (default: 1/4, 1/2 and 3/4 of the bare run). */
  points?: readonly number[];
  maxCycles?: number;
  costModel?: CostModel;
  /** A fresh copy of the disk image for each run. */
  disk?: () => Uint8Array;
  /** CPUs and quantum of every run (back ends that cannot run that many CPUs are left out). */
  cpus?: number;
  quantum?: number;
  /** The engine (identical results) and the in-place VMM's protection domain (GuestOptions). */
  engine?: Engine;
  protect?: boolean;
  /** The binary's file name, for error messages (GuestOptions.file). */
  file?: string;
}

export interface MigrationCell {
  from: string;
  to: string;
  /** The requested point and the safe point the guest was moved at (undefined: it ended first). */
  at: number;
  movedAt?: number;
  verdict: Verdict | { kind: "not-migrated" };
  result: RunResult;
  /** The counters and host facts of the machine the guest ended on (the source's, not migrated), for `matrix --migrate --json`. */
  stats: MachineStats;
  host: HostStats;
}

export interface MigrationMatrix {
  reference: { console: string; result: RunResult; cycles: number; stats: MachineStats; host: HostStats };
  backends: string[];
  points: number[];
  cells: MigrationCell[];
  /** Set when the user stopped it (migrationMatrixSliced): `cells` holds the moves done before. */
  interrupted?: boolean;
}

export function migrationMatrix(elf: Uint8Array, image: ElfImage, options: MigrationMatrixOptions = {}): MigrationMatrix {
  return driveAtOnce(matrixSteps(elf, image, options), options.maxCycles);
}

/**
 * migrationMatrix with every run in slices, `between` awaited after each (`previrt
 * matrix --migrate`'s Ctrl-C): when it gives a reason, the matrix ends there,
 * `interrupted` set and the cells done so far.
 */
export function migrationMatrixSliced(elf: Uint8Array, image: ElfImage, options: MigrationMatrixOptions, between: BetweenSlices): Promise<MigrationMatrix> {
  return driveSliced(matrixSteps(elf, image, options), options.maxCycles, between);
}

/** The matrix's runs as steps for drive.ts: the reference, each source to each point, each target to its end. */
function* matrixSteps(elf: Uint8Array, image: ElfImage, options: MigrationMatrixOptions): RunSteps<MigrationMatrix> {
  const names = (options.backends ?? [...backends.keys()]).filter((n) => {
    try {
      prepareImage(getBackend(n), image);
      checkCpuOptions(getBackend(n), { cpus: options.cpus });
      return true;
    } catch {
      return false; // e.g. a para-virtualized binary elsewhere than xen
    }
  });
  const fresh = () => ({ file: options.file, costModel: options.costModel, disk: options.disk ? memoryDisk(options.disk()) : undefined, cpus: options.cpus, quantum: options.quantum, engine: options.engine, protect: options.protect });
  const maxCycles = options.maxCycles ?? Infinity;
  const bare = bootGuest(elf, image, "bare", fresh());
  const stopped = yield { machine: bare.machine, until: Infinity };
  const reference = { console: bare.console, result: bare.machine.outcome!, cycles: bare.cycles, ...counters(bare.machine) };
  // Each machine's RAM goes back for the next run once the matrix has taken what it keeps of it (PhysicalMemory.recycle:
  // a recycled buffer is zeroed, no simulated result changes; fewer 64 MiB buffers for the garbage collector, and the
  // tests' written-record check maps none afresh). Ownership: matrixSteps makes every machine here and hands none out —
  // a cell keeps the run's result and counters (plain data, taken first), a snapshot copies its source's pages.
  bare.machine.memory.recycle();
  const points = [...(options.points ?? [0.25, 0.5, 0.75].map((f) => Math.floor(reference.cycles * f)))];
  const cells: MigrationCell[] = [];
  const matrix = { reference, backends: names, points, cells };
  if (stopped) return { ...matrix, interrupted: true };
  for (const from of names) {
    const g = bootGuest(elf, image, from, fresh());
    for (const at of points) {
      if (yield { machine: g.machine, until: at }) return { ...matrix, interrupted: true };
      const sp = runToSafePoint(g, at, maxCycles);
      if (!sp.reached) {
        for (const to of names) if (to !== from) cells.push({ from, to, at, verdict: { kind: "not-migrated" }, result: g.machine.outcome!, ...counters(g.machine) });
        continue;
      }
      const snap = captureSnapshot(g);
      for (const to of names) {
        if (to === from) continue;
        const { guest } = restoreGuest(snap, to, { image, ...fresh() });
        if (yield { machine: guest.machine, until: Infinity }) return { ...matrix, interrupted: true };
        const result = guest.machine.outcome!;
        cells.push({ from, to, at, movedAt: sp.cycle, verdict: compareRuns(reference, { console: guest.console, result }), result, ...counters(guest.machine) });
        guest.machine.memory.recycle();
      }
    }
    g.machine.memory.recycle();
  }
  return matrix;
}

/** A finished machine's counters and host facts (taken when it ends: a source machine runs on to later points). */
function counters(machine: Machine): { stats: MachineStats; host: HostStats } {
  return { stats: machine.stats(), host: machine.hostStats() };
}
