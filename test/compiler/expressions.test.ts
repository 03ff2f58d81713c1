// Randomised expression differential: thousands of generated int32
// expressions (every operator, constants of every size, nested calls,
// assignments inside expressions) compiled and run on the machine, against
// JavaScript evaluating the same text (with typed-array and global state). Catches evaluation-order, spilling,
// immediate-range and signedness bugs the hand-written fixtures miss. A second generator keeps every value
// small, so that updates and compound assignments of locals (`a++`, `b += …`) mean the same in JavaScript.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROGRAMS, runSources } from "./helpers.js";

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONSTANTS = [0, 1, 2, 3, 7, -1, -2, 31, 32, 100, -100, 131071, -131072, 131072, 65536, 0x7fffffff, -2147483648, 123456789, -987654321];
const VARS = ["a", "b", "c", "d"];

function generate(rand: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  if (depth <= 0 || rand() < 0.2) return rand() < 0.55 ? pick(VARS) : `(${pick(CONSTANTS)})`;
  const x = () => generate(rand, depth - 1);
  const elem = () => `A[(${x()}) & 7]`;
  switch (Math.floor(rand() * 24)) {
    case 17:
      return elem();
    case 18:
      return `(${elem()} = ${x()})`;
    case 19:
      return `((${elem()} ${pick(["+=", "-=", "^=", "<<="])} ${x()}) | 0)`;
    case 20:
      return pick([`${elem()}++`, `${elem()}--`, `(++${elem()} | 0)`, `(--${elem()} | 0)`]);
    case 21:
      return "G";
    case 22:
      return `(G = ${x()})`;
    case 23:
      // A local read, then changed by its own right-hand side (`a ^= (a = 1)`). Only bitwise
      // operators: JavaScript keeps a local's `a += …` unwrapped, the compiled code cannot.
      return `(${pick(VARS)} ${pick(["^=", "|=", "&=", "<<=", ">>="])} ${x()})`;
    case 0:
      return `((${x()} + ${x()}) | 0)`;
    case 1:
      return `((${x()} - ${x()}) | 0)`;
    case 2:
      return `Math.imul(${x()}, ${x()})`;
    case 3:
      return `((${x()} / ${x()}) | 0)`;
    case 4:
      return `((${x()} % ${x()}) | 0)`;
    case 5:
      return `(${x()} ${pick(["&", "|", "^"])} ${x()})`;
    case 6:
      return `(${x()} ${pick(["<<", ">>"])} ${x()})`;
    case 7:
      return `((${x()} >>> ${x()}) | 0)`;
    case 8:
      return `(${x()} ${pick(["<", ">", "<=", ">=", "===", "!=="])} ${x()} ? 1 : 0)`;
    case 9:
      return `((${x()} >>> 0) ${pick(["<", ">=", ">"])} (${x()} >>> 0) ? 1 : 0)`;
    case 10:
      return `(${x()} ${pick(["&&", "||"])} ${x()})`;
    case 11:
      return `(${x()} ? ${x()} : ${x()})`;
    case 12:
      return `(${pick(["~", "-"])}${x()} | 0)`;
    case 13:
      return `(!${x()} ? 1 : 0)`;
    case 14:
      return `(${pick(VARS)} = ${x()})`;
    case 15:
      return `g(${x()}, ${x()})`;
    default:
      return `((((${x()} >>> 0) ${pick(["/", "%"])} ((${x()} | 1) >>> 0)) | 0))`;
  }
}

/** Runs a program that prints with fixtures/programs/lib/print.ts on the machine: its console lines. */
function runPrinting(file: string, program: string): string[] {
  const lib = join(PROGRAMS, "lib/print.ts");
  const run = runSources([{ file: join(PROGRAMS, file), text: program }, { file: lib, text: readFileSync(lib, "utf8") }], 1e9);
  expect(run.stopped).toBeUndefined();
  return run.console.trimEnd().split("\n");
}

/** Line by line, the first difference shown with what produced it. */
function expectLines(got: string[], expected: string[], what: (i: number) => string): void {
  for (let i = 0; i < expected.length; i++) if (got[i] !== expected[i]) expect(`${got[i]} ${what(i)}`).toBe(`${expected[i]} ${what(i)}`);
  expect(got.length).toBe(expected.length);
}

describe("random expressions: compiled == JavaScript", () => {
  it("agree on 300 expressions × 4 argument tuples", () => {
    const rand = rng(Number(process.env.PREVIRT_FUZZ_SEED ?? 20260401));
    const exprs = Array.from({ length: 300 }, () => generate(rand, Number(process.env.PREVIRT_FUZZ_DEPTH ?? 5)));
    const tuples = [
      [0, 0, 0, 0],
      [7, -3, 100, 2],
      [-2147483648, -1, 2147483647, 31],
      [123456, 65535, -77, 5],
    ];
    const fns = exprs.map((e, i) => `function e${i}(a: number, b: number, c: number, d: number): number {\n  return ${e};\n}`).join("\n");
    const calls = tuples.flatMap((t) => exprs.map((_, i) => `  printInt(e${i}(${t.join(", ")}));\n  newline();`)).join("\n");
    const program = [
      'import { printInt, newline } from "./lib/print.js";',
      "const A = new Int32Array(8);",
      "let G = 5;",
      "function g(x: number, y: number): number {",
      "  return (Math.imul(x, 3) ^ y) | 0;",
      "}",
      fns,
      "export function main(): number {",
      calls,
      "  return 0;",
      "}",
    ].join("\n");
    const got = runPrinting("expr-fuzz.ts", program);

    // The same functions in JavaScript, with the same global state.
    const reference = new Function(
      "tuples",
      [
        "const A = new Int32Array(8);",
        "let G = 5;",
        "const g = (x, y) => (Math.imul(x, 3) ^ y) | 0;",
        ...exprs.map((e, i) => `function e${i}(a, b, c, d) { return (${e}) | 0; }`),
        `const fns = [${exprs.map((_, i) => `e${i}`).join(", ")}];`,
        "return tuples.flatMap((t) => fns.map((f) => String(f(...t))));",
      ].join("\n"),
    ) as (tuples: number[][]) => string[];
    expectLines(got, reference(tuples), (i) => `for ${exprs[i % exprs.length]} with ${tuples[Math.floor(i / exprs.length)]}`);
  });
});

