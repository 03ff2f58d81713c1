// Parser for G32 assembly: text → statements (ast.ts), with every node's
// position. One statement per line; `#` or `;` starts a comment; labels
// (`name:`) may precede a statement on the same line. Errors are collected as
// diagnostics and the parser moves on to the next line, so one run reports
// every syntax error of a file.
//
// The scanner works on character codes, line by line, without regular
// expressions in the per-token path: the assembler's throughput target is
// half a million lines a second.

import type { Diagnostic } from "../diagnostics.js";
import type { BinaryOp, Expr, Loc, Operand, ParsedSource, Statement } from "./ast.js";
import { KNOWN_DIRECTIVES } from "./directive-names.js";
import { commentHint, preprocessorLine, separatorHint, NUMERIC_LABEL_HINT, registerHint, SECTION_FLAGS_HINT, withHint } from "./hints.js";

const enum Ch {
  Tab = 9,
  Space = 32,
  Bang = 33,
  Quote = 34,
  Hash = 35,
  Dollar = 36,
  Percent = 37,
  Amp = 38,
  Apos = 39,
  LParen = 40,
  RParen = 41,
  Star = 42,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Slash = 47,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  Semi = 59,
  Lt = 60,
  Gt = 62,
  A = 65,
  Z = 90,
  Backslash = 92,
  Caret = 94,
  Underscore = 95,
  a = 97,
  z = 122,
  Pipe = 124,
  Tilde = 126,
  CR = 13,
}

/** Per ASCII code: 1 = may start an identifier, 2 = may continue one (one load per character scanned). */
const IDENT = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const start = (c >= Ch.a && c <= Ch.z) || (c >= Ch.A && c <= Ch.Z) || c === Ch.Underscore || c === Ch.Dot || c === Ch.Dollar;
  IDENT[c] = (start ? 1 : 0) | (start || (c >= Ch.Zero && c <= Ch.Nine) ? 2 : 0);
}
const isIdentStart = (c: number) => c >= 0 && c < 128 && (IDENT[c] & 1) !== 0;
const isIdentPart = (c: number) => c >= 0 && c < 128 && (IDENT[c] & 2) !== 0;
const isDigit = (c: number) => c >= Ch.Zero && c <= Ch.Nine;

/**
 * The register named by text[start, end) — `r0`–`r15` or an ABI name, any
 * case, as registers.ts's parseRegister — or NO_REG. Works on character codes so
 * the per-operand path allocates nothing. (Negative, not -1..-9: those are
 * template placeholders' bases.)
 */
const NO_REG = -100;

function registerAt(t: string, start: number, end: number): number {
  const len = end - start;
  if (len < 2 || len > 4) return NO_REG;
  const c0 = t.charCodeAt(start) | 0x20;
  const c1 = t.charCodeAt(start + 1);
  const l1 = c1 | 0x20;
  if (len === 4) {
    return c0 === 0x7a && l1 === 0x65 && (t.charCodeAt(start + 2) | 0x20) === 0x72 && (t.charCodeAt(start + 3) | 0x20) === 0x6f ? 0 : NO_REG; // zero
  }
  if (c0 === 0x72 /* r */) {
    if (!isDigit(c1)) return NO_REG;
    if (len === 2) return c1 - Ch.Zero;
    const c2 = t.charCodeAt(start + 2);
    if (c1 !== 0x31 /* 1 */ || c2 < Ch.Zero || c2 > 0x35 /* 5 */) return NO_REG;
    return 10 + c2 - Ch.Zero;
  }
  if (len !== 2) return NO_REG;
  const d = c1 - Ch.Zero;
  switch (c0) {
    case 0x61: // a0–a3
      return d >= 0 && d <= 3 ? 1 + d : NO_REG;
    case 0x74: // t0–t4
      return d >= 0 && d <= 4 ? 5 + d : NO_REG;
    case 0x73: // s0–s2, sp
      return d >= 0 && d <= 2 ? 10 + d : l1 === 0x70 ? 14 : NO_REG;
    case 0x6b: // k0
      return d === 0 ? 13 : NO_REG;
    case 0x6c: // lr
      return l1 === 0x72 ? 15 : NO_REG;
    default:
      return NO_REG;
  }
}

