// Fuzz campaign `cc`: the compiler of the TypeScript guest dialect, through
// the whole `previrt build` pipeline (compile → start-up → annotate →
// assemble). Inputs: the fixtures' .ts programs with line and token
// mutations; deep nesting (parentheses, unary chains, long sums, nested
// `if`s and blocks); and random programs of integer statements whose result
// JavaScript itself computes — the dialect's semantics are JavaScript's with
// `| 0` on every result (docs/guest-language.md), so a generated program
// that writes `| 0` and `Math.imul` explicitly must print on the emulated
// machine exactly what `new Function` computes on the host (else: wrong);
// and whole programs (generators/int-programs.ts: globals, typed arrays,
// functions, `op=`, `++`, loops with labels, `switch`) whose JavaScript
// rendering is the oracle — one the compiler refuses is wrong too (it is
// valid dialect) — and which must also run the same under the interpreter
// and the JIT (generators/engines.ts).

import { buildSources } from "../../src/cli/build-pipeline.js";
import { runElf } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput, Outcome } from "./campaign.js";
import { importsOf, typescriptSources, type SourceText } from "./generators/fixtures.js";
import { ENGINES_NOTE, runElfEnginesProblem } from "./generators/engines.js";
import { intProgram, intProgramExpected, intProgramSource, UNSIGNED_CONSTANTS, type Code, type IntProgram } from "./generators/int-programs.js";
import { HUGE_NUMBERS, mutateLines } from "./generators/mutate.js";
import type { Rng } from "./generators/rng.js";

const TS_TOKENS = [
  "let", "const", "var", "function", "return", "if", "else", "for", "while", "do", "break", "continue", "switch", "case", "default", "new", "class",
  "import", "export", "from", "as", "typeof", "void", "delete", "in", "of", "this", "null", "undefined", "true", "false", "async", "await", "yield",
  "number", "boolean", "string", "any", "never", "Int32Array", "Uint8Array", "Math.imul", "outPort", "inPort", "PORT.console", "cli", "sti",
  "(", ")", "{", "}", "[", "]", ";", ",", ".", "?", ":", "=", "+", "-", "*", "/", "%", "**", "<<", ">>", ">>>", "&", "|", "^", "~", "!", "&&", "||",
  "??", "<", ">", "<=", ">=", "==", "===", "!=", "!==", "+=", "-=", "++", "--", "=>", "...", "`x${1}`", "'s'", '"a"', "/re/", "1n", "0.5",
  ...HUGE_NUMBERS,
];

const VARS = ["v0", "v1", "v2", "v3", "v4"];
const int32 = (r: Rng) => r.pick([() => r.range(-8, 8), () => r.range(-1000, 1000), () => (r.u32() | 0), () => r.pick([0x7fffffff, -0x80000000, -1, 31, 32, 33])])();
const lit = (v: number) => (v < 0 ? `(${v})` : String(v));

/** An expression whose JavaScript value, `| 0`-wrapped at every step, is the dialect's value. */
function expr(r: Rng, depth: number, loopVar?: string): string {
  if (depth <= 0 || r.chance(0.25)) return r.chance(0.6) ? (loopVar && r.chance(0.3) ? loopVar : r.pick(VARS)) : lit(int32(r));
  const a = () => expr(r, depth - 1, loopVar);
  return r.pick([
    () => `((${a()} + ${a()}) | 0)`,
    () => `((${a()} - ${a()}) | 0)`,
    () => `Math.imul(${a()}, ${a()})`,
    () => `((${a()} / ${a()}) | 0)`,
    () => `((${a()} % ${a()}) | 0)`,
    () => `(${a()} & ${a()})`,
    () => `(${a()} | ${a()})`,
    () => `(${a()} ^ ${a()})`,
    () => `(~${a()})`,
    () => `((-${a()}) | 0)`,
    () => `(${a()} << ${a()})`,
    () => `(${a()} >> ${a()})`,
    () => `((${a()} >>> ${a()}) | 0)`,
    () => `((${a()} ${r.pick(["<", "<=", ">", ">=", "===", "!==", "==", "!="])} ${a()}) | 0)`,
    // Unsigned against a constant as JavaScript reads it (0x80000000 is 2147483648 here too): sltu, divu, remu.
    () => `(((${a()} >>> 0) ${r.pick(["<", ">=", "/", "%"])} ${r.pick(UNSIGNED_CONSTANTS)}) | 0)`,
    () => `((!${a()}) | 0)`,
    () => `(${a()} ${r.pick(["&&", "||"])} ${a()})`,
    () => `(${a()} ? ${a()} : ${a()})`,
    () => (r.chance(0.1) ? `((${r.pick(['"7"', '"a"', '"12"'])} + ${a()}) | 0)` : `((${a()} + 1) | 0)`), // string arithmetic: must be refused
  ])();
}

