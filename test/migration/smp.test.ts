// Migration of a multiprocessor guest (docs/migration.md, "Several CPUs"):
// the bundled kernel on 2 CPUs, stopped at a point safe for both, moved
// between bare, hvm, xen and l4 (stop-and-copy and live pre-copy, and a
// chain), prints what bare prints and ends as bare does; the snapshot holds
// one neutral virtual CPU per CPU; a CPU halted in its idle loop (after the
// hlt site: in the in-place VMM's return on xen and l4) is a safe point and
// resumes after that site on the other back end; an exact resume on the same
// back end continues the same run, with --pcpus too; a start address a CPU
// wrote (port 0x43) before the move starts the next CPU after it; a move
// that finds no safe point before the run's end says how long it searched
// and why, live as stop-and-copy.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, type Workload } from "../../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { bootGuest, type Guest } from "../../src/migration/guest.js";
import { liveMigrate } from "../../src/migration/live.js";
import { migrateRoute } from "../../src/migration/route.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { isMigratable } from "../../src/hypervisors/common/neutral-state.js";
import { captureSnapshot, parseSnapshot, restoreGuest } from "../../src/migration/snapshot.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { stopAndCopy } from "../../src/migration/stop-and-copy.js";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { MAX_CYCLES, ORDERED_PAIRS, PAIR_BACKENDS } from "./helpers.js";

const CPUS = 2;

interface SmpKernel {
  elf: Uint8Array;
  image: ElfImage;
  bare: { console: string; exitCode: number; cycles: number };
}

const kernels = new Map<Workload, SmpKernel>();
function smpKernel(workload: Workload): SmpKernel {
  let k = kernels.get(workload);
  if (!k) {
    const elf = writeElf(buildKernel({ workload }).image);
    const image = readElf(elf);
    const g = boot({ elf, image }, "bare");
    const r = g.finish(MAX_CYCLES);
    k = { elf, image, bare: { console: g.console, exitCode: r.exitCode, cycles: g.cycles } };
    g.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
    kernels.set(workload, k);
  }
  return k;
}

function boot(k: Pick<SmpKernel, "elf" | "image">, backend: string, pcpus?: number): Guest {
  return bootGuest(k.elf, k.image, backend, { disk: memoryDisk(kernelDisk()), cpus: CPUS, pcpus });
}

