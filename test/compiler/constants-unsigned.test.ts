// Constant folding agrees with run time for literals at and above 2^31 and
// for the unsigned rule: a constant expression (folded by the compiler,
// src/compiler/lower/symbols.ts evalConst) must give what the emitted code
// computes with its operands in variables — a literal >= 2^31 is its int32
// pattern (docs/guest-language.md, "Integer literals"), and a comparison,
// `/` or `%` is signed or unsigned by the rule of lower/signedness.ts that
// code generation follows. Each folded form runs next to its computed form
// on the emulator, from a table and from generated expressions over edge
// values; what the rule refuses is refused folded too, with the same error.

import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/guest-isa/diagnostics.js";
import { compile } from "../../src/compiler/index.js";
import { compileDiagnostics, functionBody, runSources } from "./helpers.js";

/** An expression twice: with literals (folded) and with variables (computed at run time). */
interface Pair {
  folded: string;
  computed: string;
}

const HEX = `import { outPort, PORT } from "previrt/guest";
function hex(v: number): void {
  for (let s = 28; s >= 0; s -= 4) { const d = (v >>> s) & 15; outPort(PORT.console, d < 10 ? 48 + d : 87 + d); }
  outPort(PORT.console, 10);
}
`;

/**
 * A program with f<i> returning each folded form and g<i> each computed one
 * (the variables are `let` globals, which nothing folds, initialized with
 * their int32 values); main prints f0, g0, f1, g1, …
 */
function sideBySide(pairs: Pair[], vars: Map<string, number>): string {
  const lines = [HEX, ...[...vars].map(([name, v]) => `let ${name} = ${v};`)];
  pairs.forEach((p, i) => lines.push(`function f${i}(): number { return ${p.folded}; }`, `function g${i}(): number { return ${p.computed}; }`));
  lines.push("export function main(): number {", ...pairs.map((_, i) => `  hex(f${i}()); hex(g${i}());`), "  return 0;", "}");
  return lines.join("\n") + "\n";
}

/** Runs the pairs; returns [folded, computed] console lines per pair, after checking each f<i> really folded. */
function runPairs(pairs: Pair[], vars: Map<string, number>): [string, string][] {
  const text = sideBySide(pairs, vars);
  const asm = compile([{ file: "fold.ts", text }])[0].asm;
  pairs.forEach((p, i) => expect(functionBody(asm, `f${i}`).join("; "), p.folded).toMatch(/^li a0, -?\d+; ret$/));
  const { console: out, exitCode } = runSources([{ file: "fold.ts", text }]);
  expect(exitCode).toBe(0);
  const lines = out.trimEnd().split("\n");
  expect(lines).toHaveLength(2 * pairs.length);
  return pairs.map((_, i) => [lines[2 * i], lines[2 * i + 1]]);
}

const hex32 = (v: number) => (v >>> 0).toString(16).padStart(8, "0");

/**
 * `$name` is an operand: the literal `values[name]` folded, the variable
 * `name` computed. Literals written out stay literals in both forms (the
 * constant side of an unsigned comparison is one by the rule).
 */
