// The third layer of codegen.ts's FunctionCompiler (codegen.ts has the whole
// chain): expressions to registers, and conditions to branches.
// FunctionCompilerExpressions extends FunctionCompilerAccess
// (codegen-access.ts) and is extended by FunctionCompilerStatements
// (codegen-statements.ts).
//
// Consumes expression trees of the checked AST. Produces:
// - gen: an expression's value in a register (a temporary, or the
//   destination asked for), with immediate forms and strength reduction for
//   constants; genEffect for side effects only;
// - comparisons as values (slt/sltu and friends; signed or unsigned, and
//   `/` and `%` too, by the rule of signedness.ts) and genCond, a condition
//   compiled to branches to a label (`blt a0, t0, .L3`), with `&&`, `||`
//   and `!` as control flow.

import type * as t from "@babel/types";
import { isSupportedBinary, operatorName } from "../check.js";
import { unwrap } from "../ast.js";
import { ZERO, fitsImm, isPow2, NEGATE, describe, type Operand } from "./codegen-base.js";
import { COMPARISONS, comparisonSignedness, divisionSignedness, type Signedness } from "./signedness.js";
import { FunctionCompilerAccess, notAmongInputs } from "./codegen-access.js";

export abstract class FunctionCompilerExpressions extends FunctionCompilerAccess {
  // ---- expressions -------------------------------------------------------

  /** Evaluates for side effects only. */
  protected genEffect(e0: t.Expression): void {
    const e = unwrap(e0);
    switch (e.type) {
      case "AssignmentExpression":
        this.free(this.genAssign(e, undefined, false));
        return;
      case "UpdateExpression":
        this.free(this.genUpdate(e, undefined, false));
        return;
      case "CallExpression": {
        const r = this.genCall(e, undefined, false);
        if (r) this.free(r);
        return;
      }
      case "SequenceExpression":
        for (const x of e.expressions) this.genEffect(x);
        return;
      default:
        this.free(this.gen(e));
    }
  }

  /** Evaluates `e` into a register (into `dest` when given). */
  protected gen(e0: t.Expression, dest?: string): Operand {
    const e = unwrap(e0);
    const c = this.constant(e);
    if (c !== undefined && e.type !== "AssignmentExpression" && e.type !== "UpdateExpression" && e.type !== "CallExpression" && e.type !== "SequenceExpression") {
      if (c === 0 && dest === undefined) return ZERO;
      const r = this.target(dest);
      this.emit(`li ${r}, ${c}`);
      return { reg: r, temp: dest === undefined };
    }
    switch (e.type) {
      case "StringLiteral":
      case "TemplateLiteral": {
        if (e.type === "TemplateLiteral" && e.expressions.length) {
          this.fc.unsupported(e, "a template literal with expressions");
          return ZERO;
        }
        const text = e.type === "StringLiteral" ? e.value : e.quasis.map((q) => q.value.cooked ?? "").join("");
        const r = this.target(dest);
        this.emit(`la ${r}, ${this.fc.stringLabel(text)}`);
        return { reg: r, temp: dest === undefined };
      }
      case "Identifier":
        return this.genIdentifier(e, dest);
      case "BinaryExpression": {
        if (e.left.type === "PrivateName" || !isSupportedBinary(e.operator)) return ZERO; // reported by check.ts
        if (COMPARISONS.has(e.operator)) return this.genCompareValue(e, dest);
        if ((e.operator === "|" || e.operator === ">>>") && this.constant(e.right) === 0) return this.gen(e.left, dest); // x|0, x>>>0: same bits
        const unsigned = (e.operator === "/" || e.operator === "%") && this.unsignedDivision(e, e.operator, e.left, e.right);
        const l = this.stabilize(this.gen(e.left), [e.right]);
        return this.binop(e.operator, l, e.right, dest, unsigned);
      }
      case "LogicalExpression": {
        if (e.operator === "??") {
          this.fc.unsupported(e, operatorName("??"));
          return ZERO;
        }
        // JS value semantics: a && b is a when a is 0, else b; a || b is a unless a is 0.
        const end = this.fc.label(e.operator === "&&" ? "and" : "or");
        const skip = e.operator === "&&" ? "beqz" : "bnez";
        return this.genJoin(dest, (into) => {
          const v = into(e.left);
          this.emit(`${skip} ${v}, ${end}`);
          into(e.right);
          this.emitLabel(end);
        });
      }
      case "ConditionalExpression": {
        const other = this.fc.label("else");
        const end = this.fc.label("endif");
        return this.genJoin(dest, (into) => {
          this.genCond(e.test, other, false);
          into(e.consequent);
          this.emit(`j ${end}`);
          this.emitLabel(other);
          into(e.alternate);
          this.emitLabel(end);
        });
      }
      case "UnaryExpression": {
        const a = this.gen(e.argument);
        this.free(a);
        const r = this.target(dest);
        switch (e.operator) {
          case "-":
            this.emit(`sub ${r}, zero, ${a.reg}`);
            break;
          case "~":
            this.emit(`xori ${r}, ${a.reg}, -1`);
            break;
          case "!":
            this.emit(`sltiu ${r}, ${a.reg}, 1`);
            break;
          case "+":
            if (r !== a.reg) this.emit(`mv ${r}, ${a.reg}`);
            break;
          default:
            this.fc.unsupported(e, operatorName(e.operator));
        }
        return { reg: r, temp: dest === undefined };
      }
      case "AssignmentExpression":
        return this.genAssign(e, dest, true);
      case "UpdateExpression":
        return this.genUpdate(e, dest, true);
      case "CallExpression":
        return this.genCall(e, dest, true) ?? ZERO;
      case "SequenceExpression": {
        e.expressions.slice(0, -1).forEach((x) => this.genEffect(x));
        return this.gen(e.expressions[e.expressions.length - 1], dest);
      }
      case "MemberExpression": {
        const lv = this.lvalue(e);
        if (!lv) return ZERO;
        return this.readLValue(lv, dest, true);
      }
      case "NumericLiteral":
      case "BooleanLiteral":
        return ZERO; // out-of-range literal, reported by check.ts
      default:
        this.fc.unsupported(e, describe(e.type));
        return ZERO;
    }
  }

