// Every construct outside the dialect is `file:line:col: error: <construct>
// is not supported in guest code`, at the construct; intrinsic misuse and
// name errors use the same format. All errors are reported, not the first.

import { describe, expect, it } from "vitest";
import { DiagnosticError, formatDiagnostic } from "../../src/guest-isa/diagnostics.js";
import { compile } from "../../src/compiler/index.js";
import { compileDiagnostics } from "./helpers.js";

const errors = (text: string, file = "g.ts"): string[] => compileDiagnostics(text, file).map((d) => formatDiagnostic(d, false));
const compileErrors = compileDiagnostics;

const wrap = (body: string) => `export function main(): number {\n  ${body}\n  return 0;\n}\n`;

describe("unsupported constructs", () => {
  const cases: [string, string, string][] = [
    ["a class declaration", "class A {}\n", "g.ts:1:1"],
    ["an object literal (except a top-level `const` of constant integers)", wrap("const o = { a: 1 };"), "g.ts:2:13"],
    ["a floating-point literal", wrap("let x = 1.5;"), "g.ts:2:11"],
    ["an arrow function", wrap("const f = () => 1;"), "g.ts:2:13"],
    ["a nested function (closure)", wrap("function inner() {}"), "g.ts:2:3"],
    ["a function expression (closure)", wrap("const f = function () {};"), "g.ts:2:13"],
    ["try/catch", wrap("try { main(); } catch (e) {}"), "g.ts:2:3"],
    ["a throw statement (exceptions)", wrap("throw 1;"), "g.ts:2:3"],
    ["an async function", "export async function f() {}\n", "g.ts:1:8"],
    ["a generator function", "export function* f() {}\n", "g.ts:1:8"],
    ["a template literal with expressions", wrap("const n = 1; const s = `a${n}`;"), "g.ts:2:26"],
    ["an array literal (only as a global `new Int32Array(…)` initializer)", wrap("const a = [1, 2];"), "g.ts:2:13"],
    ["`null`", wrap("let x = null;"), "g.ts:2:11"],
    ["`this`", wrap("let x = this;"), "g.ts:2:11"],
    ["a `var` declaration (use let or const)", wrap("var x = 1;"), "g.ts:2:3"],
    ["a for-of loop", wrap("for (const x of main) {}"), "g.ts:2:3"],
    ["a for-in loop", wrap("for (const x in main) {}"), "g.ts:2:3"],
    ["the `**` operator", wrap("let x = 2 ** 3;"), "g.ts:2:11"],
    ["the `typeof` operator", wrap("let x = typeof main;"), "g.ts:2:11"],
    ["the `??` operator", wrap("let x = 1; let y = x ?? 2;"), "g.ts:2:22"],
    ["optional chaining", wrap("let x = main?.();"), "g.ts:2:11"],
    ["property access (`o.y`)", "let o = 1;\n" + wrap("let x = o.y;"), "g.ts:3:11"],
    ["spread syntax", "function f(a: number): number { return a; }\n" + wrap("f(...[]);"), "g.ts:3:5"],
    ["a default parameter value", "export function f(a = 1): number { return a; }\n", "g.ts:1:19"],
    ["an enum inside a function (declare it at the top level)", wrap("enum E { A }"), "g.ts:2:3"],
    ["a `declare enum`", "declare enum E { A }\n", "g.ts:1:1"],
    ["a string enum member", "enum E { A = \"a\" }\n", "g.ts:1:14"],
    ["a computed key in a constant object", "const K = { [1]: 2 };\n", "g.ts:1:14"],
    ["a method in a constant object", "const K = { f() { return 1; } };\n", "g.ts:1:13"],
    ["a `__proto__` member (JavaScript would not keep it)", "const K = { __proto__: 5 };\n", "g.ts:1:13"],
    ["a `__proto__` member (JavaScript would not keep it)", "enum E { A, __proto__ }\n", "g.ts:1:13"],
    ["a namespace or module declaration", "namespace N {}\n", "g.ts:1:1"],
    ["a default export", "export default function f() {}\n", "g.ts:1:1"],
    ["a top-level statement (code outside functions)", "main();\n" + wrap(""), "g.ts:1:1"],
    ["an integer literal wider than 32 bits", wrap("let x = 4294967296;"), "g.ts:2:11"],
    ["a bigint literal", wrap("let x = 1n;"), "g.ts:2:11"],
    ["a regular expression", wrap("let x = /a/;"), "g.ts:2:11"],
    ["`new` outside a typed-array declaration (a global, or a `const` local)", wrap("let a = new Int32Array(4);"), "g.ts:2:11"],
    ["a non-constant global initializer", "function f(): number { return 1; }\nlet g = f();\n", "g.ts:2:9"],
    ["a call through a variable (closure)", "let f = 1;\n" + wrap("f();"), "g.ts:3:3"],
    ["a function with more than 4 parameters", "export function f(a: number, b: number, c: number, d: number, e: number) { return 0; }\n", "g.ts:1:63"],
  ];
  for (const [construct, text, at] of cases) {
    it(construct, () => {
      expect(errors(text)).toContain(`${at}: error: ${construct} is not supported in guest code`);
    });
  }

  it("reports every error of every file, in order, once per position", () => {
    const es = errors("class A {}\nlet o = { a: 1 };\nexport function f(): number { try { return 1; } finally {} }\n");
    expect(es).toEqual([
      "g.ts:1:1: error: a class declaration is not supported in guest code",
      "g.ts:2:9: error: an object literal (except a top-level `const` of constant integers) is not supported in guest code",
      "g.ts:3:31: error: try/catch is not supported in guest code",
    ]);
  });

  it("reports a re-export once, whatever its specifiers", () => {
    expect(errors('export * as ns from "./d";\n')).toEqual(["g.ts:1:1: error: a re-export is not supported in guest code"]);
    expect(errors('export { a as b } from "./d";\n')).toEqual(["g.ts:1:1: error: a re-export is not supported in guest code"]);
  });

  it("reports syntax errors with their position", () => {
    expect(errors("let x = ;\n")[0]).toBe("g.ts:1:9: error: syntax error: Unexpected token");
  });

  it("carries the source line for the source frame; the caret lines up on a tab-indented line", () => {
    let d: DiagnosticError | undefined;
    try {
      compile([{ file: "g.ts", text: "export function f(): number {\n\tconst o = { a: 1 };\n\treturn 0;\n}\n" }]);
    } catch (e) {
      d = e as DiagnosticError;
    }
    // The marker line keeps the tab: the caret is under `{` whatever the tab width.
    expect(formatDiagnostic(d!.diagnostics[0])).toBe("g.ts:2:12: error: an object literal (except a top-level `const` of constant integers) is not supported in guest code\n> 2 | \tconst o = { a: 1 };\n    | \t          ^");
  });

  it("counts lines as JavaScript does (U+2028 ends a line), so the frame shows the line Babel means", () => {
    const es = compileErrors("// one\u2028let x = ;\n");
    expect(es[0].line).toBe(2);
    expect(es[0].sourceLine).toBe("let x = ;");
  });
});

