// Random whole programs of the TypeScript guest dialect, each with its
// JavaScript oracle (the `cc` campaign's fourth kind, scripts/fuzz/cc.ts).
// Where cc.ts's integer programs are straight-line expressions written with
// explicit `| 0`, these use what a kernel writer writes: globals, typed
// arrays of each element type, functions with parameters that call each
// other and recurse, `op=` on variables and array elements, `++`/`--` as
// expressions, assignments inside expressions, short-circuits and `?:` with
// side effects, `while`/`do`/`for` with `break`/`continue` and labels,
// `switch` with fallthrough, unsigned comparisons (`>>> 0` on both sides, or
// on one with a constant up to 0xFFFFFFFF on the other), literals at and
// above 2^31 (their int32 pattern in the dialect), an enum and a const object
// (constants that fold), and a local typed array.
//
// Every construct is generated twice: as the dialect text the compiler gets,
// and as JavaScript that computes the dialect's meaning (docs/guest-language.md:
// JavaScript's semantics with `| 0` on every result — so `v += e` is
// `v = (v + e) | 0`, `v++` is the old value with `v` wrapped, `*` is
// `Math.imul`). Typed arrays need no rewriting: JavaScript's own wrap as the
// compiled stores do. Loops cannot run for ever (bounded counters the body
// never assigns); calls go only to functions defined earlier, recursion only
// on a counter that falls. Consumes an Rng; produces an IntProgram.

import type { Rng } from "./rng.js";

/** One construct in both renderings. */
export interface Code {
  ts: string;
  js: string;
  /** A literal >= 2^31: a signed comparison refuses it as an operand (docs/guest-language.md), so one is given `| 0` there. */
  big?: boolean;
}

const both = (s: string): Code => ({ ts: s, js: s });

const GLOBALS = ["G0", "G1", "G2"];
/** name, element type, length (a power of two: indices are masked, never out of range). */
const ARRAYS: readonly [string, string, number][] = [["A", "Int32Array", 8], ["B", "Uint8Array", 8], ["H", "Int16Array", 4]];
const LOCALS = ["v0", "v1", "v2", "v3"];
const LOCAL_ARRAY = ["LA", "Int8Array", 4] as const;

interface Scope {
  /** Assignable int variables (locals, parameters, globals). */
  vars: string[];
  /** Typed arrays reachable here: the globals, and main's local one. */
  arrays: readonly (readonly [string, string, number])[];
  /** Named constants (enum members, a const object's fields): the dialect's name and its value. */
  constants: readonly (readonly [string, number])[];
  /** Functions callable from here: name and parameter count. */
  calls: [string, number][];
  /** Innermost loop's label, if inside a loop (break/continue allowed). */
  loop?: string;
  /** Loop counters readable here (never assigned by generated statements). */
  counters: string[];
}

const int32 = (r: Rng) => r.pick([() => r.range(-9, 9), () => r.range(-70000, 70000), () => r.u32() | 0, () => r.pick([0x7fffffff, -0x80000000, -1, 31, 32])])();
const lit = (v: number) => (v < 0 ? `(${v})` : String(v));
/** A literal at or above 2^31: the dialect reads its int32 pattern (`0xFFFFF000` is -4096), JavaScript needs the `| 0` written. */
function bigLiteral(r: Rng): Code {
  const v = r.pick([0x80000000, 0x80000001, 0xfffff000, 0xffffffff, (r.u32() | 0x80000000) >>> 0]);
  const hex = `0x${v.toString(16).toUpperCase()}`;
  return { ts: hex, js: `(${hex} | 0)`, big: true };
}
/** Non-negative constants, as JavaScript reads them, for the constant side of an unsigned comparison, `/` or `%`. */
export const UNSIGNED_CONSTANTS = ["0", "1", "7", "0x7FFFFFFF", "0x80000000", "0xFFFFF000", "0xFFFFFFFF"];

