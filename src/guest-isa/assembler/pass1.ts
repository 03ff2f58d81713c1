// Pass 1 of the assembler: one file's statements, streamed from parser.ts as
// they are parsed → a FileUnit (units.ts): its symbols (labels at section
// offsets, `.equ`s) and, per section, a Contribution whose size is final.
// Everything whose size depends on a value is decided here, from what is
// known at this point (numbers and `.equ`s defined above): `li`'s length,
// `.space`, `.align`. Operand kinds and counts are checked against the ISA
// table's FORMATS and the pseudo table. Instructions whose operands are all
// registers and constants are encoded at once (encode-statement.ts); the
// others (labels, `.`) become items for pass 2. Directives are in directives.ts.

import { BY_MNEMONIC, FORMATS, type InstructionRow, type OperandKind } from "../isa-table.js";
import type { Expr, InstructionStatement, Loc, Operand, Statement } from "./ast.js";
import { constValue } from "./expressions.js";
import { handleDirective } from "./directives.js";
import { registerName } from "../registers.js";
import { memoryHint, mnemonicHint, registerHint, withHint } from "./hints.js";
import { CONSTANT, encodeOperands, fixupExpr, fixupMeta, NEEDS_ITEM, operandClass, type OperandValues } from "./encode-statement.js";
import { pseudoFor, shortFormFits, substituteOperand, type TemplateInstruction } from "./pseudo.js";
import { AsmError, DEFAULT_ALIGN, Fixups, ItemKind, LabelSlots, reserve, Sym, SymKind, writeWord, type Contribution, type FileUnit, type Reporter } from "./units.js";

export const TEXT = ".text";
export const BSS = ".bss";

/** Per row: the operand kinds of its format, in assembly order. */
const OPERAND_KINDS: ReadonlyMap<InstructionRow, readonly OperandKind[]> = new Map(
  [...BY_MNEMONIC.values()].map((row) => [row, FORMATS[row.format].operands.map((o) => o.kind)]),
);

const KIND_WORDS: Record<OperandKind, string> = {
  reg: "a register",
  imm: "an immediate expression",
  mem: "a memory operand off(reg)",
  label: "a label",
  cr: "a control register name or number 0–7",
  port: "a port number",
};

/** `operand 2 of 'mv' must be a register`, and, for a name where a register belongs, why it is not one (`ra`: use `lr`). */
function kindMessage(mnemonic: string, i: number, want: OperandKind, op: Operand): string {
  const message = `operand ${i + 1} of '${mnemonic}' must be ${KIND_WORDS[want]}`;
  if (want === "reg" && op.kind === "expr" && op.expr.kind === "sym") return withHint(message, registerHint(op.expr.name));
  // `jalr lr, t1` (RISC-V's short form): the base needs its offset.
  if (want === "mem" && op.kind === "reg") return withHint(message, `write '0(${registerName(op.reg)})'`);
  // `lw a0, counter`: MIPS assemblers expand it; G32 needs the address in a register.
  if (want === "mem" && op.kind === "expr" && op.expr.kind === "sym") return withHint(message, memoryHint(mnemonic, op.expr.name));
  return message;
}

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

export function countMessage(mnemonic: string, expected: number, syntax: string, got: number): string {
  if (expected === 0) return `'${mnemonic}' expects no operands, got ${got}`;
  return `'${mnemonic}' expects ${expected} operand${expected === 1 ? "" : "s"} (${syntax}), got ${got}`;
}

export class FilePass1 implements OperandValues {
  readonly unit: FileUnit;
  cur: Contribution;
  /** Locations of open `.noannotate`s. */
  readonly noAnnotate: Loc[] = [];
  readonly lookup: (name: string) => Sym | undefined;
  /** Feed the parser's statements here (ParseOptions.onStatement), in order. */
  readonly statement: (st: Statement) => void;

  constructor(
    index: number,
    file: string,
    readonly defines: ReadonlyMap<string, Sym>,
    readonly report: Reporter,
  ) {
    this.unit = { index, file, symbols: new Map(), contributions: new Map(), globals: [] };
    const symbols = this.unit.symbols;
    this.lookup = (name) => symbols.get(name) ?? defines.get(name);
    this.cur = this.contribution(TEXT, { file, line: 1, col: 1, offset: 0 });
    this.statement = (st) => {
      if (st.kind === "instruction") this.instruction(st);
      else if (st.kind === "label") {
        if (st.slot === undefined) this.defineLabel(st.name, st.loc);
        else {
          (this.unit.slots ??= new LabelSlots()).define(st.slot, this.cur, this.cur.size);
          this.cur.hasLabels = true;
        }
      }
      else handleDirective(this, st);
    };
  }

