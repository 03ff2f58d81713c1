// Guest MIPS of the machine on four loops (issues #3 and #16), under the
// interpreter and under the JIT (src/machine/jit), interleaved A/B in one
// process (interp, jit, interp, jit, …) so both see the same machine load:
//   (a) ALU/branch loop, paging off;
//   (b) load/store loop with paging on and a TLB-friendly working set;
//   (c) kernel-style loop with a timer interrupt every 10k cycles (handler acks and irets);
//   (d) sieve of Eratosthenes over 64 KiB (byte stores in an inner loop, the kernel's compute shape).
// Goals: interpreter (b) ≥ 150 MIPS; JIT ≥ 1,000 MIPS on (a), (b), (d).
// Plus the resident memory of a default 64 MiB machine after the runs and
// the JIT's translation counters. Figures are medians of 5 timed runs after
// one warm-up, in wall-clock time and in the process's CPU time
// (process.cpuUsage: less sensitive to other jobs on this shared machine;
// it also counts V8's compiler and GC threads). The runs are long (ITER
// iterations) so a JIT run measures running translated code, not V8
// compiling it; the first (warm-up) run includes that.
//
// `jit-before-after` (only with PREVIRT_JIT_BEFORE=<another tree's dist/>,
// e.g. one built by `git archive` of an older commit): the same four loops
// under this tree's JIT and that tree's, alternating in one process, median
// of 7 — the A/B for a change to the JIT itself.

import { loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runImage } from "../src/machine/run-image.js";
import { DEFAULT_QUANTUM, type Engine } from "../src/machine/machine.js";
import type { ElfImage } from "../src/guest-isa/elf-types.js";
import { R, image, li, pageTables, powerOff, smp, timerPrologue, type Item } from "../test/machine/program.js";
import { median, type BenchResult, type Benchmark } from "./harness.js";

const ITER = 2_000_000;

/** The ALU loop of (a), (c) and the SMP bench: 7 instructions per iteration, no memory access; counts t0 down to 0. */
const ALU_LOOP: Item[] = [
  "loop",
  ["addi", { a: R.t1, b: R.t1, imm: 1 }],
  ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
  ["add", { a: R.t3, b: R.t3, c: R.t2 }],
  ["slli", { a: R.t4, b: R.t1, imm: 3 }],
  ["sub", { a: R.t3, b: R.t3, c: R.t4 }],
  ["addi", { a: R.t0, b: R.t0, imm: -1 }],
  ["bne", { a: R.t0, b: R.zero, to: "loop" }],
];

/** (a): 7 instructions per iteration, no memory access. */
export function aluLoop(iterations = ITER): ElfImage {
  return image([
    ...li(R.t0, iterations),
    ...ALU_LOOP,
    powerOff(R.zero),
  ]);
}

const DATA_VA = 0x0041_0000; // TLB slots 16–31: no conflict with the code page (slot 1)
const DATA_PA = 0x0020_0000;
const WORKING_SET_PAGES = 16; // 64 KiB: fits the 1024-entry TLB

