// Pass 1's handling of directives (statements starting with '.'): section
// switches, symbol definitions (.equ/.set, .global/.globl), data (.word,
// .half, .byte, .ascii, .asciz, .space, .align) and the annotation directives
// (.sensitive, .noannotate, .annotate), which the assembler only validates —
// the annotator (src/annotator) acts on them. Sizes are final here; bytes
// are written now when known (strings, fills, constant data, alignment
// nops), else data becomes an item for pass 2 (encode-statement.ts).
//
// Data directives never align themselves (as GNU as): the annotator emits
// packed records that rely on it.

import type { DirectiveStatement, Expr, Loc, Operand } from "./ast.js";
import { emitData, NOP_WORD } from "./encode-statement.js";
import { canonicalDirective, isSectionDirective, isSensitiveClass, SENSITIVE_CLASSES, sensitiveClassList } from "./directive-names.js";
import { directiveHint, withHint } from "./hints.js";
import { constValue } from "./expressions.js";
import { sectionNameProblem } from "../image-check.js";
import { sectionFlags, sectionSizeProblem } from "./layout.js";
import { BSS, TEXT, type FilePass1 } from "./pass1.js";
import { ItemKind, reserve, SymKind, writeWord, type Contribution } from "./units.js";

/** Largest `.align` / `.space` accepted (a typo should not allocate gigabytes). */
const MAX_ALIGN = 0x10000;
const MAX_SPACE = 0x10000000;

function argCount(p: FilePass1, st: DirectiveStatement, min: number, max: number, syntax: string): boolean {
  const n = st.args.length;
  if (n >= min && n <= max) return true;
  const expected = min === max ? `${min} argument${min === 1 ? "" : "s"}` : max === Infinity ? `at least ${min} argument${min === 1 ? "" : "s"}` : `${min} or ${max} arguments`;
  p.report.error(st.loc, min === 0 && max === 0 ? `'${st.name}' takes no arguments, got ${n}` : `'${st.name}' expects ${expected} (${syntax}), got ${n}`);
  return false;
}

/** A symbol-name argument: a bare identifier. */
function nameArg(p: FilePass1, op: Operand, what: string): string | undefined {
  if (op.kind === "expr" && op.expr.kind === "sym") return op.expr.name;
  p.report.error(op.loc, `expected ${what}`);
  return undefined;
}

/** A constant needed now (sizes): numbers and `.equ`s defined above. */
function constArg(p: FilePass1, st: DirectiveStatement, op: Operand): number | undefined {
  if (op.kind !== "expr") {
    p.report.error(op.loc, `'${st.name}' expects an expression here`);
    return undefined;
  }
  const v = constValue(op.expr, p.lookup);
  if (v === undefined) {
    const why = notConstant(p, op.expr);
    // The reason first: a message cuts a quoted span over 60 characters (diagnostics.ts), so the names stay close to their quotes.
    p.report.error(op.loc, why === undefined ? `'${st.name}' needs a constant (numbers and symbols defined above with .equ)` : `'${st.name}' needs a constant: ${why} (numbers and symbols defined above with .equ are)`);
  }
  return v;
}

/**
 * Why an expression is no pass-1 constant: its first name that is a label, `.`, or not defined above
 * in this file (`.space SIZE` with SIZE a global .equ of another file). Expressions nest at most
 * MAX_EXPRESSION_DEPTH levels (the parser's limit), so the recursion is bounded.
 */
function notConstant(p: FilePass1, e: Expr): string | undefined {
  switch (e.kind) {
    case "num":
      return undefined;
    case "here":
      return "'.' is an address, known only after layout";
    case "sym": {
      const s = p.lookup(e.name);
      if (s === undefined) return `'${e.name}' is not defined above in this file`;
      return s.kind === SymKind.Abs ? undefined : `'${e.name}' is a label, an address known only after layout`;
    }
    case "unary":
    case "reloc":
      return notConstant(p, e.arg);
    case "binary":
      return notConstant(p, e.left) ?? notConstant(p, e.right);
  }
}

/**
 * Whether the current section may grow by `extra` bytes (`.space`, `.align`:
 * the directives that grow it cheaply); reports at `loc` when not. The whole
 * output section is checked again at layout, with its address.
 */
