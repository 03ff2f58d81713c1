// The second layer of codegen.ts's FunctionCompiler (codegen.ts has the whole
// chain): assignment and calls. FunctionCompilerAccess extends
// FunctionCompilerBase (codegen-base.ts) and is extended by
// FunctionCompilerExpressions (codegen-expressions.ts), whose gen, binop and
// unsignedDivision it calls through the abstract declarations at its end.
//
// Consumes expressions that are assignments, updates or calls, and their
// operands. Produces:
// - lvalues: where a local, global or typed-array element lives, read and
//   written through one LValue;
// - `=`, compound assignment and `++`/`--`;
// - calls: argument registers, caller-saved temporaries spilled around the
//   call, intrinsics lowered through intrinsics.ts's table, `asm("…")` copied
//   with its source lines, addressOf.

import type * as t from "@babel/types";
import type { ImmRange } from "../../guest-isa/isa-table.js";
import { someNode, unwrap } from "../ast.js";
import { GUEST_CONSTANTS, isIntrinsicName, type EmittedArg, type IntrinsicName } from "../intrinsics.js";
import type { GlobalSymbol } from "./symbols.js";
import { ZERO, fitsImm, FunctionCompilerBase, type Operand, type Held, type LValue } from "./codegen-base.js";

export abstract class FunctionCompilerAccess extends FunctionCompilerBase {
  /** `e` when it names a member a constant namespace (PORT, CR, …) does not have: `PORT.nosuch`. */
  private missingNamespaceMember(e0: t.Expression): { property: t.Node; prop: string; namespace: string } | undefined {
    const e = unwrap(e0);
    if (e.type !== "MemberExpression" || e.computed || e.object.type !== "Identifier" || e.property.type !== "Identifier") return undefined;
    const b = this.lookup(e.object.name);
    if (b?.kind !== "namespace" || Object.hasOwn(b.members, e.property.name)) return undefined;
    return { property: e.property, prop: e.property.name, namespace: b.name };
  }

  // ---- assignment --------------------------------------------------------

  protected lvalue(e0: t.Expression | t.LVal): LValue | undefined {
    const e = unwrap(e0 as t.Expression) as t.Expression | t.LVal;
    if (e.type === "Identifier") {
      const b = this.lookup(e.name);
      if (!b) {
        this.unknownName(e, "name");
        return undefined;
      }
      if (b.kind === "local") {
        if (b.local.constValue !== undefined) {
          this.fc.report(e, `'${e.name}' is a constant`);
          return undefined;
        }
        const home = b.local.home!;
        return home.kind === "reg" ? { kind: "reg", reg: home.reg } : { kind: "slot", offset: this.slotOffset(home) };
      }
      if (b.kind === "scalar") {
        if (b.constant) this.fc.report(e, `'${e.name}' is a constant`);
        return { kind: "global", sym: b.asmName };
      }
      if (b.kind === "const") {
        this.fc.report(e, `'${e.name}' is a constant`);
        return undefined;
      }
      this.fc.report(e, `cannot assign to '${e.name}'`);
      return undefined;
    }
    if (e.type === "MemberExpression") {
      const obj = unwrap(e.object as t.Expression);
      const b = obj.type === "Identifier" ? this.lookup(obj.name) : undefined;
      if (!e.computed) {
        const prop = e.property.type === "Identifier" ? e.property.name : "";
        if (b?.kind === "namespace") {
          this.fc.report(e.property, Object.hasOwn(b.members, prop) ? `'${b.name}.${prop}' is a constant` : notAMember(prop, b.name));
        } else if (obj.type === "Identifier" && !b) {
          this.unknownName(obj, "name"); // silent for a refused name
        } else if (obj.type === "Identifier" && b?.kind === "function" && b.from !== undefined) {
          this.fc.report(obj, notAmongInputs(obj.name, b.from));
        } else {
          this.fc.unsupported(e, propertyAccessConstruct(e));
        }
        return undefined;
      }
      if (b?.kind !== "array") {
        if (obj.type === "Identifier" && !b && this.fc.scope.refused.has(obj.name)) return undefined; // its declaration's error says why
        this.fc.unsupported(e, obj.type === "Identifier" && b?.kind === "local" ? "indexing a local (only global typed arrays can be indexed)" : "indexing anything but a global typed array");
        return undefined;
      }
      return this.elementAddress(b, e.property as t.Expression);
    }
    this.fc.unsupported(e, "assigning to this kind of expression");
    return undefined;
  }

