// The predecoded code cache (decode.ts, cpu.ts `exec`) must never run stale
// code or change an accounting: every way guest memory is written — the
// guest's own stores (self-modifying code, also inside the running block),
// disk DMA, a monitor's writes through `machine.memory` or its views plus
// `machine.invalidateCode` — is seen by the next fetch, and cycles,
// instruction counts and interrupt points equal the one-at-a-time loop's.
import { describe, expect, it } from "vitest";
import { defaultCostModel } from "../../src/machine/cost-model.js";
import { loadImage } from "../../src/machine/loader.js";
import { Machine } from "../../src/machine/machine.js";
import { TAG_INVALID } from "../../src/machine/mmu/tlb.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { runImage } from "../../src/machine/run-image.js";
import { R, assembleItems, image, li, powerOff, type Item } from "./program.js";

const word = (item: Item): number => new DataView(assembleItems([item], 0).buffer).getInt32(0, true);

/** Runs with the block loop switched off: every instruction through `step`, the reference. */
function withoutBlocks(m: Machine): Machine {
  (m.cpu as unknown as { blocks: boolean }).blocks = false;
  return m;
}

function snapshot(m: Machine) {
  const s = m.stats();
  return { regs: Array.from(m.regs), pc: m.pc, cycles: s.cycles, instructions: s.instructions, interrupts: s.interrupts, exceptions: s.exceptions };
}

describe("code cache: guest stores", () => {
  it("a store patching the next instruction of the running block takes effect", () => {
    const items: Item[] = [
      ["la", { a: R.t1, to: "patch" }],
      ["sw", { a: R.t3, b: R.t1, imm: 0 }],
      "patch",
      ["addi", { a: R.a0, b: R.zero, imm: 1 }],
      powerOff(R.a0),
    ];
    for (const blocks of [true, false]) {
      const m = new Machine({ ramSize: 1024 * 1024 });
      if (!blocks) withoutBlocks(m);
      loadImage(m, image(items, 0x1000));
      m.regs[R.t3] = word(["addi", { a: R.a0, b: R.zero, imm: 100 }]);
      expect(m.run(1_000_000)).toEqual({ kind: "poweroff", exitCode: 100 });
    }
  });

  it("a store turning a branch into an ALU word re-forms the blocks (same counts as the reference)", () => {
    // Pass 1 runs the `beq` (taken, skips the addi); then the loop overwrites it with `addi a1, a1, 5`.
    const items: Item[] = [
      ...li(R.t0, 3),
      ["la", { a: R.t1, to: "site" }],
      "loop",
      "site",
      ["beq", { a: R.zero, b: R.zero, to: "skip" }],
      ["addi", { a: R.a0, b: R.a0, imm: 1 }],
      "skip",
      ["sw", { a: R.t3, b: R.t1, imm: 0 }],
      ["addi", { a: R.t0, b: R.t0, imm: -1 }],
      ["bne", { a: R.t0, b: R.zero, to: "loop" }],
      ["add", { a: R.a0, b: R.a0, c: R.a1 }],
      powerOff(R.a0),
    ];
    const snaps = [true, false].map((blocks) => {
      const m = new Machine({ ramSize: 1024 * 1024 });
      if (!blocks) withoutBlocks(m);
      loadImage(m, image(items, 0x1000));
      m.regs[R.t3] = word(["addi", { a: R.a1, b: R.a1, imm: 5 }]);
      expect(m.run(1_000_000)).toEqual({ kind: "poweroff", exitCode: 2 + 10 });
      return snapshot(m);
    });
    expect(snaps[0]).toEqual(snaps[1]);
  });

  it("a cached code frame has no fast-path write tag; emptying the cache gives it back", () => {
    const m = new Machine({ ramSize: 1024 * 1024 });
    loadImage(m, image([["addi", { a: R.a0, b: R.zero, imm: 1 }], ["hlt"]], 0x1000));
    m.cpu.run(1); // fetches the page at 0x1000 into the cache
    const slot = 1; // TLB slot of page 0x1000
    expect(m.mmu.tlb.tagReadSup[slot]).toBe(0x1000);
    expect(m.mmu.tlb.tagWriteSup[slot]).toBe(TAG_INVALID);
    m.cpu.invalidateAllCode();
    expect(m.mmu.tlb.tagWriteSup[slot]).toBe(0x1000);
  });
});