function roomFor(p: FilePass1, loc: Loc, extra: number): boolean {
  const cur = p.cur;
  const problem = sectionSizeProblem(cur.section, sectionFlags(cur.section).type, false, 0, cur.size + extra);
  if (problem === undefined) return true;
  if (!overfull.has(cur)) p.report.error(loc, problem); // once per file and section: the rest would say the same
  overfull.add(cur);
  return false;
}
const overfull = new WeakSet<Contribution>();

function checkNotBss(p: FilePass1, st: DirectiveStatement): boolean {
  if (p.cur.section !== BSS) return true;
  p.report.error(st.loc, `'${st.name}' is not allowed in .bss (only labels, .space/.zero and .align)`);
  return false;
}

export function handleDirective(p: FilePass1, st: DirectiveStatement): void {
  const name = canonicalDirective(st.name);
  if (name === undefined) {
    p.report.error(st.loc, withHint(`unknown directive '${st.name}'`, directiveHint(st.name)));
    return;
  }
  const cur = p.cur;
  if (isSectionDirective(name)) {
    if (argCount(p, st, 0, 0, "")) p.switchSection(name, st.loc);
    return;
  }
  switch (name) {
    case ".section": {
      if (!argCount(p, st, 1, 1, "NAME")) return;
      const op = st.args[0];
      const section = op.kind === "string" ? new TextDecoder().decode(op.bytes) : nameArg(p, op, "a section name");
      if (section === undefined) return;
      if (section === "" || section === ".") {
        p.report.error(op.loc, "expected a section name");
        return;
      }
      // Names previrt's ELF writer makes itself (.symtab, …) would give a file no tool reads back.
      const reserved = sectionNameProblem(section);
      if (reserved !== undefined) {
        p.report.error(op.loc, reserved);
        return;
      }
      p.switchSection(section, st.loc);
      return;
    }
    case ".global":
      if (!argCount(p, st, 1, Infinity, "NAME, …")) return;
      for (const op of st.args) {
        const n = nameArg(p, op, "a symbol name");
        if (n !== undefined) p.unit.globals.push({ name: n, loc: op.loc });
      }
      return;
    case ".equ": {
      if (!argCount(p, st, 2, 2, "NAME, expr")) return;
      const [nameOp, valueOp] = st.args;
      const n = nameArg(p, nameOp, "a symbol name");
      if (n === undefined) return;
      if (valueOp.kind !== "expr") {
        p.report.error(valueOp.loc, `'${st.name}' expects an expression`);
        return;
      }
      const v = constValue(valueOp.expr, p.lookup);
      if (v !== undefined) p.defineSymbol(n, nameOp.loc, SymKind.Abs, v);
      else {
        const sym = p.defineSymbol(n, nameOp.loc, SymKind.Deferred);
        if (sym) sym.expr = valueOp.expr;
      }
      return;
    }
    case ".word":
    case ".half":
    case ".byte": {
      if (!argCount(p, st, 1, Infinity, "expr, …") || !checkNotBss(p, st)) return;
      const width = name === ".word" ? 4 : name === ".half" ? 2 : 1;
      for (const op of st.args) {
        if (op.kind !== "expr") {
          p.report.error(op.loc, `'${st.name}' expects expressions`);
          return;
        }
      }
      const size = width * st.args.length;
      const only = st.args.length === 1 ? st.args[0] : undefined;
      if (only?.kind === "expr" && only.expr.kind === "sym" && only.loc.file === p.unit.file) {
        // One plain symbol (a site table's `.word label`, a jump table's entry):
        // the general path below with one lookup instead of three.
        const e = only.expr;
        const sym = e.slot === undefined ? p.unit.symbols.get(e.name) : undefined;
        if (e.slot !== undefined || (sym ? sym.kind !== SymKind.Abs : !p.defines.has(e.name))) {
          reserve(cur, size);
          cur.fixups.push(cur.size, 0, width, e.loc.line, e.loc.col, only.loc.col, e.slot ?? sym ?? e.name);
          cur.size += size;
          return;
        }
      }
      if (st.args.every((op) => op.kind === "expr" && constValue(op.expr, p.lookup) !== undefined)) {
        emitData(width, st.args, reserve(cur, size), cur.size, p, p.report);
      } else if (st.args.every((op) => op.kind === "expr" && (op.expr.kind === "sym" ? op.loc.file === p.unit.file : constValue(op.expr, p.lookup) !== undefined))) {
        // Plain symbols become Fixups rows (units.ts); the constants among them are written now.
        const buf = reserve(cur, size);
        for (let i = 0, pos = cur.size; i < st.args.length; i++, pos += width) {
          const op = st.args[i] as Extract<Operand, { kind: "expr" }>;
          const e = op.expr;
          if (e.kind === "sym" && constValue(e, p.lookup) === undefined) {
            cur.fixups.push(pos, 0, width, e.loc.line, e.loc.col, op.loc.col, p.unit.symbols.get(e.name) ?? e.name);
          } else emitData(width, [op], buf, pos, p, p.report);
        }
      } else {
        cur.items.push({ kind: ItemKind.Data, width, args: st.args, offset: cur.size, loc: st.loc });
      }
      cur.size += size;
      return;
    }
    case ".ascii":
    case ".asciz": {
      if (!argCount(p, st, 1, Infinity, '"string", …') || !checkNotBss(p, st)) return;
      const nul = name === ".asciz" ? 1 : 0;
      for (const op of st.args) {
        if (op.kind !== "string") {
          p.report.error(op.loc, `'${st.name}' expects a string`);
          continue;
        }
        reserve(cur, op.bytes.length + nul).set(op.bytes, cur.size);
        cur.size += op.bytes.length + nul;
      }
      return;
    }
    case ".space": {
      if (!argCount(p, st, 1, 2, "size [, fill]")) return;
      const size = constArg(p, st, st.args[0]);
      if (size === undefined) return;
      if (size < 0 || size > MAX_SPACE) {
        p.report.error(st.args[0].loc, `'${st.name}' size ${size} out of range (0..${MAX_SPACE})`);
        return;
      }
      let fill = 0;
      if (st.args.length === 2) {
        const f = constArg(p, st, st.args[1]);
        if (f === undefined) return;
        if (f < -128 || f > 255) {
          p.report.error(st.args[1].loc, `fill value ${f} does not fit in a byte (-128..255)`);
          return;
        }
        fill = f & 0xff;
        if (fill !== 0 && cur.section === BSS) {
          p.report.error(st.args[1].loc, ".bss holds only zeros: a fill value is not allowed");
          return;
        }
      }
      if (!roomFor(p, st.args[0].loc, size)) return;
      if (fill !== 0) reserve(cur, size).fill(fill, cur.size, cur.size + size);
      cur.size += size;
      return;
    }
    case ".align": {
      if (!argCount(p, st, 1, 1, "bytes")) return;
      const n = constArg(p, st, st.args[0]);
      if (n === undefined) return;
      if (n < 1 || n > MAX_ALIGN || (n & (n - 1)) !== 0) {
        p.report.error(st.args[0].loc, `alignment ${n} is not a power of two in 1..${MAX_ALIGN} (.align takes bytes)`);
        return;
      }
      if (n > cur.align) cur.align = n;
      const target = (cur.size + n - 1) & -n;
      if (target === cur.size || !roomFor(p, st.args[0].loc, target - cur.size)) return;
      if (cur.section === TEXT) {
        // Zeros up to a word boundary, then `nop`s.
        const firstWord = (cur.size + 3) & -4;
        const buf = reserve(cur, target - cur.size);
        for (let a = firstWord; a < target; a += 4) writeWord(buf, a, NOP_WORD);
      }
      cur.size = target;
      return;
    }
    case ".sensitive": {
      if (!argCount(p, st, 1, 1, SENSITIVE_CLASSES.join("|"))) return;
      const op = st.args[0];
      const what = op.kind === "expr" && op.expr.kind === "sym" ? op.expr.name : undefined;
      if (!isSensitiveClass(what)) {
        p.report.error(op.loc, `'.sensitive' expects ${sensitiveClassList((c) => `'${c}'`)}`);
        return;
      }
      if (cur.pendingSensitive) p.report.error(cur.pendingSensitive, "'.sensitive' is not followed by a load or store");
      cur.pendingSensitive = st.loc;
      return;
    }
    case ".noannotate":
      if (argCount(p, st, 0, 0, "")) p.noAnnotate.push(st.loc);
      return;
    case ".annotate":
      if (!argCount(p, st, 0, 0, "")) return;
      if (p.noAnnotate.length === 0) p.report.error(st.loc, "'.annotate' without a preceding '.noannotate'");
      else p.noAnnotate.pop();
      return;
    default:
      name satisfies never; // every directive of directive-names.ts has its case
  }
}
