// The machine's dirty log (live migration's tracking) on a program whose
// writes are known exactly: the logged frames are exactly the frames it
// stores to — once per frame per round however often, even a store of the
// value already there, never for a load — plus the frame a disk transfer
// writes by DMA; each CPU-store frame costs one dirtyFault, and a new round
// starts clean, and stopping the log leaves only the monitor's own watches.
// The same under hvm's monitor. (With paging on, the monitors' page-table
// watches and the log together: test/migration/live.test.ts.)
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { writeElf, readElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { HC, HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
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
    sw   zero, 4(t2)        # frame 0x30: writes the 0 already there
    li   t0, 0x41000
    lw   t3, 0(t0)          # a load only
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
round2:                     # round boundary: the test reads the log here
    li   t0, 0x23000
    sw   t0, 0(t0)          # round 2: frame 0x23 only
    out  0xF0, zero
`;

describe("the dirty log", () => {
  const elf = writeElf(assemble([{ file: "dirty.s", text: SOURCE }]));
  it.each(["bare", "hvm"])("%s: exactly the frames written, by the CPU or by DMA, per round", (hv) => {
    const g = bootGuest(elf, readElf(elf), hv, { disk: memoryDisk(new Uint8Array(4096).fill(7)) });
    const m = g.machine;
    m.startDirtyLog();
    const round2 = g.image.symbols.find((x) => x.name === "round2")!.value >>> 0;
    while (m.pc >>> 0 !== round2) expect(m.runUntil(m.cycles + 1e-6)).toBe(false);
    const round1 = m.takeDirty();
    expect(round1).toEqual([0x20, 0x23, 0x30, 0x40]);
    expect(m.stats().events.dirtyFault).toBe(3); // the DMA write is logged by the memory API, not a fault
    expect(m.memory.u8[0x40000]).toBe(7);
    expect(m.memory.u8[0x23005]).toBe(0);
    expect(m.memory.i32[0x20000 >> 2]).toBe(0x20000);
    expect(m.run()).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(m.takeDirty()).toEqual([0x23]);
    expect(m.stats().events.dirtyFault).toBe(4);
    m.stopDirtyLog();
    expect(m.memory.dirty).toBeUndefined();
    expect([...m.watched].every((w, f) => w === m.mmu.monitorWatched[f])).toBe(true);
  });
});

// A paravirtual monitor's writes for the guest (a multicall's results) go where the guest's own store
// would: a frame the log protects is written (and logged), not refused as a page table xen validates is.
describe("the dirty log beside xen's multicall", () => {
  const text = `
    .text
    .global _start
_start:
    li   a0, 0x20000            # one entry: an op xen does not know (ENOSYS); its result slot at 0x20004
    li   a1, 1
    hcall HC_MULTICALL
    out  0xF0, a0
`;
  const defines = Object.fromEntries(Object.entries(HC).map(([k, v]) => [`HC_${k}`, v]));
  const elf = writeElf(assemble([{ file: "mc.s", text }], { defines }));
  it("writes the result into a frame the log protects, and logs it", () => {
    const g = bootGuest(elf, readElf(elf), "xen", {});
    const m = g.machine;
    m.memory.write32(0x20000, 0x7777);
    m.startDirtyLog();
    expect(m.run()).toEqual({ kind: "poweroff", exitCode: 1 }); // one entry done
    expect(m.memory.i32[0x20004 >> 2]).toBe(HC_ERROR.NOSYS);
    expect(m.takeDirty()).toContain(0x20);
  });
});
