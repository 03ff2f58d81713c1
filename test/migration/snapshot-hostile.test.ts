// Snapshots the `snapshot` fuzz campaign (scripts/fuzz/snapshot.ts,
// docs/reliability.md) found accepted although malformed, each refused now
// with one line before anything runs: a stopped timer due at a cycle (the
// machine computed its next tick as NaN and looped for ever), a clock that is
// infinite (the run ended without a result: `resume` threw a TypeError) or
// past float64's exact integers, a counter that is not a number (the run
// went on and a snapshot of it held NaN), an hvm shadow pager's ptbr that is
// fractional (exported again, the resumed guest's own snapshot was refused),
// a binary the ELF reader refuses (the line
// did not say it was the snapshot's), and, on xen and
// l4, reserved pages whose in-place VMM code is not the back end's
// (resumed exactly, the guest ran under a monitor the file supplied). Found
// by reading the monitors' exact restores: on xen and l4 an event callback or
// resume fixups that are not word-aligned addresses (a callback of 1.5, "x"
// or 2^32 was taken and the guest's next event went to pc 1 or 0: a fault
// loop, not the run the snapshot recorded); on trap a virtual psr or control
// registers that are not what the monitor keeps (its typed arrays converted
// them silently: a virtual psr of 1.5 became user mode and the run hit
// --max-cycles, tvec + 2^32 became tvec, vcr of 5 left them all 0); on xen
// write-protected page tables outside guest RAM, twice, with no vCPU, or not
// the frames the machine watches, and on l4 mappings that are not what a walk
// yields (each was taken as it stood: a page-table store could go unseen);
// with --pcpus, a vCPU scheduler's state out of range (an Int8Array wrapped
// a holder of 200 to -56; an epoch of 2^52 stopped the round robin), or
// whose physical CPUs and vCPUs disagree on who holds whom. And a
// snapshot the library writes reads back: one with an nvdisk of no sectors
// (the machine attaches it; its snapshot was refused as 'nvdisk is not whole
// sectors').
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { nodeZlib, writeSnapshotFile } from "../../src/cli/snapshot-files.js";
import { SHF_WRITE } from "../../src/guest-isa/elf-types.js";
import { buildVmm, WINDOW_BACKED, WINDOW_BACKED_BYTES } from "../../src/hypervisors/common/window.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { captureSnapshot, parseSnapshot, restoreGuest, type Snapshot } from "../../src/migration/snapshot.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { bootGuest } from "../../src/migration/guest.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { CR, PSR } from "../../src/guest-isa/registers.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { boot, kernel, MAX_CYCLES, refusal, snapshotsAt } from "./helpers.js";

const roundTrip = (s: Snapshot) => encodeSnapshot(s, nodeZlib);

describe("timers a snapshot cannot hold", () => {
  const [snap] = snapshotsAt(kernel("syscall"), "bare", [200_000]);
  const withTimer = (timer: Record<string, number>) => roundTrip({ ...snap, machine: { ...snap.machine, cpus: [{ ...snap.machine.cpus[0], timer: { ...snap.machine.cpus[0].timer, ...timer } }] } });

  it("a stopped timer (period 0) due at a cycle, a tick at a fraction or before 0, a period past 32 bits", () => {
    expect(refusal(() => parseSnapshot(withTimer({ period: 0, next: 0 }), "t.snap", nodeZlib))).toBe("t.snap: malformed snapshot: cpus[0].timer.next");
    expect(refusal(() => parseSnapshot(withTimer({ next: snap.machine.cpus[0].timer.next + 0.5 }), "t.snap", nodeZlib))).toMatch(/timer\.next$/);
    expect(refusal(() => parseSnapshot(withTimer({ next: -1 }), "t.snap", nodeZlib))).toMatch(/timer\.next$/);
    expect(refusal(() => parseSnapshot(withTimer({ period: 2 ** 32 }), "t.snap", nodeZlib))).toMatch(/timer\.period$/);
    expect(refusal(() => parseSnapshot(withTimer({ ticks: -1 }), "t.snap", nodeZlib))).toMatch(/timer\.ticks$/);
  });

  it("a running timer due in the past, and a stopped one, are taken and the run ends", () => {
    const t = snap.machine.cpus[0].timer;
    expect(t.period).toBeGreaterThan(0);
    for (const timer of [{ next: 0 }, { period: 0, next: Infinity }] as Record<string, number>[]) {
      const { guest } = restoreGuest(parseSnapshot(withTimer(timer), "t.snap", nodeZlib), "bare");
      expect(guest.finish(snap.cycle + 50_000_000).kind).toMatch(/poweroff|stopped/);
    }
  });
});

