// The JIT against the interpreter on loads and stores a protection domain
// checks (docs/speed-history.md "Tenth round: checked accesses";
// docs/machine.md "Checked accesses" in "Why the results are the interpreter's"): translated code
// does such an access itself (cpu.ts checkedAccess: the interpreter's check,
// its counters, PLB fill and charge) when the TLB holds the page and the
// domain allows it, adds a PLB miss's charge and checks the block's limit
// again; anything else — a TLB miss, a denied access, a watched frame —
// exits before the instruction, and the engine runs the interpreter's slow
// path for it (cpu.ts accessSlow) and dispatches on when the interpreter
// would go on.
//
// Consumes the engine pair (engine-pair.ts: both engines, translation at
// first reach) and the program builders (program.ts). Every case compares
// everything observable: result, registers, cycles, every counter (the
// protection checks, PLB hits and misses, extra references, faults), trace.
import { describe, expect, it } from "vitest";
import { CAUSE, IRQ } from "../../src/guest-isa/registers.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { NVDISK_BASE } from "../../src/machine/devices/nvdisk.js";
import type { Machine } from "../../src/machine/machine.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { R, encodeWords, li, pageTables, pagingOn, powerOff, wordsToBytes, type Item } from "./program.js";
import { same } from "./engine-pair.js";

// Paging on. g sits in frame F3 (mapped at V3), which a protection grant makes a checked frame (its
// code is fetched through the TLB's fetch tag; only ALU, loads, stores and a jalr: the WebAssembly
// tier's, whose checked accesses exit to the engine's slow path); k in frame F4 (V4), unchecked,
// with an `mfcr` that puts it in the JavaScript tier, whose loads and stores do checked accesses. Both load and store words of the data frame FD (mapped at VD), which is
// checked (one word of it, FD + 0xff0, domain 0 may only read): FD + 0 and FD + 0x800 fall in the
// same PLB block slot (plb.ts), so each of their loads misses the PLB and is charged two table
// references (permissionRef × 2). VX maps FX, an ordinary frame, at a page sharing FD's TLB slot:
// its load in the middle of g's block evicts VD, and g's next access to VD misses the TLB there.
// The store through sp goes to FD + 0x600 (allowed) or, every fourth pass, to FD + 0xff0 (denied:
// a protection fault; the handler returns to g's caller).
const PD = 0x10_0000;
const V3 = 0x00c0_0000, F3 = 0x0020_2000;
const V4 = 0x00c0_1000, F4 = 0x0020_3000;
const VD = 0x0080_0000, FD = 0x0020_4000;
// TLB slot = (va >>> 12) & 1023: VD (0x800000) and VX (0x400000) both take slot 0.
const VX = 0x0040_0000, FX = 0x0020_5000;

const body = (withMfcr: boolean): Item[] => [
  ["lw", { a: R.t2, b: R.a0, imm: 0x7f0 }], // misses the TLB (the last call's VX load evicted VD)
  ["xor", { a: R.a2, b: R.a2, c: R.t2 }],
  ["sw", { a: R.a2, b: R.a0, imm: 0x400 }], // an allowed store
  ["addi", { a: R.a2, b: R.a2, imm: 3 }],
  ...(withMfcr ? ([["mfcr", { a: R.t3, imm: 3 }]] as Item[]) : []),
  ["lw", { a: R.t3, b: R.a1, imm: 0 }], // VX: evicts VD from the TLB
  ["add", { a: R.a2, b: R.a2, c: R.t3 }],
  ["sw", { a: R.a2, b: R.a0, imm: 0x404 }], // a TLB miss in the middle of the block
  ["sw", { a: R.a2, b: R.sp, imm: 0 }], // allowed, or (every fourth pass) a protection fault
  ["addi", { a: R.a2, b: R.a2, imm: 1 }],
  // Near the block's end, so that a PLB miss's charge (8 cycles) can reach the limit before the
  // block's last instruction although the block's own check passed.
  ["lw", { a: R.t2, b: R.a0, imm: 0 }], // FD + 0: a PLB miss (FD + 0x800's block took the slot)
  ["add", { a: R.a2, b: R.a2, c: R.t2 }],
  ["lw", { a: R.t2, b: R.a0, imm: 0x800 }], // FD + 0x800: a PLB miss
  ["add", { a: R.a2, b: R.a2, c: R.t2 }],
  ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
];