/** An lvalue: a variable, or an array element at a masked index. */
function lvalue(r: Rng, s: Scope): { ts: string; js: string; wraps: boolean } {
  if (r.chance(0.7)) {
    const v = r.pick(s.vars);
    return { ts: v, js: v, wraps: false };
  }
  const [a, , n] = r.pick(s.arrays);
  // An index without side effects: the oracle of `A[i] op= e` reads it twice. The element stores with
  // JavaScript's own typed-array wrap.
  const i = r.chance(0.5) ? String(r.range(0, n - 1)) : `(${r.pick([...s.vars, ...s.counters])} & ${n - 1})`;
  return { ts: `${a}[${i}]`, js: `${a}[${i}]`, wraps: true };
}

const BINARY: [string, (a: string, b: string) => string][] = [
  ["+", (a, b) => `((${a} + ${b}) | 0)`],
  ["-", (a, b) => `((${a} - ${b}) | 0)`],
  ["*", (a, b) => `Math.imul(${a}, ${b})`],
  ["/", (a, b) => `((${a} / ${b}) | 0)`],
  ["%", (a, b) => `((${a} % ${b}) | 0)`],
  ["&", (a, b) => `(${a} & ${b})`],
  ["|", (a, b) => `(${a} | ${b})`],
  ["^", (a, b) => `(${a} ^ ${b})`],
  ["<<", (a, b) => `(${a} << ${b})`],
  [">>", (a, b) => `(${a} >> ${b})`],
  // Written with `| 0` in the dialect too: a bare `>>>` expression is unsigned there (the unsigned forms below).
  [">>>", (a, b) => `((${a} >>> ${b}) | 0)`],
];

/** An int expression; may assign (side effects, in JavaScript's left-to-right order). */
function expr(r: Rng, s: Scope, depth: number): Code {
  if (depth <= 0 || r.chance(0.2)) {
    return r.weighted<() => Code>([
      [4, () => both(lit(int32(r)))],
      [1, () => bigLiteral(r)],
      [5, () => both(r.pick(s.vars))],
      [s.counters.length ? 2 : 0, () => both(r.pick(s.counters))],
      [2, () => { const [a, , n] = r.pick(s.arrays); return both(`${a}[${r.range(0, n - 1)}]`); }],
      // A named constant folds to its value (the oracle has the number).
      [1, () => { const [name, v] = r.pick(s.constants); return { ts: name, js: lit(v) }; }],
    ])();
  }
  const a = () => expr(r, s, depth - 1);
  return r.weighted<() => Code>([
    [6, () => {
      const [op, js] = r.pick(BINARY);
      const x = a(), y = a();
      return { ts: op === ">>>" ? js(x.ts, y.ts) : `(${x.ts} ${op} ${y.ts})`, js: js(x.js, y.js) };
    }],
    [2, () => { const x = a(); return { ts: `(~${x.ts})`, js: `(~${x.js})` }; }],
    [2, () => { const x = a(); return { ts: `(-${x.ts})`, js: `((-${x.js}) | 0)` }; }],
    [3, () => {
      const op = r.pick(["<", "<=", ">", ">=", "===", "!==", "==", "!="]);
      const signed = (c: Code) => (c.big ? `(${c.ts} | 0)` : c.ts);
      const x = a(), y = a();
      return { ts: `(${signed(x)} ${op} ${signed(y)})`, js: `((${x.js} ${op} ${y.js}) | 0)` };
    }],
    // Unsigned: `>>> 0` on both sides (a comparison, `/` or `%` then uses the unsigned instruction).
    [2, () => {
      const op = r.pick(["<", "<=", ">", ">=", "/", "%"]);
      const x = a(), y = a();
      const u = (c: string) => `((${c}) >>> 0)`;
      return { ts: `(${u(x.ts)} ${op} ${u(y.ts)})`, js: `((${u(x.js)} ${op} ${u(y.js)}) | 0)` };
    }],
    // `>>> 0` on one side and a non-negative constant on the other: unsigned too, the constant as written (0xFFFFFFFF is 4294967295).
    [1, () => {
      const op = r.pick(["<", "<=", ">", ">=", "===", "!==", "/", "%"]);
      const x = a(), c = r.pick(UNSIGNED_CONSTANTS);
      const u = (e: string) => `((${e}) >>> 0)`;
      return r.chance(0.5)
        ? { ts: `(${u(x.ts)} ${op} ${c})`, js: `((${u(x.js)} ${op} ${c}) | 0)` }
        : { ts: `(${c} ${op} ${u(x.ts)})`, js: `((${c} ${op} ${u(x.js)}) | 0)` };
    }],
    [1, () => { const x = a(); return { ts: `(!${x.ts})`, js: `((!${x.js}) | 0)` }; }],
    [3, () => {
      const op = r.pick(["&&", "||"]);
      const x = a(), y = a();
      return { ts: `(${x.ts} ${op} ${y.ts})`, js: `(${x.js} ${op} ${y.js})` };
    }],
    [2, () => { const c = a(), x = a(), y = a(); return { ts: `(${c.ts} ? ${x.ts} : ${y.ts})`, js: `(${c.js} ? ${x.js} : ${y.js})` }; }],
    [3, () => assignment(r, s, depth - 1)],
    [3, () => increment(r, s)],
    [s.calls.length ? 3 : 0, () => call(r, s, depth - 1)],
    [1, () => { const x = a(), y = a(); return { ts: `(${x.ts}, ${y.ts})`, js: `(${x.js}, ${y.js})` }; }],
  ])();
}

