// Hostile and unusual guest TypeScript (issue 12): every input either
// compiles to correct code or is refused with located `file:line:col`
// diagnostics — never a host exception (stack overflow, TypeError) and never
// an "internal" error. Covers the nesting limit, duplicate declarations,
// operators on strings, type-only syntax in every position, and readable
// construct names for every Babel node type.

import { VISITOR_KEYS } from "@babel/types";
import { describe, expect, it } from "vitest";
import { constructName } from "../../src/compiler/check.js";
import { NESTING_LIMIT, scanNesting } from "../../src/compiler/nesting.js";
import { compileDiagnostics, runOnHost, runSources } from "./helpers.js";

const diagnostics = compileDiagnostics;

const messages = (text: string) => diagnostics(text).map((d) => `${d.line}:${d.col}: ${d.message}`);
const fn = (body: string) => `export function main(): number {\n  ${body}\n  return 0;\n}\n`;
const sum = (n: number, term = "1") => Array(n).fill(term).join(" + ");

describe("the nesting limit", () => {
  const DEEP = /^nested too deeply \(more than 200 levels/;
  const deep: [string, string][] = [
    ["500 nested parentheses", fn(`return ${"(".repeat(500)}1${")".repeat(500)};`)],
    ["1,000 nested ifs", fn(`${"if (1) ".repeat(1000)}return 1;`)],
    ["1,000 nested ifs with braces", fn(`${"if (1) {".repeat(1000)} return 1; ${"}".repeat(1000)}`)],
    ["a 5,000-term sum", fn(`return ${sum(5000)};`)],
    ["a 5,000-term sum, one term per line", fn(`return ${Array(5000).fill("1").join("\n    + ")};`)],
    ["a 1,000-branch else-if chain", fn(`let x = 0; ${Array(1000).fill("if (x) { x = 1; }").join(" else ")}`)],
    ["10,000 unary operators", fn(`return ${"- ".repeat(10000)}1;`)],
    ["3,000 nested conditionals", fn(`return ${"1 ? 2 : ".repeat(3000)}3;`)],
    ["a 3,000-deep assignment chain", fn(`let a = 0; ${"a = ".repeat(3000)}1;`)],
    ["1,000 nested calls", `function f(x: number): number { return x; }\n` + fn(`return ${"f(".repeat(1000)}1${")".repeat(1000)};`)],
    ["a 20,000-long index chain", fn(`let x = 1; return x${"[0]".repeat(20000)};`)],
    ["a 20,000-long call chain", fn(`return main${"()".repeat(20000)};`)],
    ["a 20,000-long property chain", fn(`return main${".a".repeat(20000)};`)],
    ["5,000 `as` casts", fn(`return 1${" as number".repeat(5000)};`)],
    ["a type nested 1,000 deep", `let x: ${"A<".repeat(1000)}number${">".repeat(1000)};\n` + fn("")],
    ["templates nested 1,000 deep", fn(`let s = ${"`${".repeat(1000)}1${"}`".repeat(1000)};`)],
    ["1,000 nested arrow functions", `const f = ${"(a) => ".repeat(1000)}1;\n` + fn("")],
    ["1,000 nested blocks", fn(`${"{".repeat(1000)}${"}".repeat(1000)}`)],
    ["1,000 nested array literals", `const a = ${"[".repeat(1000)}${"]".repeat(1000)};\n` + fn("")],
  ];
  for (const [name, text] of deep) {
    it(`refuses ${name} with one located error`, () => {
      const ds = diagnostics(text);
      expect(ds).toHaveLength(1);
      expect(ds[0].message).toMatch(DEEP);
      expect(ds[0].line).toBeGreaterThanOrEqual(1);
      expect(ds[0].col).toBeGreaterThanOrEqual(1);
      expect(ds[0].sourceLine).toBeDefined();
    });
  }

  it("reports the first token past the limit", () => {
    // `return` + 199 additions stay within 200 levels of the function body; the 200th does not.
    const line = `  return ${sum(250, "x")};`;
    const ds = diagnostics(`export function main(x: number): number {\n${line}\n}\n`);
    expect(ds.map((d) => [d.line, d.message.slice(0, 17)])).toEqual([[2, "nested too deeply"]]);
    // The column is that of a `+`.
    expect(line[ds[0].col - 1]).toBe("+");
  });

  it("is documented as 200 levels", () => {
    expect(NESTING_LIMIT).toBe(200);
  });

  it("compiles correct code just inside the limit: a 150-term sum, 60 nested ifs, 120 nested parentheses", () => {
    const terms = Array.from({ length: 150 }, (_, i) => `${(i * 7919) % 1000}`);
    const src =
      `export function f(x: number): number {\n  return ${terms.map((t) => `x * ${t}`).join(" + ")};\n}\n` +
      `export function g(x: number): number {\n  ${Array.from({ length: 60 }, (_, i) => `if (x > ${i}) `).join("")}return 1;\n  return 0;\n}\n` +
      `export function main(): number {\n  return (f(1) + ${"(".repeat(120)}g(100)${")".repeat(120)} * 1000) & 0xff;\n}\n`;
    const expected = (terms.reduce((s, t) => s + Number(t), 0) + 1000) & 0xff;
    const run = runSources([{ file: "deep.ts", text: src }]);
    expect(run.stopped).toBeUndefined();
    expect(run.exitCode).toBe(expected);
  });

  it("the deepest accepted input of each shape compiles (every later stage survives the limit), one more level is refused", () => {
    const shapes: [string, (n: number) => string, number][] = [
      // [shape, program of nesting n, levels per n]
      ["left-nested sum", (n) => `export function f(x: number): number {\n  return ${sum(n, "x")};\n}\n`, 1],
      ["right-nested sum", (n) => `export function f(x: number): number {\n  return ${"x + (".repeat(n)}x${")".repeat(n)};\n}\n`, 2],
      ["nested ifs", (n) => `export function f(x: number): number {\n  ${"if (x) ".repeat(n)}return 1;\n  return 0;\n}\n`, 1],
      ["nested blocks with loops", (n) => `export function f(x: number): number {\n  ${"while (x) {".repeat(n)} x--; ${"}".repeat(n)}\n  return x;\n}\n`, 2],
      ["unary chain", (n) => `export function f(x: number): number {\n  return ${"-~".repeat(n)}x;\n}\n`, 2],
      ["nested calls", (n) => `export function f(x: number): number {\n  return ${"f(".repeat(n)}x${")".repeat(n)};\n}\n`, 1],
      ["nested conditionals", (n) => `export function f(x: number): number {\n  return ${"x ? x : ".repeat(n)}x;\n}\n`, 2],
      ["a global initializer", (n) => `const K = ${"(1 + ".repeat(n)}1${")".repeat(n)};\nexport function f(): number {\n  return K;\n}\n`, 2],
    ];
    for (const [name, program, perLevel] of shapes) {
      const refused = (n: number) => diagnostics(program(n)).some((d) => DEEP.test(d.message));
      let lo = 1;
      let hi = 400;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (refused(mid)) hi = mid - 1;
        else lo = mid;
      }
      expect(lo * perLevel, name).toBeGreaterThanOrEqual(NESTING_LIMIT - 10);
      expect(lo * perLevel, name).toBeLessThanOrEqual(NESTING_LIMIT + 2);
      expect(diagnostics(program(lo)), name).toEqual([]);
    }
  });

  it("does not count brackets in strings, comments, templates and regular expressions", () => {
    const noise = "(".repeat(1000);
    const text = `// ${noise}\n/* ${noise} */\nconst s = "${noise}";\nconst t = \`${noise}\`;\n` + fn("");
    expect(messages(text)).toEqual([]);
    expect(scanNesting(`let r = /${noise}/;`).tooDeep).toBeUndefined();
  });

  it("does not accumulate over statements, with or without semicolons", () => {
    const lines = Array.from({ length: 400 }, (_, i) => `  x = x + ${i} * 2 - 1`);
    expect(messages(`export function main(): number {\n  let x = 0\n${lines.join("\n")}\n  return x & 0xff\n}\n`)).toEqual([]);
    expect(messages(`export function main(): number {\n  let x = 0;\n${lines.join(";\n")};\n  return x & 0xff;\n}\n`)).toEqual([]);
    const ifs = Array.from({ length: 400 }, (_, i) => `  if (x === ${i}) { x = x + 1 }`).join("\n");
    expect(messages(`export function main(): number {\n  let x = 0\n${ifs}\n  return x\n}\n`)).toEqual([]);
  });
});