/** (b): paging on; 10 instructions per iteration, 3 loads and 2 stores, striding over 64 KiB. */
export function loadStoreLoop(iterations = ITER): ElfImage {
  const map: [number, number, number][] = [[0x1000, 0x1000, 2]]; // code, identity
  for (let p = 0; p < WORKING_SET_PAGES; p++) map.push([DATA_VA + p * 4096, DATA_PA + p * 4096, 2]);
  const pt = pageTables(0x10_0000, map);
  const prog: Item[] = [
    ...li(R.t0, 0x10_0000),
    ["mtcr", { imm: 5, b: R.t0 }], // ptbr
    ["addi", { a: R.t0, b: R.zero, imm: 1 }],
    ["mtcr", { imm: 7, b: R.t0 }], // pgctl: paging on
    ...li(R.t0, iterations),
    ...li(R.s0, DATA_VA),
    ...li(R.s1, WORKING_SET_PAGES * 4096 - 16), // keeps a0 16-aligned and inside the working set
    ["addi", { a: R.a0, b: R.zero, imm: 0 }],
    "loop",
    ["add", { a: R.a1, b: R.s0, c: R.a0 }],
    ["lw", { a: R.t1, b: R.a1, imm: 0 }],
    ["lw", { a: R.t2, b: R.a1, imm: 4 }],
    ["add", { a: R.t1, b: R.t1, c: R.t2 }],
    ["sw", { a: R.t1, b: R.a1, imm: 8 }],
    ["lbu", { a: R.t3, b: R.a1, imm: 1 }],
    ["sb", { a: R.t3, b: R.a1, imm: 12 }],
    ["addi", { a: R.a0, b: R.a0, imm: 68 }],
    ["and", { a: R.a0, b: R.a0, c: R.s1 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    powerOff(R.zero),
  ];
  return image(prog, 0x1000, [pt]);
}

/** (c): the ALU loop with interrupts on and the timer firing every 10,000 cycles. */
export function timerLoop(iterations = ITER): ElfImage {
  return image([
    ...timerPrologue(10_000),
    ...li(R.t0, iterations),
    ["sti"],
    ...ALU_LOOP,
    ["cli"],
    powerOff(R.zero),
  ]);
}

const SIEVE_BASE = 0x0010_0000;
const SIEVE_SIZE = 65_536;

/** (d): a sieve of Eratosthenes over SIEVE_SIZE bytes, repeated `rounds` times; powers off with the prime count & 0xff. */
export function sieveLoop(rounds = 40): ElfImage {
  return image([
    ...li(R.s0, SIEVE_BASE),
    ...li(R.s1, SIEVE_SIZE),
    ...li(R.s2, rounds),
    "round",
    // sieve[i] = 1 for every i
    ["addi", { a: R.t0, b: R.zero, imm: 0 }],
    ["addi", { a: R.t1, b: R.zero, imm: 1 }],
    "fill",
    ["add", { a: R.t2, b: R.s0, c: R.t0 }],
    ["sb", { a: R.t1, b: R.t2, imm: 0 }],
    ["addi", { a: R.t0, b: R.t0, imm: 1 }],
    ["blt", { a: R.t0, b: R.s1, to: "fill" }],
    // for i = 2; i * i < size; i++: if sieve[i], clear its multiples from i * i
    ["addi", { a: R.t0, b: R.zero, imm: 2 }],
    "outer",
    ["add", { a: R.t2, b: R.s0, c: R.t0 }],
    ["lbu", { a: R.t2, b: R.t2, imm: 0 }],
    ["beq", { a: R.t2, b: R.zero, to: "next" }],
    ["mul", { a: R.t3, b: R.t0, c: R.t0 }],
    "clear",
    ["add", { a: R.t2, b: R.s0, c: R.t3 }],
    ["sb", { a: R.zero, b: R.t2, imm: 0 }],
    ["add", { a: R.t3, b: R.t3, c: R.t0 }],
    ["blt", { a: R.t3, b: R.s1, to: "clear" }],
    "next",
    ["addi", { a: R.t0, b: R.t0, imm: 1 }],
    ["mul", { a: R.t3, b: R.t0, c: R.t0 }],
    ["blt", { a: R.t3, b: R.s1, to: "outer" }],
    // count the primes from 2
    ["addi", { a: R.a0, b: R.zero, imm: 0 }],
    ["addi", { a: R.t0, b: R.zero, imm: 2 }],
    "count",
    ["add", { a: R.t2, b: R.s0, c: R.t0 }],
    ["lbu", { a: R.t2, b: R.t2, imm: 0 }],
    ["add", { a: R.a0, b: R.a0, c: R.t2 }],
    ["addi", { a: R.t0, b: R.t0, imm: 1 }],
    ["blt", { a: R.t0, b: R.s1, to: "count" }],
    ["addi", { a: R.s2, b: R.s2, imm: -1 }],
    ["bne", { a: R.s2, b: R.zero, to: "round" }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ]);
}

/**
 * The ALU loop of (a) on every CPU of a `cpus`-CPU machine: CPU 0 starts the
 * others (ports 0x43/0x42, program.ts `smp`) and runs it too; each runs `iterations` iterations,
 * then adds 1 to `done` with amoadd; CPU 0 then waits for all and powers off.
 */
export function smpAluLoop(iterations: number): ElfImage {
  const DONE = 0x8000;
  return image(smp([], [
    ...li(R.t0, iterations),
    ...ALU_LOOP,
    ...li(R.s0, DONE),
    ["addi", { a: R.t1, b: R.zero, imm: 1 }],
    ["amoadd", { a: R.zero, b: R.s0, c: R.t1, imm: 0 }],
    ["in", { a: R.t0, imm: 0x40 }],
    ["beq", { a: R.t0, b: R.zero, to: "wait" }],
    "park",
    ["hlt"],
    ["jal", { a: R.zero, to: "park" }],
    "wait",
    ["in", { a: R.s1, imm: 0x41 }],
    "again",
    ["lw", { a: R.t1, b: R.s0, imm: 0 }],
    ["bne", { a: R.t1, b: R.s1, to: "again" }],
    powerOff(R.zero),
  ]));
}

interface Rate {
  mips: number;
  cpuMips: number;
  detail: string;
  jit?: string;
}

/** Interleaved A/B: `repeats` timed runs per engine (after one warm-up each), alternating. */
function mipsAB(img: ElfImage, exitCode: number, repeats = 5, cpus = 1): Record<Engine, Rate> {
  const rates: Record<Engine, number[]> = { interp: [], jit: [] };
  const cpuRates: Record<Engine, number[]> = { interp: [], jit: [] };
  const out: Partial<Record<Engine, Rate>> = {};
  let reference = "";
  for (let i = 0; i <= repeats; i++) {
    for (const engine of ["interp", "jit"] as const) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const run = runImage(img, { engine, cpus });
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(c0);
      if (run.result.kind !== "poweroff" || run.result.exitCode !== exitCode) throw new Error(`benchmark guest failed: ${JSON.stringify(run.result)}`);
      // Simulated results must not depend on the engine: a benchmark that saw them differ is void.
      const simulated = JSON.stringify(run.stats);
      if (reference === "") reference = simulated;
      else if (simulated !== reference) throw new Error(`interp and jit disagree: ${reference} vs ${simulated}`);
      if (i > 0) {
        rates[engine].push(run.stats.instructions / secs / 1e6);
        cpuRates[engine].push(run.stats.instructions / ((cpu.user + cpu.system) / 1e6) / 1e6);
      }
      const irqs = Object.values(run.stats.interrupts).reduce((a, b) => a + b, 0);
      const j = run.host.jit;
      out[engine] = {
        mips: 0,
        cpuMips: 0,
        detail: `${run.stats.instructions} instructions, ${run.stats.tlbMisses} TLB misses, ${irqs} interrupts`,
        jit: j && `${j.translations} translations (${j.blocks} blocks, ${j.instructions} instructions, ${j.codeBytes} bytes of JS), ${j.invalidations} invalidations`,
      };
    }
  }
  for (const e of ["interp", "jit"] as const) Object.assign(out[e]!, { mips: median(rates[e]), cpuMips: median(cpuRates[e]) });
  return out as Record<Engine, Rate>;
}

/** The four loops of `npm run bench -- machine`, each built by the given module's builders. */
function machineLoops(b: Builders): [string, ElfImage, number | undefined][] {
  return [
    ["(a) ALU/branch loop", b.aluLoop(ITER * 2), 1000],
    ["(b) load/store loop, paging on", b.loadStoreLoop(ITER * 2), 1000],
    ["(c) kernel loop, timer every 10k cycles", b.timerLoop(ITER * 2), undefined],
    ["(d) sieve, 64 KiB", b.sieveLoop(), 1000],
  ];
}

interface Builders {
  aluLoop(iterations?: number): ElfImage;
  loadStoreLoop(iterations?: number): ElfImage;
  timerLoop(iterations?: number): ElfImage;
  sieveLoop(rounds?: number): ElfImage;
}

/** This tree's JIT against another build's (PREVIRT_JIT_BEFORE: its dist/ directory), interleaved in one process. */
async function jitBeforeAfter(): Promise<BenchResult[]> {
  const dir = process.env.PREVIRT_JIT_BEFORE;
  if (!dir) return [];
  const url = (f: string) => pathToFileURL(resolve(dir, f)).href;
  const before = {
    run: ((await import(url("src/machine/run-image.js"))) as { runImage: typeof runImage }).runImage,
    loops: machineLoops((await import(url("bench/machine.bench.js"))) as Builders),
  };
  const after = { run: runImage, loops: machineLoops({ aluLoop, loadStoreLoop, timerLoop, sieveLoop }) };
  const results: BenchResult[] = [];
  for (let l = 0; l < after.loops.length; l++) {
    const wall: Record<"before" | "after", number[]> = { before: [], after: [] };
    const cpu: Record<"before" | "after", number[]> = { before: [], after: [] };
    let reference = "";
    for (let i = 0; i <= 7; i++) {
      for (const [k, side] of [["before", before], ["after", after]] as const) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const run = side.run(side.loops[l][1], { engine: "jit" });
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0);
        // Simulated results must not depend on the build either.
        const simulated = JSON.stringify(run.stats);
        if (reference === "") reference = simulated;
        else if (simulated !== reference) throw new Error(`the two builds disagree on ${after.loops[l][0]}`);
        if (i === 0) continue;
        wall[k].push(run.stats.instructions / secs / 1e6);
        cpu[k].push(run.stats.instructions / ((c.user + c.system) / 1e6) / 1e6);
      }
    }
    const [name, , target] = after.loops[l];
    results.push({
      metric: `${name}, JIT, this tree`,
      value: median(wall.after),
      unit: "MIPS",
      target,
      detail: `before ${median(wall.before).toFixed(0)} MIPS (x${(median(wall.after) / median(wall.before)).toFixed(2)}); CPU time ${median(cpu.before).toFixed(0)} -> ${median(cpu.after).toFixed(0)} MIPS (x${(median(cpu.after) / median(cpu.before)).toFixed(2)}); interleaved, median of 7; load ${loadavg()[0].toFixed(2)}`,
    });
  }
  return results;
}

