// Devices behind ports (console, timer, cycle counter, disk, power), hlt,
// and the run's stop conditions (max-cycles, crash, deadlock) with diagnoses.
import { describe, expect, it } from "vitest";
import { CAUSE, IRQ } from "../../src/guest-isa/registers.js";
import { DISK_LATENCY_CYCLES } from "../../src/machine/devices/disk.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";
import { R, li, powerOff, type Item } from "./program.js";
import { CR, mfcr, mtcr, recordingHandler, run, setTvec } from "./helpers.js";

const off = powerOff(R.zero);
const out_ = (port: number, rs: number): Item => ["out", { imm: port, b: rs }];
const in_ = (rd: number, port: number): Item => ["in", { a: rd, imm: port }];

describe("console", () => {
  it("writes bytes to the output and reads input bytes, -1 at the end", () => {
    const o = run([
      ["addi", { a: R.t0, b: R.zero, imm: 0x68 }], out_(0x10, R.t0),
      ["addi", { a: R.t0, b: R.zero, imm: 0x0a }], out_(0x10, R.t0),
      in_(R.a1, 0x11), in_(R.a0, 0x10), in_(R.a2, 0x10), in_(R.a3, 0x11), off,
    ], { stdin: "Z" });
    expect(o.console).toBe("h\n");
    expect([o.regs[R.a1], o.regs[R.a0], o.regs[R.a2], o.regs[R.a3]]).toEqual([1, 0x5a, -1, 0]);
    expect(o.stats.deviceAccesses).toBe(7); // 6 + the power-off
  });

  it("an unknown port reads -1 and ignores writes", () => {
    const o = run([in_(R.a0, 0x1234), out_(0x1234, R.a0), off]);
    expect(o.regs[R.a0]).toBe(-1);
  });
});

describe("power", () => {
  it("exits with rs & 0xFF", () => {
    expect(run([...li(R.a0, 0x1ff), powerOff(R.a0)]).result).toEqual({ kind: "poweroff", exitCode: 0xff });
  });
});