describe("names", () => {
  it("non-ASCII names of globals and functions get assembler-safe symbols, the same in every file", () => {
    const run = runSources([
      { file: "p.ts", text: 'import { 変数 } from "./q.js";\nlet ñ = 5;\nexport function main(): number {\n  return 変数() + ñ;\n}\n' },
      { file: "q.ts", text: "export function 変数(): number {\n  return 2;\n}\n" },
    ]);
    expect(run.stopped).toBeUndefined();
    expect(run.exitCode).toBe(7);
  });

  it("a file-local global named like a run-time symbol (__stack_top) does not replace it", () => {
    const run = runSources([{ file: "p.ts", text: "let __stack_top = 1;\nexport function main(): number {\n  return __stack_top + 2;\n}\n" }]);
    expect(run.stopped).toBeUndefined();
    expect(run.exitCode).toBe(3);
  });

  it("an exported function named constructor keeps its symbol (it was taken for a register and became constructor.g, which assembly could not call)", () => {
    const run = runSources([
      { file: "p.ts", text: "declare function viaAsm(): number;\nexport function constructor(): number {\n  return 5;\n}\nexport function main(): number {\n  return viaAsm() + 1;\n}\n" },
      { file: "q.s", text: "    .global viaAsm\nviaAsm:\n    j constructor\n" },
    ]);
    expect(run.stopped).toBeUndefined();
    expect(run.exitCode).toBe(6);
  });

  it("an exported main that is not a function is refused at its declaration (it built, and the start-up's call jumped into data)", () => {
    for (const [text, col] of [["export let main = 3;\n", 12], ["export const main = new Int32Array(4);\n", 14], ['const main = "x";\nexport { main };\n', 7]] as const) {
      expect(messages(text)).toEqual([`1:${col}: an exported 'main' must be a function: the start-up calls it (export function main(): number { … })`]);
    }
    // A main that is not exported is a name like any other.
    expect(messages("let main = 3;\nexport function f(): number {\n  return main;\n}\n")).toEqual([]);
  });

  it("a switch with many empty case labels does not count as nesting", () => {
    const cases = Array.from({ length: 1000 }, (_, i) => `    case ${i * 3}:`).join("\n");
    expect(messages(`export function f(x: number): number {\n  switch (x) {\n${cases}\n      return 1;\n    default:\n      return 0;\n  }\n}\n`)).toEqual([]);
  });
});