/** `x = e` or `x op= e`, as an expression (its value is the assigned value, as in JavaScript). */
function assignment(r: Rng, s: Scope, depth: number): Code {
  const x = lvalue(r, s);
  const e = expr(r, s, depth);
  if (r.chance(0.4)) {
    // Plain `=`: the expression's value is the right side's (int32 already), whatever an array element keeps.
    return { ts: `(${x.ts} = ${e.ts})`, js: `(${x.js} = ${e.js})` };
  }
  const [op, js] = r.pick(BINARY);
  if (x.wraps) {
    // `A[i] op= e`: JavaScript stores the wrapped value but yields the unwrapped one; the dialect's value is int32,
    // so the generated code only uses it as a statement-like operand of `,` (its value discarded).
    return { ts: `(${x.ts} ${op}= ${e.ts}, 0)`, js: `(${x.js} = ${js(x.js, e.js)}, 0)` };
  }
  return { ts: `(${x.ts} ${op}= ${e.ts})`, js: `(${x.js} = ${js(x.js, e.js)})` };
}

/** `++x`, `x++`, `--x`, `x--` on a variable, as an expression. */
function increment(r: Rng, s: Scope): Code {
  const v = r.pick(s.vars);
  const d = r.pick(["+", "-"]);
  const undo = d === "+" ? "-" : "+";
  return r.chance(0.5)
    ? { ts: `(${d}${d}${v})`, js: `(${v} = (${v} ${d} 1) | 0)` }
    : { ts: `(${v}${d}${d})`, js: `(((${v} = (${v} ${d} 1) | 0) ${undo} 1) | 0)` };
}

function call(r: Rng, s: Scope, depth: number): Code {
  const [f, n] = r.pick(s.calls);
  const args = Array.from({ length: n }, () => expr(r, s, Math.min(depth, 1)));
  // rec's counter: at most 7 levels deep.
  if (f === "rec") args[0] = { ts: `((${args[0].ts}) & 7)`, js: `((${args[0].js}) & 7)` };
  return { ts: `${f}(${args.map((a) => a.ts).join(", ")})`, js: `${f}(${args.map((a) => a.js).join(", ")})` };
}

let labelCount = 0;

