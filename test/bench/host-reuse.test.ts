// What `previrt bench` does once per process instead of once per run (issue
// 16), and the proof that none of it changes a simulated figure: the bundled
// kernel's compile is shared by every workload and scale (only the assembler
// reads them), its assembly too (the defines are words written into a copy),
// and a run's RAM buffer is recycled — zeroed — for the next run.
import { describe, expect, it } from "vitest";
import { buildCompiled, compileSources } from "../../src/cli/build-pipeline.js";
import { buildKernel, kernelDisk, userProgramsSource } from "../../src/cli/bundled-kernel.js";
import { adoptCompiledKernelFrom, buildKernelFrom, compileKernelFrom, KERNEL_FILES, kernelAssemblyCounts, kernelCompileCounts, WORKLOADS, type KernelBuildOptions } from "../../src/cli/kernel-recipe.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { runElf } from "../../src/hypervisors/index.js";
import { PhysicalMemory, RAM_BASE } from "../../src/machine/memory.js";
import { readFileSync } from "node:fs";

const kernelText = (path: string) => readFileSync(new URL(`../../fixtures/kernel/${path}`, import.meta.url), "utf8");
const elfBytes = (image: Parameters<typeof writeElf>[0]) => Buffer.from(writeElf(image));
const kernelFile = (name: string) => ({ file: `fixtures/kernel/${name}`, text: readFileSync(new URL(`../../fixtures/kernel/${name}`, import.meta.url), "utf8") });

describe("bench: work done once per process", () => {
  it("builds the same kernel bytes from the shared compile as from a compile of its own", () => {
    // Two workloads first, so the third build takes the compile the first made.
    buildKernel({ workload: "io", scale: 3 });
    buildKernel({ workload: "compute", scale: 2 });
    const shared = buildKernel({ workload: "syscall", scale: 5 });
    const inputs = [...KERNEL_FILES.map(kernelFile), userProgramsSource()];
    const own = compileSources(inputs);
    const fresh = buildCompiled(own.assembly, own.compiled, { defines: shared.defines, annotate: true });
    expect(Buffer.from(writeElf(shared.image)).equals(Buffer.from(writeElf(fresh.image)))).toBe(true);
    // The defines do reach the image: another scale is another binary.
    expect(Buffer.from(writeElf(buildKernel({ workload: "syscall", scale: 6 }).image)).equals(Buffer.from(writeElf(shared.image)))).toBe(false);
  });

  it("hands a recycled RAM buffer to the next memory of its size with every byte zero", () => {
    const a = new PhysicalMemory(1 << 20);
    a.heap8[5] = 1; // the state region (registers)
    a.write32(0x1234, -1);
    a.write8((1 << 20) - 1, 7);
    a.recycle();
    const b = new PhysicalMemory(1 << 20);
    expect(b.buffer).toBe(a.buffer);
    expect(b.heap8.length).toBe(RAM_BASE + (1 << 20));
    expect(b.heap8.every((x) => x === 0)).toBe(true);
    expect(new PhysicalMemory(2 << 20).buffer).not.toBe(a.buffer); // another size: a buffer of its own
  });

  it("runs a guest on recycled RAM exactly as on fresh RAM (console, cycles, every counter)", () => {
    const image = buildKernel({ workload: "mixed" }).image;
    const run = () => runElf(image, { backend: "xen", disk: kernelDisk(), maxCycles: 200_000_000 });
    const fresh = run();
    expect(fresh.result.kind).toBe("poweroff");
    fresh.machine.memory.recycle(); // RAM the guest wrote all over
    const again = run();
    expect(again.machine.memory.buffer).toBe(fresh.machine.memory.buffer);
    expect(again.console).toBe(fresh.console);
    expect(again.result).toEqual(fresh.result);
    expect(again.stats).toEqual(fresh.stats);
  });
});