/** Characters that start a binary operator (a register followed by one was meant in an expression). */
const isOperatorChar = (c: number) =>
  c === Ch.Plus || c === Ch.Minus || c === Ch.Star || c === Ch.Slash || c === Ch.Percent || c === Ch.Amp || c === Ch.Pipe || c === Ch.Caret || c === Ch.Lt || c === Ch.Gt;

/**
 * Mnemonics and directive names, by a hash of their characters: a line's
 * `add` is the string the previous `add` line made, not a new one, so the
 * assembler's and annotator's lookups by name find a string whose hash is
 * already computed. Direct-mapped; only short names (V8 copies a slice that
 * short, so no entry keeps a whole source text alive).
 */
const WORDS = new Array<string | undefined>(256).fill(undefined);
const MAX_WORD = 12;

/** text[start, end), the cached string when there is one. */
function word(text: string, start: number, end: number): string {
  const len = end - start;
  if (len > MAX_WORD) return text.slice(start, end);
  let h = len;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  const slot = (h ^ (h >>> 8)) & 255;
  const cached = WORDS[slot];
  if (cached !== undefined && cached.length === len) {
    let i = 0;
    while (i < len && cached.charCodeAt(i) === text.charCodeAt(start + i)) i++;
    if (i === len) return cached;
  }
  return (WORDS[slot] = text.slice(start, end));
}

/** Lower-cases an identifier only when it has upper-case letters (the common case allocates nothing). */
function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= Ch.A && c <= Ch.Z) return name.toLowerCase();
  }
  return name;
}

/**
 * How deeply an expression may nest: parentheses, unary operators and
 * %hi/%lo count one level each, and so does every binary operator on the
 * way from the root to the deepest leaf (a 300-term sum is 299 levels deep).
 * Every stage walks expressions recursively (folding, printing, the
 * annotator's checks), so the limit keeps them all far from the host's stack
 * limit; deeper input is a located "nested too deeply" error
 * (docs/assembly.md, "Limits").
 */
export const MAX_EXPRESSION_DEPTH = 256;
const TOO_DEEP = `expression nested too deeply (more than ${MAX_EXPRESSION_DEPTH} levels of parentheses, operators or terms)`;

/** Binary operators by precedence level, loosest first (C's order). */
const PRECEDENCE: readonly (readonly BinaryOp[])[] = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];
/** The level in PRECEDENCE of each one-character operator, by character code (`<<` and `>>` are level 3). */
const OP_LEVEL = new Int8Array(128).fill(-1);
PRECEDENCE.forEach((ops, level) => {
  for (const op of ops) OP_LEVEL[op.charCodeAt(0)] = level;
});

class SyntaxError_ {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

export interface ParseOptions {
  /**
   * Template mode, for the pseudo-instruction table (pseudo-table.ts): `$1`–`$9`
   * are operand placeholders. They parse as symbols named "$1"…, except as the
   * base register of a memory operand (`0($1)`), where `base` is -N.
   */
  placeholders?: boolean;
  /**
   * Streaming: each statement is handed over as soon as it is parsed and not
   * kept (`source.statements` stays empty). The assembler uses this so that
   * statements it has finished with are garbage at once.
   */
  onStatement?: (statement: Statement) => void;
  /**
   * The array `source.lineStarts` is to be: empty, the parser fills it as it
   * goes (a caller streaming statements can read the starts of the lines
   * parsed so far); already holding every line start, it is used as is.
   */
  lineStarts?: number[];
}

/** Parses one file. Never throws for bad input: problems come back as diagnostics. */
export function parseAssembly(file: string, text: string, options: ParseOptions = {}): { source: ParsedSource; diagnostics: Diagnostic[] } {
  const p = new LineParser(file, text, options.placeholders === true, options.onStatement, options.lineStarts);
  return p.parseAll();
}

class LineParser {
  private pos = 0;
  /** Parentheses, unary operators and %hi/%lo open around the current position (the parser's recursion). */
  private nesting = 0;
  /** The depth of the expression tree the last parse* call returned (leaf = 1). */
  private lastDepth = 0;
  private lineEnd = 0;
  private lineStart = 0;
  private lineNo = 0;
  readonly statements: Statement[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly lineStarts: number[];
  private readonly countLines: boolean;

  constructor(
    readonly file: string,
    readonly text: string,
    readonly placeholders = false,
    readonly onStatement?: (statement: Statement) => void,
    lineStarts?: number[],
  ) {
    this.lineStarts = lineStarts ?? [];
    this.countLines = this.lineStarts.length === 0;
  }

  private emit(st: Statement): void {
    if (this.onStatement) this.onStatement(st);
    else this.statements.push(st);
  }

  parseAll(): { source: ParsedSource; diagnostics: Diagnostic[] } {
    const text = this.text;
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      if (this.countLines) this.lineStarts.push(start);
      this.lineNo++;
      this.lineStart = start;
      this.lineEnd = end > start && text.charCodeAt(end - 1) === Ch.CR ? end - 1 : end;
      this.pos = start;
      try {
        this.parseLine();
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        this.diagnostics.push(this.diag(e.offset, e.message));
      }
      if (end === text.length) break;
      start = end + 1;
    }
    return {
      source: { file: this.file, text, statements: this.statements, lineStarts: this.lineStarts },
      diagnostics: this.diagnostics,
    };
  }

