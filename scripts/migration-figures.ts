// The figures of docs/migration.md: live vs stop-and-copy downtime, the cost
// of running after devirtualization, snapshot size and speed. Every number
// is a real run of the bundled kernel (simulated cycles from the cost model;
// host milliseconds only for the snapshot's write and read times).
//
//   npm run build && node dist/scripts/migration-figures.js [--live-only]

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildKernel, kernelDisk, type Workload } from "../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../src/guest-isa/elf.js";
import { getBackend, prepareImage } from "../src/hypervisors/index.js";
import { COST_EVENTS } from "../src/machine/cost-model.js";
import { memoryDisk } from "../src/machine/devices/disk.js";
import { bootGuest } from "../src/migration/guest.js";
import { liveMigrate } from "../src/migration/live.js";
import { runToSafePoint } from "../src/migration/safe-point.js";
import { captureSnapshot } from "../src/migration/snapshot.js";
import { readSnapshotFile, writeSnapshotFile } from "../src/cli/snapshot-files.js";
import { STATE_PAGES, stopAndCopy } from "../src/migration/stop-and-copy.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const kernels = new Map<string, { elf: Uint8Array; bare: number }>();
function kernel(w: Workload, annotate = true) {
  const key = `${w}${annotate}`;
  let k = kernels.get(key);
  if (!k) {
    const elf = writeElf(buildKernel({ workload: w, annotate }).image);
    const g = bootGuest(elf, readElf(elf), "bare", { disk: memoryDisk(kernelDisk()) });
    g.finish();
    k = { elf, bare: g.cycles };
    kernels.set(key, k);
  }
  return k;
}
const boot = (w: Workload, hv: string, annotate = true) => {
  const k = kernel(w, annotate);
  return bootGuest(k.elf, readElf(k.elf), hv, { disk: memoryDisk(kernelDisk()) });
};

/**
 * The writable working set of one page-transfer time, as pre-copy sees it:
 * the unmigrated guest runs from cycle `from` to `to` with the machine's
 * dirty log restarted every `window` cycles (so each page written in a window
 * costs one dirtyFault, as in a pre-copy round of one page). Returns the
 * fewest, median and most distinct pages written in a window, and the set
 * seen most often. At a page boundary, every page written during the page
 * transfer before it is dirty (no page was read since), so a pre-copy stop
 * leaves at least the fewest.
 */
function workingSet(w: Workload, hv: string, from: number, to: number, window: number) {
  const g = boot(w, hv);
  const m = g.machine;
  if (m.runUntil(from)) return undefined;
  m.startDirtyLog();
  const sizes: number[] = [];
  const sets = new Map<string, number>();
  for (let t = from + window; t <= to; t += window) {
    if (m.runUntil(t)) break;
    const d = m.takeDirty();
    sizes.push(d.length);
    const key = d.map((f) => f.toString(16)).join(" ") || "-";
    sets.set(key, (sets.get(key) ?? 0) + 1);
  }
  m.stopDirtyLog();
  sizes.sort((a, b) => a - b);
  const common = [...sets].sort((a, b) => b[1] - a[1])[0][0];
  return { min: sizes[0], median: sizes[sizes.length >> 1], max: sizes[sizes.length - 1], common };
}

const summary = (ratios: number[]) => {
  const r = [...ratios].sort((a, b) => a - b);
  const met = r.filter((x) => x <= 0.1).length;
  return `${met} of ${r.length} moves at or below 1/10 of stop-and-copy's downtime; median ${((r[(r.length - 1) >> 1] + r[r.length >> 1]) / 2).toFixed(3)}; range ${r[0].toFixed(3)}–${r[r.length - 1].toFixed(3)}.`;
};
const range = (p: number[]) => (Math.min(...p) === Math.max(...p) ? `${p[0]}` : `${Math.min(...p)}–${Math.max(...p)}`);
/** Pages per round, the long tails of one- to few-page rounds summarised. */
const perRound = (p: number[]) => (p.length <= 8 ? p.join(", ") : `${p.slice(0, 4).join(", ")}, then ${p.length - 4} rounds of ${range(p.slice(4))}`);
const MOVES = [["xen", "l4"], ["bare", "hvm"], ["hvm", "xen"], ["l4", "bare"]] as const;
const moves = (["mixed", "ctxsw"] as const).flatMap((w) => MOVES.flatMap(([from, to]) => [0.25, 0.5].map((f) => ({ w, from, to, at: Math.floor(kernel(w).bare * f) }))));