  /**
   * Expressions whose branches each produce the result (&&, ||, ?:): `body`
   * evaluates each branch with `into`, which leaves the value in one place —
   * a register when one can be spared, else a frame slot — and returns the
   * register that held it (for a branch on it right after).
   */
  private genJoin(dest: string | undefined, body: (into: (e: t.Expression) => string) => void): Operand {
    const safe = dest !== undefined && !this.homeRegs.has(dest) ? dest : undefined;
    if (safe || this.pool.freeCount() >= 3) {
      const r = safe ?? this.alloc();
      body((x) => this.gen(x, r).reg);
      return safe ? { reg: r, temp: false } : this.into({ reg: r, temp: true }, dest);
    }
    // Registers are scarce: keep the result in memory rather than hold one.
    const slot = this.spillSlot();
    body((x) => {
      const v = this.gen(x);
      this.emit(`sw ${v.reg}, ${slot}(sp)`);
      this.free(v);
      return v.reg;
    });
    const r = this.target(dest);
    this.emit(`lw ${r}, ${slot}(sp)`);
    this.spillDepth--;
    return { reg: r, temp: dest === undefined };
  }

  private genIdentifier(e: t.Identifier, dest?: string): Operand {
    const b = this.lookup(e.name);
    if (!b) {
      this.unknownName(e, "name");
      return ZERO;
    }
    if (b.kind === "local") {
      const home = b.local.home!;
      if (home.kind === "reg") return this.into({ reg: home.reg, temp: false }, dest);
      const r = this.target(dest);
      this.emit(`lw ${r}, ${this.slotOffset(home)}(sp)`);
      return { reg: r, temp: dest === undefined };
    }
    if (b.kind === "scalar") {
      const r = this.target(dest);
      this.emit(`lui ${r}, %hi(${b.asmName})`);
      this.emit(`lw ${r}, %lo(${b.asmName})(${r})`);
      return { reg: r, temp: dest === undefined };
    }
    if (b.kind === "function" && b.from !== undefined) {
      this.fc.report(e, notAmongInputs(e.name, b.from));
      return ZERO;
    }
    if (b.kind === "function" || b.kind === "array") {
      this.fc.unsupported(e, `${b.kind === "function" ? "a function" : "a typed array"} as a value (use addressOf)`);
      return ZERO;
    }
    this.fc.report(e, `'${e.name}' is not a value`);
    return ZERO;
  }

  /** Whether `left op right` (`/`, `%`; `node` may be `left op= right`) divides unsigned; reports a refused mix. */
  protected unsignedDivision(node: t.Node, operator: string, left: t.Expression, right: t.Expression): boolean {
    return this.signedness(divisionSignedness(node, operator, left, right, this.constantOf));
  }

