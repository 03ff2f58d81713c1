// Host-only write tracking (docs/machine.md "Host-only write tracking") on a
// program whose writes are known exactly: a round's tracked frames are
// exactly the tracked frames it stored to — once per round however often,
// even a store of the value already there or an atomic, never for a load —
// plus the frame a disk transfer writes by DMA; frames not tracked are never
// reported. Nothing simulated changes: the run's cycles and every counter
// are those of the same run untracked, under the interpreter and the JIT
// (its hot loop storing to a tracked frame at every iteration, a round
// every few hundred cycles), bare and under hvm's monitor; beside the dirty
// log, each gives what it gives alone.
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import type { Engine } from "../../src/machine/machine.js";
import { bootGuest } from "../../src/migration/guest.js";

const SOURCE = `
    .text
    .global _start
_start:
    li   t0, 0x20000
    sw   t0, 0(t0)          # frame 0x20
    sw   t0, 8(t0)          # frame 0x20 again
    li   t1, 0x23000
    sb   t1, 5(t1)          # frame 0x23
    li   t2, 0x30000
    lw   t3, 0(t2)          # a load: not a write
    sh   zero, 4(t2)        # frame 0x30: writes the 0 already there
    li   t0, 0x41000
    lw   t3, 0(t0)          # a load only
    li   t0, 0x42000
    li   t1, 1
    amoadd t3, t1, 0(t0)    # frame 0x42: an atomic
    li   t0, 0x40000
    li   t1, 0
    out  0x30, t1           # sector 0
    out  0x31, t0           # DMA to 0x40000: frame 0x40
    li   t1, 1
    out  0x32, t1           # read
.Lwait:
    in   t1, 0x33
    andi t1, t1, 2
    beqz t1, .Lwait
    .global round2
round2:                     # round boundary: the test takes the writes here
    li   t0, 0x23000
    sw   t0, 0(t0)          # round 2: frame 0x23 only
    li   t0, 0x50000
    li   t1, 20000
.Lhot:                      # a hot loop storing to frame 0x50 (translated, and a WebAssembly loop)
    sw   t1, 0(t0)
    addi t1, t1, -1
    bnez t1, .Lhot
    .global round3
round3:
    out  0xF0, zero
`;

const TRACKED = [0x20, 0x23, 0x30, 0x40, 0x41, 0x42, 0x50, 0x51];
const elf = writeElf(assemble([{ file: "tracked.s", text: SOURCE }]));
const image = readElf(elf);
const at = (name: string) => image.symbols.find((x) => x.name === name)!.value >>> 0;

function boot(hv: string, engine: Engine) {
  return bootGuest(elf, image, hv, { disk: memoryDisk(new Uint8Array(4096).fill(7)), engine, jitThreshold: 1 }).machine;
}

/** Runs to `pc` one tiny slice at a time (lands exactly on it). */
function runTo(m: ReturnType<typeof boot>, pc: number): void {
  while (m.pc >>> 0 !== pc) expect(m.runUntil(m.cycles + 1e-6)).toBe(false);
}

describe.each(["bare", "hvm"])("write tracking on %s", (hv) => {
  it.each(["interp", "jit"] as const)("exactly the tracked frames written, by the CPU or by DMA, per round; nothing simulated changes (%s)", (engine) => {
    const m = boot(hv, engine);
    for (const f of TRACKED) m.trackWrites(f << 12, true);
    runTo(m, at("round2"));
    expect(m.takeTrackedWrites()).toEqual([0x20, 0x23, 0x30, 0x42, 0x40]);
    expect(m.memory.u8[0x40000]).toBe(7);
    expect(m.memory.u8[0x23005]).toBe(0);
    expect(m.memory.i32[0x42000 >> 2]).toBe(1);
    expect(m.takeTrackedWrites()).toEqual([]); // taken: clean again
    runTo(m, at("round3"));
    expect(m.takeTrackedWrites()).toEqual([0x23, 0x50]);
    expect(m.memory.i32[0x50000 >> 2]).toBe(1);
    expect(m.run()).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(m.takeTrackedWrites()).toEqual([]);

    // The same run untracked, in slices as above: the same cycles and counters, to the last one.
    const u = boot(hv, engine);
    runTo(u, at("round2"));
    runTo(u, at("round3"));
    u.run();
    expect(m.stats()).toEqual(u.stats());
    expect(m.stats().events.dirtyFault ?? 0).toBe(0);
  });

  it.each(["interp", "jit"] as const)("a round every few hundred cycles through the hot loop: the frame each time, the run as untracked (%s)", (engine) => {
    const m = boot(hv, engine);
    m.trackWrites(0x50000, true);
    m.trackWrites(0x51000, true);
    const hot = at("round2");
    runTo(m, hot);
    let rounds = 0;
    while (!m.runUntil(m.cycles + 300)) {
      const w = m.takeTrackedWrites();
      if (m.pc >>> 0 < at("round3")) {
        expect(w).toEqual([0x50]); // every round inside the loop stores to it
        rounds++;
      }
    }
    expect(rounds).toBeGreaterThan(100);
    // Tracking stopped: the frame's stores go unnoted.
    const u = boot(hv, engine);
    u.run();
    expect(m.stats()).toEqual(u.stats());
    m.trackWrites(0x50000, false);
    m.memory.write32(0x50000, 5);
    expect(m.takeTrackedWrites()).toEqual([]);
    m.memory.write32(0x51000, 5);
    expect(m.takeTrackedWrites()).toEqual([0x51]); // a write through the memory API (a device, the host)
  });

  it("beside the dirty log: each records what it records alone, the log's charges unchanged", () => {
    const both = boot(hv, "interp");
    both.startDirtyLog();
    for (const f of TRACKED) both.trackWrites(f << 12, true);
    runTo(both, at("round2"));
    const dirty = both.takeDirty();
    expect(both.takeTrackedWrites()).toEqual([0x20, 0x23, 0x30, 0x42, 0x40]);
    runTo(both, at("round3"));
    const dirty2 = both.takeDirty();
    expect(both.takeTrackedWrites()).toEqual([0x23, 0x50]);
    both.stopDirtyLog();
    both.run();
    expect([...both.watched].every((w, f) => w === (both.mmu.monitorWatched[f] | (TRACKED.includes(f) ? 1 : 0)))).toBe(true);

    const log = boot(hv, "interp");
    log.startDirtyLog();
    runTo(log, at("round2"));
    expect(dirty).toEqual(log.takeDirty());
    runTo(log, at("round3"));
    expect(dirty2).toEqual(log.takeDirty());
    log.stopDirtyLog();
    log.run();
    expect(both.stats()).toEqual(log.stats());
    expect(log.stats().events.dirtyFault).toBeGreaterThan(5);
  });
});