const CASES: { expr: string; values: Record<string, string>; want?: number }[] = [
  // The literal's int32 pattern, as in a register: -4096 % 7 and -4096 / 7, not 4294963200's.
  { expr: "$a % $b", values: { a: "0xFFFFF000", b: "7" }, want: -1 },
  { expr: "$a / $b", values: { a: "0xFFFFF000", b: "7" }, want: -585 },
  { expr: "$a % $b", values: { a: "7", b: "0xFFFFFFFF" }, want: 0 },
  { expr: "$a / $b", values: { a: "0x80000000", b: "0xFFFFFFFF" }, want: -2147483648 },
  { expr: "$a % $b", values: { a: "0x80000000", b: "0xFFFFFFFF" }, want: 0 },
  { expr: "$a / $b", values: { a: "0xFFFFFFFF", b: "2" }, want: 0 },
  { expr: "+$a < $b", values: { a: "0xFFFFFFFF", b: "0" }, want: 1 },
  { expr: "-$a < $b", values: { a: "0x80000000", b: "0" }, want: 1 },
  { expr: "~$a < $b", values: { a: "0x80000000", b: "0" }, want: 0 },
  { expr: "($a ? $b : $c) % $d", values: { a: "1", b: "0xFFFFF000", c: "0", d: "7" }, want: -1 },
  { expr: "($a && $b) / $c", values: { a: "1", b: "0xFFFFFFFF", c: "2" }, want: 0 },
  { expr: "($a || $b) < $c", values: { a: "0", b: "0xFFFFFFFF", c: "0" }, want: 1 },
  { expr: "(-$a) % $b", values: { a: "-2147483648", b: "-22404" }, want: -15440 },
  // Unsigned (`>>>` operands): the raw value, as sltu, divu and remu compute.
  { expr: "($a >>> 0) % 7", values: { a: "0xFFFFF000" }, want: 3 },
  { expr: "($a >>> 0) / ($b >>> 0)", values: { a: "0xFFFFF000", b: "16" }, want: 0x0fffff00 },
  { expr: "($a >>> 0) < 0x80000000", values: { a: "5" }, want: 1 },
  { expr: "($a >>> 0) < 0x80000000", values: { a: "0x80000000" }, want: 0 },
  { expr: "($a >>> 0) <= 0xFFFFFFFF", values: { a: "0xFFFFFFFF" }, want: 1 },
  { expr: "0x80000000 > ($a >>> 0)", values: { a: "-1" }, want: 0 },
  { expr: "($a >>> 0) == 0xFFFFFFFF", values: { a: "-1" }, want: 1 },
  { expr: "($a >>> 0) < ($b >>> 0)", values: { a: "0xFFFFFFFF", b: "1" }, want: 0 },
  { expr: "($a >>> 32) >= ($b >>> 0)", values: { a: "0x80000000", b: "0x7FFFFFFF" }, want: 1 },
  { expr: "($a >>> 0) % 0xFFFFFFF0", values: { a: "0xFFFFFFFF" }, want: 15 },
  { expr: "($a >>> 0) / 0x80000000", values: { a: "0xFFFFFFFF" }, want: 1 },
  { expr: "(($a >>> 0) > 0x7FFFFFFF) + $b", values: { a: "0x80000000", b: "0xFFFFFFFF" }, want: 0 },
  // Signed operands: int32 compares and divides.
  { expr: "$a < $b", values: { a: "-2147483648", b: "2147483647" }, want: 1 },
  { expr: "$a >>> $b", values: { a: "0xFFFFF000", b: "4" }, want: 0x0fffff00 },
];

const int32Of = (text: string) => Number(text) | 0;
const render = (expr: string, operand: (name: string) => string) => expr.replace(/\$(\w+)/g, (_, name: string) => operand(name));
/** A literal operand as written: a negative one parenthesized (`-x` stays a unary minus of a literal either way). */
const literal = (text: string) => (text.startsWith("-") ? `(${text})` : text);

describe("constant folding of literals >= 2^31 and unsigned operands", () => {
  it("a folded expression computes what the emitted code computes with its operands in variables", () => {
    const vars = new Map<string, number>();
    const pairs = CASES.map((c, i) => {
      for (const [name, text] of Object.entries(c.values)) vars.set(`${name}${i}`, int32Of(text));
      return { folded: render(c.expr, (n) => literal(c.values[n])), computed: render(c.expr, (n) => `${n}${i}`) };
    });
    const results = runPairs(pairs, vars);
    results.forEach(([folded, computed], i) => {
      expect(folded, pairs[i].folded).toBe(computed);
      if (CASES[i].want !== undefined) expect(folded, pairs[i].folded).toBe(hex32(CASES[i].want!));
    });
  });

  it("a folded constant is the same in every place a constant is needed", () => {
    // An enum member, a const object's member, a global's initializer, a local const, a case label, a typed array's length and elements.
    const text = `${HEX}
enum E { A = 0xFFFFF000 % 7, B = (0xFFFFF000 >>> 0) % 7, C = 0x80000000 / 0xFFFFFFFF }
const K = { a: 0xFFFFF000 / 7, b: (5 >>> 0) < 0x80000000 } as const;
let G = 0xFFFFF000 % 7;
const T = new Int32Array([0xFFFFF000 % 7, (0xFFFFFFFF >>> 0) % 10]);
const U = new Int32Array(((0x80000000 >>> 0) > 0x7FFFFFFF) + (0xFFFFFFF0 % 3) + 5);
let x = -4096;
function pick(v: number): number {
  switch (v) {
    case 0xFFFFF000 % 7: return 10;
    case (0xFFFFF000 >>> 0) % 7: return 20;
    default: return 30;
  }
}
export function main(): number {
  const L = 0xFFFFF000 % 7;
  hex(E.A); hex(x % 7);
  hex(E.B); hex((x >>> 0) % 7);
  hex(E.C);
  hex(K.a); hex((x / 7) | 0);
  hex(K.b);
  hex(G); hex(L); hex(T[0]); hex(T[1]);
  hex(U.length);
  hex(pick(x % 7)); hex(pick((x >>> 0) % 7));
  return 0;
}
`;
    const { console: out } = runSources([{ file: "places.ts", text }]);
    const [a, ax, b, bx, c, ka, kax, kb, g, l, t0, t1, ulen, p1, p2] = out.trimEnd().split("\n");
    expect([a, b, ka, kb]).toEqual([ax, bx, kax, hex32(1)]);
    expect([a, b, c]).toEqual([hex32(-1), hex32(3), hex32(-2147483648)]);
    expect([g, l, t0, t1]).toEqual([a, a, a, hex32(5)]);
    // 1 (unsigned: 0x80000000 > 0x7FFFFFFF) + -1 (-16 % 3) + 5
    expect(ulen).toBe(hex32(5));
    expect([p1, p2]).toEqual([hex32(10), hex32(20)]);
  });
});

