// The machine hook the multi-guest host relies on (machine.externalEvents,
// src/machine/machine.ts): with it, a hlt waits as a state — until its next
// device event, or a line raised from outside between runUntil calls —
// instead of fast-forwarding past the pause or ending the run. Differential:
// a guest that halts (the bundled kernel's io workload, waiting for its disk
// and its timer) run in 1,000-cycle pauses with externalEvents counts and
// prints exactly what the plain run does, on bare, xen and on a 2-CPU
// machine; and a hlt with nothing to wait for waits (waitingForever) until a
// line is raised from outside, where it used to end the run.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { IRQ } from "../../src/guest-isa/registers.js";
import { prepareGuest, runElf } from "../../src/hypervisors/index.js";
import { buildMachine } from "../../src/machine/run-image.js";

describe("machine.externalEvents", () => {
  const io = buildKernel({ workload: "io" }).image;
  for (const [hv, cpus] of [["bare", 1], ["xen", 1], ["xen", 2]] as const) {
    it(`${hv}, ${cpus} CPU(s): paused every 1,000 cycles with externalEvents, the io kernel runs exactly as without`, () => {
      const quantum = cpus > 1 ? 1000 : undefined;
      const plain = runElf(io, { backend: hv, cpus, quantum, disk: kernelDisk(), maxCycles: 50_000_000 });
      const { rewrite, runOptions } = prepareGuest(io, { backend: hv, cpus, quantum, disk: kernelDisk(), maxCycles: 50_000_000 });
      const { machine, console } = buildMachine(rewrite.image, runOptions(rewrite));
      machine.externalEvents = true;
      let pauses = 0;
      for (let t = 1000; !machine.runUntil(t, 50_000_000); t += 1000) pauses++;
      expect(pauses).toBeGreaterThan(1000);
      expect(machine.outcome).toEqual(plain.result);
      expect(console()).toBe(plain.console);
      expect(machine.stats()).toEqual(plain.stats);
    });
  }

  it("a hlt with nothing to wait for waits for a line from outside instead of ending the run", () => {
    // IE off, no timer, no disk: on its own this is a hlt deadlock; it powers off with 7 once woken.
    const image = assemble([{ file: "w.s", text: "    .text\n    .global _start\n_start:\n    hlt\n    li a0, 7\n    out 0xF0, a0\n" }]);
    expect(runElf(image).result).toMatchObject({ kind: "stopped", reason: "hlt-deadlock" });
    const { machine } = buildMachine(image);
    machine.externalEvents = true;
    expect(machine.runUntil(5000)).toBe(false);
    expect(machine.waitingForever).toBe(true);
    expect(machine.runUntil(10_000)).toBe(false);
    expect(machine.stats().counts.idleCycles).toBeGreaterThan(9000);
    machine.raiseLine(IRQ.EVENT);
    expect(machine.runUntil(20_000)).toBe(true);
    expect(machine.outcome).toEqual({ kind: "poweroff", exitCode: 7 });
  });
});