describe("duplicate declarations are located errors", () => {
  const cases: [string, string, string][] = [
    ["an import of the file's own function", 'import { main } from "./g.js";\n' + fn(""), "1:10: 'main' is already defined"],
    ["an import and a function of the same name", 'import { cli } from "previrt/guest";\nfunction cli(): number { return 1; }\n' + fn(""), "2:1: 'cli' is already defined"],
    ["an import and a global of the same name", 'import { cli } from "previrt/guest";\nlet cli = 1;\n' + fn(""), "2:5: 'cli' is already defined"],
    ["an import and a declared global", 'import { cli } from "previrt/guest";\ndeclare let cli: number;\n' + fn(""), "2:13: 'cli' is already defined"],
    ["the same import twice, a statement between", 'import { outPort } from "previrt/guest";\nconst x = 1;\nimport { outPort } from "previrt/guest";\n' + fn(""), "3:10: syntax error: Identifier 'outPort' has already been declared."],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      expect(messages(text)).toEqual([want]);
    });
  }
});

describe("operators on strings", () => {
  const refused: [string, string][] = [
    [fn('let x = "a" + "b";'), "2:11: the `+` operator on a string is not supported in guest code"],
    [fn('let x = 1 + "2";'), "2:11: the `+` operator on a string is not supported in guest code"],
    [fn("let x = `a` * 2;"), "2:11: the `*` operator on a string is not supported in guest code"],
    [fn('let x = -"1";'), "2:11: the `-` operator on a string is not supported in guest code"],
    [fn('let x = "a" === "a";'), "2:11: the `===` operator on a string is not supported in guest code"],
    [fn('let x = "" || 1;'), "2:11: the `||` operator on a string is not supported in guest code"],
    [fn('if ("") return 1;'), "2:7: a string as a condition is not supported in guest code"],
    [fn('let x = 0; x += "a";'), "2:14: the `+=` operator on a string is not supported in guest code"],
    ["export function f(s: string): number {\n  return s + 1;\n}\n", "2:10: the `+` operator on a string is not supported in guest code"],
    ['const msg = "hi";\nexport function f(): number {\n  return msg < 0 ? 1 : 0;\n}\n', "3:10: the `<` operator on a string is not supported in guest code"],
    ['export function f(): number {\n  const s = "x";\n  return s ? 1 : 0;\n}\n', "3:10: a string as a condition is not supported in guest code"],
    ['export function f(): number {\n  let s = "x";\n  s++;\n  return 0;\n}\n', "3:3: the `++` operator on a string is not supported in guest code"],
  ];
  for (const [text, want] of refused) {
    it(want.replace(/^\d+:\d+: /, "") + `: ${text.split("\n")[1].trim()}`, () => {
      expect(messages(text)).toContain(want);
    });
  }

  it("accepts strings passed along as values, and addressOf arithmetic", () => {
    const text =
      'import { addressOf, load8 } from "previrt/guest";\nconst greeting = "hi";\n' +
      "function first(s: string): number {\n  return load8(addressOf(s) + 1);\n}\n" +
      "export function main(): number {\n  const pick = 1 ? greeting : 'no';\n  let t: string;\n  t = pick;\n  return first(t) + load8(addressOf(greeting));\n}\n";
    expect(messages(text)).toEqual([]);
    const emulated = runSources([{ file: "s.ts", text }]);
    expect(emulated.exitCode).toBe(("i".charCodeAt(0) + "h".charCodeAt(0)) & 0xff);
    expect(runOnHost([{ file: "s.ts", text }]).exitCode).toBe(emulated.exitCode);
  });

  it("addressOf a string global is the string's address (as under Node), in code and in a global initializer", () => {
    const text =
      'import { addressOf, load8 } from "previrt/guest";\nconst message = "globals";\nlet p = addressOf(message);\n' +
      "export function main(): number {\n  return load8(addressOf(message)) + load8(p + 1);\n}\n";
    const emulated = runSources([{ file: "m.ts", text }]);
    expect(emulated.exitCode).toBe(("g".charCodeAt(0) + "l".charCodeAt(0)) & 0xff);
  });
});

