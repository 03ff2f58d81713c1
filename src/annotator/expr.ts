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
export function evalConst(e: Expr, equs: EquTable, seen: Set<string> = new Set()): number | undefined {
  return foldExpr(e, (name) => {
    const def = equs.get(name);
    if (!def || seen.has(name)) return undefined;
    seen.add(name);
    const v = evalConst(def, equs, seen);
    seen.delete(name);
    return v;
  });
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
