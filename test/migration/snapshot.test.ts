// Snapshots: resuming on the back end that took one continues to exactly
// the cycles and counters of the uninterrupted run (differential, through
// the file format: encode, decode, restore); resuming on another back end
// gives bare's console and exit status; a snapshot of a snapshot's resume
// continues the same clock; and a damaged, truncated, future-version or
// malformed file is refused before anything is restored.
import { describe, expect, it } from "vitest";
import { encodeSnapshot, HEADER_BYTES } from "../../src/migration/codec.js";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest } from "../../src/migration/snapshot.js";
import { boot, kernel, MAX_CYCLES, refusal, snapshotsAt } from "./helpers.js";

const BACKENDS = ["bare", "hvm", "xen", "l4", "trap"];

// Each machine's RAM goes back once the test is done with it (PhysicalMemory.recycle; test/recycle.ts says why),
// the restored guest's too.
describe("snapshot → resume on the same back end", () => {
  it.each(BACKENDS)("%s: the same cycles, counters, console and ending as the uninterrupted run", (hv) => {
    const k = kernel("mixed");
    const ref = boot(k, hv);
    const refResult = ref.finish(MAX_CYCLES);
    const refStats = ref.machine.stats();
    const refConsole = ref.console;
    ref.machine.memory.recycle();
    // Two snapshots in a row (the second of the first's resume), at points spread over the run.
    const g = boot(k, hv);
    const first = runToSafePoint(g, Math.floor(refStats.cycles * 0.3));
    expect(first.reached).toBe(true);
    const bytes1 = encodeSnapshot(captureSnapshot(g), nodeZlib);
    g.machine.memory.recycle();
    const { guest: r1, info } = restoreGuest(parseSnapshot(bytes1, "s1", nodeZlib), hv);
    expect(info.exact).toBe(true);
    expect(runToSafePoint(r1, Math.floor(refStats.cycles * 0.7)).reached).toBe(true);
    const bytes2 = encodeSnapshot(captureSnapshot(r1), nodeZlib);
    r1.machine.memory.recycle();
    const { guest: r2 } = restoreGuest(parseSnapshot(bytes2, "s2", nodeZlib), hv);
    const result = r2.finish(MAX_CYCLES);
    expect(result).toEqual(refResult);
    expect(r2.machine.stats()).toEqual(refStats);
    expect(r2.console).toBe(refConsole);
    r2.machine.memory.recycle();
  });
});

describe("snapshot → resume on another back end", () => {
  it.each(["bare", "hvm", "xen", "l4"])("from %s: bare's console and exit status everywhere else", (hv) => {
    const k = kernel("io");
    const [snap] = snapshotsAt(k, hv, [Math.floor(k.bare.cycles / 2)]);
    const decoded = parseSnapshot(encodeSnapshot(snap, nodeZlib), "s", nodeZlib);
    for (const to of ["bare", "hvm", "xen", "l4"].filter((b) => b !== hv)) {
      const { guest } = restoreGuest(decoded, to);
      expect(guest.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(guest.console).toBe(k.bare.console);
      guest.machine.memory.recycle();
    }
  });
});

describe("a damaged snapshot is refused before anything is restored", () => {
  const k = kernel("syscall");
  const [snap] = snapshotsAt(k, "xen", [200_000]);
  const good = encodeSnapshot(snap, nodeZlib);
  const refuse = (bytes: Uint8Array) => refusal(() => parseSnapshot(bytes, "x.snap", nodeZlib));

  it("round-trips", () => {
    const back = parseSnapshot(good, "x.snap", nodeZlib);
    expect(back.cycle).toBe(snap.cycle);
    expect(back.neutral).toEqual(snap.neutral);
    expect(Buffer.compare(Buffer.from(back.pageData), Buffer.from(snap.pageData))).toBe(0);
  });
  it("not a snapshot", () => expect(refuse(new TextEncoder().encode("hello, world, this is not a snapshot"))).toMatch(/^x\.snap: not a previrt snapshot/));
  it("truncated", () => {
    expect(refuse(good.subarray(0, good.length - 100))).toMatch(/truncated snapshot/);
    expect(refuse(good.subarray(0, 10))).toMatch(/x\.snap: /);
  });
  it("a flipped byte in the payload", () => {
    const bad = good.slice();
    bad[HEADER_BYTES + 200] ^= 0x40;
    expect(refuse(bad)).toMatch(/corrupted snapshot \(checksum mismatch\)/);
  });
  it("a future format version", () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(8, 4, true);
    expect(refuse(bad)).toMatch(/format version 4 is newer/);
  });
  it("an older format version (one CPU, before multiprocessors)", () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(8, 1, true);
    expect(refuse(bad)).toMatch(/snapshot format version 1 is older than this previrt reads \(3\)/);
  });
  it("an older format version (no memory-mapped disk)", () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(8, 2, true);
    expect(refuse(bad)).toBe("x.snap: snapshot format version 2 is older than this previrt reads (3): take the snapshot again");
  });
  it("a well-formed container with a malformed document", () => {
    expect(refuse(encodeSnapshot({ ...snap, backend: "vmware" }, nodeZlib))).toMatch(/malformed snapshot: unknown back end 'vmware'/);
    expect(refuse(encodeSnapshot({ ...snap, pages: Uint32Array.of(5, 3) }, nodeZlib))).toMatch(/malformed snapshot/);
    expect(refuse(encodeSnapshot({ ...snap, machine: { ...snap.machine, cpus: [{ ...snap.machine.cpus[0], regs: new Int32Array(3) }] } }, nodeZlib))).toMatch(/cpus\[0\]\.regs has the wrong length/);
    expect(refuse(encodeSnapshot({ ...snap, machine: { ...snap.machine, cpus: [] } }, nodeZlib))).toMatch(/machine\.cpus must hold 1 to 8 CPUs/);
    expect(refuse(encodeSnapshot({ ...snap, machine: { ...snap.machine, current: 1 } }, nodeZlib))).toMatch(/machine\.current/);
  });
  it("a damaged protection unit state is refused, not silently dropped", () => {
    const p = snap.machine.protection!;
    expect(refuse(encodeSnapshot({ ...snap, machine: { ...snap.machine, protection: { ...p, plb: { ...p.plb, frameTag: new Float64Array(3) } } } }, nodeZlib))).toMatch(/protection\.plb\.frameTag has the wrong length/);
    expect(refuse(encodeSnapshot({ ...snap, machine: { ...snap.machine, protection: { ...p, counters: { ...p.counters, checks: "many" as unknown as number } } } }, nodeZlib))).toMatch(/protection\.counters\.checks is not a number/);
  });
  it("the bundled kernel's snapshot is small (goal: at most 1 MB)", () => {
    const [big] = snapshotsAt(kernel("mixed"), "xen", [2_000_000]);
    expect(encodeSnapshot(big, nodeZlib).length).toBeLessThan(1_000_000);
  });
});