  /** The unsigned rule's verdict (signedness.ts, which the constant folder follows too), its refusals reported. */
  private signedness(s: Signedness): boolean {
    for (const r of s.refusals) this.fc.report(r.node, r.message);
    return s.unsigned;
  }

  private readonly constantOf = (e: t.Expression): number | undefined => this.constant(e);

  /** `l op right` into dest; l is already evaluated (and owned). */
  protected binop(op: string, l: Operand, right: t.Expression, dest: string | undefined, unsigned: boolean): Operand {
    const c = this.constant(right);
    if (c !== undefined) {
      const imm = this.immediateForm(op, c);
      if (imm) {
        this.free(l);
        const r = this.target(dest);
        if (imm === "mv") {
          if (r !== l.reg) this.emit(`mv ${r}, ${l.reg}`);
        } else this.emit(`${imm.op} ${r}, ${l.reg}, ${imm.value}`);
        return { reg: r, temp: dest === undefined };
      }
    }
    const h = this.hold(l);
    const rv = this.gen(right);
    const lv = this.reclaim(h);
    this.free(lv);
    this.free(rv);
    const r = this.target(dest);
    const mn: Record<string, string> = { "+": "add", "-": "sub", "*": "mul", "&": "and", "|": "or", "^": "xor", "<<": "sll", ">>": "sra", ">>>": "srl" };
    if (op === "/" || op === "%") {
      const ins = op === "/" ? (unsigned ? "divu" : "div") : unsigned ? "remu" : "rem";
      if (c !== undefined && c !== 0) {
        this.emit(`${ins} ${r}, ${lv.reg}, ${rv.reg}`);
      } else {
        // JavaScript: x / 0 and x % 0 are Infinity/NaN, and (…) | 0 is 0.
        const ok = this.fc.label("divok");
        const end = this.fc.label("divend");
        this.emit(`bnez ${rv.reg}, ${ok}`);
        this.emit(`li ${r}, 0`, "division by zero gives 0, as (x / 0) | 0 in JavaScript");
        this.emit(`j ${end}`);
        this.emitLabel(ok);
        this.emit(`${ins} ${r}, ${lv.reg}, ${rv.reg}`);
        this.emitLabel(end);
      }
    } else if (mn[op]) {
      this.emit(`${mn[op]} ${r}, ${lv.reg}, ${rv.reg}`);
    } else {
      // An operator outside the dialect (`**=`): check.ts reported it at the operator.
    }
    return { reg: r, temp: dest === undefined };
  }

  private immediateForm(op: string, c: number): { op: string; value: number } | "mv" | undefined {
    switch (op) {
      case "+":
        return c === 0 ? "mv" : fitsImm(c) ? { op: "addi", value: c } : undefined;
      case "-":
        return c === 0 ? "mv" : fitsImm(-c) ? { op: "addi", value: -c } : undefined;
      case "&":
        return fitsImm(c) ? { op: "andi", value: c } : undefined;
      case "|":
        return c === 0 ? "mv" : fitsImm(c) ? { op: "ori", value: c } : undefined;
      case "^":
        return c === 0 ? "mv" : fitsImm(c) ? { op: "xori", value: c } : undefined;
      case "<<":
        return (c & 31) === 0 ? "mv" : { op: "slli", value: c & 31 };
      case ">>":
        return (c & 31) === 0 ? "mv" : { op: "srai", value: c & 31 };
      case ">>>":
        return (c & 31) === 0 ? "mv" : { op: "srli", value: c & 31 };
      case "*":
        if (c === 1) return "mv";
        return isPow2(c) ? { op: "slli", value: Math.log2(c) } : undefined;
      default:
        return undefined;
    }
  }

  // ---- comparisons and conditions ---------------------------------------

  /** A comparison's operands in registers (a constant 0 as `zero`); its signedness is decided apart (comparisonSignedness). */
  private compareOperands(e: t.BinaryExpression): { l: Operand; r: Operand } {
    const left = e.left as t.Expression;
    const l = this.stabilize(this.constant(left) === 0 ? ZERO : this.gen(left), [e.right]);
    const h = this.hold(l);
    const r = this.constant(e.right) === 0 ? ZERO : this.gen(e.right);
    return { l: this.reclaim(h), r };
  }

