// Pseudo-instruction expansion, driven by PSEUDO_INSTRUCTIONS (pseudo-table.ts).
//
// Each template line ("lui $1, %hi($2)") is parsed once (at the pseudo's first use), in placeholder mode,
// into a real instruction row and operand nodes; expanding a use substitutes
// the user's operand nodes for $1..$3 (so diagnostics point at the user's
// text) and yields (row, operands) pairs for pass 1. There is no per-pseudo
// code: the only choice, `li`'s, is the table's `short` form, taken when the
// value is a pass-1 constant that fits the signed 18-bit immediate.

import { BY_MNEMONIC, FORMATS, S18, type InstructionRow } from "../isa-table.js";
import { encodeOperands, type OperandValues } from "./encode-statement.js";
import { PSEUDO_BY_MNEMONIC, type PseudoRow } from "../pseudo-table.js";
import type { Expr, Loc, Operand } from "./ast.js";
import { parseAssembly } from "./parser.js";
import { someNode } from "./expressions.js";

export interface TemplateInstruction {
  row: InstructionRow;
  ops: Operand[];
  /** Per operand: does it mention a placeholder (else it is shared as is)? */
  substitute: boolean[];
  /**
   * The encoded word when every operand is a register or a number (no
   * placeholder, symbol or pc-relative label): the same at every use — the
   * `nop`s of site padding, `push`'s `addi sp, sp, -4` — so pass 1 writes it
   * without expanding anything.
   */
  word?: number;
}

export interface CompiledPseudo {
  row: PseudoRow;
  expansion: TemplateInstruction[];
  short?: TemplateInstruction[];
}

function compileTemplate(pseudo: PseudoRow, lines: readonly string[]): TemplateInstruction[] {
  const file = `<pseudo ${pseudo.mnemonic}>`;
  const { source, diagnostics } = parseAssembly(file, lines.join("\n"), { placeholders: true });
  if (diagnostics.length > 0) throw new Error(`pseudo-table: ${pseudo.mnemonic}: ${diagnostics[0].message}`);
  return source.statements.map((st) => {
    if (st.kind !== "instruction") throw new Error(`pseudo-table: ${pseudo.mnemonic}: template is not an instruction`);
    const row = BY_MNEMONIC.get(st.mnemonic);
    if (!row) throw new Error(`pseudo-table: ${pseudo.mnemonic}: '${st.mnemonic}' is not a real instruction`);
    return { row, ops: st.operands, substitute: st.operands.map(mentionsPlaceholder), word: literalWord(row, st.operands) };
  });
}

/** Operand values of a literal template: numbers only. */
const LITERAL: OperandValues = {
  value: (e) => {
    if (e.kind !== "num") throw new Error("pseudo-table: not a literal");
    return e.value | 0;
  },
  isSymbol: () => false,
};

/** A template's word when all its operands are literal (registers, numbers; no label operand). */
function literalWord(row: InstructionRow, ops: readonly Operand[]): number | undefined {
  const kinds = FORMATS[row.format].operands;
  if (ops.length !== kinds.length) return undefined;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (kinds[i].kind === "label") return undefined;
    const literal =
      op.kind === "reg" || (op.kind === "expr" && op.expr.kind === "num") || (op.kind === "mem" && op.base >= 0 && (op.offset === undefined || op.offset.kind === "num"));
    if (!literal) return undefined;
  }
  try {
    return encodeOperands(row, ops, 0, LITERAL);
  } catch {
    return undefined; // (out of range, say: pass 1 then reports it at each use, as before)
  }
}

function placeholderIndex(name: string): number {
  return name.length === 2 && name.charCodeAt(0) === 36 /* $ */ ? name.charCodeAt(1) - 49 : -1;
}

const isPlaceholder = (e: Expr): boolean => e.kind === "sym" && placeholderIndex(e.name) >= 0;

function exprMentions(e: Expr): boolean {
  return someNode(e, isPlaceholder);
}

function mentionsPlaceholder(op: Operand): boolean {
  if (op.kind === "expr") return exprMentions(op.expr);
  if (op.kind === "mem") return op.base < 0 || (op.offset !== undefined && exprMentions(op.offset));
  return false;
}

const compiled = new Map<string, CompiledPseudo>();

/**
 * The compiled templates of pseudo-instruction `mnemonic`, or undefined if
 * there is none. Compiled on first use, not when the module loads: a run
 * assembles the in-place VMM, which uses a few of the table's rows, and
 * parsing all of them at load was ~2.5 ms of every such process
 * (docs/speed-history.md "Eleventh round: start-up"). The same templates either way.
 */
export function pseudoFor(mnemonic: string): CompiledPseudo | undefined {
  let c = compiled.get(mnemonic);
  if (c !== undefined) return c;
  const p = PSEUDO_BY_MNEMONIC.get(mnemonic);
  if (p === undefined) return undefined;
  c = { row: p, expansion: compileTemplate(p, p.expansion), short: p.short ? compileTemplate(p, p.short) : undefined };
  compiled.set(mnemonic, c);
  return c;
}

/** The short form applies: the pseudo has one and its last operand's constant value fits s18. */
export function shortFormFits(value: number | undefined): boolean {
  return value !== undefined && value >= S18.min && value <= S18.max;
}

function substExpr(e: Expr, actuals: readonly Operand[], loc: Loc): Expr {
  switch (e.kind) {
    case "sym": {
      const i = placeholderIndex(e.name);
      if (i < 0) return e;
      const a = actuals[i];
      if (a.kind !== "expr") throw new Error(`pseudo expansion: placeholder $${i + 1} is not an expression`);
      return a.expr;
    }
    case "unary":
      return { kind: "unary", op: e.op, arg: substExpr(e.arg, actuals, loc), loc };
    case "reloc":
      return { kind: "reloc", fn: e.fn, arg: substExpr(e.arg, actuals, loc), loc: actualLoc(e.arg, actuals, loc) };
    case "binary":
      return { kind: "binary", op: e.op, left: substExpr(e.left, actuals, loc), right: substExpr(e.right, actuals, loc), loc };
    default:
      return e;
  }
}

/** `%hi($2)` is reported where the user wrote $2. */
function actualLoc(e: Expr, actuals: readonly Operand[], loc: Loc): Loc {
  if (e.kind === "sym") {
    const i = placeholderIndex(e.name);
    if (i >= 0) return actuals[i].loc;
  }
  return loc;
}

/** The template operand with the user's operands substituted (kinds were checked by the caller). */
export function substituteOperand(op: Operand, actuals: readonly Operand[], loc: Loc): Operand {
  if (op.kind === "expr") {
    if (op.expr.kind === "sym") {
      const i = placeholderIndex(op.expr.name);
      if (i >= 0) return actuals[i];
    }
    const expr = substExpr(op.expr, actuals, loc);
    return { kind: "expr", expr, loc: expr.loc };
  }
  if (op.kind === "mem") {
    let base = op.base;
    if (base < 0) {
      const a = actuals[-base - 1];
      if (a.kind !== "reg") throw new Error(`pseudo expansion: placeholder $${-base} is not a register`);
      base = a.reg;
    }
    return { kind: "mem", offset: op.offset && substExpr(op.offset, actuals, loc), base, loc };
  }
  return op;
}