/** One statement (a list of lines of each rendering). */
function statement(r: Rng, s: Scope, depth: number): Code {
  const e = (d = 2) => expr(r, s, d);
  return r.weighted<() => Code>([
    [6, () => { const a = assignment(r, s, 2); return { ts: `${a.ts};`, js: `${a.js};` }; }],
    [2, () => { const a = increment(r, s); return { ts: `${a.ts};`, js: `${a.js};` }; }],
    [depth > 0 ? 3 : 0, () => {
      const c = e(), t = block(r, s, depth - 1), f = block(r, s, depth - 1);
      return { ts: `if (${c.ts}) ${t.ts} else ${f.ts}`, js: `if (${c.js}) ${t.js} else ${f.js}` };
    }],
    [depth > 0 ? 2 : 0, () => {
      const i = `i${labelCount}`, label = `L${labelCount++}`;
      const inner = block(r, { ...s, loop: label, counters: [...s.counters, i] }, depth - 1);
      const head = `${label}: for (let ${i} = 0; ${i} < ${r.range(0, 5)}; ${i}++)`;
      return { ts: `${head} ${inner.ts}`, js: `${head} ${inner.js}` };
    }],
    [depth > 0 ? 1 : 0, () => {
      // The counter falls first: a `continue` in the body cannot skip it.
      const w = `w${labelCount}`, label = `L${labelCount++}`;
      const inner = block(r, { ...s, loop: label, counters: [...s.counters, w] }, depth - 1);
      const doWhile = r.chance(0.5);
      const n = r.range(doWhile ? 1 : 0, 4);
      const render = (body: string) =>
        doWhile ? `{ let ${w} = ${n}; ${label}: do { ${w} = ${w} - 1; ${body} } while (${w} > 0); }` : `{ let ${w} = ${n}; ${label}: while (${w} > 0) { ${w} = ${w} - 1; ${body} } }`;
      return { ts: render(inner.ts), js: render(inner.js) };
    }],
    [depth > 0 ? 1 : 0, () => {
      const c = e(1);
      const labels = [0, 1, 2, 3].filter(() => r.chance(0.6));
      const arms = labels.map((k) => ({ k, body: statement(r, s, depth - 1), brk: r.chance(0.6) }));
      const dflt = r.chance(0.5) ? statement(r, s, depth - 1) : undefined;
      const render = (pick: (c: Code) => string, cond: string) =>
        `switch ((${cond}) & 3) { ${arms.map((a) => `case ${a.k}: ${pick(a.body)}${a.brk ? " break;" : ""}`).join(" ")}${dflt ? ` default: ${pick(dflt)}` : ""} }`;
      return { ts: render((x) => x.ts, c.ts), js: render((x) => x.js, c.js) };
    }],
    [s.loop ? 1 : 0, () => {
      const c = e(1), kind = r.pick(["break", "continue"]), label = r.chance(0.5) ? ` ${s.loop}` : "";
      return { ts: `if (${c.ts}) ${kind}${label};`, js: `if (${c.js}) ${kind}${label};` };
    }],
  ])();
}

function block(r: Rng, s: Scope, depth: number): Code {
  const body = Array.from({ length: r.range(1, 3) }, () => statement(r, s, depth));
  return { ts: `{ ${body.map((b) => b.ts).join(" ")} }`, js: `{ ${body.map((b) => b.js).join(" ")} }` };
}

/**
 * A generated program in three parts, each in both renderings: what comes
 * before main's statements (imports, globals, arrays, functions, main's
 * locals), the statements (what the fuzzer's shrinker drops one by one), and
 * what prints the results.
 */
export interface IntProgram {
  head: Code;
  statements: Code[];
  tail: Code;
}

const HEX = [
  "function hex(v: number): void {",
  "  for (let s = 28; s >= 0; s -= 4) { const d = (v >>> s) & 15; outPort(PORT.console, d < 10 ? 48 + d : 87 + d); }",
  "  outPort(PORT.console, 10);",
  "}",
];