  /** Pass-1 values: constants only (callers check with constValue / operandClass first). */
  value(e: Expr): number {
    return constValue(e, this.lookup)!;
  }

  isSymbol(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  contribution(section: string, loc: Loc): Contribution {
    let c = this.unit.contributions.get(section);
    if (!c) {
      c = { section, size: 0, bytes: new Uint8Array(0), align: DEFAULT_ALIGN, items: [], fixups: new Fixups(), base: 0, firstLoc: loc };
      this.unit.contributions.set(section, c);
    }
    return c;
  }

  switchSection(section: string, loc: Loc): void {
    this.cur = this.contribution(section, loc);
  }

  /** Records a symbol unless the name is taken; returns it, or undefined after reporting. */
  defineSymbol(name: string, loc: Loc, kind: SymKind, value = 0): Sym | undefined {
    const prev = this.unit.symbols.get(name);
    if (prev) {
      this.report.error(loc, `symbol '${name}' is already defined at ${formatLoc(prev.loc!)}`);
      return undefined;
    }
    if (this.defines.has(name)) {
      this.report.error(loc, `symbol '${name}' is already defined on the command line (-D ${name})`);
      return undefined;
    }
    const sym = new Sym(name, kind, this.unit, loc, this.cur, this.cur.size, value, false);
    this.unit.symbols.set(name, sym);
    return sym;
  }

  defineLabel(name: string, loc: Loc): void {
    if (this.defineSymbol(name, loc, SymKind.Label)) this.cur.hasLabels = true;
  }

  private instruction(st: InstructionStatement): void {
    const cur = this.cur;
    if (cur.section === BSS) {
      this.report.error(st.loc, "instructions are not allowed in .bss");
      return;
    }
    const row = BY_MNEMONIC.get(st.mnemonic);
    if (cur.pendingSensitive) this.checkSensitive(st, row);
    if ((cur.size & 3) !== 0) {
      this.report.error(st.loc, `instruction is not 4-byte aligned (offset ${cur.size} in ${cur.section}; use .align 4)`);
      return;
    }
    if (row) {
      if (this.checkOperands(row, st)) this.emitInstruction(row, st.operands, cur.size, st.loc);
      cur.size += 4;
      return;
    }
    const pseudo = pseudoFor(st.mnemonic);
    if (!pseudo) {
      this.report.error(st.loc, withHint(`unknown instruction '${st.mnemonic}'`, mnemonicHint(st.mnemonic)));
      return;
    }
    const prow = pseudo.row;
    const ops = st.operands;
    if (ops.length !== prow.operands.length) {
      this.report.error(st.loc, countMessage(st.mnemonic, prow.operands.length, prow.syntax, ops.length));
      return;
    }
    let ok = true;
    for (let i = 0; i < ops.length; i++) {
      const want = prow.operands[i];
      const isReg = ops[i].kind === "reg";
      if (want === "reg" ? !isReg : ops[i].kind !== "expr") {
        this.report.error(ops[i].loc, kindMessage(st.mnemonic, i, want, ops[i]));
        ok = false;
      }
    }
    let templates: TemplateInstruction[] = pseudo.expansion;
    if (pseudo.short && ok) {
      const last = ops[ops.length - 1];
      if (last.kind === "expr" && shortFormFits(constValue(last.expr, this.lookup))) templates = pseudo.short;
    }
    const here = cur.size;
    for (const t of templates) {
      if (ok && t.word !== undefined) writeWord(reserve(cur, 4), cur.size, t.word);
      else if (ok) {
        const tops = t.ops;
        const sub = t.substitute;
        const out: Operand[] = new Array(tops.length);
        for (let i = 0; i < tops.length; i++) out[i] = sub[i] ? substituteOperand(tops[i], ops, st.loc) : tops[i];
        this.emitInstruction(t.row, out, here, st.loc);
      }
      cur.size += 4;
    }
  }

  /** The instruction at cur.size: encoded now if it needs no address, else left for pass 2. */
  private emitInstruction(row: InstructionRow, ops: Operand[], here: number, loc: Loc): void {
    const cur = this.cur;
    const cls = operandClass(row, ops, this.lookup);
    if (cls === CONSTANT) {
      try {
        writeWord(reserve(cur, 4), cur.size, encodeOperands(row, ops, 0, this));
      } catch (e) {
        if (!(e instanceof AsmError)) throw e;
        this.report.error(e.loc, e.message);
      }
    } else if (cls === NEEDS_ITEM || !this.fixup(row, ops, cls)) {
      cur.items.push({ kind: ItemKind.Insn, row, ops, offset: cur.size, here, loc });
    }
  }

  /** The operand pass-1 values leave as 0 (encoding a Fixups row's word). */
  private zeroed: Expr | undefined;
  private readonly withZero: OperandValues = {
    value: (e) => (e === this.zeroed ? 0 : this.value(e)),
    isSymbol: (name) => this.isSymbol(name),
  };

  /**
   * The instruction at cur.size as a Fixups row (units.ts) when its one
   * address is a plain symbol or %hi/%lo of one and the rest encodes now
   * without error; false (make it an item) otherwise, so that the error
   * reported, if any, is the one the item would give.
   */
  private fixup(row: InstructionRow, ops: Operand[], index: number): boolean {
    const f = fixupExpr(row, ops, index);
    const op = ops[index];
    const file = this.unit.file;
    if (f.sym.loc.file !== file || op.loc.file !== file || op.loc.line !== f.sym.loc.line) return false;
    let word: number;
    this.zeroed = f.expr;
    try {
      word = encodeOperands(row, ops, 0, this.withZero);
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      return false;
    } finally {
      this.zeroed = undefined;
    }
    const cur = this.cur;
    cur.fixups.push(cur.size, word, fixupMeta(row, index, f.expr), op.loc.line, f.sym.loc.col, op.loc.col, this.unit.symbols.get(f.sym.name) ?? f.sym.name);
    return true;
  }

  /** Operand count and kinds against the row's format; reports and returns false on a mismatch. */
  private checkOperands(row: InstructionRow, st: InstructionStatement): boolean {
    const kinds = OPERAND_KINDS.get(row)!;
    const ops = st.operands;
    if (ops.length !== kinds.length) {
      this.report.error(st.loc, countMessage(st.mnemonic, kinds.length, FORMATS[row.format].syntax, ops.length));
      return false;
    }
    let ok = true;
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      const op = ops[i];
      const good = k === "reg" ? op.kind === "reg" : k === "mem" ? op.kind === "mem" : op.kind === "expr";
      if (!good) {
        this.report.error(op.loc, kindMessage(st.mnemonic, i, k, op));
        ok = false;
      }
    }
    return ok;
  }

