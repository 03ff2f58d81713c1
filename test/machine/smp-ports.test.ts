// Conformance of the multiprocessor's ports and lines (docs/machine.md
// "Multiprocessor"): fixtures/smp/{ipi,start,timer}.s on 2 and 4 CPUs under
// both engines, and, on the machine alone, what the fixtures cannot show:
// power-off from a secondary CPU, the crash diagnosis naming the CPU, the
// hlt deadlock of a machine whose every CPU waits, the monitor hooks
// (onCpuStart in the started CPU's context; runnable descheduling CPUs).
import { describe, expect, it } from "vitest";
import { readElf } from "../../src/guest-isa/elf.js";
import { runElf } from "../../src/hypervisors/index.js";
import { loadImage } from "../../src/machine/loader.js";
import { Machine } from "../../src/machine/machine.js";
import { bytesInput } from "../../src/machine/devices/console.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { buildAsm } from "../hypervisors/helpers.js";
import { R, encodeWords, image, li, powerOff, smp, type Item } from "./program.js";

const fixture = (name: string) => readElf(buildAsm(`fixtures/smp/${name}.s`, { annotate: false }).bytes);

describe("fixtures/smp: IPIs, starting CPUs, per-CPU timers", () => {
  for (const [name, bad] of [["ipi", 2], ["start", 4], ["timer", undefined]] as const) {
    it.each([2, 4])(`${name}.s powers off with 0 on %i CPUs; interpreter = JIT`, (cpus) => {
      const runs = (["interp", "jit"] as const).map((engine) => {
        const out = runElf(fixture(name), { cpus, engine, jitThreshold: 1, maxCycles: 20_000_000 });
        return { result: out.result, stats: out.stats, console: out.console };
      });
      expect(runs[0].result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[0].stats.counts.badCpuPortWrites).toBe(bad);
    });
  }

  it("ipi.s needs a second CPU: on one it fails its first check", () => {
    expect(runElf(fixture("ipi"), { cpus: 1 }).result).toEqual({ kind: "poweroff", exitCode: 1 });
  });
});

const spin: Item[] = ["spin", ["addi", { a: R.t2, b: R.t2, imm: 1 }], ["jal", { a: R.zero, to: "spin" }]];

describe("the run ends", () => {
  it("at power-off from any CPU: the result and the registers are that CPU's", () => {
    // Every CPU but 2 spins; CPU 2 powers off with 40 + its number.
    const secondary: Item[] = [
      ["in", { a: R.a0, imm: 0x40 }],
      ["addi", { a: R.t0, b: R.zero, imm: 2 }],
      ["bne", { a: R.a0, b: R.t0, to: "spin" }],
      ["addi", { a: R.a0, b: R.a0, imm: 40 }],
      powerOff(R.a0),
      ...spin,
    ];
    const m = new Machine({ cpus: 4, ramSize: 1 << 20 });
    loadImage(m, image(smp([["jal", { a: R.zero, to: "spin" }]], secondary)));
    expect(m.run(10_000_000)).toEqual({ kind: "poweroff", exitCode: 42 });
    expect(m.cpuId).toBe(2);
    expect(m.regs[R.a0]).toBe(42);
    expect(m.cpuState(1)).toBe("running");
  });

  it("a crash names the CPU, in the message and the diagnosis", () => {
    // CPU 1 loads from a misaligned address with no trap vector.
    const secondary: Item[] = [...li(R.t0, 0x2001), ["lw", { a: R.t1, b: R.t0, imm: 0 }], ...spin];
    const m = new Machine({ cpus: 2, ramSize: 1 << 20 });
    loadImage(m, image(smp([["jal", { a: R.zero, to: "spin" }]], secondary)));
    const r = m.run(10_000_000);
    expect(r.kind).toBe("stopped");
    if (r.kind !== "stopped") return;
    expect(r.reason).toBe("crash");
    expect(r.message).toBe("cpu 1: misaligned with no trap vector (tvec = 0)");
    expect(r.diagnosis).toContain("this is cpu 1; cpu 0 running pc=");
  });

  it("with one CPU a crash message is as before (no CPU named)", () => {
    const m = new Machine({ ramSize: 1 << 20 });
    loadImage(m, image([...li(R.t0, 0x2001), ["lw", { a: R.t1, b: R.t0, imm: 0 }]]));
    const r = m.run(1_000_000);
    expect(r.kind === "stopped" && r.message).toBe("misaligned with no trap vector (tvec = 0)");
    expect(r.kind === "stopped" && r.diagnosis).not.toContain("cpu");
  });

  it("in a hlt deadlock only when no CPU can wake: a halted CPU waits for another's IPI", () => {
    // CPU 1 halts (IE = 0); CPU 0 spins 30,000 iterations, then sends it an IPI and halts too.
    // CPU 1 wakes, counts, halts again: then nothing can wake anyone.
    const main: Item[] = [
      ...li(R.t0, 30_000),
      "delay",
      ["addi", { a: R.t0, b: R.t0, imm: -1 }],
      ["bne", { a: R.t0, b: R.zero, to: "delay" }],
      ["addi", { a: R.t1, b: R.zero, imm: 1 }],
      ["out", { imm: 0x44, b: R.t1 }],
      "halt0",
      ["hlt"],
      ["jal", { a: R.zero, to: "halt0" }],
    ];
    const secondary: Item[] = [["hlt"], ["addi", { a: R.s2, b: R.s2, imm: 1 }], ["out", { imm: 0x45, b: R.zero }], "halt1", ["hlt"], ["jal", { a: R.zero, to: "halt1" }]];
    const m = new Machine({ cpus: 2, ramSize: 1 << 20 });
    loadImage(m, image(smp(main, secondary)));
    const r = m.run(10_000_000);
    expect(r.kind === "stopped" && r.reason).toBe("hlt-deadlock");
    expect(r.kind === "stopped" && r.message).toBe("every CPU is halted or stopped, and no interrupt can ever wake one");
    const per = m.stats().perCpu!;
    expect(per[1].idleCycles).toBeGreaterThan(30_000); // CPU 1 waited for CPU 0's delay loop
    expect(m.cpuState(0)).toBe("halted");
    expect(m.cpuState(1)).toBe("halted");
  });
});