  private genCompareValue(e: t.BinaryExpression, dest?: string): Operand {
    const op = e.operator === "===" ? "==" : e.operator === "!==" ? "!=" : e.operator;
    const rc = this.constant(e.right);
    const left = e.left as t.Expression;
    const unsigned = this.signedness(comparisonSignedness(e, this.constantOf));
    // Immediate forms: x < c, x >= c.
    if (rc !== undefined && !unsigned && (op === "<" || op === ">=") && fitsImm(rc)) {
      const l = this.gen(left);
      this.free(l);
      const r = this.target(dest);
      this.emit(`slti ${r}, ${l.reg}, ${rc}`);
      if (op === ">=") this.emit(`xori ${r}, ${r}, 1`);
      return { reg: r, temp: dest === undefined };
    }
    const { l, r: rr } = this.compareOperands(e);
    this.free(l);
    this.free(rr);
    const r = this.target(dest);
    const slt = unsigned ? "sltu" : "slt";
    switch (op) {
      case "<":
        this.emit(`${slt} ${r}, ${l.reg}, ${rr.reg}`);
        break;
      case ">":
        this.emit(`${slt} ${r}, ${rr.reg}, ${l.reg}`);
        break;
      case "<=":
        this.emit(`${slt} ${r}, ${rr.reg}, ${l.reg}`);
        this.emit(`xori ${r}, ${r}, 1`);
        break;
      case ">=":
        this.emit(`${slt} ${r}, ${l.reg}, ${rr.reg}`);
        this.emit(`xori ${r}, ${r}, 1`);
        break;
      case "==":
      case "!=":
        if (rr.reg === "zero" || l.reg === "zero") {
          const x = rr.reg === "zero" ? l.reg : rr.reg;
          this.emit(op === "==" ? `sltiu ${r}, ${x}, 1` : `sltu ${r}, zero, ${x}`);
        } else {
          this.emit(`xor ${r}, ${l.reg}, ${rr.reg}`);
          this.emit(op === "==" ? `sltiu ${r}, ${r}, 1` : `sltu ${r}, zero, ${r}`);
        }
        break;
    }
    return { reg: r, temp: dest === undefined };
  }

  /** Branches to `label` when the truth of `e` equals `when`. */
  protected genCond(e0: t.Expression, label: string, when: boolean): void {
    const e = unwrap(e0);
    const c = this.constant(e);
    if (c !== undefined && e.type !== "CallExpression" && e.type !== "AssignmentExpression" && e.type !== "UpdateExpression") {
      if ((c !== 0) === when) this.emit(`j ${label}`);
      return;
    }
    if (e.type === "UnaryExpression" && e.operator === "!") return this.genCond(e.argument, label, !when);
    if (e.type === "LogicalExpression" && (e.operator === "&&" || e.operator === "||")) {
      const and = e.operator === "&&";
      if (and !== when) {
        // (a && b) false → a false or b false; (a || b) true → a true or b true.
        this.genCond(e.left, label, when);
        this.genCond(e.right, label, when);
      } else {
        const skip = this.fc.label("skip");
        this.genCond(e.left, skip, !when);
        this.genCond(e.right, label, when);
        this.emitLabel(skip);
      }
      return;
    }
    if (e.type === "BinaryExpression" && COMPARISONS.has(e.operator)) {
      let op: string = e.operator === "===" ? "==" : e.operator === "!==" ? "!=" : e.operator;
      if (!when) op = NEGATE[op];
      const unsigned = this.signedness(comparisonSignedness(e, this.constantOf));
      const { l, r } = this.compareOperands(e);
      this.free(l);
      this.free(r);
      const u = unsigned ? "u" : "";
      switch (op) {
        case "<":
          this.emit(`blt${u} ${l.reg}, ${r.reg}, ${label}`);
          break;
        case ">=":
          this.emit(`bge${u} ${l.reg}, ${r.reg}, ${label}`);
          break;
        case ">":
          this.emit(`blt${u} ${r.reg}, ${l.reg}, ${label}`);
          break;
        case "<=":
          this.emit(`bge${u} ${r.reg}, ${l.reg}, ${label}`);
          break;
        case "==":
          this.emit(`beq ${l.reg}, ${r.reg}, ${label}`);
          break;
        case "!=":
          this.emit(`bne ${l.reg}, ${r.reg}, ${label}`);
          break;
      }
      return;
    }
    const v = this.gen(e);
    this.free(v);
    this.emit(`${when ? "bnez" : "beqz"} ${v.reg}, ${label}`);
  }
}
