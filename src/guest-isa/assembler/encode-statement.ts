// Pass 2 of the assembler: a file's Contribution items (pass1.ts), after
// layout and symbol resolution, → bytes in the output section's buffer.
// Here every value is known: expressions are evaluated (expressions.ts),
// immediates are checked against the ISA table's ranges (immRange), branch
// and jump targets become byte offsets from the instruction (checked for
// range and 4-alignment), and each instruction is encoded with the field
// positions drawn in isa-table.ts (test/guest-isa/assembler.test.ts checks
// every row against encodeInstruction). Problems are reported per item; the
// rest of the contribution is still emitted.

import { FORMATS, PORT_RANGE, CR_RANGE, immRange, type Field, type ImmRange, type InstructionRow, type OperandKind } from "../isa-table.js";
import { encodeInstruction, pcRelativeRange } from "../encoding.js";
import { parseControlRegister } from "../registers.js";
import type { Operand } from "./ast.js";
import { evalExpr } from "./expressions.js";
import type { SymbolResolver } from "./link.js";
import { AsmError, ItemKind, type Contribution, type InsnItem, type Reporter } from "./units.js";

/** `nop` (addi zero, zero, 0): the filler of `.align` in .text. */
export const NOP_WORD = encodeInstruction("addi", { a: 0, b: 0, imm: 0 });

/** Pass 1 checked the kinds: these casts restate what it guaranteed. */
type ExprOperand = Extract<Operand, { kind: "expr" }>;

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
  return field === "imm18" ? (v & 0x3ffff) << 14 : field === "imm22" ? (v & 0x3fffff) << 10 : (v & 0xfffff) << 12;
}

function checkRange(v: number, r: ImmRange, what: string, item: InsnItem, op: Operand): void {
  if (v < r.min || v > r.max) throw new AsmError(op.loc, `${what} ${v} out of range for '${item.row.mnemonic}' (${r.min}..${r.max})`);
}

/** Encodes one instruction item at `addr`. Throws AsmError. */
function encodeItem(item: InsnItem, addr: number, ctx: SymbolResolver): number {
  const row = item.row;
  const plan = planOf(row);
  let word = row.opcode;
  const ops = item.ops;
  for (let i = 0; i < plan.ops.length; i++) {
    const spec = plan.ops[i];
    const op = ops[i];
    switch (spec.kind) {
      case "reg":
        word |= placeRegister(spec.field, (op as { reg: number }).reg);
        break;
      case "mem": {
        const m = op as Extract<Operand, { kind: "mem" }>;
        const v = m.offset ? evalExpr(m.offset, ctx) : 0;
        checkRange(v, plan.range, "offset", item, op);
        word |= placeImmediate(spec.field, v) | (m.base << 10);
        break;
      }
      case "imm": {
        const v = evalExpr((op as ExprOperand).expr, ctx);
        checkRange(v, plan.range, "immediate", item, op);
        word |= placeImmediate(spec.field, v);
        break;
      }
      case "label": {
        const target = evalExpr((op as ExprOperand).expr, ctx);
        const off = (target - addr) | 0;
        const jump = spec.field === "imm22";
        if ((off & 3) !== 0) {
          throw new AsmError(op.loc, `${jump ? "jump" : "branch"} target 0x${(target >>> 0).toString(16)} is not 4-byte aligned`);
        }
        const r = jump ? JUMP_RANGE : BRANCH_RANGE;
        if (off < r.min || off > r.max) throw new AsmError(op.loc, jump ? "jump target out of range (±8 MiB)" : "branch target out of range (±512 KiB)");
        word |= placeImmediate(spec.field, off >> 2);
        break;
      }
      case "cr": {
        const e = (op as ExprOperand).expr;
        let v: number | undefined;
        if (e.kind === "sym") {
          v = parseControlRegister(e.name);
          if (v === undefined && !ctx.lookup(ctx.unit, e.name)) throw new AsmError(op.loc, `unknown control register '${e.name}'`);
        }
        if (v === undefined) v = evalExpr(e, ctx);
        if (v < CR_RANGE.min || v > CR_RANGE.max) throw new AsmError(op.loc, `control register ${v} out of range (${CR_RANGE.min}..${CR_RANGE.max})`);
        word |= placeImmediate(spec.field, v);
        break;
      }
      case "port": {
        const v = evalExpr((op as ExprOperand).expr, ctx);
        checkRange(v, PORT_RANGE, "port", item, op);
        word |= placeImmediate(spec.field, v);
        break;
      }
    }
  }
  return word >>> 0;
}

/**
 * Writes a contribution's items into `buf` (the output section's bytes, whose
 * first byte is at `sectionBase`). Reports each bad item and moves on.
 */
export function emitContribution(c: Contribution, buf: Uint8Array, sectionBase: number, ctx: SymbolResolver, report: Reporter): void {
  const start = c.base - sectionBase;
  const items = c.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const pos = start + item.offset;
    try {
      switch (item.kind) {
        case ItemKind.Insn: {
          ctx.here = (c.base + item.here) | 0;
          const word = encodeItem(item, (c.base + item.offset) | 0, ctx);
          buf[pos] = word;
          buf[pos + 1] = word >>> 8;
          buf[pos + 2] = word >>> 16;
          buf[pos + 3] = word >>> 24;
          break;
        }
        case ItemKind.Data:
          ctx.here = (c.base + item.offset) | 0;
          emitData(item.width, item.args, buf, pos, ctx, report);
          break;
        case ItemKind.Bytes:
          buf.set(item.bytes, pos);
          break;
        case ItemKind.Fill:
          buf.fill(item.value, pos, pos + item.size);
          break;
        case ItemKind.Nops:
          for (let k = 0; k < item.count; k++) writeWord(buf, pos + 4 * k, NOP_WORD);
          break;
      }
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      report.error(e.loc, e.message);
    }
  }
}

export function writeWord(buf: Uint8Array, pos: number, word: number): void {
  buf[pos] = word;
  buf[pos + 1] = word >>> 8;
  buf[pos + 2] = word >>> 16;
  buf[pos + 3] = word >>> 24;
}

const HALF_RANGE: ImmRange = { min: -0x8000, max: 0xffff };
const BYTE_RANGE: ImmRange = { min: -0x80, max: 0xff };

function emitData(width: number, args: readonly Operand[], buf: Uint8Array, pos: number, ctx: SymbolResolver, report: Reporter): void {
  for (let i = 0; i < args.length; i++, pos += width) {
    const op = args[i];
    try {
      const v = evalExpr((op as ExprOperand).expr, ctx);
      if (width === 4) writeWord(buf, pos, v);
      else {
        const r = width === 2 ? HALF_RANGE : BYTE_RANGE;
        if (v < r.min || v > r.max) throw new AsmError(op.loc, `value ${v} does not fit in a ${width === 2 ? "half-word" : "byte"} (${r.min}..${r.max})`);
        buf[pos] = v;
        if (width === 2) buf[pos + 1] = v >>> 8;
      }
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      report.error(e.loc, e.message);
    }
  }
}
