// The annotator's safety checks (docs/design.md §3): things that would make a
// site unsafe to rewrite, reported as `file:line:col: error:` diagnostics
// (collected; annotate.ts throws them all at once).
//
//  - k0 (r13) belongs to the soft layer: the rewriter may clobber it at any
//    site, so annotated code (everything outside `.noannotate`) must not use
//    it — as any operand, the base of a memory operand, or in a
//    pseudo-instruction.
//  - A branch, jump or `.word` whose target is `label ± k` with `label` on a
//    site's instruction and 0 < k < the site's length lands inside the
//    padding, which the rewriter overwrites.
//
// Consumes: parsed statements (ast.ts), the sites found by annotate.ts.
// Produces: Diagnostic[].

import type { Expr, InstructionStatement, Loc, Operand } from "../guest-isa/assembler/ast.js";
import type { Diagnostic } from "../guest-isa/diagnostics.js";
import { K0 } from "../guest-isa/registers.js";
import { evalLinear, type EquTable } from "./expr.js";

/** Builds a diagnostic with the source line for the caret display. */
export function diagnosticAt(loc: Loc, message: string, text: string, lineStarts: readonly number[]): Diagnostic {
  const start = lineStarts[loc.line - 1] ?? 0;
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  return { file: loc.file, line: loc.line, col: loc.col, message, sourceLine: text.slice(start, end) };
}

export const K0_MESSAGE = "k0 is reserved for the soft layer";

/** Whether an instruction names k0 anywhere (the cheap test; k0Uses() finds where). */
export function usesK0(stmt: InstructionStatement): boolean {
  for (const op of stmt.operands) if ((op.kind === "reg" && op.reg === K0) || (op.kind === "mem" && op.base === K0)) return true;
  return false;
}

/** The locations of every k0 operand of an instruction (a register, or the base of a memory operand — pointing at the register). */
export function k0Uses(stmt: InstructionStatement, text: string): Loc[] {
  const out: Loc[] = [];
  for (const op of stmt.operands) {
    if (op.kind === "reg" && op.reg === K0) out.push(op.loc);
    else if (op.kind === "mem" && op.base === K0) {
      // The AST keeps the operand's start only; the base is the first `(register)`
      // in it (an offset expression cannot contain a register name).
      const m = BASE_K0.exec(text.slice(op.loc.offset, stmt.end));
      const d = m ? m.index + m[0].indexOf(m[1]) : 0;
      out.push({ ...op.loc, offset: op.loc.offset + d, col: op.loc.col + d });
    }
  }
  return out;
}
const BASE_K0 = /\(\s*(k0|r13)\s*\)/i;

/** A reference to `sym ± k` somewhere in the code: a branch or jump target, a `.word` value. */
export interface TargetRef {
  sym: string;
  k: number;
  loc: Loc;
}

/** Adds the `label ± k` references among an instruction's or `.word`'s operands to `refs`. */
export function collectTargetRefs(operands: readonly Operand[], equs: EquTable, refs: TargetRef[]): void {
  for (const op of operands) {
    const e: Expr | undefined = op.kind === "expr" ? op.expr : undefined;
    // Plain numbers and plain labels (k = 0) cannot land inside padding.
    if (!e || e.kind === "num" || e.kind === "sym") continue;
    const lin = evalLinear(e, equs);
    if (lin?.sym !== undefined && lin.k !== 0) refs.push({ sym: lin.sym, k: lin.k, loc: op.loc });
  }
}

export interface SiteSpan {
  /** Site length in bytes. */
  length: number;
  kindName: string;
  line: number;
}

/** Every `label ± k` that lands inside the padding of the site `label` is on. */
export function checkTargetsIntoPadding(refs: readonly TargetRef[], siteByLabel: ReadonlyMap<string, SiteSpan>): { ref: TargetRef; message: string }[] {
  const out: { ref: TargetRef; message: string }[] = [];
  for (const ref of refs) {
    const site = siteByLabel.get(ref.sym);
    if (!site || ref.k <= 0 || ref.k >= site.length) continue;
    out.push({
      ref,
      message: `target '${ref.sym} + ${ref.k}' lands inside the padding of the ${site.kindName} site at line ${site.line} (${site.length} bytes)`,
    });
  }
  return out;
}