describe("timer and interrupts", () => {
  it("raises line 0 every period; taken between instructions with epc = next, cause 0x80", () => {
    const o = run([
      ...setTvec(),
      ...li(R.t0, 100_000), out_(0x20, R.t0), // longer than a device access, so no tick lands between ack and check
      ["sti"],
      "spin", ["addi", { a: R.a0, b: R.a0, imm: 1 }], ["beq", { a: R.zero, b: R.zero, to: "spin" }],
      "handler", mfcr(R.s0, CR.cause), mfcr(R.s1, CR.epc), in_(R.a2, 0x21), out_(0x21, R.zero), in_(R.a3, 0x21), off,
    ]);
    expect(o.regs[R.s0]).toBe(CAUSE.INTERRUPT_BASE + IRQ.TIMER);
    expect([0x101c, 0x1020]).toContain(o.regs[R.s1]); // inside the spin loop
    expect(o.regs[R.a2]).toBe(1); // line asserted until acknowledged
    expect(o.regs[R.a3]).toBe(0);
    expect(o.stats.interrupts).toEqual({ 0: 1 });
  });

  it("hlt fast-forwards to the next timer tick", () => {
    const o = run([
      ...setTvec(),
      ...li(R.t0, 1_000_000), out_(0x20, R.t0),
      ["sti"], ["hlt"], off,
      "handler", in_(R.a0, 0x22), off,
    ]);
    expect(o.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(o.regs[R.a0]).toBeGreaterThanOrEqual(1_000_000);
    expect(o.stats.instructions).toBeLessThan(20);
    expect(o.stats.counts.idleCycles).toBeGreaterThan(900_000);
  });

  it("the cycle counter port reads the cycle count", () => {
    const o = run([in_(R.a0, 0x22), ["addi", { a: R.t0, b: R.zero, imm: 1 }], in_(R.a1, 0x22), off]);
    const c = defaultCostModel();
    expect(o.regs[R.a1] - o.regs[R.a0]).toBe(c.alu + c.system + c.deviceAccess); // each in reads after its own charge
  });
});

describe("disk", () => {
  it("DMA-writes a sector, reads it back elsewhere, and interrupts on line 2", () => {
    const img = new Uint8Array(4 * 512);
    const o = run([
      ...setTvec(),
      ...li(R.s0, 0x8000), ...li(R.t0, 0xcafef00d), ["sw", { a: R.t0, b: R.s0, imm: 508 }],
      ["addi", { a: R.t0, b: R.zero, imm: 3 }], out_(0x30, R.t0), out_(0x31, R.s0),
      ["addi", { a: R.t0, b: R.zero, imm: 2 }], out_(0x32, R.t0), // write sector 3 from 0x8000
      in_(R.a1, 0x33), // busy
      "wait", in_(R.t1, 0x33), ["andi", { a: R.t1, b: R.t1, imm: 2 }], ["beq", { a: R.t1, b: R.zero, to: "wait" }],
      out_(0x33, R.zero), // ack
      ...li(R.s1, 0x9000), out_(0x31, R.s1), ["addi", { a: R.t0, b: R.zero, imm: 1 }], out_(0x32, R.t0), // read it to 0x9000
      ["sti"], ["hlt"], // completion interrupt wakes us
      off,
      "handler", mfcr(R.s2, CR.cause), in_(R.a2, 0x33), out_(0x33, R.zero), ["lw", { a: R.a0, b: R.s1, imm: 508 }], off,
    ], { disk: img });
    expect(o.regs[R.a1]).toBe(1);
    expect(new DataView(img.buffer).getUint32(3 * 512 + 508, true)).toBe(0xcafef00d);
    expect(o.regs[R.a0] >>> 0).toBe(0xcafef00d);
    expect(o.regs[R.s2]).toBe(CAUSE.INTERRUPT_BASE + IRQ.DISK);
    expect(o.regs[R.a2]).toBe(2); // DONE, no ERROR
    expect(o.stats.cycles).toBeGreaterThan(2 * DISK_LATENCY_CYCLES);
  });

  it("a sector beyond the image completes with ERROR", () => {
    const o = run([
      ["addi", { a: R.t0, b: R.zero, imm: 9 }], out_(0x30, R.t0),
      ["addi", { a: R.t0, b: R.zero, imm: 1 }], out_(0x32, R.t0),
      "wait", in_(R.a0, 0x33), ["andi", { a: R.t1, b: R.a0, imm: 1 }], ["bne", { a: R.t1, b: R.zero, to: "wait" }],
      off,
    ], { disk: new Uint8Array(512) });
    expect(o.regs[R.a0]).toBe(2 | 4);
  });
});

describe("stops and diagnoses", () => {
  it("a runaway stops at max-cycles with a diagnosis", () => {
    const o = run([["jal", { a: R.zero, imm: 0 }]], { maxCycles: 5000 });
    expect(o.result.kind).toBe("stopped");
    if (o.result.kind !== "stopped") return;
    expect(o.result.reason).toBe("max-cycles");
    expect(o.result.exitCode).toBe(124);
    expect(o.result.diagnosis).toMatch(/pc\s+0x00001000/);
    expect(o.result.diagnosis).toContain("j       .L_1000");
  });

  it("a wild jump into zeroed memory with no tvec crashes with cause, registers and last instructions", () => {
    const o = run([...li(R.a0, 0x5000), ["addi", { a: R.a1, b: R.zero, imm: 7 }], ["jalr", { a: R.lr, b: R.a0, imm: 0 }]]);
    expect(o.result.kind).toBe("stopped");
    if (o.result.kind !== "stopped") return;
    expect(o.result.reason).toBe("crash");
    expect(o.result.exitCode).toBe(125);
    expect(o.result.message).toBe("illegal-instruction with no trap vector (tvec = 0)");
    const d = o.result.diagnosis;
    expect(d).toContain("cause  1 (illegal-instruction)");
    expect(d).toMatch(/a1=0x00000007/);
    expect(d).toMatch(/lr=0x00001010/);
    expect(d).toMatch(/0x0000100c:.*jalr/);
    expect(d).toMatch(/0x00005000:\s+00000000\s+\.word 0x0\s+<-- faulted here/);
  });

  it("a fault at the trap handler entry is a crash", () => {
    const o = run([...li(R.t0, 0x7000), mtcr(CR.tvec, R.t0), ["brk"]]);
    expect(o.result.kind === "stopped" && o.result.message).toBe("illegal-instruction at the trap handler entry 0x00007000");
  });

  it("a handler that retries the same fault forever is a fault loop", () => {
    const o = run([...setTvec(), ["lw", { a: R.a0, b: R.zero, imm: 2 }], off, "handler", ["iret"]]);
    expect(o.result.kind === "stopped" && o.result.reason).toBe("fault-loop");
  });

  it("hlt with interrupts disabled and nothing pending deadlocks with a diagnosis", () => {
    const o = run([["addi", { a: R.a0, b: R.zero, imm: 3 }], ["hlt"], off]);
    expect(o.result.kind).toBe("stopped");
    if (o.result.kind !== "stopped") return;
    expect(o.result.reason).toBe("hlt-deadlock");
    expect(o.result.message).toBe("hlt with interrupts disabled and nothing pending");
    expect(o.result.diagnosis).toMatch(/0x00001004:.*hlt/);
  });
});

describe("cycle accounting", () => {
  it("cycles = instructions × class cost + events × event cost", () => {
    const c = defaultCostModel();
    const o = run([...setTvec(), ["syscall"], off, "handler", mfcr(R.t0, CR.epc), ["iret"]]);
    // la (lui, ori) + mtcr + syscall + handler (mfcr, iret) + out
    const expected = 2 * c.alu + c.system + c.trap + c.system + c.system + c.system
      + c.exceptionEntry + c.exceptionReturn + c.deviceAccess;
    expect(o.stats.instructions).toBe(7);
    expect(o.stats.cycles).toBe(expected);
    expect(o.stats.events).toEqual({ exceptionEntry: 1, exceptionReturn: 1, deviceAccess: 1 });
  });

  it("a faulting instruction is not counted; its exception entry is", () => {
    const c = defaultCostModel();
    const o = run([...setTvec(), ["lw", { a: R.a0, b: R.zero, imm: 2 }], ...recordingHandler]);
    expect(o.stats.instructions).toBe(3 + 5);
    expect(o.stats.cycles).toBe(2 * c.alu + c.system + 4 * c.system + c.system + c.exceptionEntry + c.deviceAccess);
  });

  it("a cost model override changes the cycles", () => {
    const model = { ...defaultCostModel(), alu: 10 };
    const o = run([["addi", { a: R.a0, b: R.zero, imm: 1 }], off], { costModel: model });
    expect(o.stats.cycles).toBe(10 + model.system + model.deviceAccess);
  });
});
