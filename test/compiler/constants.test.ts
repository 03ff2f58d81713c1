// Named constants the way a TypeScript programmer writes them: enums, `const`
// objects of constant integers (constant namespaces, like CR and PORT),
// constants imported from another input, and the `.length` of a constant
// ASCII string, in every place a constant is needed (case labels, typed-array
// lengths, global initializers, other constants). Each program runs on the emulator and under Node, which must
// agree; misuses are file:line:col errors.

import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/guest-isa/diagnostics.js";
import { compile } from "../../src/compiler/index.js";
import { compileDiagnostics, expectSameBothWays, instructions, runSources, type Source } from "./helpers.js";

const CONSTS = `
export enum Sys { Exit, Putc = 4, Ticks, Write = Putc * 4, Last = Sys.Write + 1 }
export const PTE = { V: 1, W: 2, U: 4, ALL: 1 | 2 | 4 } as const;
export const SIZE = 12;
export const TABLE = new Int32Array(SIZE);
`;

// main.ts comes first: its global initializers need consts.ts's values.
const MAIN = `
import { outPort, PORT } from "previrt/guest";
import { Sys, PTE, SIZE, TABLE } from "./consts.js";

const enum Color { Red = 10, Green, Blue = Green << 1 }
const Flags = { a: PTE.W | PTE.U, "b-c": 7 } satisfies Record<string, number>;
const DOUBLE = SIZE * 2;
const local = new Int32Array(DOUBLE + PTE.ALL);
const init = new Int16Array([Sys.Putc, Color.Blue, Flags["b-c"]]);
const GREETING = "hi!";
const greetings = new Uint8Array(GREETING.length * 2);

function digit(n: number): void {
  outPort(PORT.console, 48 + (n % 10));
}

function dispatch(n: number): number {
  switch (n) {
    case Sys.Exit: return 100;
    case Sys.Putc: return 101;
    case Sys.Ticks: return 102;
    case Sys.Write: return 103;
    case Color.Green: return 104;
    default: return -1;
  }
}

export function main(): number {
  let sum = 0;
  for (let n = 0; n < 20; n++) sum = (sum * 3 + dispatch(n)) | 0;
  for (let i = 0; i < local.length; i++) local[i] = i * PTE.ALL;
  for (let i = 0; i < TABLE.length; i++) TABLE[i] = local[i] + Sys.Last;
  digit(local.length);
  digit(TABLE[SIZE - 1]);
  digit(init[1]);
  digit(Flags.a);
  const tail = \`ok\`;
  digit(GREETING.length + greetings.length + tail.length + "abcd".length);
  outPort(PORT.console, 10);
  return (sum ^ TABLE[3] ^ (Color.Blue << 8)) & 0xff;
}
`;

const program: Source[] = [
  { file: "/virtual/constants/main.ts", text: MAIN },
  { file: "/virtual/constants/consts.ts", text: CONSTS },
];

const errors = (text: string): string[] => compileDiagnostics(text, "g.ts").map((d) => formatDiagnostic(d, false));