  /** Address of arr[index]: base register + constant offset. */
  private elementAddress(arr: Extract<GlobalSymbol, { kind: "array" }>, index0: t.Expression): LValue {
    const { elem } = arr;
    const promoted = arr.stackOffset !== undefined ? "sp" : this.arrayBases.get(arr.asmName);
    // A local typed array is sp + its offset: its elements are sp-relative.
    const at = arr.stackOffset ?? 0;
    const ci = this.constant(index0);
    if (ci !== undefined && fitsImm(at + ci * elem.size)) {
      if (promoted) return { kind: "elem", base: { reg: promoted, temp: false }, off: at + ci * elem.size, elem };
      const base = this.alloc();
      this.emit(`la ${base}, ${arr.asmName}`);
      return { kind: "elem", base: { reg: base, temp: true }, off: ci * elem.size, elem };
    }
    // arr[i + c] folds c into the offset.
    let index = unwrap(index0);
    let off = 0;
    if (index.type === "BinaryExpression" && (index.operator === "+" || index.operator === "-")) {
      const k = this.constant(index.right);
      if (k !== undefined && fitsImm(k * elem.size)) {
        off = (index.operator === "+" ? k : -k) * elem.size;
        index = index.left as t.Expression;
      }
    }
    const i = this.gen(index);
    this.free(i);
    const addr = this.alloc();
    if (elem.shift) this.emit(`slli ${addr}, ${i.reg}, ${elem.shift}`);
    if (promoted) {
      this.emit(`add ${addr}, ${promoted}, ${elem.shift ? addr : i.reg}`);
      return { kind: "elem", base: { reg: addr, temp: true }, off: at + off, elem };
    }
    const base = this.alloc();
    this.emit(`la ${base}, ${arr.asmName}`);
    this.emit(`add ${addr}, ${base}, ${elem.shift ? addr : i.reg}`);
    this.pool.release(base);
    return { kind: "elem", base: { reg: addr, temp: true }, off, elem };
  }

  /** Reads an lvalue; `release` frees an element address afterwards. */
  protected readLValue(lv: LValue, dest: string | undefined, release: boolean): Operand {
    switch (lv.kind) {
      case "reg":
        return this.into({ reg: lv.reg, temp: false }, dest);
      case "slot": {
        const r = this.target(dest);
        this.emit(`lw ${r}, ${lv.offset}(sp)`);
        return { reg: r, temp: dest === undefined };
      }
      case "global": {
        const r = this.target(dest);
        this.emit(`lui ${r}, %hi(${lv.sym})`);
        this.emit(`lw ${r}, %lo(${lv.sym})(${r})`);
        return { reg: r, temp: dest === undefined };
      }
      case "elem": {
        if (release) this.free(lv.base);
        const r = this.target(dest);
        this.emit(`${lv.elem.load} ${r}, ${lv.off}(${lv.base.reg})`);
        return { reg: r, temp: dest === undefined };
      }
    }
  }