describe("clocks a snapshot cannot hold", () => {
  const [snap] = snapshotsAt(kernel("syscall"), "hvm", [200_000]);
  it.each([Infinity, -1, 2 ** 53, 1e300])("a CPU's cycles, idle or descheduled cycles, or the snapshot's cycle of %d", (v) => {
    const cpu = snap.machine.cpus[0];
    for (const k of ["cycles", "idleCycles", "descheduledCycles"] as const) {
      const bad = roundTrip({ ...snap, machine: { ...snap.machine, cpus: [{ ...cpu, [k]: v }] } });
      expect(refusal(() => parseSnapshot(bad, "c.snap", nodeZlib))).toBe(`c.snap: malformed snapshot: cpus[0].${k} is not a cycle count`);
    }
    expect(refusal(() => parseSnapshot(roundTrip({ ...snap, cycle: v }), "c.snap", nodeZlib))).toBe("c.snap: malformed snapshot: cycle is not a cycle count");
  });
});

describe("counters a snapshot cannot hold", () => {
  it("a tally entry or a total that is not a number: refused (the run added to it and a snapshot of it held NaN)", () => {
    const [snap] = snapshotsAt(kernel("syscall"), "bare", [200_000]);
    const c = snap.machine.counters;
    const withCounters = (counters: object) => roundTrip({ ...snap, machine: { ...snap.machine, counters: { ...c, ...counters } } });
    const event = Object.keys(c.events)[0];
    expect(refusal(() => parseSnapshot(withCounters({ events: { ...c.events, [event]: {} } }), "n.snap", nodeZlib))).toBe(`n.snap: malformed snapshot: counters.events.${event} is not a number`);
    expect(refusal(() => parseSnapshot(withCounters({ counts: { ...c.counts, idleCycles: "many" } }), "n.snap", nodeZlib))).toBe("n.snap: malformed snapshot: counters.counts.idleCycles is not a number");
    expect(refusal(() => parseSnapshot(withCounters({ tlbMisses: null }), "n.snap", nodeZlib))).toBe("n.snap: malformed snapshot: counters.tlbMisses is not a number");
  });
});

describe("hvm: a shadow pager's state that is not whole numbers", () => {
  it("refused when restored exactly (the resumed guest's own snapshot was refused, its ptbr fractional)", () => {
    const [snap] = snapshotsAt(kernel("syscall"), "hvm", [200_000]);
    const exact = snap.exact as { shadows: { ptbr: number }[] };
    for (const ptbr of [exact.shadows[0].ptbr + 0.25, 2 ** 32, "0x1000"]) {
      const bad = parseSnapshot(roundTrip({ ...snap, exact: { ...exact, shadows: [{ ...exact.shadows[0], ptbr }] } }), "h.snap", nodeZlib);
      expect(refusal(() => restoreGuest(bad, "hvm"))).toBe("malformed snapshot: the hvm monitor's state (a shadow pager's state is not whole 32-bit numbers)");
    }
  });
});

describe("a snapshot whose binary the ELF reader refuses", () => {
  it("previrt resume names the snapshot's binary in its one line", async () => {
    const [snap] = snapshotsAt(kernel("syscall"), "xen", [200_000]);
    const elf = snap.elf.slice();
    elf[0] = 0;
    const file = join(mkdtempSync(join(tmpdir(), "previrt-snap-")), "e.snap");
    writeSnapshotFile(file, { ...snap, elf });
    const io = bufferIO();
    expect(await main(["resume", file, "--hv", "xen"], io)).toBe(1);
    expect(io.stderr).toBe(`previrt: error: ${file} (its binary): not an ELF file (bad magic number)\n`);
    expect(refusal(() => restoreGuest({ ...snap, elf }, "bare"))).toBe("the snapshot's binary: not an ELF file (bad magic number)");
  });
});

