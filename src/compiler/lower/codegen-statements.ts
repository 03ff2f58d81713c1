// The fourth layer of codegen.ts's FunctionCompiler (codegen.ts has the whole
// chain): statements. FunctionCompilerStatements extends
// FunctionCompilerExpressions (codegen-expressions.ts) and is extended by
// FunctionCompiler (codegen.ts).
//
// Consumes the statements of a function body. Produces their code: blocks
// and scopes, declarations, if, the loops (rotated: the test at the bottom),
// break/continue with labels, return, and switch (a jump table when dense).

import type * as t from "@babel/types";
import { unwrap } from "../ast.js";
import { requiredConst } from "./symbols.js";
import { ZERO, fitsImm, describe } from "./codegen-base.js";
import { FunctionCompilerExpressions } from "./codegen-expressions.js";

export abstract class FunctionCompilerStatements extends FunctionCompilerExpressions {
  // ---- statements --------------------------------------------------------

  protected genStatement(s: t.Statement, label?: string): void {
    if (s.type !== "BlockStatement" && s.type !== "LabeledStatement") this.emitComment(s);
    switch (s.type) {
      case "BlockStatement":
        this.scopes.push(new Map());
        for (const x of s.body) this.genStatement(x);
        this.scopes.pop();
        return;
      case "EmptyStatement":
        return;
      case "ExpressionStatement":
        this.genEffect(s.expression);
        return;
      case "VariableDeclaration":
        this.genDeclaration(s);
        return;
      case "IfStatement": {
        const elseLabel = this.fc.label("else");
        this.genCond(s.test, elseLabel, false);
        this.genStatement(s.consequent);
        if (s.alternate) {
          const end = this.fc.label("endif");
          this.emit(`j ${end}`);
          this.emitLabel(elseLabel);
          this.genStatement(s.alternate);
          this.emitLabel(end);
        } else {
          this.emitLabel(elseLabel);
        }
        return;
      }
      case "WhileStatement":
      case "ForStatement": {
        this.scopes.push(new Map());
        if (s.type === "ForStatement" && s.init) {
          if (s.init.type === "VariableDeclaration") this.genDeclaration(s.init);
          else this.genEffect(s.init);
        }
        const body = this.fc.label("loop");
        const cont = this.fc.label("continue");
        const brk = this.fc.label("break");
        const test = s.test ?? undefined;
        const testConst = test ? this.constant(test) : 1;
        const cond = this.fc.label("cond");
        if (testConst === 0) {
          this.scopes.pop();
          return;
        }
        if (testConst === undefined) this.emit(`j ${cond}`);
        this.emitLabel(body);
        this.loops.push({ label, breakLabel: brk, continueLabel: cont });
        this.genStatement(s.body);
        this.loops.pop();
        this.emitLabel(cont);
        if (s.type === "ForStatement" && s.update) {
          this.emitComment(s.update);
          this.genEffect(s.update);
        }
        if (testConst === undefined) {
          this.emitLabel(cond);
          this.emitComment(test!);
          this.genCond(test!, body, true);
        } else {
          this.emit(`j ${body}`);
        }
        this.emitLabel(brk);
        this.scopes.pop();
        return;
      }
      case "DoWhileStatement": {
        const body = this.fc.label("do");
        const cont = this.fc.label("continue");
        const brk = this.fc.label("break");
        this.emitLabel(body);
        this.loops.push({ label, breakLabel: brk, continueLabel: cont });
        this.genStatement(s.body);
        this.loops.pop();
        this.emitLabel(cont);
        this.emitComment(s.test);
        this.genCond(s.test, body, true);
        this.emitLabel(brk);
        return;
      }
      case "LabeledStatement": {
        const body = s.body;
        if (body.type === "WhileStatement" || body.type === "ForStatement" || body.type === "DoWhileStatement" || body.type === "SwitchStatement") {
          this.genStatement(body, s.label.name);
        } else {
          const brk = this.fc.label("break");
          this.loops.push({ label: s.label.name, breakLabel: brk });
          this.genStatement(body);
          this.loops.pop();
          this.emitLabel(brk);
        }
        return;
      }
      case "BreakStatement":
      case "ContinueStatement": {
        const want = s.label?.name;
        const isBreak = s.type === "BreakStatement";
        for (let i = this.loops.length - 1; i >= 0; i--) {
          const l = this.loops[i];
          if (want !== undefined ? l.label === want : isBreak || l.continueLabel) {
            const to = isBreak ? l.breakLabel : l.continueLabel;
            if (to) {
              this.emit(`j ${to}`);
              return;
            }
          }
        }
        this.fc.report(s, `'${isBreak ? "break" : "continue"}' outside ${want ? `a statement labelled '${want}'` : "a loop"}`);
        return;
      }
      case "ReturnStatement":
        if (s.argument) this.gen(s.argument, "a0");
        else this.emit("li a0, 0");
        this.emit(`j ${this.retLabel}`);
        return;
      case "SwitchStatement":
        this.genSwitch(s, label);
        return;
      case "FunctionDeclaration":
        this.fc.unsupported(s, "a nested function (closure)");
        return;
      case "TSTypeAliasDeclaration":
      case "TSInterfaceDeclaration":
        return; // types only
      default:
        this.fc.unsupported(s, describe(s.type));
    }
  }