describe("intrinsic misuse and names", () => {
  const imp = 'import { outPort, inPort, readCr, writeCr, hypercall, asm, load32, addressOf, CR } from "previrt/guest";\n';
  const cases: [string, string][] = [
    [wrap("let p = 16; outPort(p, 1);"), "g.ts:3:23: error: the port number of 'outPort' must be a compile-time constant"],
    [wrap("outPort(16);"), "g.ts:3:3: error: 'outPort' expects 2 arguments, got 1"],
    [wrap("inPort(16, 2);"), "g.ts:3:3: error: 'inPort' expects 1 argument, got 2"],
    [wrap("readCr(8);"), "g.ts:3:10: error: the control register (CR.name) of 'readCr' must be between 0 and 7, got 8"],
    [wrap("let c = 1; writeCr(c, 0);"), "g.ts:3:22: error: the control register (CR.name) of 'writeCr' must be a compile-time constant"],
    [wrap("let n = 1; hypercall(n);"), "g.ts:3:24: error: the hypercall number of 'hypercall' must be a compile-time constant"],
    [wrap("hypercall(300000);"), "g.ts:3:13: error: the hypercall number of 'hypercall' must be between 0 and 262143, got 300000"],
    [wrap("const s = 'nop'; asm(s);"), "g.ts:3:24: error: the argument of 'asm' must be a string literal"],
    [wrap("asm('mv k0, a0');"), "g.ts:3:3: error: asm() must not use k0 (reserved for the soft layer)"],
    [wrap("load32();"), "g.ts:3:3: error: 'load32' expects 1 argument, got 0"],
    [wrap("addressOf(1);"), "g.ts:3:13: error: the argument of 'addressOf' must be a function, a global or a string literal"],
    [wrap("return nope;"), "g.ts:3:10: error: unknown name 'nope'"],
    [wrap("let x = CR.nope;"), "g.ts:3:14: error: 'nope' is not a member of CR"],
    // A missing member is what is wrong, not that the argument is not constant.
    [wrap("readCr(CR.nope);"), "g.ts:3:13: error: 'nope' is not a member of CR"],
  ];
  for (const [text, message] of cases) {
    it(message.replace(/^g\.ts:\d+:\d+: error: /, ""), () => {
      expect(errors(imp + text)).toContain(message);
    });
  }

  it("rejects unknown imports from previrt/guest", () => {
    expect(errors('import { frobnicate } from "previrt/guest";\n')).toEqual(["g.ts:1:10: error: 'frobnicate' is not exported by previrt/guest"]);
  });

  it("rejects mixing unsigned and signed operands in comparisons", () => {
    expect(errors(wrap("let a = 1; let b = 2; if ((a >>> 0) < b) return 1;"))[0]).toMatch(/g\.ts:2:29: error: comparing an unsigned/);
  });

  it("rejects a call with the wrong number of arguments", () => {
    expect(errors("function f(a: number): number { return a; }\n" + wrap("f(1, 2);"))).toContain("g.ts:3:3: error: 'f' expects 1 argument, got 2");
  });
  it("assigning to a member of CR: a constant, not an unknown member", () => {
    expect(errors(imp + wrap("CR.ptbr = 1;"))).toEqual(["g.ts:3:6: error: 'CR.ptbr' is a constant"]);
  });
});

