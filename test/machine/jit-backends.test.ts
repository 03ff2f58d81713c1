// The JIT against the interpreter on real guests, on every back end: the
// conformance programs, the compiler's programs, the guest fixtures, random
// guests (the fuzz generators) and every workload of the bundled kernel.
// Under both engines the result (with its diagnosis), the console, every
// counter (cycles, instructions, exceptions, interrupts, TLB misses, events,
// monitor counts) and the final registers must be identical. The JIT
// translates every address the first time it is reached (jitThreshold 1)
// so the short programs run translated code too.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDiskBytes, WORKLOADS } from "../../src/cli/bundled-kernel.js";
import { readElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { backends, runElf, type RunElfOptions } from "../../src/hypervisors/index.js";
import { buildAsm, buildTs, ISA_TESTS, PROGRAMS, type Built } from "../hypervisors/helpers.js";
import { randomAnnotatedGuest, randomGuest } from "../../scripts/fuzz/generators/guests.js";
import { released } from "../recycle.js";

const BACKENDS = [...backends.keys()];

function observe(image: ElfImage, options: RunElfOptions, engine: "interp" | "jit", jitThreshold: number | undefined = 1) {
  const out = runElf(image, { ...options, engine, jitThreshold });
  const seen = {
    observed: { result: out.result, console: out.console, stats: out.stats, regs: Array.from(out.machine.regs), pc: out.machine.pc, psr: out.machine.psr },
    host: out.host,
  };
  released(out);
  return seen;
}

/** Both engines on one image and back end: identical observations; returns the JIT's dispatches. */
function same(image: ElfImage, options: RunElfOptions, what: string): number {
  const interp = observe(image, options, "interp");
  const jit = observe(image, options, "jit");
  expect(jit.host.engine, what).toBe("jit");
  expect(jit.observed, what).toEqual(interp.observed);
  return jit.host.jit!.dispatches;
}

const builtOptions = (b: Built): RunElfOptions => ({
  maxCycles: 50_000_000,
  stdin: b.input,
  disk: b.sectors ? new Uint8Array(b.sectors * 512) : undefined,
});

describe("jit = interpreter on the fixtures, every back end", () => {
  it.each(ISA_TESTS)("fixtures/isa-tests/%s", (file) => {
    const built = buildAsm(`fixtures/isa-tests/${file}`);
    const image = readElf(built.bytes);
    let dispatches = 0;
    for (const backend of BACKENDS) dispatches += same(image, { ...builtOptions(built), backend }, backend);
    expect(dispatches).toBeGreaterThan(0);
  });

  it.each(PROGRAMS)("fixtures/programs/%s", (file) => {
    const built = buildTs([`fixtures/programs/${file}`, "fixtures/programs/lib/print.ts"]);
    const image = readElf(built.bytes);
    for (const backend of BACKENDS) expect(same(image, { ...builtOptions(built), backend }, backend), backend).toBeGreaterThan(0);
  });

  it("the guest fixtures (psr-hole, scribble, window-poke, the kernel fixture)", () => {
    const guests: [string, Built][] = [
      ...["psr-hole.s", "scribble.s", "window-poke.s"].map((f): [string, Built] => [f, buildAsm(`fixtures/guests/${f}`)]),
      ["kernel fixture", buildTs(["fixtures/programs/kernel/kernel.ts", "fixtures/programs/kernel/trap.s"])],
    ];
    for (const [name, built] of guests) {
      for (const backend of BACKENDS) same(readElf(built.bytes), { ...builtOptions(built), backend }, `${name} on ${backend}`);
    }
  });
});

describe("jit = interpreter on random guests, every back end", () => {
  it.each(BACKENDS)("%s: 12 random instruction streams and 5 random annotated guests", (backend) => {
    for (let seed = 1000; seed < 1012; seed++) same(randomGuest(seed), { backend, maxCycles: 300_000, ramSize: 4 * 1024 * 1024 }, `seed ${seed}`);
    for (let seed = 5000; seed < 5005; seed++) same(randomAnnotatedGuest(seed), { backend, maxCycles: 300_000, ramSize: 4 * 1024 * 1024 }, `annotated seed ${seed}`);
  });
});

describe("jit = interpreter on every kernel workload, every back end", () => {
  // A short timer period: many interrupts landing at many different instructions.
  const images = new Map(WORKLOADS.map((w) => [w, buildKernel({ workload: w, timerPeriod: 60_000 }).image]));
  it.each(WORKLOADS)("workload %s", (workload) => {
    for (const backend of BACKENDS) {
      const options: RunElfOptions = { backend, maxCycles: 400_000_000, disk: new Uint8Array(kernelDiskBytes(1)) };
      expect(same(images.get(workload)!, options, backend), backend).toBeGreaterThan(0);
    }
  });
});

describe("jit = interpreter at the default threshold, where the adaptive rules decide (cache.ts, engine.ts)", () => {
  // Pages translated once hot, entries judged on their slices, short translations demoted, fetches the
  // fast tag cannot serve walked by the engine (xen drops the TLB at every guest mode switch, and its
  // in-place VMM's code sits in a protection-checked frame): the host decisions of a real run.
  it.each([
    ["compute", "bare"],
    ["mixed", "xen"],
    ["mixed", "l4"],
  ] as const)("workload %s on %s, scale 3", (workload, backend) => {
    const image = buildKernel({ workload, scale: 3 }).image;
    const options: RunElfOptions = { backend, maxCycles: 400_000_000, disk: new Uint8Array(kernelDiskBytes(3)) };
    const interp = observe(image, options, "interp", undefined);
    const jit = observe(image, options, "jit", undefined);
    expect(jit.observed).toEqual(interp.observed);
    const h = jit.host.jit!;
    expect(h.translations).toBeGreaterThan(0);
    expect(h.interpreted).toBeLessThan(jit.observed.stats.instructions);
    if (backend !== "bare") expect(h.fetchWalks).toBeGreaterThan(100);
  });
});