/** The outer loop: `passes` calls of g and k, the timer at `period` (re-armed each pass when `rearm`). */
function program(passes: number, period: number, rearm: boolean): Item[] {
  return [
    ["jal", { a: R.zero, to: "start" }],
    // Every exception and interrupt: sum the causes and the interrupted pcs (a3). A protection
    // fault returns to the caller of the function that took it; an interrupt is acknowledged.
    "handler",
    ["mfcr", { a: R.t4, imm: 3 }],
    ["add", { a: R.a3, b: R.a3, c: R.t4 }],
    ["mfcr", { a: R.t4, imm: 1 }],
    ["add", { a: R.a3, b: R.a3, c: R.t4 }],
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["mfcr", { a: R.t4, imm: 3 }],
    ["addi", { a: R.t4, b: R.t4, imm: -CAUSE.PROTECTION_FAULT }],
    ["bne", { a: R.t4, b: R.zero, to: "irq" }],
    ["mtcr", { imm: 1, b: R.lr }],
    ["iret"],
    "irq",
    ["out", { imm: 0x21, b: R.zero }],
    ...(rearm ? ([["out", { imm: 0x20, b: R.zero }]] as Item[]) : []),
    ["iret"],
    "start",
    ...pagingOn(PD),
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: 0, b: R.t0 }],
    ...li(R.s0, V3),
    ...li(R.k0, V4),
    ...li(R.a0, VD),
    ...li(R.a1, VX),
    ...li(R.t0, period),
    ...li(R.s1, passes),
    ...(rearm ? [] : ([["out", { imm: 0x20, b: R.t0 }]] as Item[])),
    ["sti"],
    "outer",
    ...(rearm ? ([["out", { imm: 0x20, b: R.t0 }]] as Item[]) : []),
    // sp: FD + 0xff0 (read-only: a fault) every fourth pass, else FD + 0x600.
    ...li(R.sp, VD + 0x600),
    ["andi", { a: R.t1, b: R.s1, imm: 3 }],
    ["bne", { a: R.t1, b: R.zero, to: "call" }],
    ...li(R.sp, VD + 0xff0),
    "call",
    ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
    ["jalr", { a: R.lr, b: R.k0, imm: 0 }],
    ["addi", { a: R.s1, b: R.s1, imm: -1 }],
    ["bne", { a: R.s1, b: R.zero, to: "outer" }],
    ["cli"],
    ["add", { a: R.a2, b: R.a2, c: R.a3 }],
    ["xor", { a: R.a2, b: R.a2, c: R.s2 }],
    ["andi", { a: R.a2, b: R.a2, imm: 255 }],
    powerOff(R.a2),
  ];
}

const setup = (passes: number, period: number, rearm: boolean, maxCycles: number) => ({
  items: program(passes, period, rearm),
  data: [
    pageTables(PD, [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2], [V3, F3, 2], [V4, F4, 2], [VD, FD, 2], [VX, FX, 2]] as [number, number, number][]),
    { addr: F3, bytes: wordsToBytes(encodeWords(body(false))) },
    { addr: F4, bytes: wordsToBytes(encodeWords(body(true))) },
    { addr: FD, bytes: wordsToBytes(Array.from({ length: 1024 }, (_, i) => (i * 2654435761) | 0)) },
    { addr: FX, bytes: wordsToBytes([5, 6, 7, 8]) },
  ],
  prepare: (m: Machine) => {
    m.protection.grant(0, FD + 0xff0, 4, 1); // domain 0 may only read that word: FD is checked
    m.protection.grant(0, F3 + 0xffc, 4, 1); // and F3 (g's code) too
  },
  memory: [FD, FD + 4096] as [number, number],
  maxCycles,
});