/**
 * Generated pairs over edge values (a deterministic generator): every leaf
 * a literal folded and a variable computed, written so that the unsigned
 * rule reads both forms alike — a `>>>` count and the constant side of an
 * unsigned comparison, `/` or `%` are literals in both, a `>>>` operand of a
 * signed one is wrapped in `| 0`, and a literal >= 2^31 is never the direct
 * operand of a signed comparison (refused; the test above covers that).
 */
const EDGES = [0, 1, -1, 3, 7, 31, 32, -22404, 0x7fffffff, -0x80000000, -4096, 65535];
const UNSIGNED_CONSTANTS = ["0", "7", "0x7FFFFFFF", "0x80000000", "0xFFFFF000", "0xFFFFFFFF"];

function generatedPairs(count: number, seed: number): { pairs: Pair[]; vars: Map<string, number> } {
  let state = seed >>> 0;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const vars = new Map(EDGES.map((v, i) => [`e${i}`, v]));
  const both = (text: string): Pair => ({ folded: text, computed: text });
  const join = (parts: (string | Pair)[]): Pair => ({
    folded: parts.map((p) => (typeof p === "string" ? p : p.folded)).join(""),
    computed: parts.map((p) => (typeof p === "string" ? p : p.computed)).join(""),
  });
  /** An operand of a signed comparison, `/` or `%`: never written as an unsigned (`>>>`) value. */
  const signed = (p: Pair & { unsigned?: boolean }): Pair => (p.unsigned ? join(["(", p, " | 0)"]) : p);
  const leaf = (compared: boolean): Pair => {
    const i = Math.floor(next() * EDGES.length);
    const v = EDGES[i];
    const hex = `0x${(v >>> 0).toString(16).toUpperCase()}`;
    const folded = v >= 0 ? pick([String(v), hex]) : compared ? `(${v})` : pick([`(${v})`, hex]);
    return { folded, computed: `e${i}` };
  };
  const expr = (depth: number, compared = false): Pair & { unsigned?: boolean } => {
    if (depth <= 0 || next() < 0.2) return leaf(compared);
    const a = () => expr(depth - 1);
    switch (Math.floor(next() * 7)) {
      case 0:
        return join(["(", a(), ` ${pick(["+", "-", "*", "&", "|", "^", "<<", ">>"])} `, a(), ")"]);
      case 1:
        return join([`(${pick(["-", "~", "!", "+"])}`, a(), ")"]);
      case 2:
        return next() < 0.5 ? join(["(", a(), " ? ", a(), " : ", a(), ")"]) : join(["(", a(), ` ${pick(["&&", "||"])} `, a(), ")"]);
      case 3: {
        const k = pick([0, 1, 4, 31, 32]);
        return { ...join(["(", a(), ` >>> ${k})`]), unsigned: (k & 31) === 0 };
      }
      default: {
        const op = pick(["<", "<=", ">", ">=", "==", "!=", "/", "%"]);
        const cmp = op !== "/" && op !== "%";
        const u = () => join(["(", a(), " >>> 0)"]);
        const mode = next();
        if (mode < 0.4) return join(["(", signed(expr(depth - 1, cmp)), ` ${op} `, signed(expr(depth - 1, cmp)), ")"]);
        if (mode < 0.7) return join(["(", u(), ` ${op} `, u(), ")"]);
        const c = both(pick(UNSIGNED_CONSTANTS));
        return next() < 0.5 ? join(["(", u(), ` ${op} `, c, ")"]) : join(["(", c, ` ${op} `, u(), ")"]);
      }
    }
  };
  return { pairs: Array.from({ length: count }, () => expr(3)), vars };
}

describe("generated constant expressions over edge values", () => {
  it("fold to what the same expressions compute with their operands in variables", () => {
    const { pairs, vars } = generatedPairs(200, 2401);
    // Literals >= 2^31 and unsigned constants do occur (else the test would guard nothing).
    expect(pairs.filter((p) => /0x[89A-F][0-9A-F]{7}/.test(p.folded)).length).toBeGreaterThan(50);
    runPairs(pairs, vars).forEach(([folded, computed], i) => expect(folded, pairs[i].folded).toBe(computed));
  });
});

