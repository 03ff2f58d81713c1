// Control-register traffic must not depend on how the machine slices a run:
// a program that reads and writes every control register in its main loop
// and in a timer handler — with ptbr rewrites (TLB flushes) among them, and
// timer periods that land the interrupts on many different instructions —
// gives the same registers, control registers, cycles, counters and memory
// run normally and one instruction per slice (every instruction back through
// the machine loop). A monitor that takes mfcr/mtcr as exits sees every one,
// and user mode faults. Written for an interpreter that ran supervisor-mode
// mfcr/mtcr inside its loop (docs/speed-history.md "Eighth round: host time under
// the monitors": measured, not kept); it guards any later shortcut of that kind.
import { describe, expect, it } from "vitest";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { loadImage } from "../../src/machine/loader.js";
import { Machine } from "../../src/machine/machine.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { R, image, li, pageTables, pagingOn, powerOff, type Item } from "./program.js";

const PD = 0x10_0000;
const DATA = 0x20_0000;
const ITER = 20_000;

/** Paging on; a timer handler and a main loop that read and write control registers (a kernel's trap path). */
function program(period: number): Item[] {
  return [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }], // acknowledge the timer
    ["mfcr", { a: R.t2, imm: 1 }], // epc
    ["mfcr", { a: R.t3, imm: 3 }], // cause
    ["add", { a: R.s2, b: R.s2, c: R.t2 }],
    ["add", { a: R.s2, b: R.s2, c: R.t3 }],
    ["mfcr", { a: R.t4, imm: 6 }], // scratch
    ["addi", { a: R.t4, b: R.t4, imm: 3 }],
    ["mtcr", { imm: 6, b: R.t4 }],
    ["mfcr", { a: R.t4, imm: 2 }], // epsr
    ["mtcr", { imm: 2, b: R.t4 }],
    ["iret"],
    "start",
    ...pagingOn(PD),
    ...li(R.t0, 0x1004),
    ["mtcr", { imm: 0, b: R.t0 }], // tvec = handler
    ...li(R.t0, period),
    ["out", { imm: 0x20, b: R.t0 }], // timer period
    ...li(R.s0, DATA),
    ...li(R.s1, ITER),
    ["sti"],
    "loop",
    ["mtcr", { imm: 4, b: R.s1 }], // badva
    ["mfcr", { a: R.t0, imm: 4 }],
    ["add", { a: R.a0, b: R.a0, c: R.t0 }],
    ["mfcr", { a: R.t1, imm: 6 }],
    ["xor", { a: R.a1, b: R.a1, c: R.t1 }],
    ["mfcr", { a: R.t1, imm: 5 }], // ptbr
    ["mfcr", { a: R.a3, imm: 7 }], // pgctl
    ["andi", { a: R.t0, b: R.s1, imm: 63 }],
    ["bne", { a: R.t0, b: R.zero, to: "same" }],
    ["mtcr", { imm: 5, b: R.t1 }], // ptbr again: a TLB flush (the slow path)
    "same",
    ["sw", { a: R.a0, b: R.s0, imm: 0 }],
    ["lw", { a: R.a2, b: R.s0, imm: 0 }],
    ["addi", { a: R.s1, b: R.s1, imm: -1 }],
    ["bne", { a: R.s1, b: R.zero, to: "loop" }],
    ["cli"],
    ["sw", { a: R.s2, b: R.s0, imm: 4 }],
    ["sw", { a: R.a1, b: R.s0, imm: 8 }],
    powerOff(R.zero),
  ];
}

function machineFor(items: Item[], referenceSlicing: boolean, monitor?: Monitor): Machine {
  const m = new Machine({ ramSize: 4 * 1024 * 1024, referenceSlicing });
  if (monitor) m.attach(monitor);
  loadImage(m, image(items, 0x1000, [pageTables(PD, [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2], [DATA, DATA, 2]])]));
  return m;
}

function outcome(m: Machine) {
  const result = m.run(50_000_000);
  const s = m.stats();
  return {
    result,
    regs: Array.from(m.regs),
    cr: Array.from(m.cpu.cr),
    pc: m.pc,
    psr: m.psr,
    cycles: s.cycles,
    instructions: s.instructions,
    tlbMisses: s.tlbMisses,
    tlbFlushes: s.tlbFlushes,
    exceptions: s.exceptions,
    interrupts: s.interrupts,
    data: Array.from(m.memory.i32.subarray(DATA >>> 2, (DATA >>> 2) + 4)),
  };
}

describe("control registers: normal run = one instruction per slice", () => {
  it.each([1_999, 4_999, 7_919, 10_000])("timer period %i: same results as one instruction per slice", (period) => {
    const items = program(period);
    const normal = outcome(machineFor(items, false));
    expect(normal.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(normal.interrupts[0] ?? 0).toBeGreaterThan(10); // the timer really interleaved
    expect(normal.tlbFlushes).toBeGreaterThan(ITER / 64 - 1);
    expect(outcome(machineFor(items, true))).toEqual(normal);
  });

  it("a monitor that takes mfcr and mtcr as exits sees every one, with the same results", () => {
    const seen = { normal: 0, reference: 0 };
    const counting = (k: keyof typeof seen): Monitor => ({
      name: "count-cr",
      exits: ["mfcr", "mtcr"],
      onExit: () => {
        seen[k]++;
        return "native";
      },
    });
    const items = program(1_999);
    const bare = outcome(machineFor(items, false));
    const normal = outcome(machineFor(items, false, counting("normal")));
    const reference = outcome(machineFor(items, true, counting("reference")));
    expect(normal).toEqual(bare);
    expect(reference).toEqual(bare);
    // 5 per iteration, ptbr every 64th, 6 per interrupt, the set-up's 3 (ptbr, pgctl, tvec).
    expect(seen.normal).toBe(5 * ITER + Math.floor(ITER / 64) + 6 * bare.interrupts[0]! + 3);
    expect(seen.reference).toBe(seen.normal);
  });

  it("mfcr and mtcr in user mode still raise the privileged-instruction exception", () => {
    for (const op of ["mfcr", "mtcr"] as const) {
      const items: Item[] = [
        ["jal", { a: R.zero, to: "start" }],
        "handler",
        ["mfcr", { a: R.a0, imm: 3 }], // cause
        ["mfcr", { a: R.a1, imm: 1 }], // epc
        powerOff(R.a0),
        "start",
        ...li(R.t0, 0x1004),
        ["mtcr", { imm: 0, b: R.t0 }],
        ["la", { a: R.t0, to: "user" }],
        ["mtcr", { imm: 1, b: R.t0 }], // epc = user
        ["mtcr", { imm: 2, b: R.zero }], // epsr: user mode, interrupts off
        ["iret"],
        "user",
        op === "mfcr" ? ["mfcr", { a: R.t1, imm: 6 }] : ["mtcr", { imm: 6, b: R.t1 }],
        powerOff(R.zero),
      ];
      const m = new Machine({ ramSize: 4 * 1024 * 1024 });
      loadImage(m, image(items, 0x1000));
      expect(m.run(1_000_000), op).toEqual({ kind: "poweroff", exitCode: CAUSE.PRIVILEGED_INSTRUCTION });
      expect(m.cpu.cr[6], op).toBe(0); // the user-mode mtcr wrote nothing
    }
  });
});
