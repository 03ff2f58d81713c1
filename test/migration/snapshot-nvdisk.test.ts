// Snapshots of a guest with the memory-mapped disk (docs/migration.md
// "Snapshot format", docs/driver-vms.md "VMM-bypass I/O"): the snapshot
// carries the nvdisk's image, registers and queue state, so the bundled
// kernel's `io` workload on the nvdisk — emulated or passed through —
// snapshotted in the middle of a transfer and resumed (through the file
// format: encode, decode, restore) ends exactly as the uninterrupted run
// (cycles, counters, console, the image), and on another back end prints
// what bare prints. A damaged nvdisk state or image is refused before
// anything is restored; `previrt run --nvdisk --snapshot-at` + `resume` work.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { refusal } from "./helpers.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk, readWholeDisk, type DiskBacking } from "../../src/machine/devices/disk.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { bootGuest, type Guest } from "../../src/migration/guest.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest, type Snapshot } from "../../src/migration/snapshot.js";

const MAX_CYCLES = 400_000_000;
const elf = writeElf(buildKernel({ workload: "io" }).image);
const image = readElf(elf);

function boot(backend: string, passthrough: boolean, nvdisk: DiskBacking = memoryDisk(kernelDisk())): Guest {
  return bootGuest(elf, image, backend, { disk: memoryDisk(kernelDisk()), nvdisk, passthrough });
}

/** The first safe point at or after `from` with a request in flight on the nvdisk (its transfer not yet done). */
function snapshotInFlight(g: Guest, from: number): Snapshot {
  for (let n = from; n < MAX_CYCLES; n += 5_000) {
    expect(runToSafePoint(g, n).reached).toBe(true);
    if (g.machine.nvdisk!.saveState().op !== 0) return captureSnapshot(g);
  }
  throw new Error("no transfer in flight");
}

const roundTrip = (s: Snapshot) => parseSnapshot(encodeSnapshot(s, nodeZlib), "s.snap", nodeZlib);

// Each machine's RAM goes back once the test has read it (PhysicalMemory.recycle; test/recycle.ts says why).
const bare = (() => {
  const g = boot("bare", false);
  const result = g.finish(MAX_CYCLES);
  const console = g.console;
  g.machine.memory.recycle();
  return { console, result };
})();

describe("snapshot → resume with the nvdisk, on the same back end", () => {
  it.each([["bare", false], ["xen", false], ["xen", true], ["l4", true], ["hvm", true]] as const)(
    "%s (passthrough: %s): the same cycles, counters, console, ending and image as the uninterrupted run",
    (hv, passthrough) => {
      const refDisk = memoryDisk(kernelDisk());
      const ref = boot(hv, passthrough, refDisk);
      const refResult = ref.finish(MAX_CYCLES);
      const refStats = ref.machine.stats();
      expect(ref.machine.nvdisk!.transfers).toBe(16);
      expect(ref.console).toBe(bare.console);
      ref.machine.memory.recycle();

      const g = boot(hv, passthrough);
      const snap = snapshotInFlight(g, Math.floor(refStats.cycles * 0.4));
      g.machine.memory.recycle();
      expect(snap.machine.nvdisk!.op).not.toBe(0); // mid-transfer: the completion comes after the resume
      expect(snap.passthrough).toBe(passthrough);
      const { guest, info } = restoreGuest(roundTrip(snap), hv);
      expect(info.exact).toBe(true);
      expect(guest.finish(MAX_CYCLES)).toEqual(refResult);
      expect(guest.machine.stats()).toEqual(refStats);
      expect(guest.console).toBe(ref.console); // the guest's, not its recycled machine's
      expect(guest.machine.nvdisk!.transfers).toBe(16);
      expect(Buffer.compare(Buffer.from(readWholeDisk(guest.machine.nvdisk!.backing)), Buffer.from(readWholeDisk(refDisk)))).toBe(0);
      guest.machine.memory.recycle();
    },
  );
});

describe("snapshot → resume with the nvdisk, on another back end", () => {
  it.each([["xen", true], ["xen", false], ["l4", true], ["hvm", false]] as const)("from %s (passthrough: %s): bare's console and exit status everywhere else", (hv, passthrough) => {
    const g = boot(hv, passthrough);
    const snap = roundTrip(snapshotInFlight(g, 1_000_000));
    g.machine.memory.recycle();
    for (const to of ["bare", "hvm", "xen", "l4"].filter((b) => b !== hv)) {
      const { guest, info } = restoreGuest(snap, to);
      expect(info.exact).toBe(false);
      expect(guest.finish(MAX_CYCLES)).toEqual(bare.result);
      expect(guest.console).toBe(bare.console);
      guest.machine.memory.recycle();
    }
  });
});

