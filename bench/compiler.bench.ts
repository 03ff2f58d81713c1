// previrt cc: compiled guest programs on the emulated machine (bare) against
// the same TypeScript run natively by Node with the host intrinsics
// (guest/index.js) — how close the emulator comes to native speed — and the
// executed-instruction ratio of compiled code to hand-written assembly.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSources } from "../src/cli/build-pipeline.js";
import { runImage } from "../src/machine/index.js";
import { loadOnHost, PROGRAMS, programFiles } from "../test/compiler/helpers.js";
import { median, timeMedian, type Benchmark, type BenchResult } from "./harness.js";

const MAX_CYCLES = 1e10;

/**
 * The fixture programs scaled up so that running them, not setting up a run,
 * dominates: perf/fib.ts as fib(27), perf/sieve.ts below 1,000,000,
 * sort.ts over 3,000 elements.
 */
function workloads(): { name: string; sources: { file: string; text: string }[] }[] {
  const scaled = (file: string, from: RegExp, to: string) => {
    const sources = programFiles(join(PROGRAMS, file));
    const text = sources[0].text.replace(from, to);
    if (text === sources[0].text) throw new Error(`bench: cannot scale ${file}`);
    return [{ ...sources[0], text }, ...sources.slice(1)];
  };
  return [
    { name: "fib(27)", sources: scaled("perf/fib.ts", /return fib\(20\)/, "return fib(27)") },
    { name: "sieve below 1000000", sources: scaled("perf/sieve.ts", /const N = 10000;/, "const N = 1000000;") },
    { name: "sort 3000", sources: scaled("sort.ts", /const SIZE = 300;/, "const SIZE = 3000;") },
  ];
}

export const benchmarks: Benchmark[] = [
  {
    name: "cc: emulated vs native (Node)",
    run() {
      // Per-run setup (building the machine, resetting host memory) is
      // measured with a program that does nothing and subtracted, so the
      // ratio compares running guest code, not start-up.
      const measure = (sources: { file: string; text: string }[]) => {
        const { image } = buildSources(sources, { annotate: false });
        let instructions = 0;
        const emulated = timeMedian(() => {
          instructions = runImage(image, { maxCycles: MAX_CYCLES }).stats.instructions;
        }, 7);
        const host = loadOnHost(sources);
        const native = timeMedian(() => host(), 15);
        return { emulated, native, instructions };
      };
      const idle = measure([{ file: "idle.ts", text: "export function main(): number { return 0; }" }]);
      const results: BenchResult[] = [];
      const slowdowns: number[] = [];
      for (const w of workloads()) {
        const m = measure(w.sources);
        const emulated = m.emulated - idle.emulated;
        const native = m.native - idle.native;
        slowdowns.push(emulated / native);
        results.push({
          metric: `${w.name}: emulated/native time`,
          value: emulated / native,
          unit: "x",
          detail: `${m.instructions} instructions at ${(m.instructions / emulated / 1e6).toFixed(1)} MIPS; emulated ${(m.emulated * 1e3).toFixed(1)} ms, native ${(m.native * 1e3).toFixed(2)} ms, setup ${(idle.emulated * 1e3).toFixed(1)} / ${(idle.native * 1e3).toFixed(2)} ms subtracted`,
        });
      }
      results.push({ metric: "median emulated/native time", value: median(slowdowns), unit: "x" });
      return results;
    },
  },
  {
    name: "cc: compiled vs hand-written assembly",
    run() {
      const perf = join(PROGRAMS, "perf");
      const src = (f: string) => ({ file: join(perf, f), text: readFileSync(join(perf, f), "utf8") });
      const count = (sources: { file: string; text: string }[]) =>
        runImage(buildSources(sources, { annotate: false }).image, { maxCycles: MAX_CYCLES }).stats.instructions;
      return ["fib", "sieve"].map((name) => {
        const compiled = count([src(`${name}.ts`)]);
        const hand = count([src(`${name}.s`)]);
        return { metric: `${name} executed instructions, compiled/hand-written`, value: compiled / hand, unit: "x", detail: `${compiled} vs ${hand}; target ≤ 2` };
      });
    },
  },
];