  private writeLValue(lv: LValue, v: Operand): void {
    switch (lv.kind) {
      case "reg":
        if (lv.reg !== v.reg) this.emit(`mv ${lv.reg}, ${v.reg}`);
        return;
      case "slot":
        this.emit(`sw ${v.reg}, ${lv.offset}(sp)`);
        return;
      case "global": {
        const a = this.alloc();
        this.emit(`lui ${a}, %hi(${lv.sym})`);
        this.emit(`sw ${v.reg}, %lo(${lv.sym})(${a})`);
        this.pool.release(a);
        return;
      }
      case "elem":
        this.emit(`${lv.elem.store} ${v.reg}, ${lv.off}(${lv.base.reg})`);
        return;
    }
  }

  protected genAssign(e: t.AssignmentExpression, dest: string | undefined, want: boolean): Operand {
    const lv = this.lvalue(e.left as t.LVal);
    if (!lv) {
      this.free(this.gen(e.right));
      return ZERO;
    }
    const op = e.operator.slice(0, -1);
    // `x /= y` divides as `x / y` does (x is no `>>>` value: y written as one is a refused mix).
    const unsigned = (op === "/" || op === "%") && this.unsignedDivision(e, op, e.left as t.Expression, e.right);
    if (lv.kind === "reg") {
      if (op === "") this.gen(e.right, lv.reg);
      else {
        // `x op= e` reads x before e runs (JavaScript): a copy when e may assign (`x += x++`, `x -= (x = 1)`).
        this.binop(op, this.stabilize({ reg: lv.reg, temp: false }, [e.right]), e.right, lv.reg, unsigned);
      }
      return want ? this.into({ reg: lv.reg, temp: false }, dest) : ZERO;
    }
    const held = lv.kind === "elem" ? this.hold(lv.base) : undefined;
    let v: Operand;
    if (op === "") {
      v = this.gen(e.right);
      if (held) this.reclaimBase(held, lv);
    } else {
      if (held) this.reclaimBase(held, lv);
      const cur = this.readLValue(lv, undefined, false);
      const h2 = lv.kind === "elem" ? this.hold(lv.base) : undefined;
      v = this.binop(op, cur, e.right, undefined, unsigned);
      if (h2) this.reclaimBase(h2, lv);
    }
    this.writeLValue(lv, v);
    if (lv.kind === "elem") this.free(lv.base);
    if (!want) {
      this.free(v);
      return ZERO;
    }
    return this.into(v, dest);
  }

  private reclaimBase(h: Held, lv: LValue): Operand {
    const op = this.reclaim(h);
    if (lv.kind === "elem") lv.base = op;
    return op;
  }

  protected genUpdate(e: t.UpdateExpression, dest: string | undefined, want: boolean): Operand {
    const lv = this.lvalue(e.argument as t.LVal);
    if (!lv) return ZERO;
    const delta = e.operator === "++" ? 1 : -1;
    const post = !e.prefix && want;
    if (lv.kind === "reg") {
      if (post) {
        const r = dest !== undefined && dest !== lv.reg ? dest : this.alloc();
        this.emit(`mv ${r}, ${lv.reg}`);
        this.emit(`addi ${lv.reg}, ${lv.reg}, ${delta}`);
        return dest !== undefined && r === dest ? { reg: r, temp: false } : this.into({ reg: r, temp: true }, dest);
      }
      this.emit(`addi ${lv.reg}, ${lv.reg}, ${delta}`);
      return want ? this.into({ reg: lv.reg, temp: false }, dest) : ZERO;
    }
    const cur = this.readLValue(lv, undefined, false);
    this.emit(`addi ${cur.reg}, ${cur.reg}, ${delta}`);
    this.writeLValue(lv, cur);
    if (post) this.emit(`addi ${cur.reg}, ${cur.reg}, ${-delta}`, "the old value");
    if (lv.kind === "elem") this.free(lv.base);
    if (!want) {
      this.free(cur);
      return ZERO;
    }
    return this.into(cur, dest);
  }

