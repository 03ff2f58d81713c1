// The interpreter against itself, stepped: many random ALU/load/store/branch
// programs (and self-modifying code) run once normally and once one
// instruction per `cpu.run` call (the reference stepping mode: every
// instruction starts from the machine state, with the code-page cache and
// the loop's locals reset). Registers, pc, cycles, instruction and TLB-miss
// counts and the data memory must be identical — what per-block or cached
// fast paths in cpu.ts must never change.
import { describe, expect, it } from "vitest";
import { loadImage } from "../../src/machine/loader.js";
import { Machine } from "../../src/machine/machine.js";
import { R, image, li, pageTables, powerOff, type Item } from "./program.js";
import { DATA_PA, DATA_PAGES, DATA_VA, randomProgram } from "./random-program.js";


function machineFor(items: Item[], paging: boolean): Machine {
  const map: [number, number, number][] = [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2]];
  for (let p = 0; p < DATA_PAGES; p++) map.push([DATA_VA + p * 4096, DATA_PA + p * 4096, 2]);
  const m = new Machine({ ramSize: 4 * 1024 * 1024 });
  loadImage(m, image(items, 0x1000, paging ? [pageTables(0x10_0000, map)] : []));
  return m;
}

/** The reference: one instruction per cpu.run call, through the machine's own loop otherwise unchanged. */
function runStepped(m: Machine, maxSteps = 1_000_000): void {
  for (let i = 0; i < maxSteps && !m.stopped; i++) m.cpu.run(m.cpu.cycles + 1e-9);
}

function snapshot(m: Machine) {
  const s = m.stats();
  return {
    stopped: m.stopped,
    regs: Array.from(m.regs),
    pc: m.pc,
    psr: m.psr,
    cycles: s.cycles,
    instructions: s.instructions,
    tlbMisses: s.tlbMisses,
    exceptions: s.exceptions,
    data: Array.from(m.memory.i32.subarray(DATA_PA >>> 2, (DATA_PA + DATA_PAGES * 4096) >>> 2)),
  };
}

describe("differential: normal run = stepped reference", () => {
  for (const paging of [false, true]) {
    it(`200 random ALU/load/store/branch programs, paging ${paging ? "on" : "off"}`, () => {
      for (let seed = 1; seed <= 200; seed++) {
        const items = randomProgram(seed * 7919 + (paging ? 1 : 0), paging);
        const a = machineFor(items, paging);
        const result = a.run(10_000_000);
        expect(result.kind, `seed ${seed}`).toBe("poweroff");
        const b = machineFor(items, paging);
        runStepped(b);
        expect(snapshot(b), `seed ${seed}`).toEqual(snapshot(a));
        // Both RAMs back for the next seed's machines (test/recycle.ts): 400 machines otherwise wait for the collector.
        a.memory.recycle();
        b.memory.recycle();
      }
    });
  }
});

describe("self-modifying code", () => {
  // The loop patches the instruction at `patch` (addi a0, a0, 1 → addi a0, a0, 100)
  // after its first pass: fetch must see the new word at once.
  const program = (): Item[] => [
    ...li(R.t0, 3),
    ["la", { a: R.t1, to: "patch" }],
    ...li(R.t2, 0), // padding: `patch` is the 7th instruction
    "loop",
    "patch",
    ["addi", { a: R.a0, b: R.a0, imm: 1 }],
    ["sw", { a: R.t3, b: R.t1, imm: 0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    powerOff(R.a0),
  ];

  it("a store into the running code page takes effect at the next fetch", () => {
    const items = program();
    const m = new Machine({ ramSize: 1024 * 1024 });
    loadImage(m, image(items, 0x1000));
    const at = 0x1000 + 4 * 6; // after li t0 (2), la t1 (2), li t2 (2)
    const old = m.memory.read32(at);
    const patched = (old & 0x3fff) | (100 << 14);
    m.regs[R.t3] = patched; // after loadImage's reset: the word the loop stores
    const r = m.run(1_000_000);
    expect(r).toEqual({ kind: "poweroff", exitCode: 1 + 100 + 100 });
  });

  it("a monitor-style write through machine.memory between runs is seen by the next fetch", () => {
    const items: Item[] = ["top", ["addi", { a: R.a0, b: R.a0, imm: 1 }], ["jal", { a: R.zero, to: "top" }]];
    const m = new Machine({ ramSize: 1024 * 1024 });
    loadImage(m, image(items, 0x1000));
    m.cpu.run(30); // ten passes through the loop, without the machine loop
    while (m.pc !== 0x1004) m.cpu.run(m.cpu.cycles + 1e-9);
    const before = m.regs[R.a0];
    expect(before).toBeGreaterThan(5);
    // Replace the jal (already fetched many times) with `out 0xF0, a0`: power off with a0.
    const out = image([powerOff(R.a0)], 0).sections[0].data;
    m.memory.write32(0x1004, new DataView(out.buffer, out.byteOffset).getInt32(0, true));
    const r = m.run(1_000);
    expect(r).toEqual({ kind: "poweroff", exitCode: before & 0xff });
  });
});
