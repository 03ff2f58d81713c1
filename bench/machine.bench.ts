// Guest MIPS of the machine's interpreter on three loops (issue #3):
//   (a) ALU/branch loop, paging off;
//   (b) load/store loop with paging on and a TLB-friendly working set (target ≥ 150 MIPS);
//   (c) kernel-style loop with a timer interrupt every 10k cycles (handler acks and irets).
// Plus the resident memory of a default 64 MiB machine after the runs.
// Figures are medians of 5 timed runs after one warm-up, in wall-clock time
// and in the process's CPU time (process.cpuUsage: less sensitive to other
// jobs on this shared machine; it also counts V8's compiler and GC threads).

import { loadavg } from "node:os";
import { runImage } from "../src/machine/run-image.js";
import type { ElfImage } from "../src/guest-isa/elf-types.js";
import { R, image, li, pageTables, powerOff, type Item } from "../test/machine/program.js";
import { median, type Benchmark } from "./harness.js";

const ITER = 2_000_000;

/** (a): 7 instructions per iteration, no memory access. */
export function aluLoop(iterations = ITER): ElfImage {
  return image([
    ...li(R.t0, iterations),
    "loop",
    ["addi", { a: R.t1, b: R.t1, imm: 1 }],
    ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
    ["add", { a: R.t3, b: R.t3, c: R.t2 }],
    ["slli", { a: R.t4, b: R.t1, imm: 3 }],
    ["sub", { a: R.t3, b: R.t3, c: R.t4 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
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
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }], // acknowledge the timer
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["iret"],
    "start",
    ...li(R.t0, 0x1004),
    ["mtcr", { imm: 0, b: R.t0 }], // tvec = handler
    ...li(R.t0, 10_000),
    ["out", { imm: 0x20, b: R.t0 }], // timer period
    ...li(R.t0, iterations),
    ["sti"],
    "loop",
    ["addi", { a: R.t1, b: R.t1, imm: 1 }],
    ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
    ["add", { a: R.t3, b: R.t3, c: R.t2 }],
    ["slli", { a: R.t4, b: R.t1, imm: 3 }],
    ["sub", { a: R.t3, b: R.t3, c: R.t4 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["cli"],
    powerOff(R.zero),
  ]);
}

function mips(img: ElfImage, repeats = 5): { mips: number; detail: string } {
  const rates: number[] = [];
  const cpuRates: number[] = [];
  let detail = "";
  for (let i = 0; i <= repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out = runImage(img);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (out.result.kind !== "poweroff" || out.result.exitCode !== 0) throw new Error(`benchmark guest failed: ${JSON.stringify(out.result)}`);
    if (i > 0) {
      rates.push(out.stats.instructions / secs / 1e6);
      cpuRates.push(out.stats.instructions / ((cpu.user + cpu.system) / 1e6) / 1e6);
    }
    const irqs = Object.values(out.stats.interrupts).reduce((a, b) => a + b, 0);
    detail = `${out.stats.instructions} instructions, ${out.stats.tlbMisses} TLB misses, ${irqs} interrupts, median of ${repeats}`;
  }
  return { mips: median(rates), detail: `${median(cpuRates).toFixed(0)} MIPS in CPU time; ${detail}` };
}

export const benchmarks: Benchmark[] = [
  {
    name: "machine",
    run() {
      const a = mips(aluLoop());
      const b = mips(loadStoreLoop());
      const c = mips(timerLoop());
      const rss = process.memoryUsage().rss / 2 ** 20;
      const load = loadavg()[0].toFixed(2);
      return [
        { metric: "(a) ALU/branch loop", value: a.mips, unit: "MIPS", detail: a.detail },
        { metric: "(b) load/store loop, paging on", value: b.mips, unit: "MIPS", target: 150, detail: b.detail },
        { metric: "(c) kernel loop, timer every 10k cycles", value: c.mips, unit: "MIPS", detail: c.detail },
        { metric: "resident memory after the runs (64 MiB guests)", value: rss, unit: "MiB", detail: `load average ${load}` },
      ];
    },
  },
];
