// Simulated results must not depend on how the emulator slices a run: the
// normal run (the CPU runs until the next device event) and the reference
// (one instruction per slice, events and interrupts checked after every
// instruction) must agree exactly — cycles, instructions, every counter and
// the console — with interrupts, disk DMA and every kind of monitor in play.
// An interpreter shortcut that overshoots the cycle limit, or touches the TLB
// differently, shows here (the predecoded code cache did, and was reverted);
// so did a run loop that executed a whole slice after an interrupt that a
// monitor resumed with IE on and the line still asserted.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { BACKEND_NAMES, runElf } from "../../src/hypervisors/index.js";
import { released } from "../recycle.js";

// A short timer period: many interrupts, landing at many different instructions.
const WORKLOADS = ["syscall", "io", "mixed"] as const;
const images = Object.fromEntries(WORKLOADS.map((w) => [w, buildKernel({ workload: w, timerPeriod: 50_000 }).image]));
const cases = BACKEND_NAMES.flatMap((b) => WORKLOADS.map((w) => [b, w] as const));

describe("normal run = one-instruction slices", () => {
  it.each(cases)("on %s, the kernel's %s workload", (backend, workload) => {
    const image = images[workload];
    const run = (referenceSlicing: boolean) => {
      const out = released(runElf(image, { backend, maxCycles: 400_000_000, disk: new Uint8Array(kernelDiskBytes(1)), referenceSlicing }));
      return { result: out.result.kind === "poweroff" ? out.result : out.result.reason, console: out.console, stats: out.stats };
    };
    const normal = run(false);
    expect(normal.stats.interrupts[0] ?? 0).toBeGreaterThan(5); // the timer really interleaved
    expect(run(true)).toEqual(normal);
  });
});