  private genDeclaration(s: t.VariableDeclaration): void {
    for (const d of s.declarations) {
      if (d.id.type !== "Identifier") continue;
      const arr = this.frameArrays.get(d.id);
      if (arr) {
        this.zeroFrameBytes(arr.stackOffset!, (arr.length * arr.elem.size + 3) & ~3);
        this.scopes[this.scopes.length - 1].set(d.id.name, arr);
        continue;
      }
      const local = this.localByDecl.get(d.id);
      if (!local) continue;
      const scope = this.scopes[this.scopes.length - 1];
      if (local.constValue !== undefined) {
        scope.set(d.id.name, { kind: "local", local });
        continue;
      }
      if (d.init && unwrap(d.init).type === "NewExpression") this.fc.unsupported(d.init, "a typed array outside a global declaration");
      // The initializer sees the outer binding (TDZ aside), so bind afterwards.
      const home = local.home!;
      if (home.kind === "reg") {
        if (d.init) this.gen(d.init, home.reg);
        else this.emit(`li ${home.reg}, 0`, "undefined | 0");
      } else {
        const v = d.init ? this.gen(d.init) : ZERO;
        this.emit(`sw ${v.reg}, ${this.slotOffset(home)}(sp)`);
        this.free(v);
      }
      scope.set(d.id.name, { kind: "local", local });
    }
  }

  /** A local typed array is new, so zero, each time its declaration runs (as in JavaScript). */
  private zeroFrameBytes(offset: number, bytes: number): void {
    if (bytes <= 32) {
      for (let off = offset; off < offset + bytes; off += 4) this.emit(`sw zero, ${off}(sp)`);
      return;
    }
    const p = this.alloc();
    const end = this.alloc();
    const loop = this.fc.label("zero");
    this.emit(`addi ${p}, sp, ${offset}`);
    this.emit(`addi ${end}, ${p}, ${bytes}`);
    this.emitLabel(loop);
    this.emit(`sw zero, 0(${p})`);
    this.emit(`addi ${p}, ${p}, 4`);
    this.emit(`bne ${p}, ${end}, ${loop}`);
    this.pool.release(end);
    this.pool.release(p);
  }

  private genSwitch(s: t.SwitchStatement, label?: string): void {
    const brk = this.fc.label("break");
    const caseLabels = s.cases.map(() => this.fc.label("case"));
    const values: (number | undefined)[] = s.cases.map((c) => {
      if (!c.test) return undefined;
      return requiredConst(c.test, this.constLookup, (node, message) => this.fc.report(node, message), "case labels must be constant integers in guest code");
    });
    const defaultIndex = s.cases.findIndex((c) => !c.test);
    const otherwise = defaultIndex >= 0 ? caseLabels[defaultIndex] : brk;
    const d = this.gen(s.discriminant);
    const known = values.map((v, i) => ({ v, i })).filter((x): x is { v: number; i: number } => x.v !== undefined);
    const distinct = new Map<number, number>();
    for (const k of known) if (!distinct.has(k.v)) distinct.set(k.v, k.i);
    // A loop, not Math.min(...keys): a switch may have more cases than a call has arguments.
    let min = Infinity;
    let max = -Infinity;
    for (const v of distinct.keys()) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const range = max - min + 1;
    if (distinct.size >= 5 && range <= 3 * distinct.size && range <= 1024) {
      // Jump table in .rodata.
      const table = this.fc.label("jumptable");
      const idx = this.alloc();
      this.emit(min === 0 ? `mv ${idx}, ${d.reg}` : fitsImm(-min) ? `addi ${idx}, ${d.reg}, ${-min}` : `li ${idx}, ${min}`);
      if (min !== 0 && !fitsImm(-min)) this.emit(`sub ${idx}, ${d.reg}, ${idx}`);
      this.free(d);
      const tmp = this.alloc();
      this.emit(`sltiu ${tmp}, ${idx}, ${range}`);
      this.emit(`beqz ${tmp}, ${otherwise}`);
      this.emit(`slli ${idx}, ${idx}, 2`);
      this.emit(`la ${tmp}, ${table}`);
      this.emit(`add ${idx}, ${idx}, ${tmp}`);
      this.emit(`lw ${idx}, 0(${idx})`);
      this.emit(`jr ${idx}`);
      this.pool.release(tmp);
      this.pool.release(idx);
      const entries: string[] = [];
      for (let v = min; v <= max; v++) entries.push(distinct.has(v) ? caseLabels[distinct.get(v)!] : otherwise);
      this.fc.rodata.push(`    .align 4`, `${table}:`, ...entries.map((e) => `    .word ${e}`));
    } else {
      for (const [v, i] of distinct) {
        if (v === 0) this.emit(`beqz ${d.reg}, ${caseLabels[i]}`);
        else {
          const c = this.alloc();
          this.emit(`li ${c}, ${v}`);
          this.emit(`beq ${d.reg}, ${c}, ${caseLabels[i]}`);
          this.pool.release(c);
        }
      }
      this.free(d);
      this.emit(`j ${otherwise}`);
    }
    this.loops.push({ label, breakLabel: brk });
    this.scopes.push(new Map());
    s.cases.forEach((c, i) => {
      this.emitLabel(caseLabels[i]);
      for (const x of c.consequent) this.genStatement(x);
    });
    this.scopes.pop();
    this.loops.pop();
    this.emitLabel(brk);
  }
}