function statement(r: Rng, depth: number, loopVar?: string): string {
  const v = r.pick(VARS);
  return r.weighted<() => string>([
    [5, () => `${v} = ${expr(r, 3, loopVar)};`],
    [3, () => `${v} = ((${v} + ${expr(r, 2, loopVar)}) | 0);`],
    [2, () => (depth > 0 ? `if (${expr(r, 2, loopVar)}) { ${statement(r, depth - 1, loopVar)} } else { ${statement(r, depth - 1, loopVar)} }` : `${v} = ${expr(r, 2, loopVar)};`)],
    [1, () => {
      if (depth <= 0 || loopVar) return `${v} = (${v} ^ ${expr(r, 2, loopVar)});`;
      const i = `i${depth}`;
      return `for (let ${i} = 0; ${i} < ${r.range(0, 6)}; ${i}++) { ${statement(r, depth - 1, i)} ${statement(r, depth - 1, i)} }`;
    }],
  ])();
}

const PROGRAM_HEAD = (inits: string) => [
  'import { outPort, PORT } from "previrt/guest";',
  "function hex(v: number): void {",
  "  for (let s = 28; s >= 0; s -= 4) { const d = (v >>> s) & 15; outPort(PORT.console, d < 10 ? 48 + d : 87 + d); }",
  "  outPort(PORT.console, 10);",
  "}",
  "export function main(): number {",
  inits,
];
const PROGRAM_TAIL = [...VARS.map((v) => `  hex(${v});`), "  return 0;", "}"];

/** What the host computes for a generated program's statements (the oracle). */
function expected(inits: string, body: readonly string[]): string {
  const values = new Function(`${inits}\n${body.join("\n")}\nreturn [${VARS.join(", ")}];`)() as number[];
  return values.map((v) => (v >>> 0).toString(16).padStart(8, "0") + "\n").join("");
}

function deepNesting(r: Rng): string[] {
  const d = r.pick([10, 50, 200, 500, 1000, 2000, 5000]);
  const body = r.pick([
    () => [`  return ${"(".repeat(d)}1${")".repeat(d)};`],
    () => [`  return ${"-~".repeat(d >> 1)}1;`],
    () => [`  return ${Array.from({ length: d }, (_, i) => String(i & 7)).join(" + ")};`],
    () => [`  let x = 0;`, ...Array.from({ length: Math.min(d, 3000) }, () => "  if (x === 0) {"), "  x = 1;", ...Array.from({ length: Math.min(d, 3000) }, () => "  }"), "  return x;"],
    () => [...Array.from({ length: Math.min(d, 3000) }, () => "  {"), "  return 1;", ...Array.from({ length: Math.min(d, 3000) }, () => "  }")],
    () => [`  return ${"!".repeat(d)}0;`],
    () => [`  const a = new Int32Array(${r.pick(HUGE_NUMBERS)});`, "  return a[0];"],
  ])();
  return ["export function main(): number {", ...body, "}"];
}

const fixtureNamed = (file: string): SourceText => typescriptSources().find((s) => s.file === file)!;

/** The aux of a whole program (generators/int-programs.ts), and of one also run under each engine. */
const WHOLE = 3;
const WHOLE_ENGINES = 7;
const isWhole = (aux: number) => aux === WHOLE || aux === WHOLE_ENGINES;

/** A whole program as an input: its head and tail in `base`, each of main's statements a unit (both renderings: the shrinker drops them together). */
const SEP = "\u0000";
const wholeInput = (p: IntProgram) => ({ base: `whole: ${JSON.stringify({ head: p.head, tail: p.tail })}`, units: p.statements.map((c) => c.ts + SEP + c.js) });
function wholeProgram(input: FuzzInput<string>): IntProgram {
  const { head, tail } = JSON.parse(input.base.slice("whole: ".length)) as { head: Code; tail: Code };
  return { head, tail, statements: input.units.map((u) => ({ ts: u.slice(0, u.indexOf(SEP)), js: u.slice(u.indexOf(SEP) + 1) })) };
}

/** The compiled program's console against the oracle's; undefined when they agree. */
function compare(console: string, want: string, names: (k: number) => string): Outcome | undefined {
  if (console === want) return undefined;
  const got = console.split("\n"), exp = want.split("\n");
  const k = got.findIndex((l, i) => l !== exp[i]);
  return { class: "wrong", message: `compiled code computes ${names(k)} = 0x${got[k]}, JavaScript 0x${exp[k]}` };
}

