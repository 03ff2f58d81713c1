// Test helpers for the disassembler and ELF suites: build ElfImages from
// instruction words, and a small reference re-assembler (test-only) that
// turns a disassembly listing back into .text bytes using the parser, the
// ISA table and the pseudo-instruction table — so the listing's exactness is
// checked independently of the real assembler.

import { parseAssembly } from "../../src/guest-isa/assembler/parser.js";
import type { Expr, Operand } from "../../src/guest-isa/assembler/ast.js";
import { encodeInstruction, type InstructionFields } from "../../src/guest-isa/encoding.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS, type ElfImage, type ElfSymbol } from "../../src/guest-isa/elf-types.js";
import { FORMATS, lookupInstruction } from "../../src/guest-isa/isa-table.js";
import { PSEUDO_BY_MNEMONIC } from "../../src/guest-isa/pseudo-table.js";
import { parseControlRegister } from "../../src/guest-isa/registers.js";

export function wordsToBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
  return out;
}

export function textImage(code: Uint8Array | readonly number[], symbols: ElfSymbol[] = [], base = 0x1000): ElfImage {
  const data = code instanceof Uint8Array ? code : wordsToBytes(code);
  return {
    entry: base,
    sections: [{ name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: base, data, size: data.length, align: 4 }],
    symbols,
  };
}

/** Expands pseudo-instructions textually (the listing has no commas inside operands). */
function expandPseudos(listing: string): string {
  const out: string[] = [];
  for (const raw of listing.split("\n")) {
    const code = raw.replace(/#.*$/, "").trim();
    const m = /^([a-z]+)\b\s*(.*)$/.exec(code);
    const pseudo = m && !lookupInstruction(m[1]) ? PSEUDO_BY_MNEMONIC.get(m[1]) : undefined;
    if (!pseudo) {
      out.push(raw);
      continue;
    }
    const args = m![2] === "" ? [] : m![2].split(",").map((s) => s.trim());
    if (args.length !== pseudo.operands.length) throw new Error(`bad pseudo line: ${raw}`);
    out.push(pseudo.expansion.map((t) => t.replace(/\$(\d)/g, (_, n) => args[Number(n) - 1])).join("\n"));
  }
  return out.join("\n");
}

/** Reference re-assembler for disassembly listings: returns the .text bytes. */
export function reassembleListing(listing: string, base = 0x1000): Uint8Array {
  const { source, diagnostics } = parseAssembly("listing.s", expandPseudos(listing));
  if (diagnostics.length) throw new Error(diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`).join("\n"));
  const symbols = new Map<string, number>();
  const define = (name: string, value: number) => {
    if (symbols.has(name)) throw new Error(`label ${name} defined twice`);
    symbols.set(name, value);
  };
  const evalExpr = (e: Expr): number => {
    switch (e.kind) {
      case "num":
        return e.value;
      case "sym": {
        const v = symbols.get(e.name);
        if (v === undefined) throw new Error(`undefined symbol ${e.name}`);
        return v;
      }
      case "unary":
        return e.op === "-" ? -evalExpr(e.arg) : e.op === "~" ? ~evalExpr(e.arg) : evalExpr(e.arg);
      default:
        throw new Error(`unsupported expression ${e.kind}`);
    }
  };
  const expr = (o: Operand | undefined): number => {
    if (!o || o.kind !== "expr") throw new Error("expected an expression");
    return evalExpr(o.expr);
  };
  // Pass 1: addresses.
  let pc = base;
  for (const s of source.statements) {
    if (s.kind === "label") define(s.name, pc);
    else if (s.kind === "instruction") pc += 4;
    else if (s.name === ".word") pc += 4 * s.args.length;
    else if (s.name === ".byte") pc += s.args.length;
    else if (s.name === ".equ") {
      const [n, v] = s.args;
      if (n.kind !== "expr" || n.expr.kind !== "sym") throw new Error(".equ needs a name");
      define(n.expr.name, expr(v));
    } else if (s.name !== ".text" && s.name !== ".global") throw new Error(`unexpected directive ${s.name}`);
  }
  // Pass 2: bytes.
  const bytes: number[] = [];
  const word = (w: number) => bytes.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff);
  pc = base;
  for (const s of source.statements) {
    pc = base + bytes.length;
    if (s.kind === "label") continue;
    if (s.kind === "directive") {
      if (s.name === ".word") for (const a of s.args) word(expr(a));
      if (s.name === ".byte") for (const a of s.args) bytes.push(expr(a) & 0xff);
      continue;
    }
    const row = lookupInstruction(s.mnemonic);
    if (!row) throw new Error(`unknown mnemonic ${s.mnemonic}`);
    const specs = FORMATS[row.format].operands;
    if (specs.length !== s.operands.length) throw new Error(`${s.mnemonic}: operand count`);
    const f: Partial<InstructionFields> = {};
    const set = (field: string, v: number) => {
      if (field === "A") f.a = v;
      else if (field === "B") f.b = v;
      else if (field === "C") f.c = v;
      else f.imm = v;
    };
    specs.forEach((spec, i) => {
      const o = s.operands[i];
      switch (spec.kind) {
        case "reg":
          if (o.kind !== "reg") throw new Error(`${s.mnemonic}: expected a register`);
          set(spec.field, o.reg);
          break;
        case "mem":
          if (o.kind !== "mem") throw new Error(`${s.mnemonic}: expected off(reg)`);
          f.b = o.base;
          f.imm = o.offset ? evalExpr(o.offset) : 0;
          break;
        case "label":
          set(spec.field, expr(o) - pc);
          break;
        case "cr": {
          const cr = o.kind === "expr" && o.expr.kind === "sym" ? parseControlRegister(o.expr.name) : expr(o);
          if (cr === undefined) throw new Error("bad control register");
          set(spec.field, cr);
          break;
        }
        case "imm":
        case "port":
          set(spec.field, expr(o));
          break;
      }
    });
    word(encodeInstruction(row, f));
  }
  return new Uint8Array(bytes);
}
