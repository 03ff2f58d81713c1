// Assembler throughput: assemble() (parse + two passes + link) over a
// generated 200,000-line source with a realistic mix — functions with
// prologues/epilogues, ALU and memory instructions, pseudos (li short and
// long, la, call, ret, mv, branches on .L labels), data directives, comments
// and blank lines. Reports the median lines/s over several runs; the target
// (issue #2) is ≥ 500,000 lines/s.

import { assemble } from "../src/guest-isa/assembler/index.js";
import type { Benchmark } from "./harness.js";
import { timeMedian } from "./harness.js";

/** A deterministic assembly source of about `lines` lines that assembles without errors. */
export function generateSource(lines: number): string {
  const out: string[] = [
    "# generated benchmark source",
    ".equ STACK_TOP, 0x80000",
    ".equ CONSOLE, 0x10",
    ".text",
    ".global _start",
    "_start:",
    "    li sp, STACK_TOP",
    "    call f0",
    "    out 0xF0, a0",
  ];
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const regs = ["a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "s0", "s1", "s2"];
  const r = () => regs[rnd(regs.length)];
  let fn = 0;
  const data: string[] = [".data", ".align 4"];
  while (out.length + data.length < lines) {
    const name = `f${fn}`;
    out.push("", `# function ${fn}`, `${name}:`, "    push lr", "    addi sp, sp, -16", "    sw s0, 0(sp)");
    out.push(`    la t0, table${fn % 64}`);
    const body = 20 + rnd(20);
    for (let i = 0; i < body; i++) {
      switch (rnd(14)) {
        case 0: out.push(`    add ${r()}, ${r()}, ${r()}`); break;
        case 1: out.push(`    addi ${r()}, ${r()}, ${rnd(2000) - 1000}    # adjust`); break;
        case 2: out.push(`    lw ${r()}, ${rnd(64) * 4}(t0)`); break;
        case 3: out.push(`    sw ${r()}, ${rnd(64) * 4}(t0)`); break;
        case 4: out.push(`    li ${r()}, ${rnd(100000)}`); break;
        case 5: out.push(`    li ${r()}, 0x${(rnd(0xffffff) * 16 + 0x10000000).toString(16)}`); break;
        case 6: out.push(`.L${name}_${i}:`, `    bne ${r()}, zero, .L${name}_${i}`); break;
        case 7: out.push(`    slli ${r()}, ${r()}, ${rnd(31)}`); break;
        case 8: out.push(`    mv ${r()}, ${r()}`); break;
        case 9: out.push(`    mul ${r()}, ${r()}, ${r()}`); break;
        case 10: out.push(`    beqz ${r()}, .L${name}_end`); break;
        case 11: out.push(`    andi ${r()}, ${r()}, CONSOLE + 0xff`); break;
        case 12: out.push(`    ; a comment line`); break;
        default: out.push(`    lbu ${r()}, ${rnd(256)}(t0)`); break;
      }
    }
    if (fn > 0) out.push(`    call f${rnd(fn)}`);
    out.push(`.L${name}_end:`, "    lw s0, 0(sp)", "    addi sp, sp, 16", "    pop lr", "    ret");
    if (fn < 64) {
      data.push(`table${fn}:`, `    .word ${name}, ${rnd(1000)}, table${fn} + 4, 0x${rnd(0xffff).toString(16)}`);
      data.push(`    .byte 1, 2, 3, 4`, `    .half 0x1234, 0x5678`, `    .asciz "table ${fn}\\n"`, "    .align 4", "    .space 256");
    }
    fn++;
  }
  out.push(...data, ".bss", "buffer:", "    .space 4096", "");
  return out.join("\n");
}

const LINES = 200_000;

export const benchmarks: Benchmark[] = [
  {
    name: "assembler",
    run() {
      const text = generateSource(LINES);
      const lines = text.split("\n").length;
      const seconds = timeMedian(() => assemble([{ file: "bench.s", text }]), 7);
      const image = assemble([{ file: "bench.s", text }]);
      const textSize = image.sections.find((s) => s.name === ".text")?.size ?? 0;
      return [
        {
          metric: "assembler throughput (median of 7)",
          value: lines / seconds,
          unit: "lines/s",
          target: 500_000,
          detail: `${lines} lines, ${(seconds * 1000).toFixed(0)} ms, .text ${textSize} bytes`,
        },
      ];
    },
  },
];
