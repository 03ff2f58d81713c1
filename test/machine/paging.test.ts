// Two-level paging, U/W checks, page-fault causes, and the TLB's
// deterministic staleness (a cached translation survives a PTE edit until
// tlbinv/tlbflush/ptbr write).
import { describe, expect, it } from "vitest";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { R, li, pageTables, powerOff, type Item } from "./program.js";
import { CR, mtcr, recordingHandler, run, setTvec } from "./helpers.js";

const PD = 0x10_0000;
const W = 2, U = 4;
const off = powerOff(R.zero);

/** Page tables: code identity at 0x1000 (and 0x2000), plus extra mappings; turns paging on. */
function paged(extra: [number, number, number][], body: Item[]) {
  const pt = pageTables(PD, [[0x1000, 0x1000, W | U], [0x2000, 0x2000, W | U], ...extra]);
  const prog: Item[] = [...setTvec(), ...li(R.t0, PD), mtcr(CR.ptbr, R.t0), ["addi", { a: R.t0, b: R.zero, imm: 1 }], mtcr(CR.pgctl, R.t0), ...body, ...recordingHandler];
  return { prog, data: [pt] };
}

describe("paging", () => {
  it("translates through the page tables and counts TLB misses", () => {
    const { prog, data } = paged([[0x40_0000, 0x30_0000, W]], [...li(R.s0, 0x40_0000), ...li(R.a0, 1234), ["sw", { a: R.a0, b: R.s0, imm: 8 }], ["lw", { a: R.a1, b: R.s0, imm: 8 }], off]);
    const out = run(prog, { data });
    expect(out.result.kind).toBe("poweroff");
    expect(out.regs[R.a1]).toBe(1234);
    expect(out.machine.memory.read32(0x30_0008)).toBe(1234);
    expect(out.stats.tlbMisses).toBe(2); // the code page and the data page
    expect(out.stats.tlbFlushes).toBe(2); // ptbr write, pgctl write
  });

  it("an unmapped page faults with cause 5 (load) / 6 (store) / 4 (fetch), badva = address", () => {
    for (const [item, cause] of [
      [["lw", { a: R.a0, b: R.s0, imm: 0 }], CAUSE.PAGE_FAULT_LOAD],
      [["sw", { a: R.a0, b: R.s0, imm: 0 }], CAUSE.PAGE_FAULT_STORE],
      [["jalr", { a: R.zero, b: R.s0, imm: 0 }], CAUSE.PAGE_FAULT_FETCH],
    ] as [Item, number][]) {
      const { prog, data } = paged([], [...li(R.s0, 0x50_0000), item, off]);
      const out = run(prog, { data });
      expect(out.regs[R.s0]).toBe(cause);
      expect(out.regs[R.s2]).toBe(0x50_0000);
      expect(out.regs[R.s1]).toBe(cause === CAUSE.PAGE_FAULT_FETCH ? 0x50_0000 : 0x1028);
    }
  });

  it("a store to a read-only page faults with cause 6, even in supervisor mode", () => {
    const { prog, data } = paged([[0x40_0000, 0x30_0000, 0]], [...li(R.s0, 0x40_0000), ["lw", { a: R.a0, b: R.s0, imm: 0 }], ["sw", { a: R.a0, b: R.s0, imm: 0 }], off]);
    const out = run(prog, { data });
    expect(out.regs[R.s0]).toBe(CAUSE.PAGE_FAULT_STORE);
    expect(out.regs[R.s2]).toBe(0x40_0000);
  });

  it("user access to a supervisor page faults; supervisor access to it works", () => {
    const { prog, data } = paged([[0x40_0000, 0x30_0000, W]], [
      ...li(R.s0, 0x40_0000),
      ["lw", { a: R.a1, b: R.s0, imm: 0 }], // supervisor: fine
      ["la", { a: R.t0, to: "user" }], mtcr(CR.epc, R.t0), mtcr(CR.epsr, R.zero), ["iret"],
      "user", ["lw", { a: R.a0, b: R.s0, imm: 0 }], off,
    ]);
    const out = run(prog, { data });
    expect(out.regs[R.s0]).toBe(CAUSE.PAGE_FAULT_LOAD);
    expect(out.regs[R.a3]).toBe(0); // faulted in user mode
  });

  it("keeps using a stale translation until tlbinv (deterministic TLB)", () => {
    // 0x400000 → 0x300000 (holds 11); the PTE is then pointed at 0x301000 (holds 22).
    const pteAddr = PD + 8192; // PTE 0 of the second page table (PD index 1, after code's table)
    const { prog } = paged([[0x40_0000, 0x30_0000, W]], [
      ...li(R.t1, 0x30_0000), ["addi", { a: R.t2, b: R.zero, imm: 11 }], ["sw", { a: R.t2, b: R.t1, imm: 0 }],
      ...li(R.t1, 0x30_1000), ["addi", { a: R.t2, b: R.zero, imm: 22 }], ["sw", { a: R.t2, b: R.t1, imm: 0 }],
      ...li(R.s0, 0x40_0000),
      ["lw", { a: R.a0, b: R.s0, imm: 0 }], // 11, caches the translation
      ...li(R.t1, pteAddr), ...li(R.t2, 0x30_1000 | W | 1), ["sw", { a: R.t2, b: R.t1, imm: 0 }], // edit the PTE (its table is identity-mapped below)
      ["lw", { a: R.a1, b: R.s0, imm: 0 }], // still 11: stale
      ["tlbinv", { b: R.s0 }],
      ["lw", { a: R.a2, b: R.s0, imm: 0 }], // 22
      off,
    ]);
    // Same tables, plus identity maps of the data frames and of the page table being edited.
    const pt = pageTables(PD, [[0x1000, 0x1000, W], [0x2000, 0x2000, W], [0x40_0000, 0x30_0000, W], [0x30_0000, 0x30_0000, W], [0x30_1000, 0x30_1000, W], [PD + 8192, PD + 8192, W]]);
    const out = run(prog, { data: [pt] });
    expect(out.result.kind).toBe("poweroff");
    expect([out.regs[R.a0], out.regs[R.a1], out.regs[R.a2]]).toEqual([11, 11, 22]);
  });
});