describe("two inputs exporting one name", () => {
  it("is an error at the second definition, in the TypeScript source (not the linker's, in generated assembly)", () => {
    const files = [
      { file: "console.ts", text: "export function putc(c: number): void {}\n" },
      { file: "dup.ts", text: "export let x = 1;\nexport function putc(c: number): void {}\n" },
    ];
    let messages: string[] = [];
    try {
      compile(files);
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      messages = e.diagnostics.map((d) => formatDiagnostic(d, false));
    }
    expect(messages).toEqual(["dup.ts:2:8: error: 'putc' is already exported by console.ts (an exported name is one symbol of the program)"]);
  });
});

// What a TypeScript programmer writes first, and the message that says what to do.
describe("messages for habits from TypeScript", () => {
  const cases: [string, string, string[]][] = [
    ["console.log: where output goes", wrap('console.log("hi");'), ["g.ts:2:3: error: `console.log` (print with outPort(PORT.console, byte)) is not supported in guest code"]],
    ["a method call, named", wrap('const s = "abc"; let c = s.charCodeAt(0);'), ["g.ts:2:28: error: a method call (`s.charCodeAt`) is not supported in guest code"]],
    ["property access, named", wrap("let o = 1; let n = o.size;"), ["g.ts:2:22: error: property access (`o.size`) is not supported in guest code"]],
    ["an intrinsic used without its import", wrap("outPort(PORT.console, 65);"), ["g.ts:2:3: error: unknown function 'outPort' (import it from \"previrt/guest\")"]],
    ["a constant namespace used without its import", wrap("let p = PORT.console;"), ["g.ts:2:11: error: unknown name 'PORT' (import it from \"previrt/guest\")"]],
    [
      "a value imported from a file not compiled with this one",
      'import { PAGE_SIZE } from "./mm.js";\n' + wrap("let n = PAGE_SIZE;"),
      ["g.ts:3:11: error: 'PAGE_SIZE' comes from './mm.js', which is not among the inputs: only a call to it can be linked later (compile the two files together)"],
    ],
    [
      "a constant namespace imported from a file not compiled with this one (a typo in the path)",
      'import { PTE } from "./mmx.js";\n' + wrap("let n = PTE.W;"),
      ["g.ts:3:11: error: 'PTE' comes from './mmx.js', which is not among the inputs: only a call to it can be linked later (compile the two files together)"],
    ],
    // One error for a refused declaration, not one more at each use.
    ["a default parameter: no unknown name, no arity error", "function f(a: number, b = 2): number { return a + b; }\n" + wrap("f(1);"), ["g.ts:1:23: error: a default parameter value is not supported in guest code"]],
    ["an optional parameter: no arity error", "function f(a: number, b?: number): number { return a; }\n" + wrap("f(1);"), ["g.ts:1:23: error: an optional parameter is not supported in guest code"]],
    ["a rest parameter: no arity error", "function f(...a: number[]): number { return 0; }\n" + wrap("f(1, 2);"), ["g.ts:1:12: error: a rest parameter is not supported in guest code"]],
    ["a global arrow function: no unknown function", "const f = (x: number) => x + 1;\n" + wrap("f(1);"), ["g.ts:1:11: error: an arrow function is not supported in guest code"]],
    ["a global array literal: no error at each index", "const T = [1, 2, 3];\n" + wrap("let x = T[1];"), ["g.ts:1:11: error: an array literal (only as a global `new Int32Array(…)` initializer) is not supported in guest code"]],
    ["a nested function: no unknown function", wrap("function g(): number { return 1; }\n  g();"), ["g.ts:2:3: error: a nested function (closure) is not supported in guest code"]],
    [
      "a namespace import: named imports instead, and no error at each use",
      'import * as g from "previrt/guest";\n' + wrap("g.outPort(16, 65);"),
      ["g.ts:1:8: error: a namespace import (use named imports) is not supported in guest code"],
    ],
    ["a default import: named imports instead", 'import g from "previrt/guest";\n' + wrap("g(1);"), ["g.ts:1:8: error: a default import (use named imports) is not supported in guest code"]],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      expect(errors(text)).toEqual(want);
    });
  }
});