  /**
   * A name with no binding. Not reported when its declaration was refused
   * (that error says why); a name previrt/guest exports says to import it.
   */
  protected unknownName(id: t.Identifier, what: "name" | "function"): void {
    const name = id.name;
    if (this.fc.scope.refused.has(name)) return;
    if (what === "name" && name === "undefined") this.fc.unsupported(id, "`undefined`");
    else if (isIntrinsicName(name) || Object.hasOwn(GUEST_CONSTANTS, name)) this.fc.report(id, `unknown ${what} '${name}' (import it from "previrt/guest")`);
    else this.fc.report(id, `unknown ${what} '${name}'`);
  }

  /** Whether `x.y` is on a name whose declaration was refused (`import * as g`: `g.f()` is not reported again). */
  private refusedBase(e: t.MemberExpression): boolean {
    const obj = unwrap(e.object as t.Expression);
    return obj.type === "Identifier" && !this.lookup(obj.name) && this.fc.scope.refused.has(obj.name);
  }

  // ---- calls -------------------------------------------------------------

  protected genCall(e: t.CallExpression, dest: string | undefined, want: boolean): Operand | undefined {
    const callee = e.callee.type === "V8IntrinsicIdentifier" ? e.callee : unwrap(e.callee);
    if (callee.type === "MemberExpression" && callee.object.type === "Identifier" && callee.object.name === "Math" && !callee.computed && callee.property.type === "Identifier" && !this.lookup("Math")) {
      if (callee.property.name === "imul" && e.arguments.length === 2) {
        const [a, b] = e.arguments as t.Expression[];
        const l = this.stabilize(this.gen(a), [b]);
        return this.binop("*", l, b, dest, false);
      }
      this.fc.unsupported(e, `\`Math.${callee.property.name}\``);
      return ZERO;
    }
    if (callee.type !== "Identifier") {
      if (callee.type !== "MemberExpression") this.fc.unsupported(e, "a call through an expression");
      else if (!this.refusedBase(callee)) this.fc.unsupported(e, methodCallConstruct(callee));
      return ZERO;
    }
    const b = this.lookup(callee.name);
    if (!b) {
      this.unknownName(callee, "function");
      return ZERO;
    }
    if (b.kind === "intrinsic") return this.genIntrinsic(b.name, e, dest, want);
    if (b.kind !== "function") {
      this.fc.unsupported(callee, "a call through a variable (closure)");
      return ZERO;
    }
    for (const a of e.arguments) if (a.type === "SpreadElement" || a.type === "ArgumentPlaceholder") this.fc.unsupported(a, "spread syntax");
    const args = e.arguments.filter((a): a is t.Expression => a.type !== "SpreadElement" && a.type !== "ArgumentPlaceholder");
    if (b.params >= 0 && args.length !== b.params) {
      this.fc.report(e, `'${callee.name}' expects ${b.params} argument${b.params === 1 ? "" : "s"}, got ${args.length}`);
    }
    if (args.length > 4) {
      this.fc.unsupported(args[4], "a call with more than 4 arguments");
      return ZERO;
    }
    return this.callSequence(args.map((a) => ({ expr: a, reg: `a${args.indexOf(a)}` })), [`call ${b.asmName}`], dest, want);
  }