describe("enums, constant objects and imported constants", () => {
  it("run the same on the emulator and under Node", () => {
    expect(expectSameBothWays(program)).toBe("14265\n"); // 31 elements, TABLE[11] = 11 * 7 + 17, Color.Blue = 22, Flags.a = 6, 3 + 6 + 2 + 4
  });

  it("fold to constants: nothing is emitted for them", () => {
    const [main, consts] = compile(program);
    expect(consts.defines).toEqual(["SIZE", "TABLE"]);
    expect(instructions(main.asm + consts.asm).join("\n")).not.toMatch(/\bSys\b|\bPTE\b|\bColor\b|\bFlags\b/);
  });

  it("are read-only and have only their members", () => {
    expect(errors("const K = { a: 1 };\nenum E { A }\nexport function main(): number {\n  K.a = 2;\n  E.A++;\n  return K.b + E.B;\n}\n")).toEqual([
      "g.ts:4:5: error: 'K.a' is a constant",
      "g.ts:5:5: error: 'E.A' is a constant",
      "g.ts:6:12: error: 'b' is not a member of K",
      "g.ts:6:18: error: 'B' is not a member of E",
    ]);
  });

  it("refuse what is not a constant integer, with the member named", () => {
    expect(errors("let g = 1;\nconst K = { a: g, b: 2, b: 3 };\nenum E { A = g, B, C = 1, C }\n")).toEqual([
      "g.ts:2:16: error: the members of a constant object must be constant integers ('K.a')",
      "g.ts:2:25: error: 'b' is already a member of K",
      "g.ts:3:14: error: enum members must be constant integers ('E.A')",
      "g.ts:3:17: error: enum member 'E.B' needs an initializer (the one before it has no constant value)",
      "g.ts:3:27: error: 'C' is already a member of E",
    ]);
    // A refused enum or object is reported once, not again at each use.
    expect(errors("let g = 1;\nconst K = { a: g };\nenum E { A = g }\nexport function main(): number {\n  return K.a + E.A;\n}\n")).toEqual([
      "g.ts:2:16: error: the members of a constant object must be constant integers ('K.a')",
      "g.ts:3:14: error: enum members must be constant integers ('E.A')",
    ]);
  });

  it("an imported constant folds in a global initializer whichever order the files come in", () => {
    const user = { file: "u.ts", text: 'import { N } from "./n.js";\nconst M = N * 2;\nexport const A = new Int32Array(M + N);\nexport function main(): number { return A.length + M; }\n' };
    const lib = { file: "n.ts", text: "export const N = 5;\n" };
    for (const order of [[user, lib], [lib, user]]) expect(runSources(order).exitCode).toBe(25);
    // An import cycle still compiles: functions bind in the last pass.
    const a = { file: "a.ts", text: 'import { g } from "./b.js";\nexport const K = 3;\nexport function main(): number { return g(); }\n' };
    const b = { file: "b.ts", text: 'import { K } from "./a.js";\nexport function g(): number { return K; }\n' };
    expect(runSources([a, b]).exitCode).toBe(3);
  });

  it("a string's .length folds only for a constant ASCII string", () => {
    expect(errors('let L = "abc";\nfunction f(p: string): number { return p.length; }\nexport function main(): number {\n  const u = "h\u00e9";\n  return L.length + f("a") + u.length;\n}\n')).toEqual([
      "g.ts:2:40: error: `.length` of a string that is not a `const` string literal (count the bytes up to the NUL) is not supported in guest code",
      "g.ts:5:10: error: `.length` of a string that is not a `const` string literal (count the bytes up to the NUL) is not supported in guest code",
      "g.ts:5:30: error: `.length` of a non-ASCII string (JavaScript counts UTF-16 units, memory holds UTF-8 bytes) is not supported in guest code",
    ]);
  });

  it("are not values", () => {
    expect(errors("enum E { A }\nfunction f(x: number): number { return x; }\nexport function main(): number {\n  return f(E);\n}\n")).toEqual([
      "g.ts:4:12: error: 'E' is not a value",
    ]);
  });
});

describe("constant folding", () => {
  // Found by `npm run fuzz -- cc --seed 2302` (input 2933): a folded unary minus kept JavaScript's 2147483648
  // where the emitted `neg` wraps to -2147483648, so a constant expression printed another value than the same
  // expression computed at run time.
  it("a unary minus wraps as at run time: the folded value is the computed one", () => {
    const text = `
import { outPort, PORT } from "previrt/guest";
function hex(v: number): void {
  for (let s = 28; s >= 0; s -= 4) { const d = (v >>> s) & 15; outPort(PORT.console, d < 10 ? 48 + d : 87 + d); }
  outPort(PORT.console, 10);
}
let min = -2147483648;
export function main(): number {
  hex((-min) % -22404);
  hex((-(-2147483648)) % -22404);
  hex(((-min) / 2) | 0);
  hex(((-(-2147483648)) / 2) | 0);
  hex((-min) < 0 ? 1 : 0);
  hex((-(-2147483648)) < 0 ? 1 : 0);
  return 0;
}
`;
    const { console: out } = runSources([{ file: "fold.ts", text }]);
    expect(out).toBe("ffffc3b0\nffffc3b0\nc0000000\nc0000000\n00000001\n00000001\n");
  });
});