describe("code cache: writes from outside the CPU", () => {
  it("disk DMA into a page of code already run is seen by the next fetch", () => {
    // `routine` at 0x3000 first returns 1; then sector 0 (returning 42) is read over it.
    const routine = (v: number) => assembleItems([["addi", { a: R.a0, b: R.zero, imm: v }], ["jalr", { a: R.zero, b: R.lr, imm: 0 }]], 0x3000);
    const disk = new Uint8Array(512);
    disk.set(routine(42));
    const out = (port: number, rs: number): Item => ["out", { imm: port, b: rs }];
    const items: Item[] = [
      ...li(R.s0, 0x3000),
      ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
      ["add", { a: R.s1, b: R.a0, c: R.zero }],
      out(0x30, R.zero), out(0x31, R.s0), ["addi", { a: R.t0, b: R.zero, imm: 1 }], out(0x32, R.t0), // read sector 0 → 0x3000
      "wait", ["in", { a: R.t1, imm: 0x33 }], ["andi", { a: R.t1, b: R.t1, imm: 2 }], ["beq", { a: R.t1, b: R.zero, to: "wait" }],
      ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
      ["add", { a: R.a0, b: R.a0, c: R.s1 }],
      powerOff(R.a0),
    ];
    const o = runImage(image(items, 0x1000, [{ addr: 0x3000, bytes: routine(1) }]), { disk });
    expect(o.result).toEqual({ kind: "poweroff", exitCode: 43 });
  });

  for (const how of ["write32", "view + invalidateCode"] as const) {
    it(`a monitor patching code during the run (${how}) is seen by the next fetch`, () => {
      const items: Item[] = [["hcall", { imm: 1 }], "patch", ["addi", { a: R.a0, b: R.zero, imm: 1 }], powerOff(R.a0)];
      const m = new Machine({ ramSize: 1024 * 1024 });
      const patched = word(["addi", { a: R.a0, b: R.zero, imm: 99 }]);
      const monitor: Monitor = {
        name: "patcher",
        onHcall: () => {
          if (how === "write32") m.memory.write32(0x1004, patched);
          else {
            m.memory.i32[0x1004 >>> 2] = patched;
            m.invalidateCode(0x1004, 4);
          }
          return "advance";
        },
      };
      m.attach(monitor);
      loadImage(m, image(items, 0x1000));
      m.cpu.run(1e9); // runs up to the hcall's return, caching the page first
      expect(m.run(1_000)).toEqual({ kind: "poweroff", exitCode: 99 });
    });
  }

  it("a write through the memory views between runs is seen by the next run", () => {
    const m = new Machine({ ramSize: 1024 * 1024 });
    loadImage(m, image([["addi", { a: R.a0, b: R.zero, imm: 1 }], powerOff(R.a0)], 0x1000));
    while (m.pc !== 0x1004) m.cpu.run(m.cpu.cycles + 1e-9); // the page is now cached
    m.pc = 0x1000;
    m.memory.i32[0x1000 >>> 2] = word(["addi", { a: R.a0, b: R.zero, imm: 7 }]); // no invalidateCode: Machine.run empties the cache
    expect(m.run(1_000)).toEqual({ kind: "poweroff", exitCode: 7 });
  });
});

describe("code cache: exact accounting", () => {
  // A timer every 1409 cycles (prime; the handler takes ≈ 1350) interrupts blocks at many different points; a handler folds each epc into s2/a3.
  const items: Item[] = [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }],
    ["mfcr", { a: R.a2, imm: 1 }],
    ["add", { a: R.s2, b: R.s2, c: R.a2 }],
    ["xor", { a: R.a3, b: R.a3, c: R.s2 }],
    ["slli", { a: R.a3, b: R.a3, imm: 1 }],
    ["iret"],
    "start",
    ...li(R.t0, 0x1004),
    ["mtcr", { imm: 0, b: R.t0 }],
    ...li(R.t0, 1409),
    ["out", { imm: 0x20, b: R.t0 }],
    ...li(R.t0, 3000),
    ...li(R.s0, 0x8000),
    ["sti"],
    "loop",
    ["addi", { a: R.t1, b: R.t1, imm: 1 }],
    ["lw", { a: R.t2, b: R.s0, imm: 0 }],
    ["add", { a: R.t2, b: R.t2, c: R.t1 }],
    ["sw", { a: R.t2, b: R.s0, imm: 0 }],
    ["mul", { a: R.t3, b: R.t2, c: R.t1 }],
    ["divu", { a: R.t4, b: R.t3, c: R.t0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["cli"],
    powerOff(R.zero),
  ];

  it("timer interrupts land on the same instructions as in the one-at-a-time loop", () => {
    const snaps = [true, false].map((blocks) => {
      const m = new Machine({ ramSize: 1024 * 1024 });
      if (!blocks) withoutBlocks(m);
      loadImage(m, image(items, 0x1000));
      const r = m.run(10_000_000);
      expect(r.kind, JSON.stringify(r)).toBe("poweroff");
      return snapshot(m);
    });
    expect(snaps[0].interrupts[0]).toBeGreaterThan(500);
    expect(snaps[0]).toEqual(snaps[1]);
  });

  it("a block running over a page end is charged as the reference; the limit may fall inside it", () => {
    const body: Item[] = [];
    for (let k = 0; k < 1100; k++) body.push(["addi", { a: R.a0, b: R.a0, imm: k & 7 }]);
    const prog: Item[] = [...body, powerOff(R.a0)];
    for (const limit of [1, 500, 1023, 1024, 1025, 1099, 5000]) {
      const snaps = [true, false].map((blocks) => {
        const m = new Machine({ ramSize: 1024 * 1024 });
        if (!blocks) withoutBlocks(m);
        loadImage(m, image(prog, 0x1000 + 4 * 1000)); // starts 24 words before a page end
        m.cpu.run(limit);
        return snapshot(m);
      });
      expect(snaps[0], `limit ${limit}`).toEqual(snaps[1]);
    }
  });

  it("a cost model with fractional costs runs one instruction at a time, exactly", () => {
    const costModel = { ...defaultCostModel(), alu: 0.1, load: 0.3 };
    const snaps = [true, false].map((blocks) => {
      const m = new Machine({ ramSize: 1024 * 1024, costModel });
      if (!blocks) withoutBlocks(m);
      loadImage(m, image(items, 0x1000));
      const r = m.run(10_000_000);
      expect(r.kind, JSON.stringify(r)).toBe("poweroff");
      return snapshot(m);
    });
    expect(snaps[0]).toEqual(snaps[1]);
  });
});
