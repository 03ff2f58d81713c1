// The nesting limit of guest code (docs/guest-language.md, "Limits").
//
// Babel's parser and the compiler's later stages recurse once or more per
// level of nesting, so a deep enough input (500 nested parentheses, 1,000
// nested ifs, a 5,000-term sum) would overflow the host's stack. The limit is
// checked twice, both times without recursion:
//
//   scanNesting()  before Babel runs: a light tokenizer estimates, at every
//                  token, how many levels the parser is inside — one per
//                  open bracket, one per operator of the chain being read
//                  (`a + b + c` is left-nested: the parser recurses per
//                  operator, and an operand's tighter operators — the `*` of
//                  `a + b * c` — are done when the next `+` comes), one per
//                  statement keyword that nests (`if`, `else`, `while`, …).
//                  Chains restart at `,`, `;` and where a new statement starts.
//   astDepth()     after Babel: the depth of the tree (member and call chains
//                  `a[0][0]…`, which the parser reads in a loop, still nest
//                  in the tree).
//
// Either one over the limit is `file:line:col: error: nested too deeply …`
// at the first token/node past it, and the file goes no further. The limit
// leaves Babel at most about two thirds of a default Node stack in its worst
// case (nested calls `f(f(f(…)))`), measured cold; a stack overflow inside
// Babel anyway (a caller already deep in its own stack) is reported with the
// same message at the deepest point the scan saw.

import type { Node } from "@babel/types";
import { walk } from "./ast.js";

/** Levels of brackets, operators and statements guest code may nest. */
export const NESTING_LIMIT = 200;

/**
 * The tree check allows a few levels more than the token scan: a function,
 * its body and a statement are tree levels the scan does not count, and the
 * tree check is there for what the scan cannot see (member and call chains).
 */
export const TREE_DEPTH_LIMIT = NESTING_LIMIT + 16;

export const NESTING_MESSAGE = `nested too deeply (more than ${NESTING_LIMIT} levels of brackets, operators and statements)`;

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (as Babel counts). */
  col: number;
}

export interface NestingScan {
  /** The first token past the limit, if any. */
  tooDeep?: Position;
  /** The deepest token seen. */
  deepest: Position & { depth: number };
}

interface Level {
  kind: "block" | "object" | "paren" | "bracket" | "template";
  /** The depth inside this level before its own chain. */
  base: number;
  /**
   * The precedences of the operators and nesting keywords the parser is
   * still inside, since the chain started (statement keywords 0, prefix
   * operators 100): an operator first ends the tighter ones before it.
   */
  chain: number[];
  /** A `do` body (a following `while` continues the statement). */
  doBody?: boolean;
}

/** Precedence of prefix operators (ended by any binary operator that follows the operand). */
const PREFIX = 100;

/** Binary precedence of punctuators (assignment and arrows lowest; the rest, prefix operators). */
const PRECEDENCE: ReadonlyMap<string, number> = new Map([
  ...["=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^=", "&&=", "||=", "??=", "=>"].map((p) => [p, 1] as const),
  ["?", 2], [":", 2], ["??", 3], ["||", 3], ["&&", 4], ["|", 5], ["^", 6], ["&", 7],
  ...["==", "!=", "===", "!=="].map((p) => [p, 8] as const),
  ...["<", ">", "<=", ">="].map((p) => [p, 9] as const),
  ...["<<", ">>", ">>>"].map((p) => [p, 10] as const),
  ["+", 11], ["-", 11], ["*", 12], ["/", 12], ["%", 12], ["**", 13],
]);

/** Keywords the parser recurses on (statement nesting, prefix operators, type operators). */
const NESTING_KEYWORDS: ReadonlyMap<string, number> = new Map([
  ...["if", "else", "for", "while", "do", "with", "switch", "function", "class", "extends"].map((k) => [k, 0] as const),
  ...["new", "typeof", "void", "delete", "await", "keyof", "infer", "unique", "readonly"].map((k) => [k, PREFIX] as const),
  ["yield", 1],
  ...["in", "instanceof", "as", "satisfies", "is", "asserts"].map((k) => [k, 9] as const),
]);
/** Keywords that continue an expression across a line break. */
const CONTINUING_KEYWORDS = new Set(["in", "instanceof", "as", "satisfies", "extends", "is"]);
/** Words after which an expression has ended (a `/` is then division). */
const VALUE_KEYWORDS = new Set(["this", "super", "true", "false", "null", "undefined"]);
const RESERVED = new Set([
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum", "export", "extends",
  "finally", "for", "function", "if", "import", "in", "instanceof", "new", "return", "switch", "throw", "try", "typeof", "var", "void",
  "while", "with", "yield", "let", "static", "await", "as", "satisfies", "keyof", "infer", "is", "asserts", "unique", "readonly",
]);
/** Punctuators, longest first. */
const PUNCTUATORS = [
  ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
  "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>",
];
/** Tokens that cannot continue an expression after a line break (a new statement starts). */
const STATEMENT_STARTERS = new Set(["{", "}", "++", "--", "!", "~", ";", "@", "#"]);

