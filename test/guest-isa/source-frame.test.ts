// diagnostics.ts sourceFrame: @babel/code-frame's uncoloured one-line frame
// (loaded late, code-frame.ts) — tabs kept under the caret, line terminators
// inside the text folded, columns past the end and below 1 clamped.

import { describe, expect, it } from "vitest";
import { formatDiagnostic, sourceFrame } from "../../src/guest-isa/diagnostics.js";

describe("sourceFrame", () => {
  it("puts the caret under the column, tabs kept", () => {
    expect(sourceFrame("\tlw a0, 0(a1)", 12, 9)).toBe("> 12 | \tlw a0, 0(a1)\n     | \t       ^");
  });

  it("folds line terminators and clamps the line and column", () => {
    expect(sourceFrame("a\r\nb\nc", 9, 4)).toBe("> 9 | a b c\n    |    ^");
    expect(sourceFrame("zero col", -3, 0)).toBe("> 1 | zero col\n    | ^");
  });

  it("follows a diagnostic's head", () => {
    expect(formatDiagnostic({ file: "k.s", line: 3, col: 5, message: "unknown mnemonic 'lwx'", sourceLine: "    lwx a0, 0(a1)" })).toBe(
      "k.s:3:5: error: unknown mnemonic 'lwx'\n> 3 |     lwx a0, 0(a1)\n    |     ^",
    );
  });
});