  /**
   * The caller's side of a call: save live temporaries, evaluate arguments
   * into their registers, run `lines`, take the result from a0, restore.
   */
  private callSequence(args: { expr: t.Expression; reg: string }[], lines: string[], dest: string | undefined, want: boolean): Operand | undefined {
    const live = this.pool.live().filter((r) => r !== dest);
    const saved: { reg: string; off: number }[] = [];
    for (const r of live) {
      const off = this.spillSlot();
      this.emit(`sw ${r}, ${off}(sp)`, "save across call");
      saved.push({ reg: r, off });
      this.pool.release(r);
    }
    const simple = args.every((a) => !hasCallOrAssignment(a.expr));
    if (simple) {
      for (const a of args) this.gen(a.expr, a.reg);
    } else {
      const held: Held[] = [];
      for (const a of args) held.push(this.hold(this.stabilize(this.gen(a.expr), args.map((x) => x.expr))));
      const ops: Operand[] = [];
      for (let i = held.length - 1; i >= 0; i--) ops[i] = this.reclaim(held[i]);
      args.forEach((a, i) => {
        if (ops[i].reg !== a.reg) this.emit(`mv ${a.reg}, ${ops[i].reg}`);
        this.free(ops[i]);
      });
    }
    for (const l of lines) this.emit(l);
    for (const s of saved) this.pool.take(s.reg);
    let result: Operand | undefined;
    if (want) {
      const r = this.target(dest);
      if (r !== "a0") this.emit(`mv ${r}, a0`);
      result = { reg: r, temp: dest === undefined };
    }
    for (let i = saved.length - 1; i >= 0; i--) {
      this.emit(`lw ${saved[i].reg}, ${saved[i].off}(sp)`, "restore");
      this.spillDepth--;
    }
    return result;
  }

  private genIntrinsic(name: IntrinsicName, e: t.CallExpression, dest: string | undefined, want: boolean): Operand | undefined {
    const spec = this.fc.intrinsics[name];
    const args = e.arguments as t.Expression[];
    const max = spec.args.length;
    if (args.length < spec.minArgs || args.length > max) {
      const expect = spec.minArgs === max ? `${max}` : `${spec.minArgs} to ${max}`;
      this.fc.report(e, `'${name}' expects ${expect} argument${max === 1 ? "" : "s"}, got ${args.length}`);
      return ZERO;
    }
    if (name === "asm") return this.genAsm(e, args[0]);
    if (name === "addressOf") return this.genAddressOf(args[0], dest);
    const label = () => this.fc.label(name);
    // Constant arguments first: they are checked, not evaluated.
    const consts: (number | undefined)[] = args.map((a, i) => {
      const kind = spec.args[i];
      if (kind.kind !== "const") return undefined;
      const v = this.constant(a);
      if (v === undefined) {
        // `PORT.nosuch` is not constant because PORT has no such member: say that.
        const miss = this.missingNamespaceMember(a);
        if (miss) this.fc.report(miss.property, notAMember(miss.prop, miss.namespace));
        else this.fc.report(a, `the ${kind.what} of '${name}' must be a compile-time constant`);
      }
      else if (v < kind.range.min || v > kind.range.max) this.fc.report(a, `the ${kind.what} of '${name}' must be between ${kind.range.min} and ${kind.range.max}, got ${v}`);
      return v ?? kind.range.min;
    });
    if (spec.argRegs) {
      const regs = [...spec.argRegs];
      // A function argument (startCpu's fn) is not evaluated: its address goes into its register after the others.
      const symbolLines: string[] = [];
      args.forEach((a, i) => {
        if (spec.args[i].kind !== "symbol") return;
        const fn = this.functionArgument(name, a);
        if (fn) symbolLines.push(`la ${regs[i]}, ${fn}`);
      });
      const valueArgs = args.map((a, i) => ({ a, i })).filter(({ i }) => spec.args[i].kind !== "const" && spec.args[i].kind !== "symbol");
      const lines = [...symbolLines, ...spec.emit(args.map((_, i) => (consts[i] !== undefined ? { value: consts[i]! } : { reg: "" })), "a0", label)];
      return this.callSequence(valueArgs.map(({ a }, k) => ({ expr: a, reg: regs[k] })), lines, dest, want);
    }
    const emitted: EmittedArg[] = [];
    const held: (Held | undefined)[] = [];
    args.forEach((a, i) => {
      const kind = spec.args[i];
      if (kind.kind === "const") {
        emitted.push({ value: consts[i]! });
        held.push(undefined);
      } else if (kind.kind === "address") {
        const { op, off } = this.genAddress(a, kind.offset);
        emitted.push({ reg: op.reg, off });
        held.push(this.hold(this.stabilize(op, args.slice(i + 1))));
      } else {
        const op = this.gen(a);
        emitted.push({ reg: op.reg });
        held.push(this.hold(this.stabilize(op, args.slice(i + 1))));
      }
    });
    const ops: (Operand | undefined)[] = [];
    for (let i = held.length - 1; i >= 0; i--) ops[i] = held[i] ? this.reclaim(held[i]!) : undefined;
    ops.forEach((op, i) => {
      if (op) (emitted[i] as { reg: string }).reg = op.reg;
    });
    // A scratch register is taken while the arguments' registers are still held, so it is none of them.
    const scratch = spec.scratch ? this.alloc() : undefined;
    for (const op of ops) if (op) this.free(op);
    const rd = spec.returns ? this.target(dest) : (scratch ?? "zero");
    for (const l of spec.emit(emitted, rd, label)) {
      if (l.endsWith(":")) this.emitLabel(l.slice(0, -1));
      else this.emit(l);
    }
    if (scratch) this.pool.release(scratch);
    if (!spec.returns) return want ? ZERO : undefined;
    const result = { reg: rd, temp: dest === undefined };
    if (!want) {
      this.free(result);
      return undefined;
    }
    return result;
  }

