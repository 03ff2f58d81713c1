// Random machine-level programs (ALU, loads/stores/atomics into a data area, pause, forward
// branches, a loop), shared by the interpreter's stepped differential test
// (differential.test.ts) and the JIT's (jit.test.ts).
import { R, li, pagingOn, powerOff, type Item } from "./program.js";

export const DATA_VA = 0x0040_0000;
export const DATA_PA = 0x0020_0000;
export const DATA_PAGES = 4;

/** A deterministic xorshift generator, so a failure names a reproducible seed. */
export function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const ALU_R = ["add", "sub", "and", "or", "xor", "sll", "srl", "sra", "slt", "sltu", "mul", "mulhu", "div", "divu", "rem", "remu"];
const ALU_I = ["addi", "andi", "ori", "xori", "slti", "sltiu"];
const SHIFT_I = ["slli", "srli", "srai"];
const BRANCH = ["beq", "bne", "blt", "bge", "bltu", "bgeu"];
const WORK = [R.a1, R.a2, R.a3, R.t0, R.t1, R.t2, R.t3, R.s2]; // s0 = data base, s1 = loop counter

/**
 * A random program: optionally paging on, then `loops` times a body of random
 * ALU, load/store (into a 16 KiB data area at s0, aligned and misaligned-free)
 * and forward branches, then power off.
 */
export function randomProgram(seed: number, paging: boolean): Item[] {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length];
  const reg = () => pick(WORK);
  const items: Item[] = [];
  if (paging) {
    items.push(...pagingOn(0x10_0000));
  }
  items.push(...li(R.s0, paging ? DATA_VA : DATA_PA), ...li(R.s1, 3 + (next() % 20)));
  for (const r of WORK) items.push(...li(r, next()));
  items.push("loop");
  const n = 20 + (next() % 60);
  let label = 0;
  const pending: [number, string][] = []; // (instruction index to place the label at, label)
  for (let i = 0; i < n; i++) {
    for (const [at, l] of pending) if (at === i) items.push(l);
    const k = next() % 10;
    if (k < 4) items.push([pick(ALU_R), { a: reg(), b: reg(), c: reg() }]);
    else if (k < 5) items.push([pick(ALU_I), { a: reg(), b: reg(), imm: (next() % 0x3ffff) - 0x1ffff }]);
    else if (k < 6) items.push([pick(SHIFT_I), { a: reg(), b: reg(), imm: next() % 32 }]);
    else if (k < 8) {
      const m = pick(["lw", "lh", "lhu", "lb", "lbu"]);
      const size = m === "lw" ? 4 : m === "lb" || m === "lbu" ? 1 : 2;
      const off = (next() % (DATA_PAGES * 4096)) & ~(size - 1);
      items.push([m, { a: reg(), b: R.s0, imm: off }]);
    } else if (k < 9) {
      const m = pick(["sw", "sh", "sb", "amoswap", "amoadd", "pause"]);
      if (m === "pause") {
        items.push(["pause"]);
        continue;
      }
      if (m === "amoswap" || m === "amoadd") {
        items.push([m, { a: reg(), b: R.s0, c: reg(), imm: (next() % 8192) & ~3 }]); // imm14 reaches 8 KiB
        continue;
      }
      const size = m === "sw" ? 4 : m === "sb" ? 1 : 2;
      const off = (next() % (DATA_PAGES * 4096)) & ~(size - 1);
      items.push([m, { a: reg(), b: R.s0, imm: off }]);
    } else {
      const l = `f${label++}`;
      pending.push([Math.min(n, i + 1 + (next() % 6)), l]);
      items.push([pick(BRANCH), { a: reg(), b: reg(), to: l }]);
    }
  }
  for (const [at, l] of pending) if (at >= n) items.push(l);
  items.push(["addi", { a: R.s1, b: R.s1, imm: -1 }], ["bne", { a: R.s1, b: R.zero, to: "loop" }], powerOff(R.zero));
  return items;
}
