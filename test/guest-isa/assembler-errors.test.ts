import { describe, expect, it } from "vitest";
import { assemble, DiagnosticError, formatDiagnostic, serializeSoftlayerTable } from "../../src/guest-isa/index.js";
import { KNOWN_DIRECTIVES } from "../../src/guest-isa/assembler/directive-names.js";
import { DIRECTIVE_HINTS, MNEMONIC_HINTS, REGISTER_HINTS } from "../../src/guest-isa/assembler/hints.js";
import { readFileSync } from "node:fs";

/** The diagnostics of assembling `files` (name → text), as `file:line:col: error: message` lines. */
function errorsOf(files: Record<string, string>): string[] {
  try {
    assemble(Object.entries(files).map(([file, text]) => ({ file, text })));
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return e.diagnostics.map((d) => formatDiagnostic(d, false));
  }
  return [];
}

/** Errors of one file t.s that defines _start first (so only the error under test is reported). */
const errors = (text: string) => errorsOf({ "t.s": `_start:\n${text}` });

describe("assembler diagnostics", () => {
  const cases: [string, string, string][] = [
    ["unknown instruction", "  foo a0\n", "t.s:2:3: error: unknown instruction 'foo'"],
    ["wrong operand count", "add a0, a1\n", "t.s:2:1: error: 'add' expects 3 operands (rd, rs1, rs2), got 2"],
    ["operands to a no-operand instruction", "syscall 1\n", "t.s:2:1: error: 'syscall' expects no operands, got 1"],
    ["one-operand count", "hcall\n", "t.s:2:1: error: 'hcall' expects 1 operand (imm), got 0"],
    ["pseudo operand count", "mv a0\n", "t.s:2:1: error: 'mv' expects 2 operands (rd, rs), got 1"],
    ["register expected", "add a0, a1, 5\n", "t.s:2:13: error: operand 3 of 'add' must be a register"],
    ["memory operand expected", "lw a0, a1\n", "t.s:2:8: error: operand 2 of 'lw' must be a memory operand off(reg) (write '0(a1)')"],
    ["immediate expected", "addi a0, a1, a2\n", "t.s:2:14: error: operand 3 of 'addi' must be an immediate expression"],
    ["pseudo register expected", "mv a0, 3\n", "t.s:2:8: error: operand 2 of 'mv' must be a register"],
    ["label expected", "beq a0, a1, (a2)\n", "t.s:2:13: error: operand 3 of 'beq' must be a label"],
    ["immediate out of range", "addi a0, a0, 200000\n", "t.s:2:14: error: immediate 200000 out of range for 'addi' (-131072..131071)"],
    ["shift amount out of range", "slli a0, a0, 32\n", "t.s:2:14: error: immediate 32 out of range for 'slli' (0..31)"],
    ["lui out of range", "lui a0, 0x100000\n", "t.s:2:9: error: immediate 1048576 out of range for 'lui' (0..1048575)"],
    ["hcall out of range", "hcall -1\n", "t.s:2:7: error: immediate -1 out of range for 'hcall' (0..262143)"],
    ["offset out of range", "sw a0, 131072(sp)\n", "t.s:2:8: error: offset 131072 out of range for 'sw' (-131072..131071)"],
    ["port out of range", "out 0x10000, a0\n", "t.s:2:5: error: port 65536 out of range for 'out' (0..65535)"],
    ["unknown control register", "mfcr a0, flags\n", "t.s:2:10: error: unknown control register 'flags'"],
    ["control register number out of range", "mtcr 8, a0\n", "t.s:2:6: error: control register 8 out of range (0..7)"],
    ["branch out of range", "beq a0, a1, far\n.space 524288\nfar: nop\n", "t.s:2:13: error: branch target out of range (±512 KiB)"],
    ["jump out of range", "jal lr, 0x1000 + 8 * 1024 * 1024 + 4\n", "t.s:2:9: error: jump target out of range (±8 MiB)"],
    ["misaligned branch target", "bne a0, a1, . + 2\n", "t.s:2:13: error: branch target 0x1002 is not 4-byte aligned"],
    ["undefined symbol", "la a0, nowhere\n", "t.s:2:8: error: undefined symbol 'nowhere'"],
    ["undefined symbol in an expression", ".word 4 + nowhere * 2\n", "t.s:2:11: error: undefined symbol 'nowhere'"],
    ["duplicate label", "x: nop\n  x: nop\n", "t.s:3:3: error: symbol 'x' is already defined at t.s:2:1"],
    ["duplicate .equ", ".equ K, 1\n.equ K, 2\n", "t.s:3:6: error: symbol 'K' is already defined at t.s:2:6"],
    [".global of an undefined symbol", ".global _start, missing\n", "t.s:2:17: error: '.global' of undefined symbol 'missing'"],
    ["unknown directive", ".foo 1\n", "t.s:2:1: error: unknown directive '.foo'"],
    ["directive argument count", ".equ K\n", "t.s:2:1: error: '.equ' expects 2 arguments (NAME, expr), got 1"],
    ["unterminated string", '.ascii "abc\n', "t.s:2:8: error: unterminated string"],
    ["data in .bss", ".bss\n.word 1\n", "t.s:3:1: error: '.word' is not allowed in .bss (only labels, .space/.zero and .align)"],
    ["string in .bss", ".bss\n.asciz \"x\"\n", "t.s:3:1: error: '.asciz' is not allowed in .bss (only labels, .space/.zero and .align)"],
    ["instruction in .bss", ".bss\nnop\n", "t.s:3:1: error: instructions are not allowed in .bss"],
    ["fill in .bss", ".bss\n.space 4, 1\n", "t.s:3:11: error: .bss holds only zeros: a fill value is not allowed"],
    [".byte out of range", ".data\n.byte 1, 256\n", "t.s:3:10: error: value 256 does not fit in a byte (-128..255)"],
    [".half out of range", ".data\n.half -32769\n", "t.s:3:7: error: value -32769 does not fit in a half-word (-32768..65535)"],
    ["division by zero", ".word 1 / (2 - 2)\n", "t.s:2:7: error: division by zero in expression"],
    ["misaligned instruction", ".byte 1\nnop\n", "t.s:3:1: error: instruction is not 4-byte aligned (offset 1 in .text; use .align 4)"],
    [".align not a power of two", ".align 3\n", "t.s:2:8: error: alignment 3 is not a power of two in 1..65536 (.align takes bytes)"],
    [".space needs a constant", ".space later\nlater:\n", "t.s:2:8: error: '.space' needs a constant: 'later' is not defined above in this file (numbers and symbols defined above with .equ are)"],
    ["circular .equ", ".equ A, B + lbl\n.equ B, A\nlbl: .word A\n", "t.s:3:9: error: circular definition of 'A'"],
    [".sensitive before a non-memory instruction", ".sensitive pte\nadd a0, a0, a0\n", "t.s:2:1: error: '.sensitive' must be followed by a load or store, found 'add'"],
    [".sensitive at the end", "nop\n.sensitive mmio\n", "t.s:3:1: error: '.sensitive' is not followed by a load or store"],
    [".sensitive argument", ".sensitive io\nsw a0, 0(a1)\n", "t.s:2:12: error: '.sensitive' expects 'pte', 'mmio', 'lock', 'unlock' or 'ticket'"],
    ["unclosed .noannotate", ".noannotate\ncli\n", "t.s:2:1: error: '.noannotate' without a matching '.annotate'"],
    ["stray .annotate", ".annotate\n", "t.s:2:1: error: '.annotate' without a preceding '.noannotate'"],
    ["register in an expression", ".word a0 + 1\n", "t.s:2:7: error: register 'a0' is not allowed in an expression"],
    ["bad number", "addi a0, a0, 12z\n", "t.s:2:16: error: invalid character 'z' in number"],
    ["global .L label", ".Lx: nop\n.global .Lx\n", "t.s:3:9: error: '.Lx' is a file-local .L label and cannot be .global"],
  ];

  for (const [what, text, expected] of cases) {
    it(what, () => expect(errors(text)).toEqual([expected]));
  }

  it("reports a missing entry point at the first file's 1:1", () => {
    expect(errorsOf({ "a.s": "nop\n", "b.s": "nop\n" })).toEqual(["a.s:1:1: error: undefined entry symbol '_start'"]);
  });

  // What `as` writes, every reader accepts (image-check.ts): an image whose entry point is past its
  // code or misaligned was written, then refused by objdump, load and run (fuzz asm, seed 2032).
  it("reports an entry point outside the code or misaligned at _start's definition", () => {
    expect(errorsOf({ "a.s": "  li t3, 0xfffe0000\n_start:\n" })).toEqual(["a.s:2:1: error: _start: entry point 0x1004 is outside the code (.text 0x1000–0x1004)"]);
    expect(errorsOf({ "a.s": "msg: .asciz \"ok: \"\n  _start:\n" })).toEqual(["a.s:2:3: error: _start: entry point 0x1005 is not 4-byte aligned"]);
    expect(errorsOf({ "a.s": "  nop\n.data\n_start: .word 1\n" })).toEqual(["a.s:3:1: error: _start: entry point 0x2000 is outside the code (.text 0x1000–0x1004)"]);
    expect(errorsOf({ "a.s": "  nop\n", "b.s": ".global _start\n.data\n_start: .word 1\n" })).toEqual(["b.s:3:1: error: _start: entry point 0x2000 is outside the code (.text 0x1000–0x1004)"]);
    // Its last word and an image with no code at all are fine.
    expect(errorsOf({ "a.s": "  nop\n_start: nop\n" })).toEqual([]);
    expect(errorsOf({ "a.s": ".data\n_start: .word 1\n" })).toEqual([]);
  });

  it("reports a duplicate global at the second definition, naming the first", () => {
    expect(errorsOf({ "a.s": ".global _start, f\n_start:\nf: nop\n", "b.s": "nop\n.global f\n  f: ret\n" })).toEqual([
      "b.s:3:3: error: duplicate global symbol 'f' (first defined at a.s:3:1)",
    ]);
  });

  it("says when an undefined symbol exists in another file but is not .global", () => {
    expect(errorsOf({ "a.s": "_start: call helper\n", "b.s": "helper: ret\n" })).toEqual([
      "a.s:1:14: error: undefined symbol 'helper' (defined in b.s but not .global)",
    ]);
  });

  it("rejects a -D name that a file defines again", () => {
    expect(() => assemble([{ file: "t.s", text: "_start:\n.equ N, 1\n" }], { defines: { N: 2 } })).toThrow(
      "t.s:2:6: error: symbol 'N' is already defined on the command line (-D N)",
    );
  });

  it("reports a malformed .softlayer table at its file's .section", () => {
    const good = serializeSoftlayerTable([]);
    expect(
      errorsOf({
        "a.s": `_start: nop\n.section .softlayer\n.byte ${[...good].join(", ")}\n`,
        "b.s": ".section .softlayer\n.word 0x12345678, 0, 0, 0\n",
      }),
    ).toEqual(["b.s:1:1: error: invalid .softlayer table: bad magic 0x12345678"]);
  });

  it("reports every error of a file, in line order, syntax and semantic alike", () => {
    const text = [
      "_start:",
      "  addi a0, a0, 999999",
      "  foo",
      "  add a0, a1",
      '  .ascii "open',
      "  beq a0, a1, missing",
      "  .bogus",
      "  lw a0, 0(a1",
      "  .data",
      "  .byte 300",
      "  .text",
      "  li t0, ok",
      "ok: ret",
    ].join("\n");
    expect(errorsOf({ "many.s": text })).toEqual([
      "many.s:2:16: error: immediate 999999 out of range for 'addi' (-131072..131071)",
      "many.s:3:3: error: unknown instruction 'foo'",
      "many.s:4:3: error: 'add' expects 3 operands (rd, rs1, rs2), got 2",
      "many.s:5:10: error: unterminated string",
      "many.s:6:15: error: undefined symbol 'missing'",
      "many.s:7:3: error: unknown directive '.bogus'",
      "many.s:8:11: error: expected '(register)' after the offset",
      "many.s:10:9: error: value 300 does not fit in a byte (-128..255)",
    ]);
  });

  it("points at a base that is not a register, not at its parenthesis", () => {
    expect(errorsOf({ "b.s": "_start:\n  lw a0, 3(a9)\n  sw a0, 4( foo )\n  lw a0, 0(a1\n  lw a0, 8(sp)\n" })).toEqual([
      "b.s:2:12: error: 'a9' is not a register: the argument registers are a0–a3",
      "b.s:3:13: error: 'foo' is not a register: write r0–r15 or zero a0–a3 t0–t4 s0–s2 k0 sp lr",
      "b.s:4:11: error: expected '(register)' after the offset",
    ]);
  });

  it("reports errors of every file, in input order", () => {
    expect(errorsOf({ "b.s": "_start: bad1\n", "a.s": "nop\n  bad2\n" })).toEqual([
      "b.s:1:9: error: unknown instruction 'bad1'",
      "a.s:2:3: error: unknown instruction 'bad2'",
    ]);
  });

  it("formats with a source frame whose caret lines up on a tab-indented line", () => {
    try {
      assemble([{ file: "t.s", text: "_start:\n\taddi a0, a0, 1 << 20  # too big\n" }]);
      expect.unreachable();
    } catch (e) {
      const d = (e as DiagnosticError).diagnostics[0];
      expect(formatDiagnostic(d)).toBe(
        // The marker line repeats the tab, so the caret sits under the `1` at any tab width.
        "t.s:2:15: error: immediate 1048576 out of range for 'addi' (-131072..131071)\n> 2 | \taddi a0, a0, 1 << 20  # too big\n    | \t             ^",
      );
    }
  });

  it("never fails with anything but a DiagnosticError on random token soup", () => {
    const tokens = [
      "add", "addi", "lw", "sw", "beq", "jal", "li", "la", "call", "ret", "push", "mfcr", "out", "hcall", "lui", "jr",
      "a0", "sp", "zero", "r15", "epc", "x", "_start", ".L1", "1", "-5", "0x7fffffff", "%hi(x)", "%lo(", "(", ")", "(sp)",
      ",", ",", ",", ":", "+", "<<", "/", "0", ".", '"s"', "'c'", ".word", ".byte", ".half", ".space", ".align", ".equ",
      ".global", ".section", ".softlayer", ".bss", ".data", ".text", ".sensitive", "pte", ".noannotate", ".annotate", "#",
    ];
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 300; round++) {
      const lines = Array.from({ length: 1 + rnd(12) }, () => Array.from({ length: rnd(6) }, () => tokens[rnd(tokens.length)]).join(" "));
      const text = lines.join("\n");
      try {
        assemble([{ file: "soup.s", text }, { file: "b.s", text: "x: .word 1\n" }]);
      } catch (e) {
        if (!(e instanceof DiagnosticError)) throw new Error(`${String(e)} on:\n${text}`);
        for (const d of e.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
      }
    }
  });
});