/** aux: 0 a mutated fixture, 1 a generated program checked against the host, 2 deep nesting, 3 a whole program checked against the host (7: and across engines). Units are lines (of the body, for aux 1; main's statements, for aux 3 and 7). */
export const ccCampaign: Campaign<string> = {
  name: "cc",
  description: "mutated fixture programs, deep nesting, and random integer programs checked against JavaScript, through previrt build",
  generate(r) {
    const kind = r.weighted([[35, 0], [30, 1], [10, 2], [25, WHOLE]] as const);
    // aux 3, or 7 when the run is also compared across engines (one whole program in four: three runs more).
    if (kind === WHOLE) return { ...wholeInput(intProgram(r)), aux: r.chance(0.25) ? WHOLE_ENGINES : WHOLE };
    if (kind === 0) {
      // Small programs more often than the kernel: the compiler's time grows with the input.
      const src = r.weighted(typescriptSources().map((t) => [1 / Math.sqrt(t.text.length), t] as const));
      return { base: src.file, units: mutateLines(r, src.text.split("\n"), TS_TOKENS, r.range(1, 5)), aux: 0 };
    }
    if (kind === 2) return { base: "nesting", units: deepNesting(r), aux: 2 };
    const inits = VARS.map((v) => `let ${v} = ${lit(int32(r))};`).join(" ");
    return { base: `program: ${inits}`, units: Array.from({ length: r.range(1, 12) }, () => "  " + statement(r, 2)), aux: 1 };
  },
  execute(input: FuzzInput<string>, limits): Outcome | "accepted" {
    if (input.aux === 0) {
      const entry = fixtureNamed(input.base);
      buildSources([{ file: entry.file, text: input.units.join("\n") }, ...importsOf(entry)]);
      return "accepted";
    }
    if (input.aux === 2) {
      buildSources([{ file: "nesting.ts", text: input.units.join("\n") + "\n" }]);
      return "accepted";
    }
    if (isWhole(input.aux)) {
      const p = wholeProgram(input);
      let image;
      try {
        image = buildSources([{ file: "program.ts", text: intProgramSource(p) }]).image;
      } catch (e) {
        return { class: "wrong", message: `a valid program was refused: ${String((e as Error).message).split("\n")[0]}` };
      }
      const options = () => ({ backend: "bare", maxCycles: Math.max(limits.maxCycles, 20_000_000), ramSize: 4 * 1024 * 1024 });
      const out = runElf(image, options());
      const r = out.result;
      if (r.kind !== "poweroff" || r.exitCode !== 0) return { class: "wrong", message: `the compiled program did not finish: ${r.kind === "stopped" ? r.reason : `exit ${r.exitCode}`}` };
      const wrong = compare(out.console, intProgramExpected(p), (k) => `printed value ${k + 1}`);
      if (wrong) return wrong;
      // Compiled loops, calls and array stores: the same run under the interpreter and the JIT translating at once.
      const engines = runElfEnginesProblem(input.aux === WHOLE_ENGINES, image, options, out);
      return engines ? { class: "wrong", message: engines } : "accepted";
    }
    const inits = input.base.slice("program: ".length);
    const text = [...PROGRAM_HEAD(`  ${inits}`), ...input.units, ...PROGRAM_TAIL].join("\n") + "\n";
    const { image } = buildSources([{ file: "program.ts", text }]);
    const want = expected(inits, input.units);
    const out = runElf(image, { backend: "bare", maxCycles: Math.max(limits.maxCycles, 2_000_000), ramSize: 4 * 1024 * 1024 });
    const r = out.result;
    if (r.kind !== "poweroff" || r.exitCode !== 0) return { class: "wrong", message: `the compiled program did not finish: ${r.kind === "stopped" ? r.reason : `exit ${r.exitCode}`}` };
    return compare(out.console, want, (k) => VARS[k]) ?? "accepted";
  },
  materialize(input) {
    if (isWhole(input.aux)) {
      const p = wholeProgram(input);
      return { ext: ".ts", data: intProgramSource(p), note: `expected console${input.aux === WHOLE_ENGINES ? ` ${ENGINES_NOTE}` : ""}:\n${intProgramExpected(p)}` };
    }
    if (input.aux !== 1) return { ext: ".ts", data: input.units.join("\n") + "\n", note: `from ${input.base}` };
    const inits = input.base.slice("program: ".length);
    return { ext: ".ts", data: [...PROGRAM_HEAD(`  ${inits}`), ...input.units, ...PROGRAM_TAIL].join("\n") + "\n", note: `expected console:\n${expected(inits, input.units)}` };
  },
};
