// `previrt run` runs the guest in slices so that a Ctrl-C can stop it
// (machine/run-image.ts runImageSliced, cli/interrupt.ts). A run no Ctrl-C
// stops must be the unsliced run exactly — result, console and every counter
// — on one CPU and on two, under either engine; a run stopped between two
// slices ends with reason "interrupted", status 130 and a diagnosis.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { runElfOnSliced } from "../../src/hypervisors/backend.js";
import { backendFrom, runElf } from "../../src/hypervisors/index.js";
import type { RunImageOptions } from "../../src/machine/run-image.js";
import { runImage, runImageSliced } from "../../src/machine/run-image.js";
import { EXIT_STATUS } from "../../src/machine/diagnosis.js";

const MAX_CYCLES = 400_000_000;
const mixed = buildKernel({ workload: "mixed", timerPeriod: 50_000 }).image;
const smp = buildKernel({ workload: "smp" }).image;
const goOn = () => Promise.resolve(undefined);

const cases = [
  ["bare", 1, "interp"],
  ["xen", 1, "jit"],
  ["l4", 2, "interp"],
  ["hvm", 2, "jit"],
] as const;

describe("runImageSliced: a run nobody stops is the unsliced run", () => {
  it.each(cases)("%s, %i CPU(s), %s", async (backend, cpus, engine) => {
    const image = cpus === 1 ? mixed : smp;
    const options = () => ({ backend, cpus, engine, jitThreshold: 1, maxCycles: MAX_CYCLES, disk: new Uint8Array(kernelDiskBytes(1)) });
    const whole = runElf(image, options());
    let slices = 0;
    const countSlices = () => (slices++, goOn());
    // Slices of 99,991 cycles: hundreds of pauses, at odd places in the run.
    const sliced = await runElfOnSliced(backendFrom(backend), image, options(), countSlices, 99_991);
    expect(whole.result.kind).toBe("poweroff");
    expect(sliced.result).toEqual(whole.result);
    expect(sliced.console).toBe(whole.console);
    expect(sliced.stats).toEqual(whole.stats);
    expect(slices).toBeGreaterThan(10); // it really paused, many times
  });

  it("with slices of a few thousand cycles too", async () => {
    const options: RunImageOptions = { maxCycles: MAX_CYCLES, disk: new Uint8Array(kernelDiskBytes(1)), engine: "jit", jitThreshold: 1 };
    const whole = runImage(mixed, { ...options, disk: new Uint8Array(kernelDiskBytes(1)) });
    let slices = 0;
    const sliced = await runImageSliced(mixed, options, () => (slices++, goOn()), 4_099);
    expect(slices).toBeGreaterThan(1000);
    expect({ result: sliced.result, console: sliced.console, stats: sliced.stats }).toEqual({ result: whole.result, console: whole.console, stats: whole.stats });
  });
});

describe("runImageSliced: stopped between two slices", () => {
  it.each([1, 2])("ends with reason interrupted, status 130 and the diagnosis (%i CPU(s))", async (cpus) => {
    let calls = 0;
    const stopThird = () => Promise.resolve(++calls === 3 ? "interrupted (SIGINT)" : undefined);
    const out = await runImageSliced(cpus === 1 ? mixed : smp, { cpus, maxCycles: MAX_CYCLES, disk: new Uint8Array(kernelDiskBytes(1)) }, stopThird, 100_000);
    expect(calls).toBe(3);
    expect(out.result.kind).toBe("stopped");
    if (out.result.kind !== "stopped") return;
    expect(out.result.reason).toBe("interrupted");
    expect(out.result.exitCode).toBe(EXIT_STATUS.interrupted);
    expect(out.result.exitCode).toBe(130);
    expect(out.result.message).toMatch(/^interrupted \(SIGINT\) after \d+ cycles$/); // no "cpu N:": the whole machine stopped
    expect(out.result.diagnosis).toMatch(/pc +0x[0-9a-f]{8}/);
    expect(out.stats.cycles).toBeGreaterThanOrEqual(300_000);
    expect(out.stats.cycles).toBeLessThan(MAX_CYCLES);
  });
});