  private loc(offset: number): Loc {
    return { file: this.file, line: this.lineNo, col: offset - this.lineStart + 1, offset };
  }

  private diag(offset: number, message: string): Diagnostic {
    return {
      file: this.file,
      line: this.lineNo,
      col: offset - this.lineStart + 1,
      message,
      sourceLine: this.text.slice(this.lineStart, this.lineEnd),
    };
  }

  private fail(message: string, offset = this.pos): never {
    throw new SyntaxError_(message, offset);
  }

  private peek(): number {
    return this.pos < this.lineEnd ? this.text.charCodeAt(this.pos) : -1;
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.pos < this.lineEnd) {
      const c = t.charCodeAt(this.pos);
      if (c !== Ch.Space && c !== Ch.Tab) break;
      this.pos++;
    }
  }

  /** At end of statement: end of line or a comment. */
  private atEnd(): boolean {
    const c = this.peek();
    return c === -1 || c === Ch.Hash || c === Ch.Semi;
  }

  private readIdent(): string {
    const s = this.pos;
    this.skipIdent();
    return this.text.slice(s, this.pos);
  }

  private skipIdent(): void {
    const t = this.text;
    while (this.pos < this.lineEnd && isIdentPart(t.charCodeAt(this.pos))) this.pos++;
  }

