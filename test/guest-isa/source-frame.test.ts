// diagnostics.ts sourceFrame: @babel/code-frame's uncoloured one-line frame
// (loaded late, code-frame.ts) — tabs kept under the caret, line terminators
// inside the text folded, columns past the end and below 1 clamped; a huge
// line cut to a window around the column, a huge quoted token in the message
// shortened (a 20 MB line was 20 MB of stderr).

import { describe, expect, it } from "vitest";
import { FRAME_WIDTH, formatDiagnostic, sourceFrame } from "../../src/guest-isa/diagnostics.js";

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

  it("cuts a line longer than FRAME_WIDTH to a window around the column, the caret under the same character", () => {
    const line = "a".repeat(1000) + "X" + "b".repeat(20_000_000);
    const frame = sourceFrame(line, 2, 1001);
    const [text, caret] = frame.split("\n");
    expect(text.length).toBeLessThan(FRAME_WIDTH + 20);
    expect(text).toMatch(/^> 2 \| …a+Xb+…$/);
    expect(text[caret.indexOf("^")]).toBe("X");
    // Near either end: one "…", on the cut side.
    expect(sourceFrame("X" + "b".repeat(500), 1, 1)).toMatch(/^> 1 \| Xb{159}…\n    \| \^$/);
    const end = sourceFrame("a".repeat(500) + "X", 1, 501).split("\n");
    expect(end[0]).toMatch(/^> 1 \| …a{159}X$/);
    expect(end[0][end[1].indexOf("^")]).toBe("X");
    expect(sourceFrame("a".repeat(FRAME_WIDTH), 1, 1)).not.toContain("…");
  });

  it("shortens a huge quoted token in the message", () => {
    const name = "q".repeat(5_000_000);
    const head = formatDiagnostic({ file: "k.s", line: 3, col: 10, message: `undefined symbol '${name}'` }, false);
    expect(head).toBe(`k.s:3:10: error: undefined symbol '${"q".repeat(60)}…'`);
    expect(formatDiagnostic({ file: "k.s", line: 1, col: 1, message: `unknown mnemonic '${"w".repeat(60)}'` }, false)).toContain(`'${"w".repeat(60)}'`);
  });

  it("shows control characters as their pictures, one column each (an ELF given as a source drove the terminal)", () => {
    expect(sourceFrame("\x7fELF\x01\x1b[2J\tx", 1, 11)).toBe("> 1 | \u2421ELF\u2401\u241b[2J\tx\n    |          \t^");
    expect(formatDiagnostic({ file: "e.s", line: 1, col: 1, message: "unexpected character '\x7f'" }, false)).toBe("e.s:1:1: error: unexpected character '\u2421'");
  });

  it("keeps a file name with a line break or an escape on the head's one line (it split the head in two)", () => {
    expect(formatDiagnostic({ file: "we\nird.s", line: 3, col: 2, message: "unknown instruction 'bogus'" }, false)).toBe(`"we\\nird.s":3:2: error: unknown instruction 'bogus'`);
    expect(formatDiagnostic({ file: "\x1b[2Jk.s", line: 1, col: 1, message: "m" }, false)).toBe(`"\\u001b[2Jk.s":1:1: error: m`);
    expect(formatDiagnostic({ file: "plain name.s", line: 1, col: 1, message: "m" }, false)).toBe("plain name.s:1:1: error: m");
  });
});