describe("type-only syntax is skipped wherever it appears", () => {
  const forms: [string, string][] = [
    ["x as T", "const a = 7 as number; return a;"],
    ["x as unknown as T", "return 7 as unknown as number;"],
    ["x satisfies T", "return (7 satisfies number);"],
    ["<T>x", "return <i64>7;"],
    ["<T><U>x", "return <number><unknown>7;"],
    ["x!", "let a: number | undefined = 7; return a!;"],
    ["x as const", "return 7 as const;"],
    ["f<T> (instantiation expression)", "return (id<number>)(7);"],
    ["f<T>(x) (type arguments on a call)", "return id<number>(7);"],
    ["an intrinsic with type arguments", "return load32<number>(0) * 0 + 7;"],
    ["a type alias in a function", "type T = number; let a: T = 7; return a;"],
    ["an interface in a function", "interface P { x: number } let a: P['x'] = 7; return a;"],
    ["a type in a block", "{ type T = number; } return 7;"],
    ["a type as an if branch", "if (0) type T = number; return 7;"],
    ["annotations on locals", "let a: Array<Map<string, number>>[] | number = 7; return a as number;"],
    ["an assignment through `as`", "let a = 0; (a as number) = 7; return a;"],
    ["an assignment through `!` and <T>", "let a = 0; a! = 3; (<number>a) += 4; return a;"],
    ["an update through `as`", "let a = 6; (a as number)++; return a;"],
    ["an indexed store through `as`", "(arr as Int32Array)[1] = 7; return arr![1];"],
  ];
  const header =
    'import { load32 } from "previrt/guest";\n' +
    "type i64 = number;\ninterface Point { x: number; y: number }\nexport type { Point };\n" +
    "declare const EXTERNAL: number;\ndeclare function ext<T>(x: T): T;\n" +
    "const arr = new Int32Array(4);\n" +
    "function id<T extends number>(x: T): T { return x; }\n" +
    "function check(x: number): x is 7 { return x === 7; }\n";
  for (const [name, body] of forms) {
    it(name, () => {
      const text = header + `export function main(): number {\n  ${body}\n}\n`;
      expect(messages(text)).toEqual([]);
    });
  }

  it("runs: every form in one program gives 7 each", () => {
    const bodies = forms.map(([, body], i) => `function f${i}(): number {\n  ${body}\n}\n`).join("");
    const calls = forms.map((_, i) => `f${i}()`).join(" + ");
    const text = header.replace("declare const EXTERNAL: number;\ndeclare function ext<T>(x: T): T;\n", "") + bodies + `export function main(): number {\n  return (${calls}) & 0xff;\n}\n`;
    expect(runSources([{ file: "types.ts", text }]).exitCode).toBe((7 * forms.length) & 0xff);
  });
});