  private parseLine(): void {
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) {
        // `#define X 4` would be a comment: refused, as it means something else to a C preprocessor user.
        if (this.peek() === Ch.Hash) {
          const problem = preprocessorLine(this.text, this.pos, this.lineEnd);
          if (problem !== undefined) this.fail(problem);
        }
        return;
      }
      const start = this.pos;
      const c = this.peek();
      if (!isIdentStart(c)) {
        if (isDigit(c)) {
          const numbered = /^(\d+)\s*:/.exec(this.text.slice(this.pos, this.lineEnd));
          this.fail(numbered ? `'${numbered[1]}:' is not a label: ${NUMERIC_LABEL_HINT}` : "expected a label, instruction or directive (labels cannot start with a digit)");
        }
        this.fail(withHint(`unexpected character '${String.fromCharCode(c)}'`, commentHint(this.text, this.pos)));
      }
      this.skipIdent();
      // A label: name followed directly (or after spaces) by ':'
      const afterName = this.pos;
      this.skipSpace();
      if (this.peek() === Ch.Colon) {
        const name = this.text.slice(start, afterName);
        this.pos++;
        if (name === ".") this.fail("'.' is not a valid label name", start);
        if (registerAt(this.text, start, afterName) >= 0) this.fail(`'${name}' is a register name and cannot be a label`, start);
        this.emit({ kind: "label", name, loc: this.loc(start) });
        continue;
      }
      // `SIZE = 64`: GNU as's assignment.
      const assigned = this.text.slice(start, afterName);
      if (this.peek() === 0x3d /* = */ && this.text.charCodeAt(this.pos + 1) !== 0x3d && assigned !== ".") {
        this.fail(`'${assigned} = …' is not G32 syntax: write '.equ ${assigned}, …'`);
      }
      this.pos = afterName;
      const name = word(this.text, start, afterName);
      if (name.charCodeAt(0) === Ch.Dot) this.parseDirective(name, start);
      else this.parseInstruction(name, start);
      return;
    }
  }

  private parseInstruction(name: string, start: number): void {
    const operands = this.parseOperands(false);
    this.emit({ kind: "instruction", mnemonic: lower(name), operands, loc: this.loc(start), end: this.statementEnd() });
  }

  private parseDirective(name: string, start: number): void {
    // Another assembler's directive (`.type f, @function`) is reported by name (pass 1, with a
    // hint), not by whatever in its arguments G32 syntax lacks.
    if (!KNOWN_DIRECTIVES.has(lower(name)) && !this.placeholders) {
      this.pos = this.lineEnd;
      this.emit({ kind: "directive", name: lower(name), args: [], loc: this.loc(start), end: this.statementEnd() });
      return;
    }
    // `.section NAME, "ax", @progbits`: GNU as's flags and type, refused at the comma whatever follows.
    if (lower(name) === ".section" && !this.placeholders) {
      this.skipSpace();
      const args = this.atEnd() ? [] : [this.nextOperand(true)];
      this.skipSpace();
      if (this.peek() === Ch.Comma) this.fail(SECTION_FLAGS_HINT);
      this.operandsEnd();
      this.emit({ kind: "directive", name: ".section", args, loc: this.loc(start), end: this.statementEnd() });
      return;
    }
    const args = this.parseOperands(true);
    this.emit({ kind: "directive", name: lower(name), args, loc: this.loc(start), end: this.statementEnd() });
  }

  /** Offset just past the statement's last non-space character. */
  private statementEnd(): number {
    let e = this.pos;
    while (e > this.lineStart && (this.text.charCodeAt(e - 1) === Ch.Space || this.text.charCodeAt(e - 1) === Ch.Tab)) e--;
    return e;
  }

  private parseOperands(allowStrings: boolean): Operand[] {
    this.skipSpace();
    if (this.atEnd()) return [];
    // Up to three operands (nearly every statement) go into an array literal
    // of their exact length: one grown by push() starts with room for 16, a
    // hundred bytes of garbage per statement of a million-line file.
    const a = this.nextOperand(allowStrings);
    if (this.operandsEnd()) return [a];
    const b = this.nextOperand(allowStrings);
    if (this.operandsEnd()) return [a, b];
    const c = this.nextOperand(allowStrings);
    if (this.operandsEnd()) return [a, b, c];
    const ops = [a, b, c];
    do ops.push(this.nextOperand(allowStrings));
    while (!this.operandsEnd());
    return ops;
  }

  private nextOperand(allowStrings: boolean): Operand {
    this.skipSpace();
    return this.parseOperand(allowStrings);
  }

  /** After an operand: true at the end of the statement, false past the comma before the next one. */
  private operandsEnd(): boolean {
    this.skipSpace();
    if (this.atEnd()) return true;
    if (this.peek() !== Ch.Comma) {
      this.fail(withHint(`expected ',' or end of line, found '${String.fromCharCode(this.peek())}'`, commentHint(this.text, this.pos) ?? separatorHint(this.text, this.pos)));
    }
    this.pos++;
    return false;
  }

  private parseOperand(allowStrings: boolean): Operand {
    this.nesting = 0; // a syntax error may have left the previous operand's count behind
    const start = this.pos;
    const c = this.peek();
    if (c === -1 || c === Ch.Hash || c === Ch.Semi || c === Ch.Comma) this.fail("expected an operand");
    if (c === Ch.Quote) {
      const bytes = this.parseString();
      if (!allowStrings) this.fail("a string is not allowed here", start);
      return { kind: "string", bytes, loc: this.loc(start) };
    }
    // `(reg)` with no offset
    if (c === Ch.LParen) {
      const base = this.tryBase();
      if (base !== undefined) return { kind: "mem", offset: undefined, base, loc: this.loc(start) };
    }
    // A bare register
    if (isIdentStart(c)) {
      this.skipIdent();
      const reg = registerAt(this.text, start, this.pos);
      if (reg >= 0) {
        this.skipSpace();
        if (this.atEnd() || this.peek() === Ch.Comma) return { kind: "reg", reg, loc: this.loc(start) };
        if (isOperatorChar(this.peek())) this.fail(`register '${this.text.slice(start, this.pos).trim()}' is not allowed in an expression`, start);
        this.fail(withHint(`unexpected text after register '${this.text.slice(start, this.pos).trim()}'`, separatorHint(this.text, this.pos)));
      }
      this.pos = start;
    }
    const expr = this.parseExpr(0);
    // The operand and its expression usually start at the same place: share the Loc.
    const loc = expr.loc.offset === start ? expr.loc : this.loc(start);
    this.skipSpace();
    if (this.peek() === Ch.LParen) {
      const at = this.pos;
      const base = this.tryBase();
      if (base === undefined) this.failBase(at);
      return { kind: "mem", offset: expr, base, loc };
    }
    return { kind: "expr", expr, loc };
  }

  /**
   * After tryBase refused the '(' at `at`: a name that is not a register (`3(a9)`) is reported at the
   * name, as a bad register operand is; anything else (`3(a1`, `3(1)`) at the parenthesis.
   */
  private failBase(at: number): never {
    this.pos = at + 1;
    this.skipSpace();
    const start = this.pos;
    if (isIdentStart(this.peek())) {
      this.skipIdent();
      const end = this.pos;
      this.skipSpace();
      if (this.peek() === Ch.RParen && registerAt(this.text, start, end) < 0 && !this.placeholders) {
        this.fail(registerHint(this.text.slice(start, end)), start);
      }
    }
    this.fail("expected '(register)' after the offset", at);
  }

  /** At '(': parses `(reg)` and returns the register, or restores the position and returns undefined. */
  private tryBase(): number | undefined {
    const save = this.pos;
    this.pos++;
    this.skipSpace();
    if (isIdentStart(this.peek())) {
      const s = this.pos;
      this.skipIdent();
      const t = this.text;
      const reg =
        this.placeholders && this.pos - s === 2 && t.charCodeAt(s) === Ch.Dollar && isDigit(t.charCodeAt(s + 1)) && t.charCodeAt(s + 1) !== Ch.Zero
          ? Ch.Zero - t.charCodeAt(s + 1)
          : registerAt(t, s, this.pos);
      this.skipSpace();
      if (reg !== NO_REG && this.peek() === Ch.RParen) {
        this.pos++;
        return reg;
      }
    }
    this.pos = save;
    return undefined;
  }

  /**
   * An expression whose binary operators are all of PRECEDENCE level
   * `minLevel` or tighter (0: any). Precedence climbing: the tree of the
   * grammar's one-function-per-level descent (left-associative, C's
   * precedence), built in the same order, but a plain operand — most of
   * them — costs one look at the next character, not a call per level.
   */
  private parseExpr(minLevel: number): Expr {
    let left = this.parseUnary();
    let depth = this.lastDepth;
    for (;;) {
      this.skipSpace();
      const at = this.pos;
      const level = this.opLevel();
      if (level < minLevel) {
        this.lastDepth = depth;
        return left;
      }
      const op = this.matchOp(PRECEDENCE[level])!;
      const right = this.parseExpr(level + 1);
      depth = Math.max(depth, this.lastDepth) + 1;
      if (depth > MAX_EXPRESSION_DEPTH) this.fail(TOO_DEEP, at);
      left = { kind: "binary", op, left, right, loc: left.loc };
    }
  }

  /** The PRECEDENCE level of the binary operator at the position, or -1. */
  private opLevel(): number {
    if (this.pos >= this.lineEnd) return -1;
    const c = this.text.charCodeAt(this.pos);
    if (c >= 128) return -1;
    const level = OP_LEVEL[c];
    if (c === Ch.Lt || c === Ch.Gt) return this.pos + 1 < this.lineEnd && this.text.charCodeAt(this.pos + 1) === c ? level : -1;
    // `//` and `/*` are another assembler's comments, not a division: the caller reports them as such.
    if (c === Ch.Slash && this.pos + 1 < this.lineEnd && (this.text.charCodeAt(this.pos + 1) === Ch.Slash || this.text.charCodeAt(this.pos + 1) === Ch.Star)) return -1;
    return level;
  }

  /** Enters a parenthesis, unary operator or %hi/%lo at `at`: refused past the depth limit. */
  private enter(at: number): void {
    if (++this.nesting > MAX_EXPRESSION_DEPTH) this.fail(TOO_DEEP, at);
  }

  private matchOp(ops: readonly BinaryOp[]): BinaryOp | undefined {
    const t = this.text;
    for (const op of ops) {
      if (this.pos + op.length > this.lineEnd) continue;
      if (op.length === 1 ? t.charCodeAt(this.pos) === op.charCodeAt(0) : t.startsWith(op, this.pos)) {
        this.pos += op.length;
        return op;
      }
    }
    return undefined;
  }

  private parseUnary(): Expr {
    this.skipSpace();
    const start = this.pos;
    const c = this.peek();
    if (c === Ch.Minus || c === Ch.Tilde || c === Ch.Plus) {
      this.enter(start);
      this.pos++;
      const arg = this.parseUnary();
      this.nesting--;
      if (++this.lastDepth > MAX_EXPRESSION_DEPTH) this.fail(TOO_DEEP, start);
      return { kind: "unary", op: String.fromCharCode(c) as "-" | "~" | "+", arg, loc: this.loc(start) };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    this.skipSpace();
    const start = this.pos;
    const c = this.peek();
    this.lastDepth = 1;
    if (isDigit(c)) return { kind: "num", value: this.parseNumber(), loc: this.loc(start) };
    if (c === Ch.Apos) return { kind: "num", value: this.parseChar(), loc: this.loc(start) };
    if (c === Ch.LParen) {
      this.enter(start);
      this.pos++;
      const e = this.parseExpr(0);
      this.skipSpace();
      if (this.peek() !== Ch.RParen) this.fail("expected ')'");
      this.pos++;
      this.nesting--;
      return e;
    }
    if (c === Ch.Percent) {
      this.pos++;
      const fn = this.readIdent().toLowerCase();
      if (fn !== "hi" && fn !== "lo") this.fail(`unknown operator '%${fn}' (expected %hi or %lo)`, start);
      this.skipSpace();
      if (this.peek() !== Ch.LParen) this.fail(`expected '(' after %${fn}`);
      this.enter(start);
      this.pos++;
      const arg = this.parseExpr(0);
      this.skipSpace();
      if (this.peek() !== Ch.RParen) this.fail("expected ')'");
      this.pos++;
      this.nesting--;
      if (++this.lastDepth > MAX_EXPRESSION_DEPTH) this.fail(TOO_DEEP, start);
      return { kind: "reloc", fn, arg, loc: this.loc(start) };
    }
    if (isIdentStart(c)) {
      const name = this.readIdent();
      if (name === ".") return { kind: "here", loc: this.loc(start) };
      if (registerAt(this.text, start, this.pos) >= 0) this.fail(`register '${name}' is not allowed in an expression`, start);
      return { kind: "sym", name, loc: this.loc(start) };
    }
    if (c === -1 || c === Ch.Hash || c === Ch.Semi) this.fail("expected an expression");
    if (c === Ch.Quote) this.fail("a string is not allowed here");
    this.fail(withHint(`unexpected character '${String.fromCharCode(c)}' in expression`, commentHint(this.text, this.pos)));
  }

  private parseNumber(): number {
    const t = this.text;
    const start = this.pos;
    let radix = 10;
    if (t.charCodeAt(this.pos) === Ch.Zero && this.pos + 1 < this.lineEnd) {
      const x = t.charCodeAt(this.pos + 1) | 0x20;
      if (x === 0x78 /* x */) radix = 16;
      else if (x === 0x62 /* b */) radix = 2;
      else if (x === 0x6f /* o */) radix = 8;
      if (radix !== 10) this.pos += 2;
    }
    const digitsStart = this.pos;
    let value = 0;
    while (this.pos < this.lineEnd) {
      const ch = t.charCodeAt(this.pos);
      let d: number;
      if (ch >= Ch.Zero && ch <= Ch.Nine) d = ch - Ch.Zero;
      else if ((ch | 0x20) >= Ch.a && (ch | 0x20) <= 0x66) d = (ch | 0x20) - Ch.a + 10;
      else if (ch === Ch.Underscore) {
        this.pos++;
        continue;
      } else break;
      if (d >= radix) {
        // `1b` / `1f`: GNU as's numeric local label references.
        const numericLabel = radix === 10 && (ch === 0x62 || ch === 0x66) && !isIdentPart(this.pos + 1 < this.lineEnd ? t.charCodeAt(this.pos + 1) : -1);
        this.fail(numericLabel ? `'${t.slice(start, this.pos + 1)}' is not a label: ${NUMERIC_LABEL_HINT}` : `invalid digit '${String.fromCharCode(ch)}' in number`, numericLabel ? start : this.pos);
      }
      value = value * radix + d;
      this.pos++;
    }
    if (this.pos === digitsStart) this.fail("expected digits after the number prefix", start);
    if (isIdentPart(this.peek())) this.fail(`invalid character '${String.fromCharCode(this.peek())}' in number`);
    if (value > 0xffffffff) this.fail("number does not fit in 32 bits", start);
    return value;
  }

  private parseChar(): number {
    const start = this.pos;
    this.pos++; // opening '
    if (this.peek() === -1) this.fail("unterminated character literal", start);
    const escaped = this.peek() === Ch.Backslash;
    const v = escaped ? this.parseEscape(start) : this.text.codePointAt(this.pos)!;
    if (!escaped) this.pos += v > 0xffff ? 2 : 1;
    if (this.peek() !== Ch.Apos) {
      // `'AB'`: a closing quote further on means several characters, not a missing quote.
      const close = this.text.indexOf("'", this.pos);
      if (close >= 0 && close < this.lineEnd) this.fail("a character literal holds one character (for several bytes use .ascii \"…\")", start);
      this.fail("unterminated character literal", start);
    }
    this.pos++;
    // Strings are stored as UTF-8, so 'é' (two bytes there) is no one byte: taking its code point (0xE9) would disagree with "é".
    if (v > (escaped ? 0xff : 0x7f)) this.fail(`character literal '${String.fromCodePoint(v)}' is not one byte in UTF-8 (write its bytes with .ascii "${String.fromCodePoint(v)}", or a number)`, start);
    return v;
  }

  /** At a backslash: returns the escaped byte value. */
  private parseEscape(literalStart: number): number {
    this.pos++;
    const c = this.peek();
    if (c === -1) this.fail("unterminated string", literalStart);
    this.pos++;
    switch (String.fromCharCode(c)) {
      case "n":
        return 10;
      case "t":
        return 9;
      case "r":
        return 13;
      case "0":
        return 0;
      case "\\":
        return 92;
      case '"':
        return 34;
      case "'":
        return 39;
      case "x": {
        const hex = this.text.slice(this.pos, Math.min(this.pos + 2, this.lineEnd));
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail("expected two hex digits after \\x", this.pos - 2);
        this.pos += 2;
        return parseInt(hex, 16);
      }
      default:
        this.fail(`unknown escape sequence '\\${String.fromCharCode(c)}'`, this.pos - 2);
    }
  }

  private parseString(): Uint8Array {
    const start = this.pos;
    this.pos++;
    const out: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === -1) this.fail("unterminated string", start);
      if (c === Ch.Quote) {
        this.pos++;
        return Uint8Array.from(out);
      }
      if (c === Ch.Backslash) {
        out.push(this.parseEscape(start));
        continue;
      }
      // Non-ASCII characters are stored as UTF-8.
      if (c < 0x80) {
        out.push(c);
        this.pos++;
      } else {
        const cp = this.text.codePointAt(this.pos)!;
        const ch = String.fromCodePoint(cp);
        out.push(...new TextEncoder().encode(ch));
        this.pos += ch.length;
      }
    }
  }
}
