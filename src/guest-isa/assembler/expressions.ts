// Expression evaluation (ast.ts Expr → 32-bit value), in two flavours:
//
//  - constValue(): pass 1, for what must be known before layout (`li`'s
//    length, `.space`, `.align`, `.equ` of constants): numbers and absolute
//    symbols already defined above; undefined for anything else.
//  - evalExpr(): pass 2, after layout; every symbol has a value. Throws
//    AsmError (undefined symbol, division by zero, circular `.equ`), which the
//    caller turns into a diagnostic at that node.
//
// Arithmetic is 32-bit and wraps (values are int32); `/` and `%` truncate
// like C; `>>` is arithmetic; shifts by 32 or more give 0 (`<<`) or the sign
// (`>>`). %hi(x) = ((x + 0x800) >>> 12) & 0xFFFFF and %lo(x) = the
// sign-extended low 12 bits, so (%hi(x) << 12) + %lo(x) == x.

import type { BinaryOp, Expr, Loc } from "./ast.js";
import { AsmError, SymKind, type FileUnit, type Sym } from "./units.js";

export function hi20(x: number): number {
  return ((x + 0x800) >>> 12) & 0xfffff;
}

export function lo12(x: number): number {
  return (x << 20) >> 20;
}

function binary(op: BinaryOp, a: number, b: number, loc: Loc | undefined): number | undefined {
  switch (op) {
    case "+":
      return (a + b) | 0;
    case "-":
      return (a - b) | 0;
    case "*":
      return Math.imul(a, b);
    case "/":
      if (b === 0) {
        if (loc) throw new AsmError(loc, "division by zero in expression");
        return undefined;
      }
      return (a / b) | 0;
    case "%":
      if (b === 0) {
        if (loc) throw new AsmError(loc, "division by zero in expression");
        return undefined;
      }
      return a % b | 0;
    case "<<":
      return b >>> 0 >= 32 ? 0 : a << b;
    case ">>":
      return b >>> 0 >= 32 ? a >> 31 : a >> b;
    case "&":
      return a & b;
    case "^":
      return a ^ b;
    case "|":
      return a | b;
  }
}

/**
 * Folds an expression to its int32 value when every symbol it names has a
 * value (`value(name)`), `.` is known (`here`) and nothing divides by zero;
 * undefined otherwise. The one definition of expression arithmetic outside
 * the assembler's pass 2: pass 1, the annotator and the rewriter's templates
 * all fold with it.
 */
export function foldExpr(e: Expr, value: (name: string) => number | undefined, here?: number): number | undefined {
  switch (e.kind) {
    case "num":
      return e.value | 0;
    case "sym": {
      const v = value(e.name);
      return v === undefined ? undefined : v | 0;
    }
    case "here":
      return here;
    case "unary": {
      const v = foldExpr(e.arg, value, here);
      if (v === undefined) return undefined;
      return e.op === "-" ? -v | 0 : e.op === "~" ? ~v : v;
    }
    case "binary": {
      const a = foldExpr(e.left, value, here);
      if (a === undefined) return undefined;
      const b = foldExpr(e.right, value, here);
      if (b === undefined) return undefined;
      return binary(e.op, a, b, undefined);
    }
    case "reloc": {
      const v = foldExpr(e.arg, value, here);
      if (v === undefined) return undefined;
      return e.fn === "hi" ? hi20(v) : lo12(v);
    }
  }
}

/** Prints an expression back as assembly, fully parenthesised (so it parses back to the same tree). */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case "num":
      return String(e.value);
    case "sym":
      return e.name;
    case "here":
      return ".";
    case "unary":
      return `${e.op}(${formatExpr(e.arg)})`;
    case "binary":
      return `(${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)})`;
    case "reloc":
      return `%${e.fn}(${formatExpr(e.arg)})`;
  }
}

/** Whether some node of an expression (the expression itself, or one inside it) satisfies `test`. */
export function someNode(e: Expr, test: (node: Expr) => boolean): boolean {
  if (test(e)) return true;
  switch (e.kind) {
    case "unary":
    case "reloc":
      return someNode(e.arg, test);
    case "binary":
      return someNode(e.left, test) || someNode(e.right, test);
    default:
      return false;
  }
}

const isHere = (e: Expr): boolean => e.kind === "here";

/** Whether an expression uses `.` (its value then depends on where it is written). */
export function usesHere(e: Expr): boolean {
  return someNode(e, isHere);
}

/** Pass 1: the value if it is computable now (numbers, absolute symbols in `lookup`), else undefined. */
export function constValue(e: Expr, lookup: (name: string) => Sym | undefined): number | undefined {
  // The common leaves without a closure (pass 1 asks this of most operands).
  if (e.kind === "num") return e.value | 0;
  if (e.kind === "sym") {
    const s = lookup(e.name);
    return s && s.kind === SymKind.Abs ? s.value | 0 : undefined;
  }
  return foldExpr(e, (name) => {
    const s = lookup(name);
    return s && s.kind === SymKind.Abs ? s.value : undefined;
  });
}