describe("hostile input from the fuzzers (issue 12): located errors, never a host crash", () => {
  /** The one diagnostic of assembling `text` as t.s (with `_start` defined), or a failure naming what came instead. */
  function oneError(text: string): string {
    const out = errors(text);
    expect(out, out.join("\n")).toHaveLength(1);
    return out[0];
  }

  it("1,000 nested parentheses: nested too deeply, at the parenthesis past the limit", () => {
    const line = `.word ${"(".repeat(1000)}1${")".repeat(1000)}`;
    expect(oneError(`${line}\n`)).toBe(`t.s:2:${7 + 256}: error: expression nested too deeply (more than 256 levels of parentheses, operators or terms)`);
  });

  it("10,000 unary operators, a 10,000-term sum, %hi of %lo of …: nested too deeply", () => {
    expect(oneError(`.word ${"-~".repeat(5000)}1\n`)).toMatch(/^t\.s:2:\d+: error: expression nested too deeply/);
    expect(oneError(`.word ${Array(10_000).fill("1").join(" + ")}\n`)).toMatch(/^t\.s:2:\d+: error: expression nested too deeply/);
    expect(oneError(`lui a0, ${"%hi(".repeat(600)}1${")".repeat(600)}\n`)).toMatch(/^t\.s:2:\d+: error: expression nested too deeply/);
  });

  it("right at the limit is fine: 255 parentheses, a 256-term sum", () => {
    const image = assemble([{ file: "t.s", text: `_start:\n.word ${"(".repeat(255)}7${")".repeat(255)}\n.word ${Array(256).fill("1").join("+")}\n` }]);
    const text = image.sections.find((s) => s.name === ".text")!.data;
    expect([...text.subarray(0, 8)]).toEqual([7, 0, 0, 0, 0, 1, 0, 0]);
  });

  it("a 5,000-deep chain of .equs that need addresses evaluates without recursing", () => {
    // Each names the next, the last a label: every one is evaluated after layout.
    const n = 5000;
    const lines = Array.from({ length: n }, (_, i) => (i < n - 1 ? `.equ e${i}, e${i + 1} + 1` : `.equ e${i}, here`));
    const image = assemble([{ file: "t.s", text: `_start:\n.word e0\nhere: nop\n${lines.join("\n")}\n` }]);
    const word = new DataView(image.sections[0].data.buffer).getUint32(0, true);
    expect(word).toBe(0x1004 + n - 1);
  });

  it("a circular chain is still reported where the cycle closes", () => {
    expect(errors(".word c0\n.equ c0, c1 + here\n.equ c1, c2\n.equ c2, c0\nhere: nop\n")).toEqual(["t.s:5:10: error: circular definition of 'c0'"]);
  });

  it(".space 0x10000000 seventeen times in .bss: past the 32-bit address space, at the .space that crosses it", () => {
    const text = ".bss\n" + ".space 0x10000000\n".repeat(17);
    // The 16th makes the section 4 GiB, which no 32-bit size holds (this was a silent wrap to 0, or a crash);
    // reported once, not again for the 17th.
    expect(errors(text)).toEqual([`t.s:${2 + 16}:8: error: section .bss would hold 4294967296 bytes, more than a 32-bit size`]);
  });

  it("4 GiB of .bss from two files: the second file's .bss is past the end of the address space", () => {
    const half = ".bss\n" + ".space 0x10000000\n".repeat(8);
    expect(errorsOf({ "a.s": `_start:\n${half}`, "b.s": `${half}x: .space 4\n` })).toEqual([
      "b.s:1:1: error: section .bss would end at 0x100001004, past the end of the 32-bit address space",
    ]);
  });

  it("a section with contents past 256 MiB, by .space with a fill or by .align", () => {
    expect(errors(".data\n.space 0x10000000, 1\n.space 16, 1\n")).toEqual([
      "t.s:4:8: error: section .data would hold 268435472 bytes, more than the 268435456 (256 MiB) a section with contents may (use .bss for zeros)",
    ]);
    // One byte over by data (not .space): found at layout, at the file's .data line; the .align after it at its own line.
    expect(errors(".data\n.space 0x10000000\n.byte 1\n.align 0x10000\n")).toEqual([
      "t.s:2:1: error: section .data would hold 268435457 bytes, more than the 268435456 (256 MiB) a section with contents may (use .bss for zeros)",
      "t.s:5:8: error: section .data would hold 268500992 bytes, more than the 268435456 (256 MiB) a section with contents may (use .bss for zeros)",
    ]);
  });

  it.each([".symtab", ".strtab", ".shstrtab", '"a\\x00b"'])("refuses .section %s (a name previrt's ELF writer owns, or one no ELF can hold)", (name) => {
    const out = errors(`.section ${name}\n.word 1\n`);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^t\.s:2:10: error: section name .* (is reserved \(previrt's ELF writer makes that section itself\)|contains a NUL byte)$/);
  });

  it("accepts a hand-written .softlayer holding a valid table (what objdump -d prints for an annotated binary)", () => {
    const table = serializeSoftlayerTable([]);
    const words = Array.from({ length: table.length / 4 }, (_, i) => new DataView(table.buffer).getUint32(4 * i, true));
    const image = assemble([{ file: "t.s", text: `_start: nop\n.section .softlayer\n.word ${words.join(", ")}\n` }]);
    expect(image.sections.find((s) => s.name === ".softlayer")!.data).toEqual(table);
  });
});

// A value that is a plain symbol (or %hi/%lo of one) with every other operand
// constant is finished from pass 1's Fixups columns rather than from the
// statement's nodes (units.ts): its diagnostics must be the ones the nodes
// gave, at the same place, and the rest of the statement still written.
describe("assembler diagnostics of symbol fixups", () => {
  const cases: [string, string, string[]][] = [
    [".byte of a label", ".data\nx: .byte 1, x\n", ["t.s:3:13: error: value 4096 does not fit in a byte (-128..255)"]],
    [".half of a later label, beside constants", ".data\n.half 1, 70000, y, 2\n.space 65536\ny: .word 0\n", [
      "t.s:3:10: error: value 70000 does not fit in a half-word (-32768..65535)",
      "t.s:3:17: error: value 69640 does not fit in a half-word (-32768..65535)",
    ]],
    [".word of undefined symbols among constants", ".word 1, nowhere, 2,   gone\n", ["t.s:2:10: error: undefined symbol 'nowhere'", "t.s:2:24: error: undefined symbol 'gone'"]],
    ["%lo of an undefined symbol as a memory offset", "lw a0, %lo(nowhere)(a1)\n", ["t.s:2:12: error: undefined symbol 'nowhere'"]],
    ["a label as a shift amount", "slli a0, a0, lbl\nlbl: nop\n", ["t.s:2:14: error: immediate 4100 out of range for 'slli' (0..31)"]],
    ["branch to a misaligned label", "beq a0, a1, odd\n.byte 1\nodd: .byte 2\n", ["t.s:2:13: error: branch target 0x1005 is not 4-byte aligned"]],
    ["an out-of-range constant before the label wins", "sw a0, 131072(sp)\nbeq a0, a1, nowhere\n", [
      "t.s:2:8: error: offset 131072 out of range for 'sw' (-131072..131071)",
      "t.s:3:13: error: undefined symbol 'nowhere'",
    ]],
    ["a label not .global in another file", "call helper\n", ["t.s:2:6: error: undefined symbol 'helper'"]],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => expect(errors(text)).toEqual(expected));
  }

  it("places each value as the statement would (a .word of labels, la, a branch back)", () => {
    const image = assemble([{ file: "t.s", text: "_start: la a0, tab\nback: beq a0, a1, back\n.data\ntab: .word back, 7, _start\n.byte 1\n.half tab - 8188\n" }]);
    const data = image.sections.find((s) => s.name === ".data")!.data;
    expect([...data]).toEqual([0x08, 0x10, 0, 0, 7, 0, 0, 0, 0, 0x10, 0, 0, 1, 4, 0]);
    // lui a0, %hi(tab); addi a0, a0, %lo(tab); beq a0, a1, back (offset 0)
    expect([...image.sections.find((s) => s.name === ".text")!.data]).toEqual([90, 32, 0, 0, 81, 4, 0, 0, 99, 8, 0, 0]);
  });
});

describe("habits from other assemblers: refused at the right place, saying what to write", () => {
  // Each line is what a programmer coming from GNU as, RISC-V or MIPS writes (a user session, s15).
  const cases: [string, ...string[]][] = [
    ["  mv a0, ra\n", "t.s:2:10: error: operand 2 of 'mv' must be a register ('ra' is not a register: the return address is 'lr')"],
    ["  addi x1, x2, 3\n", "t.s:2:8: error: operand 1 of 'addi' must be a register ('x1' is not a register: write 'r1')", "t.s:2:12: error: operand 2 of 'addi' must be a register ('x2' is not a register: write 'r2')"],
    ["  add a0, a0, $t0\n", "t.s:2:15: error: operand 3 of 'add' must be a register ('$t0' is not a register: write 't0' without the '$')"],
    ["  lw a0, 4(fp)\n", "t.s:2:12: error: 'fp' is not a register: G32 has no frame pointer; use 'sp', or keep one in s0–s2"],
    ["  li a0, 5  // five\n", "t.s:2:13: error: expected ',' or end of line, found '/' (comments start with '#' or ';')"],
    ["  li a0, 5 /* five */\n", "t.s:2:12: error: expected ',' or end of line, found '/' (comments start with '#' or ';')"],
    ["  nop  @ x\n", "t.s:2:8: error: unexpected character '@' in expression (comments start with '#' or ';'; G32 assembly has no '@' syntax)"],
    ["1: nop\n", "t.s:2:1: error: '1:' is not a label: numeric local labels ('1:', '1b', '1f') are not supported: name the label, e.g. '.L1:', and refer to it by name"],
    ["  bnez a0, 1b\n", "t.s:2:12: error: '1b' is not a label: numeric local labels ('1:', '1b', '1f') are not supported: name the label, e.g. '.L1:', and refer to it by name"],
    ["  j 12f\n", "t.s:2:5: error: '12f' is not a label: numeric local labels ('1:', '1b', '1f') are not supported: name the label, e.g. '.L1:', and refer to it by name"],
    ["  .type _start, @function\n", "t.s:2:3: error: unknown directive '.type' (not needed: labels in .text are FUNC symbols, others OBJECT)"],
    ["  .size _start, .-_start\n", "t.s:2:3: error: unknown directive '.size' (not needed: symbol sizes are 0)"],
    ["  .float 1.5\n", "t.s:2:3: error: unknown directive '.float'"],
    ['  .include "lib.s"\n', "t.s:2:3: error: unknown directive '.include' (give every file to 'previrt as' or 'previrt build'; share symbols with '.global')"],
    ['  .asciiz "x"\n', "t.s:2:3: error: unknown directive '.asciiz' (did you mean '.asciz'?)"],
    ["  .p2align 2\n", "t.s:2:3: error: unknown directive '.p2align' ('.align' takes bytes: '.p2align 2' is '.align 4')"],
    ['  .section .text.startup, "ax"\n', "t.s:2:25: error: '.section' takes only a name: flags and types (\"ax\", @progbits) are not accepted; the name decides them (.text is code, any other name writable data)"],
    ["  .section .data, @progbits\n", "t.s:2:17: error: '.section' takes only a name: flags and types (\"ax\", @progbits) are not accepted; the name decides them (.text is code, any other name writable data)"],
    ["  move a0, a1\n", "t.s:2:3: error: unknown instruction 'move' (did you mean 'mv'?)"],
    ["  csrr a0, tvec\n", "t.s:2:3: error: unknown instruction 'csrr' (control registers: 'mfcr rd, cr')"],
  ];
  for (const [text, ...messages] of cases) {
    it(JSON.stringify(text.trim()), () => expect(errors(text)).toEqual(messages));
  }

  it("what is still valid stays valid: division, 0b/0x numbers, '1abc' at a line start", () => {
    expect(errors("  li a0, 8 / 2\n  li a0, 0b1 + 0xbf\n.equ B, 1\n  li a0, B\n")).toEqual([]);
    expect(errors("1abc\n")).toEqual(["t.s:2:1: error: expected a label, instruction or directive (labels cannot start with a digit)"]);
    expect(errors("  li a0, 1bc\n")).toEqual(["t.s:2:11: error: invalid digit 'b' in number"]);
  });
});

describe("more habits: a label as a memory operand, 'AB', a main that is not .global", () => {
  it("lw a0, counter says the two-instruction form", () => {
    expect(errors("  lw a0, counter\n  sw a0, counter\n.data\ncounter: .word 1\n")).toEqual([
      "t.s:2:10: error: operand 2 of 'lw' must be a memory operand off(reg) (at a label: 'lui t0, %hi(counter)', then 'lw …, %lo(counter)(t0)')",
      "t.s:3:10: error: operand 2 of 'sw' must be a memory operand off(reg) (at a label: 'lui t0, %hi(counter)', then 'sw …, %lo(counter)(t0)')",
    ]);
  });

  it("'AB' is a literal of several characters, not an unterminated one", () => {
    expect(errors("  li a0, 'AB'\n  li a0, 'A\n")).toEqual([
      "t.s:2:10: error: a character literal holds one character (for several bytes use .ascii \"…\")",
      "t.s:3:10: error: unterminated character literal",
    ]);
  });

  it("no _start and a local main: says main needs .global", () => {
    expect(errorsOf({ "a.s": "nop\n", "m.s": "main: ret\n" })).toEqual([
      "a.s:1:1: error: undefined entry symbol '_start' (m.s defines 'main' but not '.global main', which the start-up needs)",
    ]);
  });

  it("a .global main is not said to lack .global; -D _start is named as what took the entry's name", () => {
    expect(errorsOf({ "a.s": "nop\n", "m.s": ".global main\nmain: ret\n" })).toEqual(["a.s:1:1: error: undefined entry symbol '_start'"]);
    // `previrt build m.s -D _start=5`: the start-up's `_start:` collides with the define (reported there), and the entry is not "main's missing .global".
    const sources = [
      { file: "m.s", text: ".global main\nmain: ret\n" },
      { file: "<startup>.s", text: ".global _start\n_start: call main\n" },
    ];
    let messages: string[] = [];
    try {
      assemble(sources, { defines: { _start: 5 } });
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      messages = e.diagnostics.map((d) => formatDiagnostic(d, false));
    }
    expect(messages).toContain("<startup>.s:2:1: error: symbol '_start' is already defined on the command line (-D _start)");
    expect(messages).toContain("m.s:1:1: error: undefined entry symbol '_start' (-D _start gives it a number; the entry must be a label)");
    expect(messages.filter((m) => m.includes("'.global main'"))).toEqual([]);
  });
});

describe("every hint reads whole", () => {
  // Messages cut a quoted span longer than 60 characters (diagnostics.ts): a hint must keep the text between its quotes short.
  it("no hint of the tables is cut, with a short name", () => {
    const lines = [
      ...Object.keys(DIRECTIVE_HINTS).map((d) => `  ${d} 1\n`),
      ...Object.keys(MNEMONIC_HINTS).map((m) => `  ${m} a0\n`),
      ...Object.keys(REGISTER_HINTS).map((r) => `  mv a0, ${r}\n  lw a0, 0(${r})\n`),
    ];
    for (const line of lines) {
      const out = errors(line);
      expect(out.length, line).toBeGreaterThan(0);
      for (const e of out) expect(e, line).not.toContain("…'");
    }
  });
});

describe("character literals are bytes of UTF-8, like strings", () => {
  it("'é' is refused (it took the code point 0xE9, while \"é\" is C3 A9); '\\xE9' and ASCII still work", () => {
    expect(errors("  li a0, 'é'\n")).toEqual(["t.s:2:10: error: character literal 'é' is not one byte in UTF-8 (write its bytes with .ascii \"é\", or a number)"]);
    expect(errors("  li a0, '😀'\n")).toEqual(["t.s:2:10: error: character literal '😀' is not one byte in UTF-8 (write its bytes with .ascii \"😀\", or a number)"]);
    const image = assemble([{ file: "t.s", text: "_start: nop\n.data\n.byte '\\xE9', 'A', '~'\n.ascii \"é\"\n" }]);
    expect([...image.sections.find((s) => s.name === ".data")!.data]).toEqual([0xe9, 0x41, 0x7e, 0xc3, 0xa9]);
  });

  it("jalr lr, t1 and '. = . + 4' say what to write", () => {
    expect(errors("  jalr lr, t1\n  . = . + 4\n")).toEqual([
      "t.s:2:12: error: operand 2 of 'jalr' must be a memory operand off(reg) (write '0(t1)')",
      "t.s:3:3: error: unknown directive '.' (to move forward, use '.space n')",
    ]);
  });
});

describe("a size that is no pass-1 constant names the symbol and why", () => {
  it("a global .equ of another file, a label, '.'", () => {
    expect(errorsOf({ "a.s": ".global _start\n_start: nop\n.bss\nbuf: .space SIZE\n", "b.s": ".global SIZE\n.equ SIZE, 64\n" })).toEqual([
      "a.s:4:13: error: '.space' needs a constant: 'SIZE' is not defined above in this file (numbers and symbols defined above with .equ are)",
    ]);
    expect(errors("x: .space 4, x\n  .align . - x\n  .space (2 + 3) * 4\n")).toEqual([
      "t.s:2:14: error: '.space' needs a constant: 'x' is a label, an address known only after layout (numbers and symbols defined above with .equ are)",
      "t.s:3:10: error: '.align' needs a constant: '.' is an address, known only after layout (numbers and symbols defined above with .equ are)",
    ]);
  });
});

describe("separators and assignments of other assemblers", () => {
  it("a missing comma, '=' for a constant", () => {
    expect(errors("  li a0 5\n  .equ N 4\n  .equ M = 4\nSIZE = 64\n")).toEqual([
      "t.s:2:9: error: unexpected text after register 'a0' (operands are separated by commas)",
      "t.s:3:10: error: expected ',' or end of line, found '4' (operands are separated by commas)",
      "t.s:4:10: error: expected ',' or end of line, found '=' (G32 has no '=': write '.equ NAME, value')",
      "t.s:5:6: error: 'SIZE = …' is not G32 syntax: write '.equ SIZE, …'",
    ]);
  });

  it("a carriage return alone (classic Mac OS line endings) is named: the file reads as one line", () => {
    expect(errors("  .equ N, 4\r  nop\r")).toEqual([
      "t.s:2:12: error: expected ',' or end of line, found '␍' (a carriage return alone does not end a line: save the file with LF or CRLF line endings)",
    ]);
  });
});

describe("C preprocessor lines (a .S habit) are refused, not silently comments", () => {
  it("#define, #include, #ifdef/#endif; '# if …' and '#comment' stay comments", () => {
    expect(errors('#define N 4\n#include "x.h"\n#ifdef DEBUG\n  # if the lock is taken\n#endif\n#comment\n\t#if\n')).toEqual([
      "t.s:2:1: error: '#define' would be a comment here (there is no preprocessor): write .equ NAME, value (or previrt build -D NAME=VALUE)",
      "t.s:3:1: error: '#include' would be a comment here (there is no preprocessor): list every file on the previrt as or previrt build command line",
      "t.s:4:1: error: '#ifdef' would be a comment here (there is no preprocessor): there is no conditional assembly, every line is assembled",
      "t.s:6:1: error: '#endif' would be a comment here (there is no preprocessor): there is no conditional assembly, every line is assembled",
      "t.s:8:2: error: '#if' would be a comment here (there is no preprocessor): there is no conditional assembly, every line is assembled",
    ]);
    expect(errors("  nop  #define after an instruction is a comment\n")).toEqual([]);
  });
});

describe("the list of directives (directive-names.ts) reaches pass 1 and matches the docs'", () => {
  // The parser reports a directive outside the list by name, without reading its arguments; one
  // missing from the list would lose its arguments.
  it("every known directive reaches pass 1 with its arguments; every directive docs/assembly.md lists is known", () => {
    for (const name of KNOWN_DIRECTIVES) {
      for (const e of errors(`  ${name} 1, 2, 3, 4\n`)) expect(e, name).not.toMatch(/unknown directive|got 0/);
    }
    const doc = readFileSync(new URL("../../docs/assembly.md", import.meta.url), "utf8");
    const table = doc.slice(doc.indexOf("| directive | meaning |"), doc.indexOf("- **No implicit alignment**"));
    const documented = [...table.matchAll(/`(\.[a-z]+)/g)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((d) => !KNOWN_DIRECTIVES.has(d))).toEqual([]);
  });
});

describe("names every object inherits are not in the assembler's tables", () => {
  // The tables were read with table[word]: `mtcr constructor, a0` assembled (as control register 0, tvec), and the hints quoted Object's source.
  it("constructor, __proto__ are no control register, register, mnemonic or directive, and have no hint", () => {
    expect(errors("  mtcr constructor, a0\n  mfcr a0, __proto__\n  mv constructor, a0\n  constructor a0\n  __proto__\n  .constructor\n")).toEqual([
      "t.s:2:8: error: unknown control register 'constructor'",
      "t.s:3:12: error: unknown control register '__proto__'",
      "t.s:4:6: error: operand 1 of 'mv' must be a register ('constructor' is not a register: write r0–r15 or zero a0–a3 t0–t4 s0–s2 k0 sp lr)",
      "t.s:5:3: error: unknown instruction 'constructor'",
      "t.s:6:3: error: unknown instruction '__proto__'",
      "t.s:7:3: error: unknown directive '.constructor'",
    ]);
  });
});
