// Instruction and data encoding, for both passes: pass 1 (pass1.ts) encodes
// what needs no address at once; pass 2 finishes a Contribution's remaining
// items and Fixups rows (units.ts), after layout and symbol resolution, in
// the output section's buffer.
// Expressions are evaluated (expressions.ts),
// immediates are checked against the ISA table's ranges (immRange), branch
// and jump targets become byte offsets from the instruction (checked for
// range and 4-alignment), and each instruction is encoded with the field
// positions drawn in isa-table.ts (test/guest-isa/assembler.test.ts checks
// every row against encodeInstruction). Problems are reported per item; the
// rest of the contribution is still emitted.

import { BY_MNEMONIC, FORMATS, PORT_RANGE, CR_RANGE, immRange, type Field, type ImmRange, type InstructionRow, type OperandKind } from "../isa-table.js";
import { encodeInstruction, pcRelativeRange } from "../encoding.js";
import { parseControlRegister } from "../registers.js";
import type { Expr, Loc, Operand } from "./ast.js";
import { constValue, hi20, lo12, symbolTargetValue } from "./expressions.js";
import type { SymbolResolver } from "./link.js";
import { AsmError, FixupFn, ItemKind, writeWord, type Contribution, type Reporter, type Sym } from "./units.js";

/** `nop` (addi zero, zero, 0): the filler of `.align` in .text. */
export const NOP_WORD = encodeInstruction("addi", { a: 0, b: 0, imm: 0 });

/** Pass 1 checked the kinds: these casts restate what it guaranteed. */
type ExprOperand = Extract<Operand, { kind: "expr" }>;
type MemOperand = Extract<Operand, { kind: "mem" }>;
type RegOperand = Extract<Operand, { kind: "reg" }>;

interface OperandPlan {
  kind: OperandKind;
  field: Field;
}

interface RowPlan {
  ops: readonly OperandPlan[];
  range: ImmRange;
}

const plans = new Map<InstructionRow, RowPlan>();
function planOf(row: InstructionRow): RowPlan {
  let p = plans.get(row);
  if (!p) {
    p = { ops: FORMATS[row.format].operands.map((o) => ({ kind: o.kind, field: o.field })), range: immRange(row) };
    plans.set(row, p);
  }
  return p;
}

const BRANCH_RANGE = pcRelativeRange("imm18");
const JUMP_RANGE = pcRelativeRange("imm22");

function placeRegister(field: Field, reg: number): number {
  return field === "A" ? reg << 6 : field === "B" ? reg << 10 : reg << 14;
}

function placeImmediate(field: Field, v: number): number {
  if (field === "imm14") return (v & 0x3fff) << 18;
  return field === "imm18" ? (v & 0x3ffff) << 14 : field === "imm22" ? (v & 0x3fffff) << 10 : (v & 0xfffff) << 12;
}

function checkRange(v: number, r: ImmRange, what: string, row: InstructionRow, loc: Loc): void {
  if (v < r.min || v > r.max) throw new AsmError(loc, `${what} ${v} out of range for '${row.mnemonic}' (${r.min}..${r.max})`);
}

/** A `mem` offset, `imm` or `label` operand's value `v`, checked and placed (the instruction at `addr`); errors at `loc`. */
function placeValue(spec: OperandPlan, row: InstructionRow, range: ImmRange, v: number, addr: number, loc: Loc): number {
  if (spec.kind === "mem") {
    checkRange(v, range, "offset", row, loc);
    return placeImmediate(spec.field, v);
  }
  if (spec.kind === "imm") {
    checkRange(v, range, "immediate", row, loc);
    return placeImmediate(spec.field, v);
  }
  const off = (v - addr) | 0;
  const jump = spec.field === "imm22";
  if ((off & 3) !== 0) throw new AsmError(loc, `${jump ? "jump" : "branch"} target 0x${(v >>> 0).toString(16)} is not 4-byte aligned`);
  const r = jump ? JUMP_RANGE : BRANCH_RANGE;
  if (off < r.min || off > r.max) throw new AsmError(loc, jump ? "jump target out of range (±8 MiB)" : "branch target out of range (±512 KiB)");
  return placeImmediate(spec.field, off >> 2);
}

/** Rows by number, for Fixups.meta. */
const ROWS: readonly InstructionRow[] = [...BY_MNEMONIC.values()];
const ROW_IDS: ReadonlyMap<InstructionRow, number> = new Map(ROWS.map((r, i) => [r, i]));