describe.each(["xen", "l4"])("%s: the in-place VMM in a snapshot's reserved pages", (hv) => {
  const [snap] = snapshotsAt(kernel("syscall"), hv, [300_000]);
  const windowPa = snap.ramSize - WINDOW_BACKED_BYTES;
  /** The snapshot with the word at physical `pa` xor'ed. */
  const poked = (pa: number): Snapshot => {
    const i = snap.pages.indexOf(pa >>> 12);
    expect(i).toBeGreaterThanOrEqual(0);
    const pageData = snap.pageData.slice();
    pageData[i * 4096 + (pa & 0xfff)] ^= 0x5a;
    return { ...snap, pageData };
  };
  const text = buildVmm(hv).image.sections.find((s) => s.addr >= WINDOW_BACKED && s.data.length && !(s.flags & SHF_WRITE))!;

  it("its code changed: refused on the same back end before anything runs", () => {
    const bad = parseSnapshot(roundTrip(poked(windowPa + (text.addr - WINDOW_BACKED) + 8)), "v.snap", nodeZlib);
    expect(refusal(() => restoreGuest(bad, hv))).toBe(`malformed snapshot: the in-place VMM's ${text.name} in its reserved pages differs from the back end's`);
  });

  it("unchanged, or resumed on another back end (the reserved pages stay behind): it runs to the end", () => {
    expect(restoreGuest(snap, hv).guest.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
    const other = hv === "xen" ? "l4" : "xen";
    const bad = poked(windowPa + (text.addr - WINDOW_BACKED) + 8);
    expect(restoreGuest(bad, other).guest.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
  });
});

describe.each(["xen", "l4"])("%s: the monitor's event callback and resume fixups", (hv) => {
  const [snap] = snapshotsAt(kernel("syscall"), hv, [300_000]);
  const withExact = (patch: Record<string, unknown>) => parseSnapshot(roundTrip({ ...snap, exact: { ...snap.exact!, ...patch } }), "w.snap", nodeZlib);

  it.each([1.5, 2 ** 31, 2 ** 32, -(2 ** 31) - 4, 6, "x", null])("a callback of %j: refused before anything runs", (callback) => {
    expect(refusal(() => restoreGuest(withExact({ callback }), hv))).toBe(`malformed snapshot: the ${hv} monitor's state (the event callback is not a word-aligned address)`);
  });

  it.each([{}, 5, [[4]], [[4, 8.5]], [[2 ** 32, 8]], [[4, 2 ** 31]], [["4", "8"]], [[4, 8, 12]], [[6, 8]], [[4, 10]]])("resumeFixups of %j: refused before anything runs", (resumeFixups) => {
    expect(refusal(() => restoreGuest(withExact({ resumeFixups }), hv))).toBe(`malformed snapshot: the ${hv} monitor's state (resumeFixups is not pairs of word-aligned addresses)`);
  });

  it.each([
    ["su", 2],
    ["holding", 0.5],
    ["upcallDue", -1],
    ["ptbr", 1.5],
    ["pgctl", 2 ** 31],
    ["startAddress", -(2 ** 31) - 1],
    ["ptbr", "x"],
  ])("a vCPU's %s of %j: refused before anything runs", (k, v) => {
    const flag = k === "su" || k === "holding" || k === "upcallDue";
    expect(refusal(() => restoreGuest(withExact({ [k]: [v] }), hv))).toBe(`malformed snapshot: the ${hv} monitor's state (${k} is not one ${flag ? "flag (0 or 1)" : "32-bit whole number"} per vCPU)`);
  });

  it("what the monitor keeps is taken: a registered callback, and the fixups of a guest migrated here from bare, resumed to bare's end", () => {
    const k = kernel("syscall");
    expect(restoreGuest(withExact({ callback: -(2 ** 31) }), hv).info.exact).toBe(true);
    const [fromBare] = snapshotsAt(k, "bare", [200_000]);
    const { guest } = restoreGuest(fromBare, hv);
    expect(runToSafePoint(guest, 300_000, MAX_CYCLES).reached).toBe(true);
    const moved = captureSnapshot(guest);
    expect((moved.exact!.resumeFixups as unknown[]).length).toBeGreaterThan(0);
    const resumed = restoreGuest(parseSnapshot(roundTrip(moved), "m.snap", nodeZlib), hv);
    expect(resumed.info.exact).toBe(true);
    expect(resumed.guest.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: k.bare.exitCode });
    expect(resumed.guest.console).toBe(k.bare.console);
  });
});

describe("trap: the virtual psr and control registers", () => {
  const [snap] = snapshotsAt(kernel("syscall"), "trap", [200_000]);
  const exact = snap.exact as { vpsr: number[]; vcr: Int32Array[] };
  const withExact = (patch: Record<string, unknown>) => parseSnapshot(roundTrip({ ...snap, exact: { ...snap.exact!, ...patch } }), "t.snap", nodeZlib);
  const vcrWith = (cr: number, v: number) => Array.from(exact.vcr[0]).map((x, i) => (i === cr ? v : x));

  it.each([1.5, 2 ** 32 + PSR.SU, PSR.SU | 4, -1, "x"])("a virtual psr of %j: refused before anything runs", (v) => {
    expect(refusal(() => restoreGuest(withExact({ vpsr: [v] }), "trap"))).toBe("malformed snapshot: the trap monitor's state (a virtual psr is not SU and IE bits)");
  });

  it("control registers that are not eight whole 32-bit numbers: refused before anything runs", () => {
    const tvec = exact.vcr[0][CR.tvec];
    for (const vcr of [[vcrWith(CR.tvec, tvec + 2 ** 32)], [Float64Array.from(vcrWith(CR.tvec, tvec + 0.5))], [vcrWith(CR.scratch, "x" as unknown as number)], [exact.vcr[0].subarray(0, 7)], [5], [{}]]) {
      expect(refusal(() => restoreGuest(withExact({ vcr }), "trap"))).toBe("malformed snapshot: the trap monitor's state (a vCPU's control registers are not eight whole 32-bit numbers)");
    }
  });

  it("as the monitor keeps them (or as plain arrays of the same words): taken, and the run ends as the uninterrupted one", () => {
    const ref = boot(kernel("syscall"), "trap");
    const refResult = ref.finish(MAX_CYCLES);
    expect(exact.vpsr[0] & ~(PSR.SU | PSR.IE)).toBe(0);
    for (const patch of [{}, { vcr: [Array.from(exact.vcr[0], (x) => x >>> 0)] }]) {
      const { guest, info } = restoreGuest(withExact(patch), "trap");
      expect(info.exact).toBe(true);
      expect(guest.finish(MAX_CYCLES)).toEqual(refResult);
      expect(guest.machine.stats()).toEqual(ref.machine.stats());
      expect(guest.console).toBe(ref.console);
    }
  });
});

describe("an nvdisk of no sectors: what the machine attaches, a snapshot holds", () => {
  const elf = writeElf(buildKernel({ workload: "io" }).image);
  const image = readElf(elf);
  const bootEmpty = (hv: string, passthrough: boolean) => bootGuest(elf, image, hv, { disk: memoryDisk(kernelDisk()), nvdisk: memoryDisk(new Uint8Array(0)), passthrough });

  it.each([["bare", false], ["xen", true]] as const)("%s (passthrough: %s): written, read back and resumed, it ends as the uninterrupted run", (hv, passthrough) => {
    const ref = bootEmpty(hv, passthrough);
    const refResult = ref.finish(MAX_CYCLES);
    const g = bootEmpty(hv, passthrough);
    expect(runToSafePoint(g, Math.floor(ref.cycles / 2), MAX_CYCLES).reached).toBe(true);
    const snap = captureSnapshot(g);
    expect(snap.nvdisk!.length).toBe(0);
    const { guest, info } = restoreGuest(parseSnapshot(roundTrip(snap), "z.snap", nodeZlib), hv);
    expect(info.exact).toBe(true);
    expect(guest.machine.nvdisk!.backing.sectors).toBe(0);
    expect(guest.finish(MAX_CYCLES)).toEqual(refResult);
    expect(guest.machine.stats()).toEqual(ref.machine.stats());
    expect(guest.console).toBe(ref.console);
  });
});

describe("xen: the write-protected page tables", () => {
  const [snap] = snapshotsAt(kernel("syscall"), "xen", [300_000]);
  const withExact = (patch: Record<string, unknown>) => parseSnapshot(roundTrip({ ...snap, exact: { ...snap.exact!, ...patch } }), "x.snap", nodeZlib);
  const state = (why: string) => `malformed snapshot: the xen monitor's state (${why})`;
  const watched = snap.exact!.watched as [number, number][];
  const frames = snap.machine.guestLimit >>> 12;

  it("the snapshot watches a directory and a page table (what the cases below change)", () => {
    expect(watched.length).toBe(2);
    expect(snap.exact!.directories).toEqual([watched[0][0]]);
  });

  it.each([
    ["a frame past guest RAM", [[frames, 1]]],
    ["a fractional frame", [[256.5, 1]]],
    ["a negative frame", [[-1, 1]]],
    ["no vCPU", [[256, 0]]],
    ["a vCPU the guest does not have", [[256, 2]]],
    ["not pairs", [[256]]],
    ["not numbers", [["256", 1]]],
    ["not an array", 5],
  ])("unhooked page tables with %s: refused before anything runs", (_, unhooked) => {
    expect(refusal(() => restoreGuest(withExact({ unhooked }), "xen"))).toBe(state("unhooked is not distinct guest frames, each with its vCPUs"));
  });

  it("a watched frame twice, or past guest RAM: refused before anything runs", () => {
    for (const w of [[...watched, watched[1]], [...watched, [frames, 1]]]) {
      expect(refusal(() => restoreGuest(withExact({ watched: w }), "xen"))).toBe(state("watched is not distinct guest frames, each with its vCPUs"));
    }
  });

  it("a directory twice or not watched: refused before anything runs", () => {
    const d = watched[0][0];
    for (const directories of [[d, d], [d + 1000], null]) {
      expect(refusal(() => restoreGuest(withExact({ directories }), "xen"))).toBe(state("directories are not distinct watched frames"));
    }
  });

  it("watched frames other than those the machine write-protects: refused before anything runs", () => {
    for (const w of [watched.slice(0, 1), [...watched, [watched[1][0] + 1, 1]]]) {
      expect(refusal(() => restoreGuest(withExact({ watched: w, directories: [watched[0][0]] }), "xen"))).toBe(state("the watched frames are not those the machine write-protects"));
    }
  });

  it("what the monitor keeps, in any order, is taken and the run ends as the uninterrupted one", () => {
    const k = kernel("syscall");
    const resumed = restoreGuest(withExact({ watched: [...watched].reverse(), unhooked: [[frames - 1, 1]] }), "xen");
    expect(resumed.info.exact).toBe(true);
    expect(resumed.guest.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: k.bare.exitCode });
    expect(resumed.guest.console).toBe(k.bare.console);
  });
});

