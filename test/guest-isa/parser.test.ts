import { describe, expect, it } from "vitest";
import { formatExpr } from "../../src/guest-isa/assembler/expressions.js";
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
      // Names an object has without being given them: parseRegister once read them off REG's prototype (constructor was a register).
      "constructor", "__proto__", "toString", "hasOwnProperty",
    ];
    for (const name of names) {
      const st = parseAssembly("p.s", `mv ${name}, a0`).source.statements[0] as Extract<Statement, { kind: "instruction" }>;
      const op = st.operands[0];
      const expected = parseRegister(name);
      if (expected === undefined) expect(op.kind, name).toBe("expr");
      else expect(op, name).toMatchObject({ kind: "reg", reg: expected });
    }
  });

  it("gives random operator chains the tree of C's precedence levels, left-associative", () => {
    // Reference: one recursive-descent function per precedence level (the
    // grammar as written), printing the tree fully parenthesised.
    const LEVELS = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];
    const reference = (tokens: string[]): string => {
      let i = 0;
      const level = (l: number): string => {
        if (l === LEVELS.length) {
          const t = tokens[i++];
          if (t === "(") {
            const e = level(0);
            i++; // ")"
            return e;
          }
          if (t === "-" || t === "~") return `${t}(${level(l)})`;
          return t;
        }
        let left = level(l + 1);
        while (i < tokens.length && LEVELS[l].includes(tokens[i])) {
          const op = tokens[i++];
          left = `(${left} ${op} ${level(l + 1)})`;
        }
        return left;
      };
      return level(0);
    };
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const ops = LEVELS.flat();
    const operand = (depth: number): string[] => {
      const r = rnd(8);
      if (depth < 3 && r === 0) return ["(", ...chain(depth + 1), ")"];
      if (r === 1) return ["-", ...operand(depth)];
      return [r % 2 ? `${rnd(100)}` : `x${rnd(5)}`];
    };
    const chain = (depth: number): string[] => {
      const out = operand(depth);
      for (let k = rnd(6); k > 0; k--) out.push(ops[rnd(ops.length)], ...operand(depth));
      return out;
    };
    for (let n = 0; n < 300; n++) {
      const tokens = chain(0);
      const st = statementsOf(`.word ${tokens.join(" ")}\n`)[0] as Extract<Statement, { kind: "directive" }>;
      const a = st.args[0];
      expect(a.kind === "expr" && formatExpr(a.expr), tokens.join(" ")).toBe(reference(tokens));
    }
  });

  it("reports an expression nested too deeply at the operator that passes the limit", () => {
    const sum = Array.from({ length: 300 }, (_, i) => `${i}`).join(" + ");
    const { diagnostics } = parseAssembly("p.s", `.word ${sum}\n`);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0].message).toMatch(/nested too deeply/);
    // The 256th '+' (the tree's depth is 1 + the number of '+' so far).
    expect(`.word ${sum}`.slice(diagnostics[0].col - 1, diagnostics[0].col + 4)).toBe("+ 256");
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
