// The multiprocessor machine (docs/machine.md "Multiprocessor"): the shared
// counter of issue 14 on 4 CPUs — exact with amoadd and with a spinlock,
// losing updates without one — the same runs under the interpreter and the
// JIT and twice in a row (identical console, counters, per-CPU clocks), and
// the options' bad values. Guest programs: fixtures/smp/*.s (the back ends'
// SMP tests run the same files).
import { describe, expect, it } from "vitest";
import { readElf } from "../../src/guest-isa/elf.js";
import { runElf, type RunElfOptions } from "../../src/hypervisors/index.js";
import { Machine } from "../../src/machine/machine.js";
import { buildAsm } from "../hypervisors/helpers.js";
import { released } from "../recycle.js";

const image = (name: string) => readElf(buildAsm(`fixtures/smp/${name}.s`, { annotate: false }).bytes);

/**
 * A run and what the tests compare of its machine; the machine's RAM then goes back for the next run
 * (test/recycle.ts says why). Recycling checks the memory's written-chunk record as the check after each test
 * did (test/written-record.ts).
 */
function run(name: string, options: RunElfOptions = {}) {
  const out = runElf(image(name), { backend: "bare", maxCycles: 50_000_000, ...options });
  const taken = { result: out.result, console: out.console, stats: out.stats, regs: Array.from(out.machine.regs), pc: out.machine.pc, cpu: out.machine.cpuId };
  released(out);
  return taken;
}

describe("the shared counter, 10,000 increments per CPU", () => {
  it.each([1, 2, 4])("amoadd is exact on %i CPUs", (cpus) => {
    const r = run("counter-amoadd", { cpus });
    expect(r.console).toBe(`counter ${10_000 * cpus}\n`);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
  });

  it.each([2, 4])("a spinlock (amoswap) around a plain increment is exact on %i CPUs", (cpus) => {
    const r = run("counter-lock", { cpus });
    expect(r.console).toBe(`counter ${10_000 * cpus}\n`);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.stats.counts.pauses).toBeGreaterThan(0); // CPUs did wait for the lock
  });

  it("without the lock the plain increment loses updates on 4 CPUs (interleaving is real), and not on 1", () => {
    const four = run("counter-racy", { cpus: 4 });
    const n = Number(/^counter (\d+)\n$/.exec(four.console)![1]);
    expect(n).toBeLessThan(40_000);
    expect(n).toBeGreaterThanOrEqual(10_000);
    expect(run("counter-racy", { cpus: 1 }).console).toBe("counter 10000\n");
  });

  it("every CPU ran: per-CPU instructions add up, the machine's cycles are the furthest clock", () => {
    const r = run("counter-amoadd", { cpus: 4 });
    const per = r.stats.perCpu!;
    expect(per).toHaveLength(4);
    for (const c of per) expect(c.instructions).toBeGreaterThan(10_000 * 3);
    expect(per.reduce((a, c) => a + c.instructions, 0)).toBe(r.stats.instructions);
    expect(Math.max(...per.map((c) => c.cycles))).toBe(r.stats.cycles);
    expect(run("counter-amoadd", { cpus: 1 }).stats.perCpu).toBeUndefined();
  });
});

describe("determinism", () => {
  for (const name of ["counter-amoadd", "counter-lock", "counter-racy"]) {
    it(`${name}: interpreter = JIT, and the same run twice is identical (4 CPUs, quanta 10,000 and 777)`, () => {
      for (const quantum of [undefined, 777]) {
        const interp = run(name, { cpus: 4, quantum, engine: "interp" });
        const jit = run(name, { cpus: 4, quantum, engine: "jit", jitThreshold: 1 });
        const again = run(name, { cpus: 4, quantum, engine: "jit", jitThreshold: 1 });
        expect(jit).toEqual(interp);
        expect(again).toEqual(jit);
      }
    });
  }

  it("the quantum is part of the schedule: another quantum, another racy count", () => {
    const a = run("counter-racy", { cpus: 4 }).console;
    const b = run("counter-racy", { cpus: 4, quantum: 777 }).console;
    expect(a).not.toBe(b);
  });

  it("reference slicing (one instruction per slice) gives the same multiprocessor run", () => {
    const normal = run("counter-lock", { cpus: 3, engine: "interp" });
    const sliced = run("counter-lock", { cpus: 3, engine: "interp", referenceSlicing: true });
    expect(sliced).toEqual(normal);
  });
});

describe("machine options", () => {
  it("refuses 0 or more than 8 CPUs and a quantum below 1 (UserErrors)", () => {
    // 64 KiB of RAM, not 64 MiB: the machine allocates RAM before it checks the CPU options, and each refused
    // machine's RAM (no handle to recycle it) was scanned after the test (test/written-record.ts), ~0.5 s apiece.
    const ramSize = 1 << 16;
    for (const cpus of [0, 9, 1.5, -1]) expect(() => new Machine({ cpus, ramSize })).toThrow(/number of CPUs must be a whole number from 1 to 8/);
    expect(() => new Machine({ cpus: 2, quantum: 0, ramSize })).toThrow(/quantum/);
    expect(new Machine({ cpus: 8, ramSize }).cpuCount).toBe(8);
  });

  it("runElf: --cpus 0/9, --pcpus on bare, --pcpus above --cpus are one-line errors", () => {
    const img = image("counter-amoadd");
    expect(() => runElf(img, { cpus: 0 })).toThrow("--cpus must be a whole number from 1 to 8, not 0");
    expect(() => runElf(img, { cpus: 9 })).toThrow("--cpus must be a whole number from 1 to 8, not 9");
    expect(() => runElf(img, { cpus: 2, pcpus: 1 })).toThrow("--pcpus needs a hypervisor back end (bare has one physical CPU per CPU)");
    expect(() => runElf(img, { backend: "hvm", cpus: 1, pcpus: 2 })).toThrow("--pcpus must be a whole number from 1 to --cpus (1), not 2");
    expect(() => runElf(img, { cpus: 2, quantum: 0 })).toThrow("--quantum must be a whole number of cycles from 1 to 1000000000, not 0");
  });
});