describe("shared devices interrupt CPU 0", () => {
  it("console input interrupts CPU 0, halted, while CPU 1 runs", () => {
    // CPU 0: receive interrupt on, sti, hlt; the handler powers off with the byte read. CPU 1 spins.
    const main: Item[] = [
      ["la", { a: R.t0, to: "handler" }],
      ["mtcr", { imm: 0, b: R.t0 }],
      ["addi", { a: R.t0, b: R.zero, imm: 2 }],
      ["out", { imm: 0x11, b: R.t0 }],
      ["sti"],
      "wait",
      ["hlt"],
      ["jal", { a: R.zero, to: "wait" }],
      "handler",
      ["in", { a: R.a0, imm: 0x10 }],
      powerOff(R.a0),
    ];
    const m = new Machine({ cpus: 2, ramSize: 1 << 20, consoleInput: bytesInput("Z") });
    loadImage(m, image(smp(main, spin)));
    expect(m.run(10_000_000)).toEqual({ kind: "poweroff", exitCode: 0x5a });
    expect(m.cpuId).toBe(0);
    expect(m.stats().interrupts).toEqual({ 1: 1 });
  });
});

describe("monitor hooks", () => {
  it("onCpuStart runs in the started CPU's context, after its reset state", () => {
    const seen: string[] = [];
    const m = new Machine({ cpus: 3, ramSize: 1 << 20 });
    const monitor: Monitor = {
      name: "observer",
      onCpuStart: (n, entry) => {
        seen.push(`${n} ${m.cpuId} ${m.pc === entry} ${m.psr} ${m.cpuState(n)}`);
        m.regs[R.a3] = 100 + n; // the monitor may set the started CPU's state
      },
    };
    m.attach(monitor);
    const secondary: Item[] = [
      ["in", { a: R.t0, imm: 0x40 }],
      ["addi", { a: R.t0, b: R.t0, imm: 100 }],
      ["bne", { a: R.t0, b: R.a3, to: "bad" }],
      "ok",
      ["hlt"],
      ["jal", { a: R.zero, to: "ok" }],
      "bad",
      powerOff(R.t0),
    ];
    loadImage(m, image(smp([...li(R.t0, 20_000), "d", ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "d" }], powerOff(R.zero)], secondary)));
    expect(m.run(10_000_000)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(seen).toEqual(["1 1 true 2 running", "2 2 true 2 running"]);
  });

  it("runnable: a CPU the monitor does not schedule does not run; its cycles are counted as descheduled", () => {
    // Two CPUs count in a loop until CPU 0 powers off; the monitor lets CPU 1 run only in even epochs.
    const m = new Machine({ cpus: 2, ramSize: 1 << 20, quantum: 1000 });
    const asked: number[] = [];
    m.attach({
      name: "half",
      runnable: (cpu, epochStart) => {
        if (cpu === 1) asked.push(epochStart);
        return cpu === 0 || (epochStart / 1000) % 2 === 0;
      },
    });
    const count: Item[] = [...li(R.s0, 0x8000), "c", ["addi", { a: R.t2, b: R.t2, imm: 1 }], ["sw", { a: R.t2, b: R.s0, imm: 0 }], ["jal", { a: R.zero, to: "c" }]];
    const main: Item[] = [...li(R.t0, 50_000), "d", ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "d" }], powerOff(R.zero)];
    loadImage(m, image(smp(main, count)));
    expect(m.run(10_000_000)).toEqual({ kind: "poweroff", exitCode: 0 });
    const per = m.stats().perCpu!;
    expect(per[0].descheduledCycles).toBe(0);
    expect(per[1].descheduledCycles).toBeGreaterThan(40_000);
    expect(m.stats().counts.descheduledCycles).toBe(per[1].descheduledCycles);
    expect(asked.every((s) => s % 1000 === 0)).toBe(true);
    // CPU 1 ran about half the time: its counter is well below CPU 0's 100,000 cycles / 4-cycle loop.
    expect(m.memory.i32[0x8000 >>> 2]).toBeLessThan(16_000);
    expect(m.memory.i32[0x8000 >>> 2]).toBeGreaterThan(8_000);
  });

  it("runnable may write memory: an instruction it rewrites in translated code runs rewritten under the JIT too", () => {
    // CPU 0 calls a function in another page that adds 1 to s2; between two turns (at epoch 20,000) the
    // monitor's runnable rewrites the add to add 3. CPU 1 waits in hlt. CPU 0's turns end where a call of the
    // translated function has just returned (its exit to the caller's page, then the limit): nothing else
    // starts a new verification epoch before the next turn, so without one after runnable the JIT would run
    // the function as translated before the rewrite (it did: 45 of 63 quantum/epoch settings differed).
    const add = (k: number) => encodeWords([["addi", { a: R.s2, b: R.s2, imm: k }]])[0];
    const run = (engine: "interp" | "jit") => {
      const m = new Machine({ cpus: 2, ramSize: 1 << 20, quantum: 1000, engine, jitThreshold: 1 });
      const main: Item[] = [...li(R.t0, 30_000), "d", ["jal", { a: R.lr, to: "f" }], ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "d" }], ["sw", { a: R.s2, b: R.zero, imm: 0x9000 }], powerOff(R.zero)];
      const otherPage: Item[] = Array.from({ length: 1100 }, () => ({ word: 0 }));
      const fn: Item[] = ["f", ["addi", { a: R.s2, b: R.s2, imm: 1 }], ["jalr", { a: R.zero, b: R.lr, imm: 0 }]];
      const waits: Item[] = ["w", ["hlt", {}], ["jal", { a: R.zero, to: "w" }]];
      loadImage(m, image(smp([...main, ...otherPage, ...fn], waits)));
      const at = m.memory.i32.indexOf(add(1)) * 4;
      let patched = false;
      m.attach({
        name: "patcher",
        runnable: (cpu, epochStart) => {
          if (cpu === 0 && epochStart >= 20_000 && !patched) {
            m.memory.write32(at, add(3));
            patched = true;
          }
          return true;
        },
      });
      const result = m.run(10_000_000);
      return { result, s2: m.memory.i32[0x9000 >>> 2], cycles: m.stats().cycles, patched };
    };
    const [interp, jit] = [run("interp"), run("jit")];
    expect(interp.patched).toBe(true);
    expect(interp.result).toEqual({ kind: "poweroff", exitCode: 0 });
    // Some calls added 1, the rest 3.
    expect(interp.s2).toBeGreaterThan(30_000);
    expect(interp.s2).toBeLessThan(90_000);
    expect(jit).toEqual(interp);
  });
});