describe("jit = interpreter on protection-checked loads and stores in translations", () => {
  for (const [period, rearm] of [[10_000, false], [1999, false], [7, true], [1, true]] as [number, boolean][]) {
    it(`g and k under a timer of period ${period}`, () => {
      const r = same(setup(60, period, rearm, 20_000_000));
      expect(r.result.kind).toBe("poweroff");
      expect(r.stats.exceptions["protection-fault"]).toBe(2 * 15); // g and k, every fourth pass
      expect(r.stats.counts["protection.plbMisses"]).toBeGreaterThan(2 * 60);
      expect(r.stats.tlbMisses).toBeGreaterThan(2 * 60);
      expect(r.stats.interrupts[0] ?? 0).toBeGreaterThan(2);
      // The translations did checked accesses themselves, and the engine ran the TLB misses' slow paths.
      expect(r.host.jit!.checkedAccesses).toBeGreaterThan(2 * 60);
      expect(r.host.jit!.slowAccesses).toBeGreaterThan(2 * 60);
    });
  }

  it("every cycle budget across a stretch of calls (PLB-miss charges landing at the limit)", () => {
    // A free-running timer too: its events land inside the charges as well.
    const full = same(setup(8, 1999, false, 20_000_000));
    expect(full.result.kind).toBe("poweroff");
    const end = full.stats.cycles;
    let checked = 0;
    for (let budget = Math.floor(end / 2); budget < Math.floor(end / 2) + 400; budget++) {
      const r = same(setup(8, 1999, false, budget));
      expect(r.result.kind).not.toBe("poweroff");
      checked += r.host.jit!.checkedAccesses;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe("jit = interpreter where a translation's load or store goes back to the machine loop", () => {
  // Paging off. Each pass stores to a frame a monitor watches (its hook raises the timer's line
  // every third store) and loads the nvdisk's ID register (the device window): after both the
  // interpreter returns to the machine loop, which takes the interrupt before the next instruction;
  // the engine must too (not dispatch on), or the handler's sum of interrupted pcs changes.
  const W = 0x5000;
  const items: Item[] = [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["mfcr", { a: R.t4, imm: 1 }],
    ["add", { a: R.a3, b: R.a3, c: R.t4 }],
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["out", { imm: 0x21, b: R.zero }],
    ["iret"],
    "start",
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: 0, b: R.t0 }],
    ...li(R.s0, W),
    ...li(R.s1, NVDISK_BASE),
    ...li(R.t0, 40),
    ["sti"],
    "loop",
    ["addi", { a: R.a2, b: R.a2, imm: 1 }],
    ["sw", { a: R.a2, b: R.s0, imm: 0 }], // watched: the monitor's hook
    ["addi", { a: R.a2, b: R.a2, imm: 5 }],
    ["lw", { a: R.t1, b: R.s1, imm: 0 }], // the device window
    ["add", { a: R.a2, b: R.a2, c: R.t1 }],
    ["addi", { a: R.a2, b: R.a2, imm: 7 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["beq", { a: R.t0, b: R.zero, to: "done" }],
    ["jal", { a: R.zero, to: "loop" }],
    "done",
    ["cli"],
    ["add", { a: R.a2, b: R.a2, c: R.a3 }],
    ["xor", { a: R.a2, b: R.a2, c: R.s2 }],
    ["andi", { a: R.a2, b: R.a2, imm: 255 }],
    powerOff(R.a2),
  ];
  it("a watched store whose hook raises a line, and a device register load", () => {
    let stores = 0;
    const r = same({
      items,
      options: { nvdisk: memoryDisk(new Uint8Array(512)) },
      monitor: (m: Machine): Monitor => {
        stores = 0;
        return {
          name: "watcher",
          attach: () => m.watchFrame(W),
          onWatchedStore: (pa, value) => {
            m.memory.write32(pa, value);
            if (++stores % 3 === 0) m.lines.raise(IRQ.TIMER);
          },
        };
      },
      memory: [W, W + 16],
    });
    expect(r.result.kind).toBe("poweroff");
    expect(r.stats.interrupts[IRQ.TIMER]).toBe(13);
    expect(r.host.jit!.slowAccesses).toBeGreaterThan(40);
  });
});
