import { describe, expect, it } from "vitest";
import { ABI_NAMES, parseAssembly, parseRegister, type Statement } from "../../src/guest-isa/index.js";

const statementsOf = (text: string) => {
  const { source, diagnostics } = parseAssembly("p.s", text);
  expect(diagnostics).toEqual([]);
  return source.statements;
};

describe("parseAssembly", () => {
  it("parses labels, instructions, directives and comments with positions", () => {
    const text = "start: addi a0, a1, -4 # c\n\t.word 1, x+2 ; c\n  lw t0, 8(sp)\n";
    const st = statementsOf(text);
    expect(st.map((s) => s.kind)).toEqual(["label", "instruction", "directive", "instruction"]);
    const add = st[1] as Extract<Statement, { kind: "instruction" }>;
    expect(add.mnemonic).toBe("addi");
    expect(add.loc).toMatchObject({ line: 1, col: 8, offset: 7 });
    expect(text.slice(add.loc.offset, add.end)).toBe("addi a0, a1, -4");
    expect(add.operands.map((o) => [o.kind, o.loc.col])).toEqual([["reg", 13], ["reg", 17], ["expr", 21]]);
    const lw = st[3] as Extract<Statement, { kind: "instruction" }>;
    expect(lw.operands[1]).toMatchObject({ kind: "mem", base: 14, offset: { kind: "num", value: 8 } });
    expect(lw.operands[1].loc).toMatchObject({ line: 3, col: 10 });
  });

  it("recognises exactly the register names of registers.ts, in any case", () => {
    const names = [
      ...ABI_NAMES,
      ...Array.from({ length: 18 }, (_, i) => `r${i}`),
      "r01", "r001", "R15", "SP", "Zero", "a4", "t5", "s3", "k1", "sq", "lr2", "ra", "zer", "zeros", "x1",
    ];
    for (const name of names) {
      const st = parseAssembly("p.s", `mv ${name}, a0`).source.statements[0] as Extract<Statement, { kind: "instruction" }>;
      const op = st.operands[0];
      const expected = parseRegister(name);
      if (expected === undefined) expect(op.kind, name).toBe("expr");
      else expect(op, name).toMatchObject({ kind: "reg", reg: expected });
    }
  });

  it("builds expression trees with C precedence and %hi/%lo", () => {
    const st = statementsOf(".word 1 + 2 * 3 | %lo(x) << 1\n")[0] as Extract<Statement, { kind: "directive" }>;
    const e = st.args[0];
    expect(e.kind === "expr" && e.expr).toMatchObject({
      kind: "binary",
      op: "|",
      left: { kind: "binary", op: "+", right: { kind: "binary", op: "*" } },
      right: { kind: "binary", op: "<<", left: { kind: "reloc", fn: "lo" } },
    });
  });

  it("collects one syntax error per bad line and keeps going", () => {
    const { source, diagnostics } = parseAssembly("p.s", "1abc\nnop\nadd a0,, a1\n.ascii \"x\nret\n");
    expect(diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`)).toEqual([
      "1:1: expected a label, instruction or directive (labels cannot start with a digit)",
      "3:8: expected an operand",
      "4:8: unterminated string",
    ]);
    expect(source.statements.map((s) => (s.kind === "instruction" ? s.mnemonic : s.kind))).toEqual(["nop", "ret"]);
    expect(diagnostics[2].sourceLine).toBe('.ascii "x');
  });

  it("streams statements to onStatement without keeping them", () => {
    const seen: string[] = [];
    const { source } = parseAssembly("p.s", "a: nop\n.word 1\n", { onStatement: (s) => seen.push(s.kind) });
    expect(seen).toEqual(["label", "instruction", "directive"]);
    expect(source.statements).toEqual([]);
    expect(source.lineStarts).toEqual([0, 7, 15]);
  });

  it("parses $N placeholders in template mode, including as a base register", () => {
    const st = parseAssembly("tpl", "jalr zero, 0($1)\nlui $1, %hi($2)", { placeholders: true }).source.statements as Extract<Statement, { kind: "instruction" }>[];
    expect(st[0].operands[1]).toMatchObject({ kind: "mem", base: -1 });
    expect(st[1].operands[0]).toMatchObject({ kind: "expr", expr: { kind: "sym", name: "$1" } });
    expect(parseAssembly("p.s", "jalr zero, 0($1)").diagnostics).toHaveLength(1);
  });
});