  /** An address operand: `base + constant` folds into the offset when it fits `range` (default: 18 bits signed). */
  private genAddress(a0: t.Expression, range?: ImmRange): { op: Operand; off: number } {
    const fits = range ? (v: number) => v >= range.min && v <= range.max : fitsImm;
    const a = unwrap(a0);
    if (a.type === "BinaryExpression" && (a.operator === "+" || a.operator === "-")) {
      const k = this.constant(a.right);
      if (k !== undefined && fits(a.operator === "+" ? k : -k)) return { op: this.gen(a.left as t.Expression), off: a.operator === "+" ? k : -k };
    }
    const c = this.constant(a);
    if (c !== undefined && fits(c)) return { op: ZERO, off: c };
    return { op: this.gen(a), off: 0 };
  }

  /** The assembly name of a function passed to an intrinsic (startCpu's fn): one with no parameters, named directly. */
  private functionArgument(name: string, arg: t.Expression): string | undefined {
    const a = unwrap(arg);
    const b = a.type === "Identifier" ? this.lookup(a.name) : undefined;
    if (!b || b.kind !== "function") {
      this.fc.report(arg, `the second argument of '${name}' must be the name of a function`);
      return undefined;
    }
    if (b.params > 0) {
      this.fc.report(arg, `the function passed to '${name}' must take no parameters (it starts on a fresh CPU), not ${b.params}`);
      return undefined;
    }
    return b.asmName;
  }