describe("bench: one assembly per kind of kernel", () => {
  const kinds: { name: string; options: KernelBuildOptions }[] = [
    { name: "plain", options: { annotate: false } },
    { name: "annotated", options: {} },
    { name: "para-virtualized", options: { paravirt: "xen" } },
  ];

  it.each(kinds)("makes every workload's $name kernel, from one assembly, byte for byte the kernel assembled alone", ({ options }) => {
    const before = { ...kernelAssemblyCounts };
    for (const workload of WORKLOADS) {
      const shared = buildKernel({ ...options, workload, scale: 24 });
      const alone = buildKernel({ ...options, workload, scale: 24, reuseAssembly: false });
      expect(elfBytes(shared.image).equals(elfBytes(alone.image)), workload).toBe(true);
      expect(shared.defines).toEqual(alone.defines);
    }
    // Every define, not only the workload: another scale, timer period and CPU count from the same assembly.
    const other = { ...options, workload: "io" as const, scale: 7, timerPeriod: 60_000, cpus: 3 };
    expect(elfBytes(buildKernel(other).image).equals(elfBytes(buildKernel({ ...other, reuseAssembly: false }).image))).toBe(true);
    // At most one of them assembled (none when an earlier test assembled this kind); the rest written.
    expect(kernelAssemblyCounts.stamped - before.stamped).toBeGreaterThanOrEqual(WORKLOADS.length);
    expect(kernelAssemblyCounts.assembled - before.assembled).toBeLessThanOrEqual(WORKLOADS.length + 2);
  });

  it("gives each build an image of its own: changing one changes no later build", () => {
    const first = buildKernel({ workload: "compute", scale: 2 });
    const bytes = elfBytes(first.image);
    for (const s of first.image.sections) s.data.fill(0xff);
    first.image.symbols.length = 0;
    const again = buildKernel({ workload: "compute", scale: 2 });
    expect(elfBytes(again.image).equals(bytes)).toBe(true);
  });

  it("assembles every build when a define reaches the kernel other than as a labelled word", () => {
    // `.word WORKLOAD + 1`: the workload's value at a second place, which writing the
    // config words alone would leave stale; so no build may be made from another.
    const entry = kernelText("entry.s");
    expect(entry).toContain("config_cpus:\n    .word CPUS\n");
    const sources = (path: string) => (path === "entry.s" ? entry.replace("config_cpus:\n    .word CPUS\n", "config_cpus:\n    .word CPUS\nworkload_plus_one:\n    .word WORKLOAD + 1\n") : kernelText(path));
    const before = { ...kernelAssemblyCounts };
    const a = buildKernelFrom(sources, { workload: "syscall" });
    const b = buildKernelFrom(sources, { workload: "mixed" });
    expect(kernelAssemblyCounts.assembled - before.assembled).toBe(2);
    expect(kernelAssemblyCounts.stamped - before.stamped).toBe(0);
    expect(elfBytes(b.image).equals(elfBytes(buildKernelFrom(sources, { workload: "mixed", reuseAssembly: false }).image))).toBe(true);
    expect(elfBytes(a.image).equals(elfBytes(b.image))).toBe(false);
  });
});

describe("bench: one compile per kernel, handed between threads", () => {
  // Each KernelSources function has caches of its own: a stand-in for another thread.
  const thread = (change: (path: string, text: string) => string = (_, text) => text) => (path: string) => change(path, kernelText(path));
  const build = (sources: (path: string) => string, options: KernelBuildOptions) => elfBytes(buildKernelFrom(sources, { workload: "io", scale: 24, ...options }).image);

  it.each([{ paravirt: undefined }, { paravirt: "xen" }])("builds from a compile taken from another thread (paravirt $paravirt) the bytes of its own compile, compiling nothing", ({ paravirt }) => {
    const handed = structuredClone(compileKernelFrom(thread(), { paravirt })); // what a worker posts
    const taker = thread();
    expect(adoptCompiledKernelFrom(taker, handed, { paravirt })).toBe(true);
    const before = { ...kernelCompileCounts };
    const taken = build(taker, { paravirt, annotate: paravirt === undefined });
    expect(kernelCompileCounts.compiled - before.compiled).toBe(0);
    expect(taken.equals(build(thread(), { paravirt, annotate: paravirt === undefined }))).toBe(true);
  });

  it("refuses a compile of other inputs (a changed file, another para-virtualization) and builds from its own", () => {
    const changed = thread((path, text) => (path === "kernel.ts" ? `${text}\nexport let stale_marker = 7;\n` : text));
    const stale = structuredClone(compileKernelFrom(changed));
    const taker = thread();
    expect(adoptCompiledKernelFrom(taker, stale)).toBe(false);
    expect(adoptCompiledKernelFrom(taker, structuredClone(compileKernelFrom(thread(), { paravirt: "xen" })))).toBe(false);
    const before = { ...kernelCompileCounts };
    const own = build(taker, {});
    expect(kernelCompileCounts.compiled - before.compiled).toBe(1);
    expect(own.equals(build(thread(), {}))).toBe(true);
    expect(own.equals(build(changed, {}))).toBe(false); // the stale compile would have made another kernel
  });
});