type SymExpr = Extract<Expr, { kind: "sym" }>;

/** `e` when it is a plain symbol, its argument when it is %hi/%lo of one; else undefined. */
function symbolIn(e: Expr): SymExpr | undefined {
  if (e.kind === "sym") return e;
  if (e.kind === "reloc" && e.arg.kind === "sym") return e.arg;
  return undefined;
}

/** Where an encoder gets operand values: pass 1 (constants only) or pass 2 (everything). */
export interface OperandValues {
  value(e: Expr): number;
  /** Whether `name` is a symbol (a `cr` operand that is neither a CR name nor a symbol is "unknown control register"). */
  isSymbol(name: string): boolean;
}

/** Encodes one instruction at `addr`. Throws AsmError (ranges, alignment, undefined symbols). */
export function encodeOperands(row: InstructionRow, ops: readonly Operand[], addr: number, values: OperandValues): number {
  const plan = planOf(row);
  let word = row.opcode;
  for (let i = 0; i < plan.ops.length; i++) {
    const spec = plan.ops[i];
    const op = ops[i];
    switch (spec.kind) {
      case "reg":
        word |= placeRegister(spec.field, (op as RegOperand).reg);
        break;
      case "mem": {
        const m = op as MemOperand;
        const v = m.offset ? values.value(m.offset) : 0;
        word |= placeValue(spec, row, plan.range, v, addr, op.loc) | (m.base << 10);
        break;
      }
      case "imm":
      case "label":
        word |= placeValue(spec, row, plan.range, values.value((op as ExprOperand).expr), addr, op.loc);
        break;
      case "cr": {
        const e = (op as ExprOperand).expr;
        let v: number | undefined;
        if (e.kind === "sym") {
          v = parseControlRegister(e.name);
          if (v === undefined && !values.isSymbol(e.name)) throw new AsmError(op.loc, `unknown control register '${e.name}'`);
        }
        if (v === undefined) v = values.value(e);
        if (v < CR_RANGE.min || v > CR_RANGE.max) throw new AsmError(op.loc, `control register ${v} out of range (${CR_RANGE.min}..${CR_RANGE.max})`);
        word |= placeImmediate(spec.field, v);
        break;
      }
      case "port": {
        const v = values.value((op as ExprOperand).expr);
        checkRange(v, PORT_RANGE, "port", row, op.loc);
        word |= placeImmediate(spec.field, v);
        break;
      }
    }
  }
  return word >>> 0;
}

/**
 * Pass 2: finishes a contribution's items in `buf` (the output section's
 * bytes, whose first byte is at `sectionBase`; the contribution's pass-1
 * bytes are already there). Reports each bad item and moves on.
 */
export function emitContribution(c: Contribution, buf: Uint8Array, sectionBase: number, ctx: SymbolResolver, report: Reporter): void {
  const start = c.base - sectionBase;
  const items = c.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const pos = start + item.offset;
    if (item.kind === ItemKind.Insn) {
      ctx.here = (c.base + item.here) | 0;
      try {
        writeWord(buf, pos, encodeOperands(item.row, item.ops, (c.base + item.offset) | 0, ctx));
      } catch (e) {
        if (!(e instanceof AsmError)) throw e;
        report.error(e.loc, e.message);
      }
    } else {
      ctx.here = (c.base + item.offset) | 0;
      emitData(item.width, item.args, buf, pos, ctx, report);
    }
  }
  emitFixups(c, buf, start, ctx, report);
}

/** Pass 2 of a contribution's Fixups (units.ts): each symbol's value, checked and placed as its item's would have been. */
function emitFixups(c: Contribution, buf: Uint8Array, start: number, ctx: SymbolResolver, report: Reporter): void {
  const f = c.fixups;
  const file = ctx.unit.file;
  for (let i = 0; i < f.length; i++) {
    const pos = start + f.offset[i];
    const meta = f.meta[i];
    const line = f.line[i];
    try {
      let v = symbolTargetValue(f.target[i], ctx, file, line, f.symCol[i]);
      if (meta < 256) {
        if (meta === 4) writeWord(buf, pos, v);
        else writeValue(meta, v, buf, pos, { file, line, col: f.opCol[i], offset: 0 });
        continue;
      }
      const fn = meta & 3;
      if (fn === FixupFn.Hi) v = hi20(v);
      else if (fn === FixupFn.Lo) v = lo12(v);
      const row = ROWS[(meta >>> 8) - 1];
      const plan = planOf(row);
      const spec = plan.ops[(meta >>> 2) & 63];
      const addr = (c.base + f.offset[i]) | 0;
      writeWord(buf, pos, (f.word[i] | placeValue(spec, row, plan.range, v, addr, { file, line, col: f.opCol[i], offset: 0 })) >>> 0);
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      report.error(e.loc, e.message);
    }
  }
}