/** What pass 2 needs to evaluate: symbol lookup from one file's point of view, and `.`. */
export interface EvalContext {
  unit: FileUnit;
  /** The address of the current statement. */
  here: number;
  /** Finds a symbol as seen from `unit` (its own, then other files' globals, then defines). */
  lookup(unit: FileUnit, name: string): Sym | undefined;
  /** Explains a miss (e.g. "defined in b.s but not .global"), for the error message. */
  explainUndefined(unit: FileUnit, name: string): string;
}

/** Pass 2: the int32 value of `e`. Throws AsmError. */
export function evalExpr(e: Expr, ctx: EvalContext): number {
  switch (e.kind) {
    case "num":
      return e.value | 0;
    case "sym":
      return e.slot === undefined ? symbolValue(e.name, e.loc, ctx) : symbolTargetValue(e.slot, ctx, e.loc.file, e.loc.line, e.loc.col);
    case "here":
      return ctx.here;
    case "unary": {
      const v = evalExpr(e.arg, ctx);
      return e.op === "-" ? -v | 0 : e.op === "~" ? ~v : v;
    }
    case "binary":
      return binary(e.op, evalExpr(e.left, ctx), evalExpr(e.right, ctx), e.loc)!;
    case "reloc": {
      const v = evalExpr(e.arg, ctx);
      return e.fn === "hi" ? hi20(v) : lo12(v);
    }
  }
}

/**
 * Pass 2: the value of a fixup's symbol (units.ts Fixups) — a Sym pass 1
 * found in the file, or a name — exactly as evalExpr gives it for a `sym`
 * node at file:line:col; the node is built only when there is no value yet
 * (a deferred `.equ`, an error).
 */
export function symbolTargetValue(target: Sym | string | number, ctx: EvalContext, file: string, line: number, col: number): number {
  if (typeof target === "number") {
    const v = ctx.unit.slots?.value(target);
    if (v === undefined) throw new AsmError({ file, line, col, offset: 0 }, `label slot ${target} is not defined (streamed statements)`);
    return v;
  }
  const s = typeof target === "string" ? ctx.lookup(ctx.unit, target) : target;
  if (s !== undefined && s.resolved) return s.value;
  const name = typeof target === "string" ? target : target.name;
  return symbolValue(name, { file, line, col, offset: 0 }, ctx);
}

function symbolValue(name: string, loc: Loc, ctx: EvalContext): number {
  const s = ctx.lookup(ctx.unit, name);
  if (!s) throw new AsmError(loc, `undefined symbol '${name}'${ctx.explainUndefined(ctx.unit, name)}`);
  if (s.resolved) return s.value;
  if (s.kind !== SymKind.Deferred || !s.expr || !s.unit) throw new AsmError(loc, `symbol '${name}' has no value yet`);
  if (s.resolving) throw new AsmError(loc, `circular definition of '${name}'`);
  resolveDeferred(s, ctx);
  return s.value;
}

/**
 * Evaluates a deferred `.equ` and every deferred `.equ` it depends on, with
 * an explicit stack rather than recursion: a chain of thousands of `.equ`s
 * each naming the next must not overflow the host's stack. Each symbol is
 * evaluated in its own file with its own `.`, once the symbols it names have
 * values; a symbol met again while on the stack is a circular definition,
 * reported where it is named (as before).
 */
function resolveDeferred(root: Sym, ctx: EvalContext): void {
  const stack: Sym[] = [root];
  root.resolving = true;
  const saved = { unit: ctx.unit, here: ctx.here };
  try {
    while (stack.length > 0) {
      const s = stack[stack.length - 1];
      const pending = firstPendingSymbol(s.expr!, s.unit!, ctx);
      if (pending) {
        if (pending.sym.resolving) throw new AsmError(pending.loc, `circular definition of '${pending.sym.name}'`);
        pending.sym.resolving = true;
        stack.push(pending.sym);
        continue;
      }
      ctx.unit = s.unit!;
      ctx.here = (s.contrib ? s.contrib.base : 0) + s.offset;
      s.value = evalExpr(s.expr!, ctx);
      s.resolved = true;
      s.resolving = false;
      stack.pop();
    }
  } finally {
    for (const s of stack) s.resolving = false;
    ctx.unit = saved.unit;
    ctx.here = saved.here;
  }
}

/** The first symbol `e` names (seen from `unit`) that is a deferred `.equ` without a value yet. */
function firstPendingSymbol(e: Expr, unit: FileUnit, ctx: EvalContext): { sym: Sym; loc: Loc } | undefined {
  switch (e.kind) {
    case "sym": {
      const s = ctx.lookup(unit, e.name);
      return s && !s.resolved && s.kind === SymKind.Deferred && s.expr && s.unit ? { sym: s, loc: e.loc } : undefined;
    }
    case "unary":
    case "reloc":
      return firstPendingSymbol(e.arg, unit, ctx);
    case "binary":
      return firstPendingSymbol(e.left, unit, ctx) ?? firstPendingSymbol(e.right, unit, ctx);
    default:
      return undefined;
  }
}