describe("a damaged nvdisk in a snapshot is refused before anything is restored", () => {
  const g = boot("xen", true);
  const snap = snapshotInFlight(g, 1_000_000);
  const nv = snap.machine.nvdisk!;
  const refuse = (s: Snapshot) => refusal(() => parseSnapshot(encodeSnapshot(s, nodeZlib), "x.snap", nodeZlib));
  const withState = (patch: Record<string, unknown>) => ({ ...snap, machine: { ...snap.machine, nvdisk: { ...nv, ...patch } } }) as Snapshot;

  it.each([
    ["qsize", { qsize: 1 }], ["qsize", { qsize: 257 }], ["sqHead", { sqHead: nv.qsize }], ["cqTail", { cqTail: -1 }],
    ["op", { op: 7 }], ["control", { control: 8 }], ["status", { status: 2 }], ["sqBase", { sqBase: 2 ** 32 }],
    ["completesAt", { completesAt: Infinity }], ["completesAt", { op: 0 }], ["tag", { tag: "x" }], ["dma", { dma: undefined }],
    // States the device cannot reach: a request in flight on a disabled device, without queues, or halted.
    ["op", { control: 0 }], ["op", { qsize: 0, sqHead: 0, sqTail: 0, cqHead: 0, cqTail: 0 }], ["op", { status: 4 }],
    // A disabled device's indexes may exceed its QSIZE (a QSIZE write keeps them), but not the largest queue.
    ["sqHead", { control: 0, op: 0, completesAt: Infinity, sqHead: 256 }],
  ])("machine.nvdisk.%s: %j", (field, patch) => {
    expect(refuse(withState(patch))).toBe(`x.snap: malformed snapshot: machine.nvdisk.${field}`);
  });
  it("the image, and the state without the image or the image without the state", () => {
    expect(refuse({ ...snap, nvdisk: new Uint8Array(700) })).toBe("x.snap: malformed snapshot: nvdisk is not whole sectors");
    expect(refuse({ ...snap, nvdisk: new Uint32Array(256) as unknown as Uint8Array })).toBe("x.snap: malformed snapshot: nvdisk has the wrong type");
    // (Its TLB may hold the device's register page, which is then refused first.)
    expect(refuse({ ...snap, nvdisk: null })).toMatch(/^x\.snap: malformed snapshot: (an nvdisk state without its image|cpus\[0\]\.tlb\.frame outside RAM)$/);
    const noTlb = { ...snap, machine: { ...snap.machine, cpus: snap.machine.cpus.map((c) => ({ ...c, tlb: { ...c.tlb, frame: new Int32Array(1024) } })) } };
    expect(refuse({ ...noTlb, nvdisk: null })).toBe("x.snap: malformed snapshot: an nvdisk state without its image");
    expect(refuse({ ...noTlb, nvdisk: null, machine: { ...noTlb.machine, nvdisk: undefined }, passthrough: true })).toBe("x.snap: malformed snapshot: an nvdisk state without its image");
    expect(refuse({ ...snap, machine: { ...snap.machine, nvdisk: undefined } })).toBe("x.snap: malformed snapshot: machine.nvdisk is missing");
    expect(refuse({ ...snap, passthrough: 1 as unknown as boolean })).toBe("x.snap: malformed snapshot: passthrough");
  });
});

describe("previrt run --nvdisk --snapshot-at, then resume", () => {
  const dir = mkdtempSync(join(tmpdir(), "previrt-nvsnap-"));
  const file = join(dir, "io.elf");
  writeFileSync(file, elf);

  it("xen, passed through: run + resume prints what one run prints, and the image is written", async () => {
    const img = join(dir, "nv.img");
    writeFileSync(img, kernelDisk());
    const whole = bufferIO();
    expect(await main(["run", file, "--hv", "xen", "--nvdisk", img, "--passthrough", "--json", join(dir, "whole.json")], whole)).toBe(0);
    const wholeImage = readFileSync(img);
    const wholeCycles = JSON.parse(readFileSync(join(dir, "whole.json"), "utf8")).cycles;

    writeFileSync(img, kernelDisk());
    const snap = join(dir, "a.snap");
    const first = bufferIO();
    expect(await main(["run", file, "--hv", "xen", "--nvdisk", img, "--passthrough", "--snapshot-at", "1500000", "--snapshot", snap], first)).toBe(0);
    expect(first.stderr).toMatch(/a\.snap: snapshot of xen at cycle \d+/);
    const out = join(dir, "out.img");
    writeFileSync(out, new Uint8Array(kernelDisk().length));
    const second = bufferIO();
    expect(await main(["resume", snap, "--hv", "xen", "--nvdisk", out, "--json", join(dir, "resumed.json")], second)).toBe(0);
    expect(first.stdout + second.stdout).toBe(whole.stdout);
    expect(JSON.parse(readFileSync(join(dir, "resumed.json"), "utf8")).cycles).toBe(wholeCycles);
    expect(Buffer.compare(readFileSync(out), wholeImage)).toBe(0);
  });

  it("resume on bare prints what bare prints", async () => {
    const img = join(dir, "nv2.img");
    writeFileSync(img, kernelDisk());
    const snap = join(dir, "b.snap");
    const first = bufferIO();
    expect(await main(["run", file, "--hv", "l4", "--nvdisk", img, "--passthrough", "--snapshot-at", "1500000", "--snapshot", snap], first)).toBe(0);
    const second = bufferIO();
    expect(await main(["resume", snap, "--hv", "bare"], second)).toBe(0);
    expect(first.stdout + second.stdout).toBe(bare.console);
  });

  it("resume --nvdisk with a snapshot that has none is refused in one line", async () => {
    const plain = join(dir, "c.snap");
    expect(await main(["run", file, "--hv", "xen", "--snapshot-at", "500000", "--snapshot", plain], bufferIO())).toBe(0);
    const err = bufferIO();
    expect(await main(["resume", plain, "--hv", "xen", "--nvdisk", join(dir, "nv.img")], err)).toBe(1);
    expect(err.stderr).toBe(`previrt: error: ${plain}: the snapshot has no nvdisk to write into ${join(dir, "nv.img")}\n`);
  });
});