console.log("## Live (XBZRLE deltas) vs stop-and-copy downtime\n");
console.log("| workload | move | at | rounds | pages per round | pages sent as deltas | total pages | bytes sent | downtime (cycles) | downtime pages (bytes) | stop-and-copy downtime | ratio | pre-copy stop | total migration cycles | guest run (cycles) |");
console.log("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
const withDeltas: number[] = [];
for (const { w, from, to, at } of moves) {
  const g = boot(w, from);
  const r = liveMigrate(g, to, at).report;
  if (!r.migrated) continue;
  withDeltas.push(r.downtimeCycles / r.stopAndCopy.downtimeCycles);
  console.log(
    `| ${w} | ${from} → ${to} | ${fmt(at)} | ${r.rounds.length} | ${perRound(r.rounds.map((x) => x.pages))} | ${r.deltaPages} | ${r.totalPages} | ${fmt(r.totalBytes)} | ${fmt(r.downtimeCycles)} | ${r.downtimePages} (${fmt(r.downtimeBytes)}) | ${fmt(r.stopAndCopy.downtimeCycles)} | ${(r.downtimeCycles / r.stopAndCopy.downtimeCycles).toFixed(3)} | ${r.precopyStop} | ${fmt(r.totalCycles)} | ${fmt(g.cycles)} |`,
  );
}
console.log(`\nWith deltas: ${summary(withDeltas)}`);

console.log("\n## The same moves with every page sent whole (deltas off)\n");
console.log("| workload | move | at | rounds | pages per round | total pages | downtime (cycles) | downtime pages | stop-and-copy downtime | ratio | pre-copy stop | total migration cycles | guest run (cycles) | pages written per page transfer (min, median, max) | written most often | (min + state) / s&c |");
console.log("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|---:|");
const whole: number[] = [];
for (const { w, from, to, at } of moves) {
  const g = boot(w, from);
  const r = liveMigrate(g, to, at, { deltas: false }).report;
  if (!r.migrated) continue;
  whole.push(r.downtimeCycles / r.stopAndCopy.downtimeCycles);
  const ws = workingSet(w, from, at, r.stoppedAt, g.costModel.pageTransfer)!;
  console.log(
    `| ${w} | ${from} → ${to} | ${fmt(at)} | ${r.rounds.length} | ${perRound(r.rounds.map((x) => x.pages))} | ${r.totalPages} | ${fmt(r.downtimeCycles)} | ${r.downtimePages} | ${fmt(r.stopAndCopy.downtimeCycles)} | ${(r.downtimeCycles / r.stopAndCopy.downtimeCycles).toFixed(3)} | ${r.precopyStop} | ${fmt(r.totalCycles)} | ${fmt(g.cycles)} | ${ws.min}, ${ws.median}, ${ws.max} | ${ws.common} | ${((ws.min + STATE_PAGES) / r.stopAndCopy.pages).toFixed(3)} |`,
  );
}
console.log(`\nWhole pages: ${summary(whole)}`);
if (process.argv.includes("--live-only")) process.exit(0);

console.log("\n## After devirtualization (xen → bare) and re-virtualization (bare → xen)\n");
console.log("| workload | move at | CPI before (source) | CPI after the move | annotated on bare (whole run) | plain on bare (whole run) | monitor events after | .text = target's rewrite |");
console.log("|---|---:|---:|---:|---:|---:|---:|---|");
const MONITOR_EVENTS = ["hypercall", "vmExit", "ipc", "map", "unmap", "shadowUpdate", "interruptInjection", "worldSwitch"] as const;
for (const w of ["mixed", "compute", "syscall", "ctxsw"] as const) {
  const whole = (annotate: boolean) => {
    const g = boot(w, "bare", annotate);
    g.finish();
    const s = g.machine.stats();
    return s.cycles / s.instructions;
  };
  const annotated = whole(true);
  const plain = whole(false);
  for (const [from, to] of [["xen", "bare"], ["l4", "bare"], ["bare", "xen"]]) {
    const at = Math.floor(kernel(w).bare * 0.3);
    const src = boot(w, from);
    const moved = stopAndCopy(src, to, at);
    if (!moved.guest) continue;
    const before = src.machine.stats();
    const g = moved.guest;
    const s0 = g.machine.stats();
    // The code after the move is byte for byte the target's rewrite of the binary.
    const text = prepareImage(getBackend(to), readElf(src.elf)).image.sections.find((s) => s.name === ".text")!;
    const same = Buffer.compare(Buffer.from(g.machine.memory.readBytes(text.addr, text.data.length)), Buffer.from(text.data)) === 0;
    g.finish();
    const s1 = g.machine.stats();
    const monitorEvents = MONITOR_EVENTS.reduce((n, e) => n + ((s1.events[e] ?? 0) - (s0.events[e] ?? 0)), 0);
    void COST_EVENTS;
    const cpi = (s1.cycles - s0.cycles) / (s1.instructions - s0.instructions);
    console.log(`| ${w} | ${from} → ${to} at ${fmt(moved.report.stoppedAt)} | ${(before.cycles / before.instructions).toFixed(3)} | ${cpi.toFixed(3)} | ${annotated.toFixed(3)} | ${plain.toFixed(3)} | ${monitorEvents} | ${same ? "yes" : "NO"} |`);
  }
}

console.log("\n## Devirtualized from the first safe point: the whole workload after leaving the hypervisor, against bare\n");
console.log("| workload | move | moved at (cycle, instructions) | cycles after the move | bare run (cycles) | overhead |");
console.log("|---|---|---|---:|---:|---:|");
for (const w of ["mixed", "compute", "syscall", "ctxsw", "pagetable", "io", "faults"] as const) {
  for (const from of ["xen", "l4", "hvm"]) {
    const src = boot(w, from);
    const moved = stopAndCopy(src, "bare", 1);
    const g = moved.guest!;
    const s0 = g.machine.stats();
    g.finish();
    const after = g.machine.stats().cycles - s0.cycles;
    const bare = kernel(w).bare;
    console.log(`| ${w} | ${from} → bare | ${fmt(s0.cycles)}, ${s0.instructions} | ${fmt(after)} | ${fmt(bare)} | ${(((after + s0.cycles) / bare - 1) * 100).toFixed(3)} % |`);
  }
}

console.log("\n## Snapshot of the bundled kernel (mixed)\n");
console.log("| back end | at | pages | file bytes | write ms (median of 5) | read ms (median of 5) |");
console.log("|---|---:|---:|---:|---:|---:|");
const dir = mkdtempSync(join(tmpdir(), "previrt-snap-"));
for (const hv of ["bare", "xen", "hvm", "l4"]) {
  for (const at of [1_000_000, 3_000_000]) {
    const g = boot("mixed", hv);
    if (!runToSafePoint(g, at).reached) continue;
    const file = join(dir, `${hv}.snap`);
    const writes: number[] = [];
    const reads: number[] = [];
    let bytes = 0;
    let pages = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const snap = captureSnapshot(g);
      bytes = writeSnapshotFile(file, snap);
      const t1 = performance.now();
      pages = readSnapshotFile(file).pages.length;
      const t2 = performance.now();
      writes.push(t1 - t0);
      reads.push(t2 - t1);
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[2].toFixed(1);
    console.log(`| ${hv} | ${fmt(g.cycles)} | ${pages} | ${fmt(bytes)} | ${med(writes)} | ${med(reads)} |`);
    void readFileSync;
  }
}
rmSync(dir, { recursive: true, force: true });