/**
 * Small values (every intermediate under 2^11, so JavaScript's locals stay
 * int32 without `| 0`): the updates and compound assignments of locals the
 * generator above cannot use (`a++`, `b += …` overflow there), mixed with
 * calls that change a global and the typed array.
 */
function generateSmall(rand: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  if (depth <= 0 || rand() < 0.2) return rand() < 0.6 ? pick(VARS) : String(Math.floor(rand() * 9) - 4);
  const x = () => generateSmall(rand, depth - 1);
  switch (Math.floor(rand() * 16)) {
    case 0:
      return `((${x()} ${pick(["+", "-"])} ${x()}) & 1023)`;
    case 1:
      return `(${x()} ${pick(["&", "|", "^"])} ${x()})`;
    case 2:
      return `(${x()} ${pick(["<", ">", "<=", ">=", "===", "!=="])} ${x()} ? 1 : 0)`;
    case 3:
      return `(${x()} ${pick(["&&", "||"])} ${x()})`;
    case 4:
      return `(${x()} ? ${x()} : ${x()})`;
    case 5:
      return `(${pick(VARS)} = (${x()}) & 1023)`;
    case 6:
      return `(${pick(VARS)} ${pick(["^=", "|=", "&="])} ${x()})`;
    case 7:
      return `(${pick(VARS)} ${pick(["+=", "-="])} (${x()}) & 15)`;
    case 8:
      return pick(VARS.flatMap((v) => [`${v}++`, `${v}--`, `++${v}`, `--${v}`]));
    case 9:
      return `g(${x()}, ${x()})`;
    case 10:
      return `h(${x()}, ${x()}, ${x()}, ${x()})`;
    case 11:
      return `(A[(${x()}) & 7] ${pick(["=", "+=", "^="])} (${x()}) & 1023)`;
    case 12:
      return `A[(${x()}) & 7]`;
    case 13:
      return `(G ${pick(["=", "+=", "^="])} (${x()}) & 1023)`;
    case 14:
      return `(${pick(VARS)} ${pick(["+", "-"])} ${pick(VARS.flatMap((v) => [`${v}++`, `--${v}`]))})`;
    default:
      return `(${x()}, ${x()})`;
  }
}

describe("random expressions with small values: compiled == JavaScript", () => {
  it("agree on 2 × 150 expressions with local updates and compound assignments", () => {
    for (const seed of [1, 2]) {
      const rand = rng(seed);
      const exprs = Array.from({ length: 150 }, () => generateSmall(rand, 5));
      const args = (i: number) => `${i % 5}, ${((i * 3) % 7) - 3}, 2, -1`;
      // Each function also folds in its locals' and the global's final values.
      const body = (e: string) => `const r = ${e};\n  return (r ^ (a * 3) ^ (b * 5) ^ (c * 7) ^ (d * 11) ^ G) & 0xffff;`;
      const shared = [
        "const A = new Int32Array(8);",
        "let G = 1;",
        "function g(x: number, y: number): number { G = (G + x) & 1023; return (x ^ y) & 1023; }",
        "function h(x: number, y: number, z: number, w: number): number { A[(x + w) & 7] = y; return (z - w) & 1023; }",
      ];
      const program = [
        'import { printInt, newline } from "./lib/print.js";',
        ...shared,
        ...exprs.map((e, i) => `function e${i}(a: number, b: number, c: number, d: number): number {\n  ${body(e)}\n}`),
        "export function main(): number {",
        ...exprs.map((_, i) => `  printInt(e${i}(${args(i)}));\n  newline();`),
        "  return 0;",
        "}",
      ].join("\n");
      const got = runPrinting("expr-small.ts", program);
      const reference = new Function(
        [
          ...shared.map((l) => l.replace(/: number/g, "")),
          ...exprs.map((e, i) => `function e${i}(a, b, c, d) { ${body(e)} }`),
          `return [${exprs.map((_, i) => `e${i}(${args(i)})`).join(", ")}].map(String);`,
        ].join("\n"),
      ) as () => string[];
      expectLines(got, reference(), (i) => `for ${exprs[i]} (seed ${seed})`);
    }
  });
});

describe("compound assignment to a local reads it before the right-hand side runs", () => {
  // As JavaScript: `x op= e` is `x = x op e` with x read first. Each is int32 under Node too.
  const cases: [string, number][] = [
    ["let x = 5; x += x++ + ++x; return x;", 17],
    ["let x = 5; x -= (x = 1); return x;", 4],
    ["let x = 5; x *= (x = 3) + 1; return x;", 20],
    ["let x = 3; x <<= (x = 1); return x;", 6],
    ["let x = 6; let y = 0; x ^= (y = x, x = 9, y); return x;", 0],
  ];
  for (const [body, want] of cases) {
    it(body, () => {
      const text = `export function main(): number {\n  ${body}\n}\n`;
      expect(new Function(body)()).toBe(want);
      expect(runSources([{ file: "compound.ts", text }]).exitCode).toBe(want);
    });
  }
});