describe("l4: the task's mappings", () => {
  const [snap] = snapshotsAt(kernel("syscall"), "l4", [300_000]);
  const withExact = (patch: Record<string, unknown>) => parseSnapshot(roundTrip({ ...snap, exact: { ...snap.exact!, ...patch } }), "l.snap", nodeZlib);
  const mapped = snap.exact!.mapped as [number, number][];
  const limit = snap.machine.guestLimit;

  it.each([
    ["a page of no space", [[1 << 21, 0x1003]]],
    ["a fractional page", [[0.5, 0x1003]]],
    ["an entry not valid", [[1, 0x1002]]],
    ["bits no entry has", [[1, 0x1009]]],
    ["a frame past guest RAM", [[1, limit | 1]]],
    ["a value past 32 bits", [[1, 2 ** 32 + 0x1003]]],
    ["a page twice", [[1, 0x1003], [1, 0x2003]]],
    ["not pairs", [[1]]],
    ["not an array", {}],
  ])("%s: refused before anything runs", (_, m) => {
    expect(refusal(() => restoreGuest(withExact({ mapped: m }), "l4"))).toBe("malformed snapshot: the l4 monitor's state (mapped is not distinct pages, each to a valid entry of a guest frame)");
  });

  it("what the monitor keeps, in any order, is taken and the run ends as the uninterrupted one", () => {
    expect(mapped.length).toBeGreaterThan(0);
    const k = kernel("syscall");
    const resumed = restoreGuest(withExact({ mapped: [...mapped].reverse() }), "l4");
    expect(resumed.info.exact).toBe(true);
    expect(resumed.guest.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: k.bare.exitCode });
    expect(resumed.guest.console).toBe(k.bare.console);
  });
});

