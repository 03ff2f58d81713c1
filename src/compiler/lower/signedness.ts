// The dialect's unsigned rule (docs/guest-language.md, "Unsigned"): which
// comparisons, `/` and `%` take the unsigned instruction (sltu, bltu, divu,
// remu), and which mixes of unsigned and signed operands are refused. The
// rule reads the syntax: an operand written as a `>>>` expression is
// unsigned; a constant operand counts with its value as JavaScript reads it
// (the literal 0x80000000 is 2147483648, not its int32 pattern).
//
// Consumes an expression tree and a constant evaluator (int32 values, the
// folder's own: symbols.ts evalConst); produces a Signedness. Both places
// that must agree use it: code generation (codegen-expressions.ts, which
// reports the refusals) and the constant folder (symbols.ts, which folds a
// constant expression to what that code computes, and refuses what it
// refuses).

import type * as t from "@babel/types";
import { unwrap } from "../ast.js";

/** An expression's int32 value when it is a constant, else undefined. */
export type ConstantOf = (e: t.Expression) => number | undefined;

export const COMPARISONS: ReadonlySet<string> = new Set(["<", ">", "<=", ">=", "==", "===", "!=", "!=="]);

/** A construct the dialect refuses, with the error to report at `node`. */
export interface Refusal {
  node: t.Node;
  message: string;
}

export interface Signedness {
  /** Whether the unsigned instruction computes it. */
  unsigned: boolean;
  /** Empty unless the operands' signedness is refused. */
  refusals: readonly Refusal[];
}

const SIGNED: Signedness = { unsigned: false, refusals: [] };
const UNSIGNED: Signedness = { unsigned: true, refusals: [] };

const MIXED_COMPARISON = "comparing an unsigned (>>> 0) value with a signed one is not supported in guest code; write >>> 0 on both sides";
const OUTSIDE_INT32 = "this constant is outside the int32 range, so a signed comparison would differ from JavaScript; compare (x >>> 0) instead";
const mixedDivision = (operator: string) => `mixing an unsigned (>>> 0) and a signed operand in '${operator}' is not supported in guest code; write >>> 0 on both sides`;

/** Whether an operand is written as an unsigned (`>>>`) value: `x >>> 0`, `x >>> n` (not `x >>> 3`, non-negative as int32 too). */
function isUnsigned(e0: t.Expression, constant: ConstantOf): boolean {
  const e = unwrap(e0);
  if (e.type !== "BinaryExpression" || e.operator !== ">>>") return false;
  const c = constant(e.right);
  return c === undefined || (c & 31) === 0;
}

/** A constant operand's value as JavaScript reads it: a literal its own (0xFFFFFFFF is 4294967295), a `>>>` expression unsigned, any other its int32 value; undefined when not constant. */
function jsValue(e0: t.Expression, constant: ConstantOf): number | undefined {
  const v = constant(e0);
  if (v === undefined) return undefined;
  const e = unwrap(e0);
  if (e.type === "NumericLiteral") return e.value;
  return e.type === "BinaryExpression" && e.operator === ">>>" ? v >>> 0 : v;
}

/** Both operands unsigned, or one with a non-negative constant: unsigned; neither: signed; else a mix the dialect refuses. */
function operands(left: t.Expression, right: t.Expression, constant: ConstantOf): "unsigned" | "signed" | "mixed" {
  const lu = isUnsigned(left, constant);
  const ru = isUnsigned(right, constant);
  if (lu === ru) return lu ? "unsigned" : "signed";
  const other = jsValue(lu ? right : left, constant);
  return other !== undefined && other >= 0 ? "unsigned" : "mixed";
}

/** A comparison `e`: a signed one refuses a constant above 2^31 - 1 (compared as its int32 pattern, it would differ from JavaScript). */
export function comparisonSignedness(e: t.BinaryExpression, constant: ConstantOf): Signedness {
  const left = e.left as t.Expression;
  const kind = operands(left, e.right, constant);
  if (kind === "unsigned") return UNSIGNED;
  if (kind === "mixed") return { unsigned: false, refusals: [{ node: e, message: MIXED_COMPARISON }] };
  const refusals = [left, e.right].filter((side) => (jsValue(side, constant) ?? 0) > 0x7fffffff).map((side) => ({ node: side, message: OUTSIDE_INT32 }));
  return refusals.length ? { unsigned: false, refusals } : SIGNED;
}

/** `left / right` or `left % right` (`operator`), also as `left /= right`; a refused mix is reported at `node`. */
export function divisionSignedness(node: t.Node, operator: string, left: t.Expression, right: t.Expression, constant: ConstantOf): Signedness {
  const kind = operands(left, right, constant);
  if (kind === "mixed") return { unsigned: false, refusals: [{ node, message: mixedDivision(operator) }] };
  return kind === "unsigned" ? UNSIGNED : SIGNED;
}

/** Any binary expression: only comparisons, `/` and `%` have a signedness (the other operators compute the same bits either way). */
export function binarySignedness(e: t.BinaryExpression, constant: ConstantOf): Signedness {
  if (COMPARISONS.has(e.operator)) return comparisonSignedness(e, constant);
  if (e.operator === "/" || e.operator === "%") return divisionSignedness(e, e.operator, e.left as t.Expression, e.right, constant);
  return SIGNED;
}
