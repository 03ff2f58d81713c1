// Replacement templates: the code a back end puts into a site, written as
// G32 assembly lines with placeholders for the original instruction's fields
// ({A}, {B}, {IMM}) and symbols of the back end's soft-layer window (absolute
// addresses, reached as `off(zero)` because the window sits in the top of the
// address space). A template is parsed once and encoded per distinct set of
// fields; results are cached, so rewriting costs a lookup per site.
//
// Templates may use local labels (`.Lname:`) for branches inside the
// replacement and the single-instruction pseudo-instructions (nop, mv, j,
// beqz, …); the code must be position-independent, since the same words may
// be placed inline or in an out-of-line stub.

import { parseAssembly } from "../guest-isa/assembler/parser.js";
import type { Expr, InstructionStatement, Operand } from "../guest-isa/assembler/ast.js";
import { foldExpr, formatExpr } from "../guest-isa/assembler/expressions.js";
import { formatDiagnostic } from "../guest-isa/diagnostics.js";
import { encodeInstruction, immField } from "../guest-isa/encoding.js";
import { FORMATS, lookupInstruction, type InstructionRow } from "../guest-isa/isa-table.js";
import { PSEUDO_BY_MNEMONIC } from "../guest-isa/pseudo-table.js";
import { parseControlRegister, registerName } from "../guest-isa/registers.js";

/** The original instruction's fields that a template may refer to. */
export interface SiteFields {
  a: number;
  b: number;
  imm: number;
}

export interface CompiledTemplate {
  /** Number of words the template always produces. */
  readonly length: number;
  /**
   * Encodes the template for one site's fields. Equal fields give the same
   * (cached) array: callers must not modify it, and may key on its identity.
   */
  encode(a: number, b: number, imm: number): Uint32Array;
}

/**
 * Compiles a template. `symbols` are the window symbols it may name. Throws
 * an Error for a malformed template: templates are part of previrt, so a bad
 * one is a bug, not user input.
 */
export function compileTemplate(name: string, lines: readonly string[], symbols: Readonly<Record<string, number>>): CompiledTemplate {
  // Parse once with placeholder registers, to learn the statement count and labels.
  const probe = expandStatements(name, substitute(lines, { a: 0, b: 0, imm: 0 }));
  const length = probe.instructions.length;
  const cache = new Map<number, Uint32Array>();
  return {
    length,
    encode(a: number, b: number, imm: number): Uint32Array {
      const key = (a & 15) | ((b & 15) << 4) | ((imm & 0xffff) << 8);
      let words = cache.get(key);
      if (!words) {
        const { instructions, labels } = expandStatements(name, substitute(lines, { a, b, imm }));
        words = new Uint32Array(instructions.length);
        instructions.forEach((ins, i) => {
          words![i] = encodeStatement(name, ins, i * 4, { ...symbols, ...labels });
        });
        cache.set(key, words);
      }
      return words;
    },
  };
}

function substitute(lines: readonly string[], f: SiteFields): string {
  return lines
    .map((l) => l.replaceAll("{A}", registerName(f.a)).replaceAll("{B}", registerName(f.b)).replaceAll("{IMM}", String(f.imm)))
    .join("\n");
}

interface Expanded {
  instructions: InstructionStatement[];
  /** Label → byte offset from the template's first word. */
  labels: Record<string, number>;
}

/** Parses a template and expands single-instruction pseudo-instructions. */
function expandStatements(name: string, text: string): Expanded {
  const { source, diagnostics } = parseAssembly(`<template ${name}>`, text);
  if (diagnostics.length) throw new Error(diagnostics.map((d) => formatDiagnostic(d, false)).join("\n"));
  const instructions: InstructionStatement[] = [];
  const labels: Record<string, number> = {};
  for (const st of source.statements) {
    if (st.kind === "label") labels[st.name] = instructions.length * 4;
    else if (st.kind === "directive") throw new Error(`template ${name}: directives are not allowed (${st.name})`);
    else instructions.push(...expandPseudo(name, st));
  }
  return { instructions, labels };
}