describe("a 2-CPU guest migrated between back ends", () => {
  it.each(PAIR_BACKENDS)("smp kernel, from %s at two points to every other back end: bare's console and exit status", (from) => {
    const k = smpKernel("smp");
    for (const f of [0.3, 0.7]) {
      const g = boot(k, from);
      const sp = runToSafePoint(g, Math.floor(k.bare.cycles * f), MAX_CYCLES);
      expect(sp.reached).toBe(true);
      const snap = captureSnapshot(g);
      expect(snap.machine.cpus.length).toBe(CPUS);
      expect(snap.neutral.length).toBe(CPUS);
      // Through the file format, as `previrt resume` would read it.
      const back = parseSnapshot(encodeSnapshot(snap, nodeZlib), "snapshot", nodeZlib);
      for (const to of PAIR_BACKENDS.filter((b) => b !== from)) {
        const { guest, info } = restoreGuest(back, to, { image: k.image });
        expect(info.exact).toBe(false);
        const r = guest.finish(MAX_CYCLES);
        expect({ from, to, at: snap.cycle, console: guest.console }).toEqual({ from, to, at: snap.cycle, console: k.bare.console });
        expect(r).toEqual({ kind: "poweroff", exitCode: k.bare.exitCode });
        guest.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
      }
      g.machine.memory.recycle();
    }
  });

  it("a CPU halted in the idle loop is at a safe point on xen (in the VMM's return from its hlt site) and resumes after that site on bare and hvm", () => {
    const k = smpKernel("io");
    const g = boot(k, "xen");
    const m = g.machine;
    // Pause until CPU 1 is halted in the window (its hlt site's EMULATE returns there).
    let found = false;
    for (let n = 20_000; n < k.bare.cycles && !found; n += 20_000) {
      if (m.runUntil(n, MAX_CYCLES)) break;
      found = m.cpuState(1) === "halted" && m.inCpu(1, () => m.pc >>> 0) >= 0xffc00000;
    }
    expect(found).toBe(true);
    const sp = runToSafePoint(g, m.cycles, MAX_CYCLES);
    expect(sp.reached).toBe(true);
    const snap = captureSnapshot(g);
    const halted = snap.neutral.findIndex((s, n) => s.pc !== undefined && snap.machine.cpus[n].pc >>> 0 >= 0xffc00000);
    expect(halted).toBeGreaterThanOrEqual(0);
    for (const to of ["bare", "hvm", "l4"]) {
      const { guest } = restoreGuest(snap, to, { image: k.image });
      expect(guest.machine.inCpu(halted, () => guest.machine.pc)).toBe(snap.neutral[halted].pc);
      const r = guest.finish(MAX_CYCLES);
      expect({ to, console: guest.console }).toEqual({ to, console: k.bare.console });
      expect(r).toEqual({ kind: "poweroff", exitCode: 0 });
      guest.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
    }
    g.machine.memory.recycle();
  });

  it("stop-and-copy, live pre-copy and a chain: bare's console", () => {
    const k = smpKernel("mixed");
    const at = Math.floor(k.bare.cycles * 0.4);
    // Each machine's RAM back once read (test/recycle.ts says why).
    const hvm = boot(k, "hvm");
    const sc = stopAndCopy(hvm, "xen", at, MAX_CYCLES);
    hvm.machine.memory.recycle();
    expect(sc.report.migrated).toBe(true);
    expect(sc.guest!.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(sc.guest!.console).toBe(k.bare.console);
    sc.guest!.machine.memory.recycle();
    const xen = boot(k, "xen");
    const live = liveMigrate(xen, "l4", at, { maxCycles: MAX_CYCLES });
    xen.machine.memory.recycle();
    expect(live.report.migrated).toBe(true);
    expect(live.guest!.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(live.guest!.console).toBe(k.bare.console);
    live.guest!.machine.memory.recycle();
    const chain = migrateRoute(k.elf, k.image, ["l4", "bare", "hvm", "xen"], [Math.floor(k.bare.cycles / 4)], { disk: memoryDisk(kernelDisk()), cpus: CPUS, maxCycles: MAX_CYCLES });
    expect(chain.reports.every((r) => r.migrated)).toBe(true);
    expect(chain.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(chain.guest.console).toBe(k.bare.console);
    chain.guest.machine.memory.recycle();
  });

  it("a snapshot taken with --pcpus 1 resumes on the same back end with other --pcpus (a fresh schedule) and prints what bare prints", () => {
    const k = smpKernel("smp");
    const g = boot(k, "xen", 1);
    expect(runToSafePoint(g, Math.floor(k.bare.cycles / 3), MAX_CYCLES).reached).toBe(true);
    const snap = captureSnapshot(g);
    g.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
    for (const pcpus of [undefined, 2]) {
      const { guest, info } = restoreGuest(snap, "xen", { image: k.image, pcpus });
      expect(info.exact).toBe(true);
      expect(guest.finish(MAX_CYCLES), `--pcpus ${pcpus}`).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(guest.console).toBe(k.bare.console);
      guest.machine.memory.recycle();
    }
  });

  it.each(["hvm", "xen", "l4"])("%s: a snapshot resumed on the same back end continues the same run, cycle for cycle (--pcpus 1 too)", (hv) => {
    const k = smpKernel("smp");
    for (const pcpus of [undefined, 1]) {
      const whole = boot(k, hv, pcpus);
      const wr = whole.finish(MAX_CYCLES);
      const wholeCycles = whole.machine.stats().cycles;
      const half = Math.floor(wr.kind === "poweroff" ? whole.cycles / 2 : 0);
      whole.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
      const g = boot(k, hv, pcpus);
      const sp = runToSafePoint(g, half, MAX_CYCLES);
      expect(sp.reached).toBe(true);
      const snap = parseSnapshot(encodeSnapshot(captureSnapshot(g), nodeZlib), "snapshot", nodeZlib);
      g.machine.memory.recycle();
      const { guest, info } = restoreGuest(snap, hv, { image: k.image, pcpus });
      expect(info.exact).toBe(true);
      const r = guest.finish(MAX_CYCLES);
      expect(r, `${hv} --pcpus ${pcpus}`).toEqual(wr);
      expect(guest.console).toBe(whole.console);
      expect(guest.machine.stats().cycles, `${hv} --pcpus ${pcpus}`).toBe(wholeCycles);
      guest.machine.memory.recycle();
    }
  });
});

describe("port 0x43 moves with the CPU that wrote it", () => {
  // CPU 0 sets the start address, spins a while (the move falls here), then starts CPU 1, which sets a flag
  // CPU 0 waits for. On xen and l4 the monitor keeps port 0x43 per vCPU; a guest moved there after the write
  // started CPU 1 at pc 0 (illegal instruction, no trap vector): found by the migration fuzz campaign's
  // 2-CPU inputs (seed 1, input 299: hvm -> xen).
  const text = [
    "    .text", "    .global _start", "_start:",
    "    la   t0, secondary", "    out  0x43, t0",
    "    li   t2, 3000", ".Lspin:", "    addi t2, t2, -1", "    bnez t2, .Lspin",
    "    li   t1, 1", "    out  0x42, t1",
    "    la   t0, flag", ".Lwait:", "    lw   t1, 0(t0)", "    beqz t1, .Lwait",
    "    li   a0, 7", "    out  0xF0, a0",
    "secondary:", "    la   t0, flag", "    li   t1, 1", "    sw   t1, 0(t0)", "    cli", "    hlt",
    "    .data", "flag: .word 0",
  ].join("\n") + "\n";
  const image = assemble([{ file: "start.s", text: annotate("start.s", text).text }]);
  const elf = writeElf(image);

  it.each(ORDERED_PAIRS)("%s -> %s between the write and the start: CPU 1 starts where the guest said", (from, to) => {
    const g = bootGuest(elf, image, from, { cpus: CPUS, quantum: 1000 });
    const moved = stopAndCopy(g, to, 2000, MAX_CYCLES);
    g.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
    expect(moved.report.migrated).toBe(true);
    expect(moved.guest!.machine.cpuState(1)).toBe("stopped");
    expect(moved.guest!.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 7 });
    moved.guest!.machine.memory.recycle();
  });
});

describe("a CPU at the in-place VMM's return from an emulated site is at a safe point", () => {
  // CPU 0 prints 300 letters through its `out` site, then powers off with 5. On xen and l4 the site calls
  // EMULATE, and a CPU that loops over emulated sites stands at EMULATE_RETURN (the jump back past the
  // site, all its work done) at nearly every epoch's end: no 2-CPU move found a safe point there before.
  // It now resumes after the site on any back end: no letter lost, none printed twice (the restored
  // guest's console starts with the snapshot's).
  const text = [
    "    .text", "    .global _start", "_start:", "    li   s0, 300", "    li   s1, 0",
    ".Lloop:", "    addi a0, s1, 65", "    out  0x10, a0", "    addi s1, s1, 1", "    li   t0, 26", "    blt  s1, t0, .Lnext", "    li   s1, 0",
    ".Lnext:", "    addi s0, s0, -1", "    bnez s0, .Lloop", "    li   a0, 5", "    out  0xF0, a0",
  ].join("\n") + "\n";
  const image = assemble([{ file: "print.s", text: annotate("print.s", text).text }]);
  const elf = writeElf(image);

  it.each([
    ["xen", 1], ["xen", 2], ["l4", 1], ["l4", 2],
  ] as const)("from %s with %i CPU(s), at points in its loop, to every other back end: bare's console and exit status", (from, cpus) => {
    const bare = bootGuest(elf, image, "bare", { cpus, quantum: 1000 });
    expect(bare.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 5 });
    let atReturn = 0;
    for (const at of [20_000, 40_000, 60_000, 80_000]) {
      const g = bootGuest(elf, image, from, { cpus, quantum: 1000 });
      const sp = runToSafePoint(g, at, MAX_CYCLES);
      expect(sp.reached).toBe(true);
      const mon = g.monitor;
      if (isMigratable(mon) && g.machine.pc >>> 0 === mon.siteReturnAddress!()! >>> 0) atReturn++;
      const snap = captureSnapshot(g);
      for (const to of PAIR_BACKENDS.filter((b) => b !== from)) {
        const { guest } = restoreGuest(snap, to, { image });
        const r = guest.finish(MAX_CYCLES);
        expect({ from, to, at, console: guest.console }).toEqual({ from, to, at, console: bare.console });
        expect(r).toEqual({ kind: "poweroff", exitCode: 5 });
        guest.machine.memory.recycle(); // its RAM for the next machine (test/recycle.ts)
      }
      g.machine.memory.recycle();
    }
    // Not vacuous: some of those points are at the VMM's return (every one, with 2 CPUs).
    expect(atReturn).toBeGreaterThan(0);
  });
});

describe("a move that finds no safe point says why", () => {
  // CPU 0 jumps into the in-place VMM's EMULATE from no site, forever (k0, which the annotator keeps from
  // guest code, set by hand in an unannotated binary): there is nothing to emulate and no site to resume
  // after, so a CPU at its return is no safe point. On l4 it stands there at every epoch's end until the
  // cycle limit. A live move then reports the search as stop-and-copy does: the epochs run past points
  // that were not safe, and the first reason (it said 0 steps and no reason).
  const text = ["    .text", "    .global _start", "_start:", "    li   t0, 0xfffe0070", ".Lloop:", "    la   k0, .Lloop", "    jalr zero, 0(t0)"].join("\n") + "\n";
  const image = assemble([{ file: "nosite.s", text }]);
  const elf = writeElf(image);

  it("live and stop-and-copy on l4, 2 CPUs, stopped by the cycle limit while searching", () => {
    const probe = bootGuest(elf, image, "l4", { cpus: CPUS, quantum: 1000 });
    expect(isMigratable(probe.monitor) && probe.monitor.siteReturnAddress!()! >>> 0).toBe(0xfffe0074); // EMULATE is at 0xfffe0070
    const live = liveMigrate(bootGuest(elf, image, "l4", { cpus: CPUS, quantum: 1000 }), "bare", 50_000, { maxCycles: 200_000 }).report;
    const sc = stopAndCopy(bootGuest(elf, image, "l4", { cpus: CPUS, quantum: 1000 }), "bare", 50_000, 200_000).report;
    for (const r of [live, sc]) {
      expect(r.migrated).toBe(false);
      expect(r.deferredSteps).toBeGreaterThan(100);
      expect(r.deferredUnit).toBe("epoch");
      expect(r.deferredBecause).toBe("cpu 0: pc 0xfffe0074 is in the soft-layer window");
    }
    expect(live.rounds.length).toBeGreaterThan(0); // it ended in the stop's search, after pre-copy
  });
});