describe("the vCPU scheduler's state (--cpus 2 --pcpus 1)", () => {
  const elf = writeElf(buildKernel({ workload: "smp" }).image);
  const image = readElf(elf);
  const g = bootGuest(elf, image, "xen", { disk: memoryDisk(kernelDisk()), cpus: 2, pcpus: 1 });
  expect(runToSafePoint(g, 1_000_000, MAX_CYCLES).reached).toBe(true);
  const snap = captureSnapshot(g);
  const sched = snap.exact!.scheduler as Record<string, unknown>;
  const withSched = (patch: Record<string, unknown>) => parseSnapshot(roundTrip({ ...snap, exact: { ...snap.exact!, scheduler: { ...sched, ...patch } } }), "s.snap", nodeZlib);
  const resume = (patch: Record<string, unknown>) => restoreGuest(withSched(patch), "xen", { image, pcpus: 1 });
  const state = (why: string) => `malformed snapshot: the xen monitor's state (scheduler.${why})`;
  const held = (sched.holder as number[])[0];

  it("the snapshot's schedule: vCPU held by the one physical CPU, in a slice after its epoch", () => {
    expect(held).toBeGreaterThanOrEqual(0);
    expect(sched.onPcpu).toEqual([0, 1].map((v) => (v === held ? 0 : -1)));
    expect(sched.epoch).toBeGreaterThan(0);
  });

  it.each([
    ["onPcpu", [1, 1], "onPcpu is not one whole number from -1 to 0 per vCPU"],
    ["onPcpu", [0], "onPcpu is not one whole number from -1 to 0 per vCPU"],
    ["holder", [2], "holder is not one whole number from -1 to 1 per physical CPU"],
    ["holder", [200], "holder is not one whole number from -1 to 1 per physical CPU"],
    ["lastRan", [-2], "lastRan is not one whole number from -1 to 1 per physical CPU"],
    ["owesSwitch", [2, 0], "owesSwitch is not one whole number from 0 to 1 per vCPU"],
    ["boostTo", [0.5], "boostTo is not one whole number from -1 to 1 per physical CPU"],
    ["inSpinLoop", [0, -1], "inSpinLoop is not one whole number from 0 to 1 per vCPU"],
    ["dyEligible", ["1", 0], "dyEligible is not one whole number from 0 to 1 per vCPU"],
    ["next", 2, "next is not a vCPU"],
    ["next", "x", "next is not a vCPU"],
    ["lastBoosted", -1, "lastBoosted is not a vCPU"],
    ["lastBoosted", null, "lastBoosted is not a vCPU"],
    ["epoch", 1.5, "epoch is not an epoch's start up to the machine's clock"],
    ["epoch", 2 ** 52, "epoch is not an epoch's start up to the machine's clock"],
    ["sliceEnd", Infinity, "sliceEnd is not within a slice after its epoch"],
    ["sliceEnd", 0, "sliceEnd is not within a slice after its epoch"],
  ])("%s of %j: refused before anything runs", (k, v, why) => {
    expect(refusal(() => resume({ [k]: v }))).toBe(state(why));
  });

  it("a physical CPU held by a vCPU that does not hold it, or the reverse: refused before anything runs", () => {
    const other = 1 - held;
    for (const patch of [{ holder: [other] }, { onPcpu: [0, 0] }, { holder: [-1] }]) {
      expect(refusal(() => resume(patch))).toBe(state("holder and scheduler.onPcpu disagree"));
    }
  });

  it("what the scheduler keeps is taken, and the run ends as the uninterrupted one", () => {
    const whole = bootGuest(elf, image, "xen", { disk: memoryDisk(kernelDisk()), cpus: 2, pcpus: 1 });
    const wr = whole.finish(MAX_CYCLES);
    const { guest, info } = resume({});
    expect(info.exact).toBe(true);
    expect(guest.finish(MAX_CYCLES)).toEqual(wr);
    expect(guest.cycles).toBe(whole.cycles);
    expect(guest.console).toBe(whole.console);
  });
});
