// A typed array's initializer list keeps each value as JavaScript's typed
// arrays store it: wrapped to the element's width (`new Uint8Array([300])`
// holds 44). The compiler used to emit the value as written, so `.byte 65535`
// reached the assembler, which refused it at a line of the generated assembly
// (`program.s:526:14: error: value 65535 does not fit in a byte`) — found by
// the cc fuzz campaign's whole programs (scripts/fuzz/generators/int-programs.ts).
import { describe, expect, it } from "vitest";
import { runSources } from "./helpers.js";

const INITS: [string, number[]][] = [
  ["Uint8Array", [300, -1, 65535, 255, -128, 0x12345678]],
  ["Int8Array", [200, -129, 127, 128, 255, -1]],
  ["Uint16Array", [70000, -1, 65535, -32768, 0x12345678]],
  ["Int16Array", [40000, -32769, 32767, 65535, 0x12348765]],
  ["Int32Array", [0xffffffff, -2147483648, 2147483647]],
];

describe("typed-array initializers", () => {
  it("hold what JavaScript's typed arrays hold, element type by element type", () => {
    const decls = INITS.map(([type, values], i) => `const a${i} = new ${type}([${values.join(", ")}]);`);
    const prints = INITS.flatMap(([, values], i) => values.map((_, k) => `  hex(a${i}[${k}]);`));
    const text = [
      'import { outPort, PORT } from "previrt/guest";',
      "function hex(v: number): void {",
      "  for (let s = 28; s >= 0; s -= 4) { const d = (v >>> s) & 15; outPort(PORT.console, d < 10 ? 48 + d : 87 + d); }",
      "  outPort(PORT.console, 10);",
      "}",
      ...decls,
      "export function main(): number {",
      ...prints,
      "  return 0;",
      "}",
    ].join("\n");
    const ctors: Record<string, new (v: number[]) => ArrayLike<number>> = { Uint8Array, Int8Array, Uint16Array, Int16Array, Int32Array };
    const expected = INITS.flatMap(([type, values]) => Array.from(new ctors[type](values), (v) => (v >>> 0).toString(16).padStart(8, "0")));
    const run = runSources([{ file: "inits.ts", text }], 1e8);
    expect(run.stopped).toBeUndefined();
    expect(run.console.trimEnd().split("\n")).toEqual(expected);
  });
});