  private genAsm(e: t.CallExpression, arg: t.Expression): undefined {
    const a = unwrap(arg);
    const text = a.type === "StringLiteral" ? a.value : a.type === "TemplateLiteral" && a.expressions.length === 0 ? a.quasis.map((q) => q.value.cooked ?? "").join("") : undefined;
    if (text === undefined) {
      this.fc.report(arg, "the argument of 'asm' must be a string literal");
      return undefined;
    }
    if (/\bk0\b|\br13\b/.test(text)) this.fc.report(e, "asm() must not use k0 (reserved for the soft layer)");
    const lines = text.split("\n");
    const at = this.asmSourceLines(a, lines.length);
    const statement = this.src;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i].trim();
      if (!l) continue;
      const label = /^[\w.$]+:$/.test(l);
      // Each line at its own place in the string: the assembler's errors in it point there.
      if (at) this.src = { line: at[i].line, col: at[i].col, asmCol: label ? 1 : 5 };
      if (label) this.emitLabel(l.slice(0, -1));
      else this.emit(this.fc.asmLine(l));
    }
    this.src = statement;
    return undefined;
  }

  /**
   * Where each of the `count` lines of an asm() string starts in the TypeScript
   * (its first non-blank character), or undefined when the source lines do not
   * match the string's lines one to one (a `\n` escape).
   */
  private asmSourceLines(a: t.Node, count: number): { line: number; col: number }[] | undefined {
    const start = a.loc?.start, end = a.loc?.end;
    if (!start || !end || end.line - start.line + 1 !== count) return undefined;
    const source = this.fc.scope.file.lines;
    const out: { line: number; col: number }[] = [];
    for (let i = 0; i < count; i++) {
      const line = start.line + i;
      const from = i === 0 ? start.column + 1 : 0; // past the opening quote or backtick
      const raw = source[line - 1] ?? "";
      const lead = /^\s*/.exec(raw.slice(from))![0].length;
      out.push({ line, col: from + lead + 1 });
    }
    return out;
  }

  private genAddressOf(arg: t.Expression, dest?: string): Operand {
    const a = unwrap(arg);
    const r = () => this.target(dest);
    if (a.type === "StringLiteral" || (a.type === "TemplateLiteral" && a.expressions.length === 0)) {
      return this.gen(a, dest);
    }
    if (a.type === "Identifier") {
      const b = this.lookup(a.name);
      // A string parameter or string global holds the string's address already
      // (JavaScript's addressOf takes the string, not the variable).
      if (b?.kind === "local" || (b?.kind === "scalar" && b.string)) return this.gen(a, dest);
      if (b?.kind === "array" && b.stackOffset !== undefined) {
        const reg = r();
        this.emit(`addi ${reg}, sp, ${b.stackOffset}`, "a local typed array, in the frame");
        return { reg, temp: dest === undefined };
      }
      if (b && (b.kind === "function" || b.kind === "array" || b.kind === "scalar")) {
        const reg = r();
        this.emit(`la ${reg}, ${b.asmName}`);
        return { reg, temp: dest === undefined };
      }
    }
    this.fc.report(arg, "the argument of 'addressOf' must be a function, a global or a string literal");
    return ZERO;
  }

  protected abstract gen(e0: t.Expression, dest?: string): Operand;
  protected abstract unsignedDivision(node: t.Node, operator: string, left: t.Expression, right: t.Expression): boolean;
  protected abstract binop(op: string, l: Operand, right: t.Expression, dest: string | undefined, unsigned: boolean): Operand;
}

/** "a method call (`s.charCodeAt`)"; `console.log` with where output goes instead. */
function methodCallConstruct(callee: t.MemberExpression): string {
  const obj = unwrap(callee.object as t.Expression);
  const prop = !callee.computed && callee.property.type === "Identifier" ? callee.property.name : undefined;
  if (obj.type !== "Identifier" || prop === undefined) return "a method call";
  if (obj.name === "console") return `\`console.${prop}\` (print with outPort(PORT.console, byte))`;
  return `a method call (\`${obj.name}.${prop}\`)`;
}

/** "'nosuch' is not a member of PORT". */
function notAMember(prop: string, namespace: string): string {
  return `'${prop}' is not a member of ${namespace}`;
}

/**
 * A name imported from a module that is not among the inputs is taken for a
 * function linked later (symbols.ts); used any other way, say so.
 */
export function notAmongInputs(name: string, from: string): string {
  return `'${name}' comes from '${from}', which is not among the inputs: only a call to it can be linked later (compile the two files together)`;
}

/** "property access (`o.y`)". */
export function propertyAccessConstruct(e: t.MemberExpression): string {
  const obj = unwrap(e.object as t.Expression);
  const prop = !e.computed && e.property.type === "Identifier" ? e.property.name : undefined;
  return obj.type === "Identifier" && prop !== undefined ? `property access (\`${obj.name}.${prop}\`)` : "property access";
}

function hasCallOrAssignment(n: t.Node): boolean {
  return someNode(n, (x) => x.type === "AssignmentExpression" || x.type === "UpdateExpression" || x.type === "CallExpression");
}