const errors = (text: string): string[] => compileDiagnostics(text, "g.ts").map((d) => formatDiagnostic(d, false));
const inMain = (body: string) => `let z = 1;\nexport function main(): number {\n  ${body}\n}\n`;

describe("what the unsigned rule refuses is refused folded too, with the same error", () => {
  // Each folded form next to a computed one whose refused node starts at the same column.
  const REFUSED: Pair[] = [
    { folded: "return 0xFFFFF000 < 0;", computed: "return 0xFFFFF000 < z;" },
    { folded: "return 0 >= 0x80000000;", computed: "return z >= 0x80000000;" },
    { folded: "return 0xFFFFFFFF == (-1);", computed: "return 0xFFFFFFFF == z;" },
    { folded: "return (5 >>> 0) < (-1);", computed: "return (z >>> 0) < (-1);" },
    { folded: "return (5 >>> 0) % (-7);", computed: "return (z >>> 0) % (-7);" },
    { folded: "return (-7) / (5 >>> 0);", computed: "return z / (5 >>> 0);" },
    { folded: "return (5 >>> 0) > 0 + 0x80000000;", computed: "return (z >>> 0) > 0 + 0x80000000;" },
  ];
  for (const p of REFUSED) {
    it(p.folded, () => {
      const folded = errors(inMain(p.folded));
      expect(folded).toHaveLength(1);
      expect(folded).toEqual(errors(inMain(p.computed)));
    });
  }

  it("both sides of a signed comparison are reported, folded as computed", () => {
    expect(errors(inMain("return 0x80000000 == 0xFFFFFFFF;"))).toEqual([
      "g.ts:3:10: error: this constant is outside the int32 range, so a signed comparison would differ from JavaScript; compare (x >>> 0) instead",
      "g.ts:3:24: error: this constant is outside the int32 range, so a signed comparison would differ from JavaScript; compare (x >>> 0) instead",
    ]);
  });

  it("code generation applies the one rule everywhere: a value, a condition, `op=` on a local, a global and an element", () => {
    const mixed = "comparing an unsigned (>>> 0) value with a signed one is not supported in guest code; write >>> 0 on both sides";
    const mixing = "mixing an unsigned (>>> 0) and a signed operand in '%' is not supported in guest code; write >>> 0 on both sides";
    expect(errors(inMain("return z < (5 >>> 0);"))).toEqual([`g.ts:3:10: error: ${mixed}`]);
    expect(errors(inMain("if (z < (5 >>> 0)) return 1;\n  return 0;"))).toEqual([`g.ts:3:7: error: ${mixed}`]);
    expect(errors(inMain("let v = 3;\n  v %= (z >>> 0);\n  return v;"))).toEqual([`g.ts:4:3: error: ${mixing}`]);
    expect(errors(inMain("z %= (z >>> 0);\n  return z;"))).toEqual([`g.ts:3:3: error: ${mixing}`]);
    expect(errors(`const A = new Int32Array(2);\n${inMain("A[1] %= (z >>> 0);\n  return A[1];")}`)).toEqual([`g.ts:4:3: error: ${mixing}`]);
  });

  it("where only a constant will do, the refusal is the error (not 'must be constant')", () => {
    const outside = "this constant is outside the int32 range, so a signed comparison would differ from JavaScript; compare (x >>> 0) instead";
    const mixed = "comparing an unsigned (>>> 0) value with a signed one is not supported in guest code; write >>> 0 on both sides";
    expect(errors("enum E { A = 0xFFFFF000 < 0 }\n")).toEqual([`g.ts:1:14: error: ${outside}`]);
    expect(errors("const K = { a: (1 >>> 0) < (-1) };\n")).toEqual([`g.ts:1:16: error: ${mixed}`]);
    expect(errors("let g = 0xFFFFF000 < 0;\n")).toEqual([`g.ts:1:9: error: ${outside}`]);
    expect(errors("const T = new Int32Array([0, 0xFFFFF000 < 0]);\n")).toEqual([`g.ts:1:30: error: ${outside}`]);
    expect(errors("const T = new Int32Array(0xFFFFF000 > 0);\n")).toEqual([`g.ts:1:26: error: ${outside}`]);
    expect(errors(inMain("const a = new Int8Array((1 >>> 0) < (-1));\n  return a[0];"))).toEqual([`g.ts:3:27: error: ${mixed}`]);
    expect(errors(inMain("switch (z) { case 0xFFFFF000 < 0: return 1; }\n  return 0;"))).toEqual([`g.ts:3:21: error: ${outside}`]);
    expect(errors(inMain("const k = 0xFFFFF000 < 0;\n  return k;"))).toEqual([`g.ts:3:13: error: ${outside}`]);
  });
});
