// Shared by the migration tests: the bundled kernel built once per workload
// (ELF bytes + image), its unmigrated bare-metal run (the reference every
// migrated run must print and end like), and a scan that runs a guest on a
// source back end, pausing every `step` cycles, and snapshots it where a
// condition first holds (at the next safe point).
import { buildKernel, kernelDisk, type Workload } from "../../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { bootGuest, type Guest } from "../../src/migration/guest.js";
import { runToSafePoint, SiteMap } from "../../src/migration/safe-point.js";
import { captureSnapshot, restoreGuest, type Snapshot } from "../../src/migration/snapshot.js";

export const MAX_CYCLES = 400_000_000;

export { refusal } from "../refusal.js";
export const PAIR_BACKENDS = ["bare", "hvm", "xen", "l4"] as const;
export const ORDERED_PAIRS = PAIR_BACKENDS.flatMap((from) => PAIR_BACKENDS.filter((to) => to !== from).map((to) => [from, to] as const));

export interface Kernel {
  elf: Uint8Array;
  image: ElfImage;
  bare: { console: string; exitCode: number; cycles: number };
}

const kernels = new Map<string, Kernel>();

export function kernel(workload: Workload, options: { annotate?: boolean } = {}): Kernel {
  const key = `${workload}/${options.annotate ?? true}`;
  let k = kernels.get(key);
  if (!k) {
    const elf = writeElf(buildKernel({ workload, annotate: options.annotate }).image);
    const image = readElf(elf);
    const g = boot({ elf, image } as Kernel, "bare");
    const r = g.finish(MAX_CYCLES);
    k = { elf, image, bare: { console: g.console, exitCode: r.exitCode, cycles: g.cycles } };
    g.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
    kernels.set(key, k);
  }
  return k;
}

export function boot(k: Pick<Kernel, "elf" | "image">, backend: string): Guest {
  return bootGuest(k.elf, k.image, backend, { disk: memoryDisk(kernelDisk()) });
}

/**
 * Restores a snapshot on `backend` and runs it to the end: console of the whole run, how it ended, its
 * counters; the machine's RAM then goes back for the next machine (test/recycle.ts).
 */
export function finishOn(snap: Snapshot, backend: string, image?: ElfImage) {
  const { guest, info } = restoreGuest(snap, backend, { image });
  const result = guest.finish(MAX_CYCLES);
  const finished = { console: guest.console, result, stats: guest.machine.stats(), info };
  guest.machine.memory.recycle();
  return finished;
}

export interface ScanPoint {
  kind: string;
  /** The pause where the condition held, and the cycle of the safe point the snapshot was taken at. */
  found: number;
  snapshot: Snapshot;
  deferredBecause?: string;
}

/**
 * Runs `k` on `source`, pausing every `step` cycles; for each named condition
 * takes one snapshot at the first pause where it holds (at the next safe
 * point, which may be a few instructions on). Pausing changes nothing (one
 * more machine slice), so the snapshots are of the unmigrated run.
 */
export function scan(k: Kernel, source: string, conditions: Record<string, (g: Guest) => boolean>, step = 1000): ScanPoint[] {
  const g = boot(k, source);
  const m = g.machine;
  const sites = new SiteMap(g);
  const todo = new Map(Object.entries(conditions));
  const out: ScanPoint[] = [];
  for (let n = step; todo.size > 0; n += step) {
    if (m.runUntil(n, MAX_CYCLES)) break;
    for (const [kind, holds] of todo) {
      if (!holds(g)) continue;
      const found = m.cycles;
      const sp = runToSafePoint(g, m.cycles, MAX_CYCLES, sites);
      if (!sp.reached) break;
      out.push({ kind, found, snapshot: captureSnapshot(g), deferredBecause: sp.deferredBecause });
      todo.delete(kind);
    }
  }
  m.memory.recycle(); // snapshots are copies
  return out;
}

/** Snapshots of `source` at the first safe points at or after each cycle. */
export function snapshotsAt(k: Kernel, source: string, cycles: readonly number[]): Snapshot[] {
  const g = boot(k, source);
  const out: Snapshot[] = [];
  for (const n of cycles) {
    const sp = runToSafePoint(g, n, MAX_CYCLES);
    if (!sp.reached) break;
    out.push(captureSnapshot(g));
  }
  g.machine.memory.recycle(); // snapshots are copies
  return out;
}