const isLineTerminator = (c: number) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
const isIdentStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x24 || c === 0x5f || c === 0x5c || (c >= 0x80 && !isSpace(c) && !isLineTerminator(c));
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 0x30 && c <= 0x39);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0xa0 || c === 0xfeff || (c >= 0x80 && /\s/.test(String.fromCharCode(c)) && !isLineTerminator(c));
}

/**
 * Estimates the parser's nesting at every token of `text`. Never throws and
 * never recurses: unterminated strings, comments and brackets just end the
 * scan (Babel reports them).
 */
export function scanNesting(text: string, limit = NESTING_LIMIT): NestingScan {
  const n = text.length;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const levels: Level[] = [{ kind: "block", base: 0, chain: [] }];
  let top = levels[0];
  /** The previous token ended an expression (a `/` is division; a line break may end a statement). */
  let prevValue = false;
  let prevWord = "";
  let newlineBefore = false;
  /** A `;` or a block's `}` ended a statement: the chain restarts unless the statement continues (`else`…). */
  let pendingReset: { doBody: boolean } | undefined;
  let tooDeep: Position | undefined;
  const deepest = { line: 1, col: 1, depth: 0 };

  const newline = (at: number) => {
    // \r\n is one line break.
    if (text.charCodeAt(at) === 0x0d && text.charCodeAt(at + 1) === 0x0a) at++;
    line++;
    lineStart = at + 1;
    return at + 1;
  };
  const depth = () => top.base + top.chain.length;
  /** One more operator or keyword of precedence `prec` in the current chain. */
  const push = (prec: number) => {
    const c = top.chain;
    while (c.length && c[c.length - 1] > prec) c.pop();
    c.push(prec);
  };
  const mark = (start: number) => {
    const d = depth();
    if (d > deepest.depth) Object.assign(deepest, { line, col: start - lineStart + 1, depth: d });
    if (d > limit && !tooDeep) tooDeep = { line, col: start - lineStart + 1 };
  };
  /** Called at every token, before it is counted. */
  const startToken = (token: string, word: boolean) => {
    if (pendingReset) {
      const continues = token === "else" || token === "catch" || token === "finally" || (token === "while" && pendingReset.doBody);
      if (!continues) top.chain.length = 0;
      pendingReset = undefined;
    } else if (newlineBefore && prevValue && top.kind === "block" && (word ? !CONTINUING_KEYWORDS.has(token) : STATEMENT_STARTERS.has(token) || token === "'" || token === '"' || isDigit(token.charCodeAt(0)))) {
      top.chain.length = 0;
    }
    newlineBefore = false;
  };
  const open = (kind: Level["kind"], start: number, doBody = false) => {
    const l: Level = { kind, base: depth() + 1, chain: [], doBody };
    levels.push(l);
    top = l;
    mark(start);
  };
  const close = () => {
    if (levels.length > 1) levels.pop();
    top = levels[levels.length - 1];
  };
  /** Template characters from `i` up to `${` (opens a level) or the closing backtick. */
  const templateRest = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) i += 2;
      else if (c === 0x60) {
        i++;
        prevValue = true;
        return;
      } else if (c === 0x24 && text.charCodeAt(i + 1) === 0x7b) {
        open("template", i);
        i += 2;
        prevValue = false;
        return;
      } else if (isLineTerminator(c)) i = newline(i);
      else i++;
    }
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (isLineTerminator(c)) {
      i = newline(i);
      newlineBefore = true;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    // Comments.
    if (c === 0x2f && text.charCodeAt(i + 1) === 0x2f) {
      while (i < n && !isLineTerminator(text.charCodeAt(i))) i++;
      continue;
    }
    if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      i += 2;
      while (i < n && !(text.charCodeAt(i) === 0x2a && text.charCodeAt(i + 1) === 0x2f)) {
        if (isLineTerminator(text.charCodeAt(i))) {
          i = newline(i);
          newlineBefore = true;
        } else i++;
      }
      i += 2;
      continue;
    }
    if (c === 0x23 && i === 0 && text.charCodeAt(1) === 0x21) {
      while (i < n && !isLineTerminator(text.charCodeAt(i))) i++; // #! line
      continue;
    }
    // Words.
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      const word = text.slice(start, i);
      startToken(word, true);
      const prec = NESTING_KEYWORDS.get(word);
      const property = prevWord === "." || prevWord === "?.";
      // A switch reads its clauses in a loop: `case 1: case 2: …` does not nest.
      if ((word === "case" || word === "default") && !property) top.chain.length = 0;
      else if (prec !== undefined && !property) push(prec);
      mark(start);
      prevValue = !RESERVED.has(word) || VALUE_KEYWORDS.has(word);
      prevWord = word;
      continue;
    }
    // Numbers.
    if (isDigit(c) || (c === 0x2e && isDigit(text.charCodeAt(i + 1)))) {
      startToken(text[i], false);
      while (i < n && (isIdentPart(text.charCodeAt(i)) || text.charCodeAt(i) === 0x2e)) i++;
      mark(start);
      prevValue = true;
      prevWord = "";
      continue;
    }
    // Strings.
    if (c === 0x22 || c === 0x27) {
      startToken(text[i], false);
      i++;
      while (i < n && text.charCodeAt(i) !== c && !isLineTerminator(text.charCodeAt(i))) {
        if (text.charCodeAt(i) === 0x5c) {
          i++;
          if (isLineTerminator(text.charCodeAt(i))) {
            i = newline(i);
            continue;
          }
        }
        i++;
      }
      i++;
      mark(start);
      prevValue = true;
      prevWord = "";
      continue;
    }
    if (c === 0x60) {
      startToken("`", false);
      mark(start);
      i++;
      templateRest();
      prevWord = "";
      continue;
    }
    // Regular expressions (where an expression starts).
    if (c === 0x2f && !prevValue) {
      startToken("/", false);
      i++;
      let inClass = false;
      while (i < n && !isLineTerminator(text.charCodeAt(i))) {
        const r = text.charCodeAt(i);
        if (r === 0x5c) i++;
        else if (r === 0x5b) inClass = true;
        else if (r === 0x5d) inClass = false;
        else if (r === 0x2f && !inClass) break;
        i++;
      }
      i++;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      mark(start);
      prevValue = true;
      prevWord = "";
      continue;
    }
    // Punctuators.
    const p = PUNCTUATORS.find((q) => text.startsWith(q, i)) ?? text[i];
    i += p.length;
    startToken(p, false);
    prevWord = p;
    switch (p) {
      case "(":
        open("paren", start);
        prevValue = false;
        continue;
      case "[":
        open("bracket", start);
        prevValue = false;
        continue;
      case "{": {
        // A block after `)`, `=>`, `do`, `else`, a statement end or a name
        // (`class X {`); an object or type literal after an operator.
        const block = prevValue || [")", "=>", ";", "{", "}", "else", "do", "try", "finally", ""].includes(prevWord) || levels.length === 1;
        open(block ? "block" : "object", start, prevWord === "do");
        prevValue = false;
        continue;
      }
      case ")":
      case "]":
        close();
        mark(start);
        prevValue = true;
        continue;
      case "}": {
        const closed = top;
        close();
        mark(start);
        if (closed.kind === "template") {
          templateRest();
          continue;
        }
        if (closed.kind === "block") pendingReset = { doBody: closed.doBody ?? false };
        prevValue = closed.kind !== "block";
        continue;
      }
      case ",":
        top.chain.length = 0;
        prevValue = false;
        mark(start);
        continue;
      case ";":
        pendingReset = { doBody: false };
        prevValue = false;
        mark(start);
        continue;
      case ".":
      case "?.":
        prevValue = false;
        continue;
      case "++":
      case "--":
        push(PREFIX);
        mark(start);
        // `a++` ends an expression; `++a` does not (the operand follows).
        continue;
      default: {
        const binary = PRECEDENCE.get(p);
        // `-` and `+` after an operand are binary; `!` after one is TypeScript's non-null (postfix).
        push(binary !== undefined && (prevValue || (p !== "-" && p !== "+")) ? binary : PREFIX);
        mark(start);
        prevValue = false;
      }
    }
  }
  return { tooDeep, deepest };
}

/** The first node deeper than `limit` in the tree (type-only parts excluded), if any. */
export function firstTooDeep(root: Node, limit = TREE_DEPTH_LIMIT): Node | undefined {
  let found: Node | undefined;
  walk(root, ({ node, depth }) => {
    if (found) return false;
    if (depth > limit) {
      found = node;
      return false;
    }
    return true;
  });
  return found;
}