export function intProgram(r: Rng): IntProgram {
  labelCount = 0;
  const ts: string[] = ['import { outPort, PORT } from "previrt/guest";', ...HEX];
  const js: string[] = [];
  for (const g of GLOBALS) {
    const v = lit(int32(r));
    ts.push(`let ${g} = ${v};`);
    js.push(`let ${g} = ${v};`);
  }
  for (const [a, type, n] of ARRAYS) {
    // Values past the element's width too: they are stored wrapped, as JavaScript stores them.
    const init = Array.from({ length: n }, () => lit(int32(r) & 0x1ffff)).join(", ");
    ts.push(`const ${a} = new ${type}([${init}]);`);
    js.push(`const ${a} = new ${type}([${init}]);`);
  }
  // An enum (members counting on, one from another) and a const object: constant namespaces that fold.
  const e0 = int32(r) & 0xffff, e2 = r.range(0, 7);
  const enumValues: [string, number][] = [["E.A", e0], ["E.B", (e0 + 1) | 0], ["E.C", (e0 + 1) << e2]];
  ts.push(`enum E { A = ${lit(e0)}, B, C = B << ${e2} }`);
  const k0 = int32(r), k1 = int32(r);
  ts.push(`const K = { lo: ${lit(k0)}, hi: ${lit(k1)} } as const;`);
  const constants: [string, number][] = [...enumValues, ["K.lo", k0], ["K.hi", k1]];
  const calls: [string, number][] = [];
  // A recursive function on a falling counter, then helpers that may call it and the ones before them.
  ts.push("function rec(n: number, x: number): number { if (n <= 0) return x; return (rec(n - 1, (x ^ n) << 1) + n) | 0; }");
  js.push("function rec(n, x) { if (n <= 0) return x; return (rec(n - 1, (x ^ n) << 1) + n) | 0; }");
  calls.push(["rec", 2]);
  for (let f = 0; f < r.range(0, 3); f++) {
    const params = Array.from({ length: r.range(1, 4) }, (_, k) => `p${k}`);
    const scope: Scope = { vars: [...params, "l0", ...GLOBALS], arrays: ARRAYS, constants, calls: [...calls], counters: [] };
    const body = Array.from({ length: r.range(1, 4) }, () => statement(r, scope, 1));
    const ret = expr(r, scope, 2);
    const l0 = lit(int32(r));
    ts.push(`function f${f}(${params.map((p) => `${p}: number`).join(", ")}): number { let l0 = ${l0}; ${body.map((b) => b.ts).join(" ")} return ${ret.ts}; }`);
    js.push(`function f${f}(${params.join(", ")}) { let l0 = ${l0}; ${body.map((b) => b.js).join(" ")} return ${ret.js}; }`);
    calls.push([`f${f}`, params.length]);
  }
  // main's locals, and a local typed array (in its stack frame, zeroed where it is declared).
  const inits = LOCALS.map((v) => `let ${v} = ${lit(int32(r))};`).join(" ") + ` const ${LOCAL_ARRAY[0]} = new ${LOCAL_ARRAY[1]}(${LOCAL_ARRAY[2]});`;
  ts.push("export function main(): number {", `  ${inits}`);
  js.push(inits);
  const arrays = [...ARRAYS, LOCAL_ARRAY];
  const scope: Scope = { vars: [...LOCALS, ...GLOBALS], arrays, constants, calls, counters: [] };
  const statements = Array.from({ length: r.range(2, 8) }, () => statement(r, scope, 2));
  const printed = [...LOCALS, ...GLOBALS, ...arrays.flatMap(([a, , n]) => Array.from({ length: n }, (_, i) => `${a}[${i}]`))];
  return {
    head: { ts: ts.join("\n"), js: js.join("\n") },
    statements,
    tail: { ts: [...printed.map((p) => `  hex(${p});`), "  return 0;", "}"].join("\n"), js: `return [${printed.join(", ")}];` },
  };
}

/** The dialect source of a program (with some of its statements, when shrunk). */
export function intProgramSource(p: IntProgram): string {
  return [p.head.ts, ...p.statements.map((s) => `  ${s.ts}`), p.tail.ts].join("\n") + "\n";
}

/** The console the compiled program must print: each value as 8 hex digits and a newline (JavaScript computes it). */
export function intProgramExpected(p: IntProgram): string {
  const values = new Function([p.head.js, ...p.statements.map((s) => s.js), p.tail.js].join("\n"))() as number[];
  return values.map((v) => (v >>> 0).toString(16).padStart(8, "0") + "\n").join("");
}