/** operandClass(): every operand is known in pass 1 (no label operand, every expression a constant). */
export const CONSTANT = -1;
/** operandClass(): pass 2 must evaluate the statement's nodes (an Item). */
export const NEEDS_ITEM = -2;

/**
 * Pass 1: how `ops` can be encoded. CONSTANT: now, without addresses.
 * Else the index of the one operand that needs an address, when it is a
 * plain symbol or %hi/%lo of one (a `label` operand: a plain symbol) and
 * every other operand is constant (a Fixups row); else NEEDS_ITEM.
 */
export function operandClass(row: InstructionRow, ops: readonly Operand[], lookup: (name: string) => Sym | undefined): number {
  const plan = planOf(row);
  let found = CONSTANT;
  for (let i = 0; i < plan.ops.length; i++) {
    const op = ops[i];
    const kind = plan.ops[i].kind;
    if (kind === "reg") continue;
    const e = kind === "mem" ? (op as MemOperand).offset : (op as ExprOperand).expr;
    if (e === undefined) continue;
    if (kind === "cr" || kind === "port") {
      if (kind === "cr" && e.kind === "sym" && parseControlRegister(e.name) !== undefined) continue;
      if (constValue(e, lookup) === undefined) return NEEDS_ITEM;
      continue;
    }
    if (kind !== "label" && constValue(e, lookup) !== undefined) continue;
    if (found !== CONSTANT || (kind === "label" ? e.kind !== "sym" : symbolIn(e) === undefined)) return NEEDS_ITEM;
    found = i;
  }
  return found;
}

/** The expression of operand `index` (a `mem` operand's offset), and the symbol in it (operandClass() chose it). */
export function fixupExpr(row: InstructionRow, ops: readonly Operand[], index: number): { expr: Expr; sym: SymExpr } {
  const op = ops[index];
  const expr = planOf(row).ops[index].kind === "mem" ? (op as MemOperand).offset! : (op as ExprOperand).expr;
  return { expr, sym: symbolIn(expr)! };
}

/** Fixups.meta of an instruction's operand `index` whose expression is `expr`. */
export function fixupMeta(row: InstructionRow, index: number, expr: Expr): number {
  const fn = expr.kind === "reloc" ? (expr.fn === "hi" ? FixupFn.Hi : FixupFn.Lo) : FixupFn.None;
  return ((ROW_IDS.get(row)! + 1) << 8) | (index << 2) | fn;
}

const HALF_RANGE: ImmRange = { min: -0x8000, max: 0xffff };
const BYTE_RANGE: ImmRange = { min: -0x80, max: 0xff };

/** Writes `.word`/`.half`/`.byte` values at `pos`, range-checked; each bad value is reported. */
export function emitData(width: number, args: readonly Operand[], buf: Uint8Array, pos: number, values: OperandValues, report: Reporter): void {
  for (let i = 0; i < args.length; i++, pos += width) {
    const op = args[i];
    try {
      writeValue(width, values.value((op as ExprOperand).expr), buf, pos, op.loc);
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      report.error(e.loc, e.message);
    }
  }
}

/** One `.word`/`.half`/`.byte` value at `pos`, range-checked (errors at `loc`). */
function writeValue(width: number, v: number, buf: Uint8Array, pos: number, loc: Loc): void {
  if (width === 4) writeWord(buf, pos, v);
  else {
    const r = width === 2 ? HALF_RANGE : BYTE_RANGE;
    if (v < r.min || v > r.max) throw new AsmError(loc, `value ${v} does not fit in a ${width === 2 ? "half-word" : "byte"} (${r.min}..${r.max})`);
    buf[pos] = v;
    if (width === 2) buf[pos + 1] = v >>> 8;
  }
}
