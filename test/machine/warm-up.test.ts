// The interpreter's warm-up (src/machine/warm-up.ts): a training program run
// once per process on a scratch machine, so V8 optimizes the interpreter loop
// with every path's type feedback. It is a host-side speed measure: these
// tests check that it really reaches every path it is meant to train, and
// that running it — even in the middle of another machine's run — changes
// nothing any guest can see (cycles, counters, console, exit status).
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { BY_OPCODE } from "../../src/guest-isa/isa-table.js";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { prepareGuest, runElf } from "../../src/hypervisors/index.js";
import { HANDLED } from "../../src/machine/cpu.js";
import { ACCESS, Machine, warmUpInterpreter } from "../../src/machine/machine.js";
import { buildMachine } from "../../src/machine/run-image.js";
import { causeName } from "../../src/machine/stats.js";
import { trainingImage } from "../../src/machine/warm-up.js";

describe("the warm-up's training program", () => {
  const t = trainingImage();

  it("contains every opcode the interpreter has, but hlt and hcall (which end or leave the run)", () => {
    const ops = new Set(t.words.map(([, w]) => w & 63));
    const missing = Object.entries(HANDLED)
      .filter(([m, op]) => !ops.has(op) && m !== "hlt" && m !== "hcall")
      .map(([m]) => m);
    expect(missing).toEqual([]);
    expect(BY_OPCODE[0]).toBeUndefined(); // word 0 trains the switch's default (an unused opcode)
  });

  it("runs to its cycle budget through every kind of exit: faults, traps, both modes, the spin hook", () => {
    const m = new Machine({ ramSize: t.ramSize, engine: "interp", lockSites: t.lockSites, residentBytes: () => 0 });
    for (const [pa, w] of t.words) m.memory.write32(pa, w);
    m.reset(t.entry);
    for (const [r, v] of t.cr) m.cpu.cr[r] = v;
    let limitExits = 0;
    for (;;) {
      const pause = m.cpu.cycles + t.step;
      if (m.runUntil(pause, t.maxCycles)) break;
      if (m.cpu.cycles - pause < 4) limitExits++; // left at the limit, not after a costly event
    }
    expect(m.outcome).toMatchObject({ kind: "stopped", reason: "max-cycles" });
    const s = m.stats();
    for (const cause of [CAUSE.PAGE_FAULT_FETCH, CAUSE.PAGE_FAULT_LOAD, CAUSE.PAGE_FAULT_STORE, CAUSE.MISALIGNED, CAUSE.ILLEGAL_INSTRUCTION, CAUSE.PRIVILEGED_INSTRUCTION, CAUSE.SYSCALL, CAUSE.BREAKPOINT]) {
      expect(s.exceptions[causeName(cause)], causeName(cause)).toBeGreaterThan(0);
    }
    // The privileged instructions trapped: the body ran in user mode too.
    expect(s.exceptions[causeName(CAUSE.PRIVILEGED_INSTRUCTION)]).toBeGreaterThanOrEqual(10);
    expect(s.counts.lockAttempts).toBeGreaterThan(0);
    expect(s.tlbMisses).toBeGreaterThan(10);
    expect(limitExits).toBeGreaterThan(0);
  });

  it("takes timer interrupts, and changes code page on TLB hits (no fetch exit) after the first visit", () => {
    const m = new Machine({ ramSize: t.ramSize, engine: "interp", lockSites: t.lockSites, residentBytes: () => 0 });
    for (const [pa, w] of t.words) m.memory.write32(pa, w);
    m.reset(t.entry);
    for (const [r, v] of t.cr) m.cpu.cr[r] = v;
    // The fetch slow path (a fetch exit of the interpreter loop) on the second code page.
    let fetchExits = 0;
    const slow = m.translateAccess.bind(m);
    m.translateAccess = (va, access, user) => {
      if (access === ACCESS.FETCH && va >>> 12 === t.secondCodePage >>> 12) fetchExits++;
      return slow(va, access, user);
    };
    let visits = 0;
    const pause = () => m.cpu.cycles + 1; // instruction by instruction: count the visits to the page
    while (!m.runUntil(pause(), t.maxCycles)) if (m.cpu.pc === t.secondCodePage) visits++;
    const s = m.stats();
    expect(s.interrupts["0"]).toBeGreaterThan(3);
    expect(s.exceptions[causeName(CAUSE.INTERRUPT_BASE)]).toBe(s.interrupts["0"]);
    expect(visits).toBeGreaterThan(3);
    expect(fetchExits).toBeGreaterThan(0);
    expect(fetchExits).toBeLessThan(visits);
  });
});

describe("the warm-up changes no simulated result", () => {
  const image = buildKernel({ workload: "mixed", timerPeriod: 50_000 }).image;

  it.each(["xen", "hvm", "l4"])("a kernel run on %s with the warm-up run in its middle = the same run alone", (backend) => {
    const options = { backend, disk: new Uint8Array(kernelDiskBytes(1)) };
    const alone = runElf(image, options);
    expect(alone.result.kind).toBe("poweroff");

    const { rewrite, runOptions } = prepareGuest(image, { backend, disk: new Uint8Array(kernelDiskBytes(1)) });
    const { machine, console } = buildMachine(rewrite.image, runOptions(rewrite));
    expect(machine.runUntil(Math.floor(alone.stats.cycles / 2))).toBe(false);
    warmUpInterpreter(); // a scratch machine built and run while this one is paused
    const result = machine.run();
    expect({ result, stats: machine.stats(), console: console() }).toEqual({ result: alone.result, stats: alone.stats, console: alone.console });
  });
});