  private checkSensitive(st: InstructionStatement, row: InstructionRow | undefined): void {
    const at = this.cur.pendingSensitive!;
    this.cur.pendingSensitive = undefined;
    // (`.sensitive lock` marks an amoswap, `.sensitive ticket` an amoadd; the annotator checks which access each class takes.)
    if (row && (row.group === "load" || row.group === "store" || row.mnemonic === "amoswap" || row.mnemonic === "amoadd")) return;
    this.report.error(at, `'.sensitive' must be followed by a load or store, found '${st.mnemonic}'`);
  }

  /** After the last statement: checks that need the whole file. */
  finish(): FileUnit {
    for (const c of this.unit.contributions.values()) {
      if (c.pendingSensitive) this.report.error(c.pendingSensitive, "'.sensitive' is not followed by a load or store");
    }
    if (this.noAnnotate.length > 0) this.report.error(this.noAnnotate[0], "'.noannotate' without a matching '.annotate'");
    for (const g of this.unit.globals) {
      const sym = this.unit.symbols.get(g.name);
      if (!sym) this.report.error(g.loc, `'.global' of undefined symbol '${g.name}'`);
      else if (g.name.startsWith(".L")) this.report.error(g.loc, `'${g.name}' is a file-local .L label and cannot be .global`);
      else sym.global = true;
    }
    return this.unit;
  }
}
