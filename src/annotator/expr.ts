// Constant folding over assembly expressions (guest-isa/assembler/ast.ts), for
// the annotator: it needs the values the rewriter will find in a site's word
// (port and control-register numbers, memory offsets) and the `label ± k`
// shape of branch targets, before the assembler has laid anything out.
//
// Consumes: Expr nodes and the file's `.equ` definitions. Produces: numbers
// where the value is known from the text alone, `{sym, k}` for `label ± k`,
// and a printed form of any expression (for values only the assembler knows,
// which the table then carries as an expression for the assembler to fold).

import type { Expr } from "../guest-isa/assembler/ast.js";
import { foldExpr, formatExpr, usesHere } from "../guest-isa/assembler/expressions.js";

export type EquTable = ReadonlyMap<string, Expr>;

/** A linear form `sym + k` (sym undefined for a plain constant). */
export interface Linear {
  sym?: string;
  k: number;
}

/** Folds an expression to a 32-bit constant (signed view), or undefined when it needs a label's address. */
export function evalConst(e: Expr, equs: EquTable): number | undefined {
  return foldExpr(e, (name) => equValue(name, equs));
}

/** Per `.equ` table, the value of each name evaluated so far (undefined: needs an address, or circular). */
const equValues = new WeakMap<EquTable, Map<string, number | undefined>>();

/**
 * The value of `.equ` `name`, evaluated once per table and with an explicit
 * stack: a chain of thousands of `.equ`s each naming the next must neither
 * overflow the host's stack nor (when each names the one before twice) take
 * exponential time. A name met again while it is being evaluated is circular:
 * undefined, as is everything that depends on it.
 */
function equValue(name: string, equs: EquTable): number | undefined {
  let values = equValues.get(equs);
  if (!values) equValues.set(equs, (values = new Map()));
  if (values.has(name) || !equs.has(name)) return values.get(name);
  const known = values;
  const stack = [name];
  const onStack = new Set(stack);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const def = equs.get(top)!;
    const dep = firstUnevaluated(def, equs, known, onStack);
    if (dep !== undefined) {
      stack.push(dep);
      onStack.add(dep);
      continue;
    }
    known.set(top, foldExpr(def, (n) => known.get(n)));
    stack.pop();
    onStack.delete(top);
  }
  return known.get(name);
}

/** The first `.equ` name in `e` with no value yet that is not already being evaluated. */
function firstUnevaluated(e: Expr, equs: EquTable, known: ReadonlyMap<string, number | undefined>, onStack: ReadonlySet<string>): string | undefined {
  switch (e.kind) {
    case "sym":
      return equs.has(e.name) && !known.has(e.name) && !onStack.has(e.name) ? e.name : undefined;
    case "unary":
    case "reloc":
      return firstUnevaluated(e.arg, equs, known, onStack);
    case "binary":
      return firstUnevaluated(e.left, equs, known, onStack) ?? firstUnevaluated(e.right, equs, known, onStack);
    default:
      return undefined;
  }
}

/** `label ± constant` (or a constant): the shape a branch target or `.word` address takes. */
export function evalLinear(e: Expr, equs: EquTable): Linear | undefined {
  const c = evalConst(e, equs);
  if (c !== undefined) return { k: c };
  switch (e.kind) {
    case "sym":
      return { sym: e.name, k: 0 };
    case "unary":
      if (e.op !== "+") return undefined;
      return evalLinear(e.arg, equs);
    case "binary": {
      if (e.op !== "+" && e.op !== "-") return undefined;
      const a = evalLinear(e.left, equs);
      const b = evalLinear(e.right, equs);
      if (!a || !b) return undefined;
      if (e.op === "-") return b.sym ? undefined : { sym: a.sym, k: (a.k - b.k) | 0 };
      if (a.sym && b.sym) return undefined;
      return { sym: a.sym ?? b.sym, k: (a.k + b.k) | 0 };
    }
    default:
      return undefined;
  }
}

/** Prints an expression back as assembly, fully parenthesised; undefined if it uses `.` (whose value depends on where it is written). */
export function printExpr(e: Expr): string | undefined {
  return usesHere(e) ? undefined : formatExpr(e);
}