describe("construct names", () => {
  it("are readable for every Babel node type", () => {
    for (const type of Object.keys(VISITOR_KEYS)) {
      const name = constructName(type);
      expect(name, type).not.toContain(type);
      expect(name, type).toMatch(/^(a|an|the) [a-zA-Z0-9 ()`.…=/-]+$|^`[^`]+`$|^[a-z][a-z/ -]+$|^dynamic `import\(\)`$/);
      expect(name, type).not.toMatch(/\bts[a-z]/);
    }
    expect(constructName("TSTypeReference")).toBe("a TypeScript type reference");
    expect(constructName("ClassPrivateProperty")).toBe("a class private property");
    expect(constructName("UnaryExpression")).toBe("a unary expression");
    expect(constructName("UpdateExpression")).toBe("an update expression");
    expect(constructName("JSXElement")).toBe("a JSX element");
    expect(constructName("ClassDeclaration")).toBe("a class declaration");
  });

  it("read as one sentence: '<construct> is not supported in guest code'", () => {
    const text = "class A {}\nenum E { A = \"a\" }\n" + fn("let o = { a: 1 }; let f = () => 1; for (const x of []) {} let y = 2 ** 3;");
    expect(messages(text)).toEqual([
      "1:1: a class declaration is not supported in guest code",
      "2:14: a string enum member is not supported in guest code",
      "4:11: an object literal (except a top-level `const` of constant integers) is not supported in guest code",
      "4:29: an arrow function is not supported in guest code",
      "4:38: a for-of loop is not supported in guest code",
      "4:69: the `**` operator is not supported in guest code",
    ]);
  });
});

describe("hostile input never raises a host exception", () => {
  // Each is refused with located diagnostics or compiles; [input, expected first message or "" for success].
  const cases: [string, string, string][] = [
    ["a huge numeric literal", fn("return 1e400;"), "a floating-point literal is not supported in guest code"],
    ["a huge hex literal", fn("return 0xFFFFFFFFFFFFFFFFFFFFFFFFF;"), "an integer literal wider than 32 bits is not supported in guest code"],
    ["a typed array of 1e12 elements", "const a = new Int32Array(1e12);\n" + fn(""), "an integer literal wider than 32 bits is not supported in guest code"],
    ["a typed array of 2^31 elements", "const a = new Int32Array(0x80000000);\n" + fn(""), "the length of a typed array must be a constant between 0 and 67108864"],
    ["a negative typed-array length", "const a = new Int32Array(-1);\n" + fn(""), "the length of a typed array must be a constant between 0 and 67108864"],
    ["`new` of an Object.prototype name", "const a = new toString(4);\n" + fn(""), "`new toString` (only Int32Array, Uint8Array, Int8Array, Uint16Array, Int16Array) is not supported in guest code"],
    ["an import of an Object.prototype name", 'import { constructor } from "previrt/guest";\n' + fn(""), "'constructor' is not exported by previrt/guest"],
    ["an import of __proto__", 'import { __proto__ } from "previrt/guest";\n' + fn(""), "'__proto__' is not exported by previrt/guest"],
    ["an Object.prototype member of a constant namespace", 'import { CR } from "previrt/guest";\n' + fn("return CR.toString;"), "'toString' is not a member of CR"],
    ["a 1 MB string literal", fn(`const s = "${"x".repeat(1 << 20)}";`), ""],
    ["a lone surrogate in a string", fn('const s = "\\uD800";'), ""],
    ["unicode identifiers", fn("let ñ = 2; let 変数 = 3; return ñ * 変数;"), ""],
    ["a labelled block", fn("a: { break a; }"), ""],
    ["`with`", fn("with (x) {}"), "syntax error: 'with' in strict mode."],
    ["a getter", "const o = { get x() { return 1; } };\n" + fn(""), "a getter in a constant object is not supported in guest code"],
    ["a bigint", fn("return 1n;"), "a bigint literal is not supported in guest code"],
    ["a regular expression", fn("return /a(/;"), "a regular expression is not supported in guest code"],
    ["a template literal with an expression", fn("return `a${1}`;"), "a template literal with expressions is not supported in guest code"],
    ["spread", "declare function g(a: number): number;\n" + fn("return g(...[1]);"), "spread syntax is not supported in guest code"],
    ["optional chaining", fn("return main?.();"), "optional chaining is not supported in guest code"],
    ["destructuring", fn("const { a } = main;"), "destructuring is not supported in guest code"],
    ["`arguments`", fn("return arguments.length;"), "the `arguments` object is not supported in guest code"],
    ["`this`", fn("return this;"), "`this` is not supported in guest code"],
    ["`new.target`", fn("return new.target;"), "`new.target` is not supported in guest code"],
    ["`import.meta`", fn("return import.meta;"), "`import.meta` is not supported in guest code"],
    ["`import()`", fn('return import("x");'), "dynamic `import()` is not supported in guest code"],
    ["`declare` inside a function", fn("declare let x: number;"), "a `declare` statement inside a function is not supported in guest code"],
    ["an import attribute", 'import { cli } from "previrt/guest" with { type: "json" };\n' + fn(""), "an import attribute is not supported in guest code"],
    ["a class with a static block", "class A { static { } }\n" + fn(""), "a class declaration is not supported in guest code"],
    ["`using`", fn("using x = 1;"), "a `using` declaration is not supported in guest code"],
    // TypeScript has decorators: Babel, without its plugin, said "This experimental syntax requires enabling one of the following parser plugin(s)".
    ["a decorated class", "declare function dec(c: unknown): void;\n@dec class K {}\n" + fn(""), "a class declaration is not supported in guest code"],
    ["a decorated exported class", "declare function dec(c: unknown): void;\nexport @dec class K {}\n" + fn(""), "a class declaration is not supported in guest code"],
    // Syntax that is not TypeScript at all: a syntax error, without Babel's advice to enable a plugin.
    ["a `do` expression", fn("let x = do { 1 };"), "syntax error: experimental JavaScript syntax (Babel's \"doExpressions\") that TypeScript does not have"],
    ["the pipeline operator", fn("let x = 1 |> main;"), "syntax error: experimental JavaScript syntax (Babel's \"pipelineOperator\") that TypeScript does not have"],
    ["an empty file", "", ""],
    ["a byte-order mark", "\uFEFF" + fn(""), ""],
    ["a hashbang", "#!/usr/bin/env node\n" + fn(""), ""],
    ["U+2028 line breaks", "// a\u2028" + fn(""), ""],
    ["NUL bytes", fn("const s = '\0';"), ""],
    // Found by `npm run fuzz -- cc`: Babel's message carried a second line (a hint), so the error was not one line.
    ["a syntax error with a hint", 'import { "a" } from "previrt/guest";\n' + fn(""), "syntax error: A string literal cannot be used as an imported binding. Did you mean `import { \"a\" as foo }`?"],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      const ds = diagnostics(text);
      for (const d of ds) {
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.col).toBeGreaterThanOrEqual(1);
        expect(d.message).not.toMatch(/internal/i);
        expect(d.message).not.toMatch(/\n/); // one line: file:line:col: error: message
      }
      if (want === "") expect(ds.map((d) => d.message)).toEqual([]);
      else expect(ds.map((d) => d.message)).toContain(want);
    });
  }
});
