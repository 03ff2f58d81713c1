// Physical memory's written-chunk record (src/machine/memory.ts `written`):
// recycling compares and clears only the 64 KiB chunks some write path
// recorded (plus the state region, the reserved top and the code-page marks),
// so every path that writes RAM must record. Here: the check that finds a
// write nothing recorded (the suite runs it after every test and at every
// recycle: test/written-record.ts), what recycling clears and what it trusts
// the record for (a snapshot's non-zero pages too), the TLB's fill, and
// guest stores on real guest code under both engines.
import { describe, expect, it } from "vitest";
import { memoryOptions, PhysicalMemory, RAM_BASE, takeLiveMemories, verifySpares, WRITTEN_SHIFT } from "../../src/machine/memory.js";
import { PERM, Tlb } from "../../src/machine/mmu/tlb.js";
import { nonZeroPages } from "../../src/migration/snapshot.js";
import { li, R } from "./program.js";
import { run } from "./helpers.js";

/** A size no other test recycles (its spare buffers are this test's alone), with a partial last chunk. */
const SIZE = (1 << 20) + 3 * 4096;

/** Chunk numbers the record holds. */
const recorded = (m: PhysicalMemory) => [...m.written.keys()].filter((c) => m.written[c] === 1);

describe("physical memory's written-chunk record", () => {
  it("finds a nonzero byte written through a view with no record, and none once it is recorded", () => {
    const m = new PhysicalMemory(SIZE);
    expect(m.unrecordedWrite()).toBe(-1);
    m.u8[0x23456] = 1;
    expect(m.unrecordedWrite()).toBe(0x23456);
    expect(() => m.verifyWritten()).toThrow(/nonzero byte at physical 0x23456 in a chunk no write path recorded/);
    m.markWritten(0x23456);
    expect(m.unrecordedWrite()).toBe(-1);
    expect(recorded(m)).toEqual([0x2]);
    // The memory API records its own writes, a range across a chunk boundary in both chunks.
    m.writeBytes(0x4fffe, new Uint8Array([1, 2, 3, 4]));
    m.write16(0x7fff0, 5);
    expect(recorded(m)).toEqual([0x2, 0x4, 0x5, 0x7]);
    expect(m.unrecordedWrite()).toBe(-1);
  });

  it("does not ask for a record of the reserved top, the state region or the code-page marks: recycling clears them all", () => {
    const a = new PhysicalMemory(SIZE);
    const top = a.reserveTop(8192);
    a.u8[top + 4] = 9; // a monitor's write through a view into its reserved top
    a.u8[SIZE - 1] = 8; // the partial last chunk (reserved too)
    a.heap8[5] = 1; // a register
    a.codePages[3] = 1;
    a.write32(0x12344, -1);
    expect(a.unrecordedWrite()).toBe(-1);
    a.recycle();
    const b = new PhysicalMemory(SIZE);
    expect(b.buffer).toBe(a.buffer);
    expect(new Uint8Array(b.buffer).every((x) => x === 0)).toBe(true);
    expect(recorded(b)).toEqual([]); // a new memory's record starts empty
  });

  it("trusts the record: a write no path recorded survives recycling (what the check exists to catch)", () => {
    memoryOptions.verifyWritten = false;
    try {
      const a = new PhysicalMemory(SIZE);
      a.u8[0x30000] = 7; // no record
      a.write8(0x50000, 6);
      a.recycle();
      const b = new PhysicalMemory(SIZE);
      expect(b.buffer).toBe(a.buffer);
      expect([b.u8[0x30000], b.u8[0x50000]]).toEqual([7, 0]);
      b.u8[0x30000] = 0; // leave the spare buffer clean for the next memory of this size
    } finally {
      memoryOptions.verifyWritten = true;
    }
  });

  it("leaves a recycled memory out of the check after the test: its buffer may be another memory's by then", () => {
    const a = new PhysicalMemory(SIZE);
    a.recycle();
    const b = new PhysicalMemory(SIZE);
    expect(b.buffer).toBe(a.buffer);
    b.write8(0x60000, 1); // b's write, which a's record does not hold
    expect(a.unrecordedWrite()).toBe(0x60000);
    const live = takeLiveMemories();
    expect(live.length).toBe(1);
    expect(live[0]).toBe(b);
    b.write8(0x60000, 0);
  });

  it("refuses to hand out a spare buffer written after its recycle: a machine used after it was given back", () => {
    for (const [what, write] of [
      ["state region", (m: PhysicalMemory) => (m.regs[3] = 1)], // a stale machine's register write
      ["code-page marks", (m: PhysicalMemory) => (m.codePages[7] = 1)], // a stale translation's mark
    ] as const) {
      const a = new PhysicalMemory(SIZE);
      a.recycle();
      write(a);
      expect(() => new PhysicalMemory(SIZE), what).toThrow(new RegExp(`written after its recycle \\(byte 0x[0-9a-f]+ of the ${what}\\)`));
    }
    // One not handed out again is checked as it leaves the spares (two are kept: the third recycle drops the oldest).
    const [x, y, z] = [new PhysicalMemory(SIZE), new PhysicalMemory(SIZE), new PhysicalMemory(SIZE)];
    x.recycle();
    x.regs[0] = 1;
    y.recycle();
    expect(() => z.recycle()).toThrow(/written after its recycle \(byte 0x0 of the state region\)/);
    new PhysicalMemory(SIZE); // y's buffer, still zero (z's recycle ended at the throw: not a spare)
    // One still a spare at the end of a file is checked then (test/written-record.ts: verifySpares).
    const d = new PhysicalMemory(SIZE);
    d.recycle();
    d.regs[1] = 1;
    expect(() => verifySpares()).toThrow(/written after its recycle \(byte 0x4 of the state region\)/);
    expect(() => new PhysicalMemory(SIZE)).toThrow(/written after its recycle/); // taken out, so the file's own check passes
    // Untouched after its recycle, the buffer is handed out again.
    const c = new PhysicalMemory(SIZE);
    c.regs[3] = 5;
    c.recycle();
    expect(new PhysicalMemory(SIZE).buffer).toBe(c.buffer);
  });

  it("gives a snapshot's non-zero pages from the recorded chunks and the reserved top, checked first", () => {
    const m = new PhysicalMemory(SIZE);
    const top = m.reserveTop(4096);
    m.write32(0x21000, 1);
    m.writeBytes(0x3fffc, new Uint8Array(8)); // recorded, but zero: not a non-zero page
    m.u8[top + 9] = 1; // the reserved top needs no record
    expect(nonZeroPages(m, 0, SIZE >>> 12)).toEqual([0x21, top >>> 12]);
    m.u8[0x90000] = 1; // no record: the check refuses to answer
    expect(() => nonZeroPages(m, 0, SIZE >>> 12)).toThrow(/0x90000/);
    m.u8[0x90000] = 0;
  });

  it("is marked by a TLB fill that grants write permission, for RAM frames only", () => {
    const m = new PhysicalMemory(SIZE);
    const t = new Tlb(() => false, undefined, 0, undefined, undefined, m.written);
    t.fill(0x1000, 0x30000, PERM.V | PERM.U); // read-only: no store can reach the frame through it
    t.fill(0x2000, 0x70000, PERM.V | PERM.W);
    t.fill(0x3000, 0x8000_0000, PERM.V | PERM.W); // a device frame: not RAM, nothing to record
    expect(recorded(m)).toEqual([0x7]);
  });

  it.each(["interp", "jit"] as const)("records the chunks a guest stores to and no other (%s)", (engine) => {
    // A loop of word stores into 0x250000's chunk (the first a TLB miss, the rest fast), then a byte
    // store into 0x370000's; the program itself sits in chunk 0 (the loader's record).
    const out = run([...li(R.t0, 0x250000), ...li(R.t1, 64), "loop", ["sw", { a: R.t1, b: R.t0, imm: 0 }], ["addi", { a: R.t0, b: R.t0, imm: 4 }], ["addi", { a: R.t1, b: R.t1, imm: -1 }], ["bne", { a: R.t1, b: R.zero, to: "loop" }], ...li(R.t0, 0x370001), ["sb", { a: R.t0, b: R.t0, imm: 0 }], ["out", { imm: 0xf0, b: R.zero }]], { engine });
    expect(out.result.kind).toBe("poweroff");
    const mem = out.machine.memory;
    expect(mem.u8[0x370001]).toBe(1);
    expect(recorded(mem)).toEqual([0, 0x25, 0x37]);
    expect(mem.unrecordedWrite()).toBe(-1);
  });

  it("hands a recycled WebAssembly memory's buffer only to a memory allowed one (memoryOptions.wasm), a plain one to any", () => {
    const size = SIZE + 2 * 4096; // sizes of their own: these spare buffers are this test's alone
    const a = new PhysicalMemory(size);
    expect(a.wasm).toBeDefined(); // Node has WebAssembly: memories are allocated as its memories
    a.recycle();
    memoryOptions.wasm = false;
    try {
      const b = new PhysicalMemory(size);
      expect(b.wasm).toBeUndefined(); // not a's buffer, kept for a memory that may have compiled loops
      expect(b.buffer).not.toBe(a.buffer);
      b.recycle();
      const c = new PhysicalMemory(size);
      expect(c.buffer).toBe(b.buffer); // a plain spare is taken with the switch off
      c.recycle();
    } finally {
      memoryOptions.wasm = true;
    }
  });

  it("keeps RAM_BASE a whole number of chunks (recycling compares the state region apart)", () => {
    expect(RAM_BASE % (1 << WRITTEN_SHIFT)).toBe(0);
  });
});