export const benchmarks: Benchmark[] = [
  {
    // Not "machine…": `npm run bench -- machine` stays the uniprocessor A/B.
    name: "smp",
    run() {
      // Same total work: 4 CPUs × ITER/2 iterations against 1 CPU × ITER × 2, interleaved
      // (1 CPU, 4 CPUs, 1 CPU, …) per engine so both see the same host load; the ratio is
      // in process CPU time (the wall-clock one is in the detail), the steadier figure here.
      const one = aluLoop(ITER * 2);
      const four = smpAluLoop(ITER / 2);
      const results = [];
      for (const engine of ["interp", "jit"] as const) {
        const cpu: Record<"one" | "four", number[]> = { one: [], four: [] };
        const wall: Record<"one" | "four", number[]> = { one: [], four: [] };
        let detail = "";
        for (let i = 0; i <= 5; i++) {
          for (const [k, img, cpus] of [["one", one, 1], ["four", four, 4]] as const) {
            const c0 = process.cpuUsage();
            const t0 = process.hrtime.bigint();
            const run = runImage(img, { engine, cpus });
            const secs = Number(process.hrtime.bigint() - t0) / 1e9;
            const c = process.cpuUsage(c0);
            if (run.result.kind !== "poweroff" || run.result.exitCode !== 0) throw new Error(`benchmark guest failed: ${JSON.stringify(run.result)}`);
            if (i === 0) continue; // warm-up
            wall[k].push(run.stats.instructions / secs / 1e6);
            cpu[k].push(run.stats.instructions / ((c.user + c.system) / 1e6) / 1e6);
            if (k === "four") detail = `${run.stats.instructions} instructions on ${run.stats.perCpu!.length} CPUs`;
          }
        }
        const ratio = (100 * median(cpu.four)) / median(cpu.one);
        results.push({
          metric: `4-CPU ALU loop (every CPU), ${engine === "jit" ? "JIT" : "interpreter"}, in CPU time`,
          value: ratio,
          unit: "% of one CPU's MIPS",
          target: 90,
          detail: `${median(cpu.four).toFixed(0)} vs ${median(cpu.one).toFixed(0)} MIPS in CPU time; wall ${median(wall.four).toFixed(0)} vs ${median(wall.one).toFixed(0)} MIPS; quantum ${DEFAULT_QUANTUM}; interleaved, median of 5; ${detail}`,
        });
      }
      return results;
    },
  },
  {
    // Not "machine…": `npm run bench -- machine` stays this tree's interpreter/JIT A/B.
    name: "jit-before-after",
    run: jitBeforeAfter,
  },
  {
    name: "machine",
    run() {
      const exitCodes = [0, 0, 0, 6542 & 0xff];
      const loops = machineLoops({ aluLoop, loadStoreLoop, timerLoop, sieveLoop }).map(([name, img, target], i) => [name, img, exitCodes[i], target] as const);
      const results = [];
      for (const [name, img, code, jitTarget] of loops) {
        const r = mipsAB(img, code);
        const a = `interleaved A/B, median of 5; ${r.interp.detail}`;
        results.push(
          { metric: `${name}, interpreter`, value: r.interp.mips, unit: "MIPS", target: name.startsWith("(b)") ? 150 : undefined, detail: `${r.interp.cpuMips.toFixed(0)} MIPS in CPU time; ${a}` },
          { metric: `${name}, JIT`, value: r.jit.mips, unit: "MIPS", target: jitTarget, detail: `${r.jit.cpuMips.toFixed(0)} MIPS in CPU time (x${(r.jit.cpuMips / r.interp.cpuMips).toFixed(2)}); ${r.jit.jit}` },
        );
      }
      const rss = process.memoryUsage().rss / 2 ** 20;
      const load = loadavg()[0].toFixed(2);
      results.push({ metric: "resident memory after the runs (64 MiB guests)", value: rss, unit: "MiB", detail: `load average ${load}` });
      return results;
    },
  },
];
