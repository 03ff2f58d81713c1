// diagnostics.ts sourceFrame writes @babel/code-frame's uncoloured one-line
// frame itself (so that no command loads that package at start-up, issue
// 16): the two must print the same frame for any line, line number and
// column — tabs, wide characters, empty lines, columns past the end, line
// terminators inside the text.

import { codeFrameColumns } from "@babel/code-frame";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, sourceFrame } from "../../src/guest-isa/diagnostics.js";

/** The frame as diagnostics.ts produced it with @babel/code-frame. */
function babelFrame(sourceLine: string, line: number, col: number): string {
  const text = sourceLine.replace(/\r\n|[\n\r\u2028\u2029]/g, " ");
  return codeFrameColumns(text, { start: { line: Math.max(1, line), column: Math.max(1, col) } }, { highlightCode: false, linesAbove: 0, linesBelow: 0, startLine: Math.max(1, line) });
}

describe("sourceFrame", () => {
  it("is @babel/code-frame's frame on hand-picked lines", () => {
    const cases: [string, number, number][] = [
      ["\tlw a0, 0(a1)", 12, 9],
      ["", 1, 1],
      ["", 7, 5],
      ["x", 1, 1],
      ["abc", 99999, 3],
      ["abc", 100, 40],
      ["\t\tmov\tr1, r2", 1000, 7],
      ["let s = \"héllo 🙂 wörld\";", 3, 18],
      ["a\r\nb\nc\u2028d", 9, 4],
      ["  trailing  ", 10, 12],
      ["zero col", 5, 0],
      ["negative", -3, -2],
    ];
    for (const [text, line, col] of cases) expect(sourceFrame(text, line, col), JSON.stringify([text, line, col])).toBe(babelFrame(text, line, col));
  });

  it("is @babel/code-frame's frame on random lines", () => {
    let seed = 0x9e3779b9;
    const rand = (n: number) => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed % n;
    };
    const alphabet = ["a", "Z", "0", " ", "\t", "\t", "#", "é", "🙂", "\u200b", "\r", "\n", "\u2029", "|", ">", "^"];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: rand(30) }, () => alphabet[rand(alphabet.length)]).join("");
      const line = [1, 9, 10, 99, 100, 12345][rand(6)] + rand(3);
      const col = rand(text.length + 5);
      expect(sourceFrame(text, line, col), JSON.stringify([text, line, col])).toBe(babelFrame(text, line, col));
    }
  });

  it("follows a diagnostic's head", () => {
    expect(formatDiagnostic({ file: "k.s", line: 3, col: 5, message: "unknown mnemonic 'lwx'", sourceLine: "    lwx a0, 0(a1)" })).toBe(
      "k.s:3:5: error: unknown mnemonic 'lwx'\n> 3 |     lwx a0, 0(a1)\n    |     ^",
    );
  });
});