function expandPseudo(name: string, st: InstructionStatement): InstructionStatement[] {
  const pseudo = PSEUDO_BY_MNEMONIC.get(st.mnemonic);
  if (!pseudo) return [st];
  if (pseudo.expansion.length !== 1) throw new Error(`template ${name}: pseudo-instruction ${st.mnemonic} expands to several instructions`);
  // Re-parse the expansion with the operands' source text substituted.
  const opText = st.operands.map((o) => operandText(o));
  const line = pseudo.expansion[0].replace(/\$(\d)/g, (_, n: string) => opText[Number(n) - 1] ?? "");
  const { source, diagnostics } = parseAssembly(`<template ${name}>`, line);
  if (diagnostics.length) throw new Error(diagnostics.map((d) => formatDiagnostic(d, false)).join("\n"));
  return source.statements.filter((s): s is InstructionStatement => s.kind === "instruction");
}

function operandText(o: Operand): string {
  switch (o.kind) {
    case "reg":
      return registerName(o.reg);
    case "expr":
      return formatExpr(o.expr);
    case "mem":
      return `${o.offset ? formatExpr(o.offset) : "0"}(${registerName(o.base)})`;
    case "string":
      throw new Error("strings are not allowed in templates");
  }
}


/** Encodes one real instruction at byte offset `pc` of the template. */
function encodeStatement(name: string, st: InstructionStatement, pc: number, symbols: Record<string, number>): number {
  const row: InstructionRow | undefined = lookupInstruction(st.mnemonic);
  if (!row) throw new Error(`template ${name}: unknown instruction '${st.mnemonic}'`);
  const specs = FORMATS[row.format].operands;
  if (st.operands.length !== specs.length) throw new Error(`template ${name}: '${st.mnemonic}' expects ${specs.length} operands`);
  const f = { a: 0, b: 0, c: 0, imm: 0 };
  const setReg = (field: string, reg: number) => {
    if (field === "A") f.a = reg;
    else if (field === "B") f.b = reg;
    else f.c = reg;
  };
  specs.forEach((spec, i) => {
    const op = st.operands[i];
    switch (spec.kind) {
      case "reg":
        if (op.kind !== "reg") throw new Error(`template ${name}: operand ${i + 1} of '${st.mnemonic}' must be a register`);
        setReg(spec.field, op.reg);
        break;
      case "mem":
        if (op.kind !== "mem") throw new Error(`template ${name}: operand ${i + 1} of '${st.mnemonic}' must be off(reg)`);
        f.b = op.base;
        f.imm = op.offset ? evaluate(name, op.offset, pc, symbols) : 0;
        break;
      case "label":
        if (op.kind !== "expr") throw new Error(`template ${name}: operand ${i + 1} of '${st.mnemonic}' must be a label`);
        f.imm = evaluate(name, op.expr, pc, symbols) - pc;
        break;
      case "cr":
      case "imm":
      case "port": {
        if (op.kind !== "expr") throw new Error(`template ${name}: operand ${i + 1} of '${st.mnemonic}' must be an expression`);
        const cr = spec.kind === "cr" && op.expr.kind === "sym" ? parseControlRegister(op.expr.name) : undefined;
        f.imm = cr ?? evaluate(name, op.expr, pc, symbols);
        break;
      }
    }
  });
  if (!immField(row)) f.imm = 0;
  return encodeInstruction(row, f);
}

function evaluate(name: string, e: Expr, pc: number, symbols: Record<string, number>): number {
  const v = foldExpr(e, (sym) => symbols[sym], pc);
  if (v === undefined) throw new Error(`template ${name}: cannot evaluate '${formatExpr(e)}' (unknown symbol or division by zero)`);
  return v;
}
