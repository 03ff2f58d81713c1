// Stage 3 of `previrt cc`: checked AST + symbols → G32 assembly text.
//
// Consumes a FileScope (lower/symbols.ts) whose file passed check.ts;
// produces the file's assembly (text, data, bss and rodata sections) and a
// source map from assembly lines to TypeScript positions. Each statement is
// preceded by a `# file:line` comment, which the annotator's source map
// chains back to the .ts.
//
// One pass per function, expression trees to registers directly: locals get
// homes from regalloc.ts; expression temporaries come from its TempPool and
// are spilled to frame slots only when the pool runs low and around calls.
// Conditions compile to branches (`blt a0, t0, .L3`), loops are rotated (the
// test at the bottom), switch uses a jump table when dense. Intrinsics lower
// through the table in intrinsics.ts. Semantics are JavaScript's `|0`
// arithmetic: see docs/guest-language.md.

import type * as t from "@babel/types";
import type { Diagnostic } from "../../guest-isa/diagnostics.js";
import { S18, type ImmRange } from "../../guest-isa/isa-table.js";
import { codeChildren, isTypeOnly, someNode, walk as walkTree } from "../ast.js";
import { constructName, diagnosticAt, isSupportedBinary, operatorName, unsupportedMessage } from "../check.js";
import { NATIVE_INTRINSICS, type EmittedArg, type IntrinsicName, type IntrinsicSpec } from "../intrinsics.js";
import { assignHomes, TempPool, type Home, type LocalInfo } from "../regalloc.js";
import { evalConst, foldBinary, isStringLiteral, isStringTyped, unwrap, type ElemType, type FileScope, type GlobalSymbol } from "./symbols.js";

/** One assembly line's origin in the TypeScript source (1-based line and column). */
export interface SourceMapping {
  /** 1-based line in the generated assembly. */
  asmLine: number;
  file: string;
  line: number;
  col: number;
  /**
   * A line of `asm("…")` copied from the TypeScript: the assembly column
   * where `col` is, so a column further along the line maps to as far
   * further along the TypeScript (an assembler error inside inline assembly
   * points into the string). Other lines map every column to the statement.
   */
  asmCol?: number;
}

export interface CodegenOptions {
  intrinsics?: Readonly<Record<IntrinsicName, IntrinsicSpec>>;
  /** Rewrites each line of `asm("…")` (the para-virtualized build turns iret/hlt into hypercalls). */
  asmLine?: (line: string) => string;
}

export interface FileOutput {
  asm: string;
  sourceMap: SourceMapping[];
  /** Symbols defined (for the start-up decision). */
  defines: string[];
}

/** Internal labels are unique over one compile() call, so outputs can be concatenated. */
export class LabelCounter {
  private n = 0;
  next(): number {
    return this.n++;
  }
}

interface Operand {
  reg: string;
  /** A temporary this code owns and must release. */
  temp: boolean;
}

type Held = { op: Operand } | { slot: number };

interface Local extends LocalInfo {
  /** Folded constant (a `const` with a constant initializer). */
  constValue?: number;
  /** A promoted typed-array base address (the array's symbol). */
  arrayBase?: string;
}

type Binding = { kind: "local"; local: Local } | GlobalSymbol;

type LValue =
  | { kind: "reg"; reg: string }
  | { kind: "slot"; offset: number }
  | { kind: "global"; sym: string }
  | { kind: "elem"; base: Operand; off: number; elem: ElemType };

interface LoopTarget {
  label?: string;
  breakLabel: string;
  continueLabel?: string;
}

const ZERO: Operand = { reg: "zero", temp: false };
const fitsImm = (v: number) => v >= S18.min && v <= S18.max;
const isPow2 = (v: number) => v > 0 && (v & (v - 1)) === 0;


const COMPARISONS = new Set(["<", ">", "<=", ">=", "==", "===", "!=", "!=="]);
const NEGATE: Record<string, string> = { "<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "==" };

/** Emits one file. */
export class FileCompiler {
  /** Read-only data of the file: string literals, jump tables. */
  readonly rodata: string[] = [];
  private readonly strings = new Map<string, string>();
  readonly map: SourceMapping[] = [];
  readonly intrinsics: Readonly<Record<IntrinsicName, IntrinsicSpec>>;
  readonly asmLine: (line: string) => string;

  constructor(
    readonly scope: FileScope,
    readonly labels: LabelCounter,
    readonly diagnostics: Diagnostic[],
    options: CodegenOptions = {},
  ) {
    this.intrinsics = options.intrinsics ?? NATIVE_INTRINSICS;
    this.asmLine = options.asmLine ?? ((l) => l);
  }

  report(node: t.Node, message: string): void {
    const d = diagnosticAt(this.scope.file, node, message);
    if (!this.diagnostics.some((x) => x.file === d.file && x.line === d.line && x.col === d.col && x.message === d.message)) {
      this.diagnostics.push(d);
    }
  }

  unsupported(node: t.Node, construct: string): void {
    this.report(node, unsupportedMessage(construct));
  }

  label(hint: string): string {
    return `.L${hint}_${this.labels.next()}`;
  }

  /** The label of a string literal's bytes in .rodata. */
  stringLabel(text: string): string {
    let l = this.strings.get(text);
    if (!l) {
      l = `.Lstr_${this.labels.next()}`;
      this.strings.set(text, l);
      this.rodata.push(`${l}:`, `    .asciz ${asmString(text)}`);
    }
    return l;
  }

  compile(): FileOutput {
    const { scope } = this;
    const out: string[] = [];
    const map: SourceMapping[] = [];
    const push = (line: string) => out.push(line);
    push(`# Generated by previrt cc from ${scope.file.file}. Calling convention: docs/abi.md.`);

    const functions = scope.defined.filter((d) => d.symbol.kind === "function" && d.symbol.node);
    if (functions.length) push("    .text");
    for (const d of functions) {
      const sym = d.symbol as Extract<GlobalSymbol, { kind: "function" }>;
      const fc = new FunctionCompiler(this, sym, sym.node!);
      let lines: Line[];
      try {
        lines = fc.compile();
      } catch (e) {
        // Code generation over a file with reported errors may trip on the
        // constructs it refused; only a failure on valid input is a bug.
        if (this.diagnostics.some((x) => x.file === scope.file.file)) continue;
        throw e;
      }
      for (const l of lines) {
        if (l.text === `${sym.asmName}:` && scope.globals.has(d.name)) push(`    .global ${sym.asmName}`);
        if (l.src) map.push({ asmLine: out.length + 1, file: scope.file.file, line: l.src.line, col: l.src.col, asmCol: l.src.asmCol });
        push(l.text);
      }
    }

    const data: string[] = [];
    const bss: string[] = [];
    const ro: string[] = [];
    for (const d of scope.defined) {
      const s = d.symbol;
      const global = scope.globals.has(d.name);
      if (s.kind === "scalar" && !s.external) {
        const sect = s.init === undefined || (s.init.kind === "word" && s.init.value === 0) ? bss : s.constant ? ro : data;
        if (global) sect.push(`    .global ${s.asmName}`);
        sect.push("    .align 4", `${s.asmName}:`);
        if (sect === bss) sect.push("    .space 4");
        else if (s.init!.kind === "word") sect.push(`    .word ${s.init!.value}`);
        else if (s.init!.kind === "string") sect.push(`    .word ${this.stringLabel(s.init!.text)}`);
        else {
          const target = scope.names.get(s.init!.name);
          let name = target && "asmName" in target && target.asmName ? target.asmName : s.init!.name;
          // addressOf(aStringGlobal): the string's address, as in a function.
          if (target?.kind === "scalar" && target.init?.kind === "string") name = this.stringLabel(target.init.text);
          if (!target || (target.kind !== "function" && target.kind !== "array" && target.kind !== "scalar")) {
            this.report(d.node, `addressOf: '${s.init!.name}' is not a function or global`);
          }
          sect.push(`    .word ${name}`);
        }
      } else if (s.kind === "const" && s.asmName) {
        if (global) ro.push(`    .global ${s.asmName}`);
        ro.push("    .align 4", `${s.asmName}:`, `    .word ${s.value}`);
      } else if (s.kind === "array") {
        const sect = s.init ? data : bss;
        if (global) sect.push(`    .global ${s.asmName}`);
        sect.push("    .align 4", `${s.asmName}:`);
        if (s.init) {
          const dir = s.elem.size === 4 ? ".word" : s.elem.size === 2 ? ".half" : ".byte";
          for (let i = 0; i < s.init.length; i += 16) sect.push(`    ${dir} ${s.init.slice(i, i + 16).join(", ")}`);
          if (s.init.length === 0) sect.push("    .space 0");
        } else {
          sect.push(`    .space ${s.length * s.elem.size}`);
        }
      }
    }
    if (data.length) out.push("", "    .data", ...data);
    if (bss.length) out.push("", "    .bss", ...bss);
    ro.push(...this.rodata);
    if (ro.length) out.push("", "    .rodata", ...ro);

    const defines = scope.defined.filter((d) => "asmName" in d.symbol && !(d.symbol as { external?: boolean }).external).map((d) => (d.symbol as { asmName: string }).asmName);
    return { asm: out.join("\n") + "\n", sourceMap: map, defines };
  }
}

interface Line {
  text: string;
  src?: { line: number; col: number; asmCol?: number };
}

class FunctionCompiler {
  private readonly body: Line[] = [];
  private readonly scopes: Map<string, Binding>[] = [];
  private readonly locals: Local[] = [];
  private readonly localByDecl = new Map<t.Node, Local>();
  private pool!: TempPool;
  private localSlots = 0;
  private spillDepth = 0;
  private maxSpill = 0;
  private leaf = true;
  private src?: { line: number; col: number; asmCol?: number };
  private lastCommentLine = -1;
  private readonly loops: LoopTarget[] = [];
  private readonly retLabel: string;
  private readonly name: string;
  /** Registers holding locals (never used as a multi-step destination). */
  private readonly homeRegs = new Set<string>();
  private readonly isStart: boolean;
  /** Typed-array symbol → register holding its address for the whole function. */
  private readonly arrayBases = new Map<string, string>();

  constructor(
    private readonly fc: FileCompiler,
    sym: Extract<GlobalSymbol, { kind: "function" }>,
    private readonly node: t.FunctionDeclaration,
  ) {
    this.name = sym.asmName;
    this.retLabel = fc.label(`${this.name.replace(/[^\w]/g, "_")}_ret`);
    this.isStart = sym.asmName === "_start";
  }

  // ---- driver ------------------------------------------------------------

  compile(): Line[] {
    this.analyse();
    this.emitComment(this.node);
    this.scopes.push(new Map());
    for (const p of this.node.params) {
      if (p.type === "Identifier") this.scopes[0].set(p.name, { kind: "local", local: this.localByDecl.get(p)! });
    }
    const stmts = this.node.body.body;
    for (const s of stmts) this.genStatement(s);
    const last = stmts[stmts.length - 1];
    const endsWithReturn = last?.type === "ReturnStatement";
    if (!endsWithReturn) this.emit("li a0, 0", "falling off the end returns 0 (undefined | 0)");
    return this.assemble(endsWithReturn);
  }

  /** Pre-pass: locals, their weights, leafness, folded constants. */
  private analyse(): void {
    const declared = new Map<string, number>();
    /** Names declared in this function, and how many of those declarations hold strings. */
    const stringDecls = new Map<string, number>();
    const add = (id: t.Identifier, param: number, init?: t.Expression | null) => {
      const local: Local = { name: id.name, weight: 0, param };
      this.locals.push(local);
      this.localByDecl.set(id, local);
      declared.set(id.name, (declared.get(id.name) ?? 0) + 1);
      if (isStringTyped(id) || (init && isStringLiteral(init))) stringDecls.set(id.name, (stringDecls.get(id.name) ?? 0) + 1);
    };
    this.node.params.forEach((p, i) => {
      if (p.type === "Identifier") add(p, i);
    });
    const weights = new Map<string, number>();
    const arrayRefs = new Map<string, number>();
    let usesAsm = false;
    const constDecls: { id: t.Identifier; init: t.Expression }[] = [];
    const walk = (n: t.Node | null | undefined, depth: number) => {
      if (!n || typeof n !== "object") return;
      switch (n.type) {
        case "VariableDeclarator":
          if (n.id.type === "Identifier") add(n.id, -1, n.init);
          break;
        case "VariableDeclaration":
          if (n.kind === "const") for (const d of n.declarations) if (d.id.type === "Identifier" && d.init) constDecls.push({ id: d.id, init: d.init });
          break;
        case "Identifier":
          weights.set(n.name, (weights.get(n.name) ?? 0) + 8 ** Math.min(depth, 4));
          if (depth > 0 && this.fc.scope.names.get(n.name)?.kind === "array") arrayRefs.set(n.name, (arrayRefs.get(n.name) ?? 0) + 8 ** Math.min(depth, 4));
          break;
        case "CallExpression": {
          const callee = n.callee.type === "Identifier" ? this.fc.scope.names.get(n.callee.name) : undefined;
          if (callee?.kind === "intrinsic") {
            if (this.fc.intrinsics[callee.name].argRegs) this.leaf = false;
            if (callee.name === "asm") usesAsm = true;
          } else if (!(n.callee.type === "MemberExpression" && n.callee.object.type === "Identifier" && n.callee.object.name === "Math")) {
            this.leaf = false;
          }
          break;
        }
        case "FunctionDeclaration":
          if (n !== this.node) return;
          break;
      }
      const loop = n.type === "WhileStatement" || n.type === "DoWhileStatement" || n.type === "ForStatement";
      // Recursion is bounded: parse.ts refuses trees deeper than the nesting limit.
      for (const { child } of codeChildren(n)) if (!isTypeOnly(child)) walk(child, loop ? depth + 1 : depth);
    };
    walk(this.node.body, 0);
    this.checkStringOperators((name) => (declared.has(name) ? stringDecls.get(name) === declared.get(name) : undefined));
    // Fold `const x = <constant>` when x is declared once (no shadowing doubts).
    const folded = new Map<string, number>();
    for (const { id, init } of constDecls) {
      if (declared.get(id.name) !== 1) continue;
      const v = evalConst(init, (name) => (folded.has(name) ? { kind: "const", value: folded.get(name)! } : declared.has(name) ? undefined : this.fc.scope.names.get(name)));
      if (v === undefined) continue;
      folded.set(id.name, v);
      const local = this.localByDecl.get(id)!;
      local.constValue = v;
    }
    for (const l of this.locals) l.weight = l.constValue !== undefined ? 0 : (weights.get(l.name) ?? 0) / (declared.get(l.name) ?? 1);
    const real = this.locals.filter((l) => l.constValue === undefined);
    // A global typed array indexed inside a loop keeps its address in a
    // register (set once in the prologue), when one is free.
    const bases: Local[] = [];
    for (const [name, weight] of arrayRefs) {
      const sym = this.fc.scope.names.get(name);
      if (declared.has(name) || sym?.kind !== "array") continue;
      bases.push({ name: `&${name}`, weight, param: -1, arrayBase: sym.asmName });
    }
    if (this.isStart) this.leaf = false;
    const alloc = assignHomes([...real, ...bases], { leaf: this.leaf, keepTemps: usesAsm });
    for (const b of bases) if (b.home?.kind === "reg") this.arrayBases.set(b.arrayBase!, b.home.reg);
    this.saved = alloc.saved;
    this.localSlots = alloc.slots;
    this.pool = new TempPool(alloc.temps);
    for (const l of real) if (l.home?.kind === "reg") this.homeRegs.add(l.home.reg);
  }

  private saved: string[] = [];

  /**
   * A string's value is its address, so an operator applied to a string
   * would compute on addresses where JavaScript concatenates, converts or
   * compares contents (`"a" + "b"`, `1 + "2"`, `s === "x"`, `if (s)`): each
   * is an error. A string is a string literal, a name declared `: string`
   * or initialized with a string literal, or `?:`, `,` or `=` producing one.
   */
  private checkStringOperators(localIsString: (name: string) => boolean | undefined): void {
    const isString = (e0: t.Expression | t.PrivateName | t.LVal): boolean => {
      if (e0.type === "PrivateName") return false;
      const e = unwrap(e0 as t.Expression);
      switch (e.type) {
        case "StringLiteral":
          return true;
        case "TemplateLiteral":
          return true;
        case "Identifier": {
          const local = localIsString(e.name);
          if (local !== undefined) return local;
          const g = this.fc.scope.names.get(e.name);
          return g?.kind === "scalar" && g.string === true;
        }
        case "ConditionalExpression":
          return isString(e.consequent) || isString(e.alternate);
        case "SequenceExpression":
          return isString(e.expressions[e.expressions.length - 1]);
        case "AssignmentExpression":
          return e.operator === "=" && isString(e.right);
        default:
          return false;
      }
    };
    const onString = (node: t.Node, op: string) => this.fc.unsupported(node, `${operatorName(op)} on a string`);
    walkTree(this.node.body, ({ node: n }) => {
      switch (n.type) {
        case "BinaryExpression":
          if (isString(n.left) || isString(n.right)) onString(n, n.operator);
          break;
        case "LogicalExpression":
          if (isString(n.left)) onString(n, n.operator);
          break;
        case "UnaryExpression":
          if (isString(n.argument)) onString(n, n.operator);
          break;
        case "UpdateExpression":
          if (isString(n.argument)) onString(n, n.operator);
          break;
        case "AssignmentExpression":
          if (n.operator !== "=" && (isString(n.left) || isString(n.right))) onString(n, n.operator);
          break;
        case "IfStatement":
        case "WhileStatement":
        case "DoWhileStatement":
        case "ForStatement":
        case "ConditionalExpression":
          if (n.test && isString(n.test)) this.fc.unsupported(n.test, "a string as a condition");
          break;
      }
    });
  }

  /** Prologue + body + epilogue, now that the frame size is known. */
  private assemble(endsWithReturn: boolean): Line[] {
    const lines: Line[] = [];
    const at = (text: string) => lines.push({ text, src: this.firstSrc() });
    const slotsBytes = 4 * (this.localSlots + this.maxSpill);
    const saveList = [...(this.leaf ? [] : ["lr"]), ...this.saved];
    const frame = slotsBytes + 4 * saveList.length;
    // The function's own `# file:line` comment goes above its label.
    if (this.body[0]?.text.startsWith("    # ")) lines.push({ text: this.body.shift()!.text.trimStart(), src: this.firstSrc() });
    lines.push({ text: `${this.name}:` });
    if (this.isStart) at("    la sp, __stack_top");
    if (frame) at(`    addi sp, sp, -${frame}`);
    saveList.forEach((r, i) => at(`    sw ${r}, ${frame - 4 * (i + 1)}(sp)`));
    for (const l of this.locals) {
      if (l.param < 0 || l.constValue !== undefined || !l.home) continue;
      const from = `a${l.param}`;
      if (l.home.kind === "reg" && l.home.reg !== from) at(`    mv ${l.home.reg}, ${from}`);
      if (l.home.kind === "slot") at(`    sw ${from}, ${4 * l.home.index}(sp)`);
    }
    for (const [sym, reg] of this.arrayBases) at(`    la ${reg}, ${sym}`);
    // `return` jumps to the epilogue; a frameless function returns in place.
    const simpleRet = frame === 0 && !this.isStart;
    for (const l of this.body) {
      if (simpleRet && l.text === `    j ${this.retLabel}`) lines.push({ text: "    ret", src: l.src });
      else lines.push(l);
    }
    if (simpleRet) {
      if (!endsWithReturn) lines.push({ text: "    ret" });
      return trimJumpToNext(lines);
    }
    lines.push({ text: `${this.retLabel}:` });
    saveList.forEach((r, i) => lines.push({ text: `    lw ${r}, ${frame - 4 * (i + 1)}(sp)` }));
    if (frame) lines.push({ text: `    addi sp, sp, ${frame}` });
    if (this.isStart) {
      const spin = this.fc.label("halt");
      lines.push({ text: "    out 0xF0, a0" }, { text: `${spin}:` }, { text: `    j ${spin}` });
    } else {
      lines.push({ text: "    ret" });
    }
    return trimJumpToNext(lines);
  }

  private firstSrc(): { line: number; col: number } | undefined {
    const loc = this.node.loc?.start;
    return loc ? { line: loc.line, col: loc.column + 1 } : undefined;
  }

  // ---- emission ----------------------------------------------------------

  private emit(text: string, comment?: string): void {
    this.body.push({ text: `    ${text}${comment ? `  # ${comment}` : ""}`, src: this.src });
  }

  private emitLabel(label: string): void {
    this.body.push({ text: `${label}:`, src: this.src });
  }

  private emitComment(node: t.Node): void {
    const loc = node.loc?.start;
    if (!loc) return;
    this.src = { line: loc.line, col: loc.column + 1 };
    if (loc.line === this.lastCommentLine) return;
    this.lastCommentLine = loc.line;
    const text = (this.fc.scope.file.lines[loc.line - 1] ?? "").trim();
    this.body.push({ text: `    # ${this.fc.scope.file.file}:${loc.line}: ${text.length > 60 ? text.slice(0, 57) + "..." : text}`, src: this.src });
  }

  // ---- temporaries -------------------------------------------------------

  private alloc(): string {
    const r = this.pool.alloc();
    if (r !== undefined) return r;
    // Cannot happen while every hold() keeps two registers free; fail loudly.
    throw new Error(`internal: out of temporaries in ${this.name}`);
  }

  private free(op: Operand): void {
    if (op.temp) this.pool.release(op.reg);
  }

  private target(dest?: string): string {
    return dest ?? this.alloc();
  }

  private spillSlot(): number {
    const slot = this.spillDepth++;
    this.maxSpill = Math.max(this.maxSpill, this.spillDepth);
    return 4 * (this.localSlots + slot);
  }

  /** Keeps `op` alive while more code is generated: spilled if registers run low. */
  private hold(op: Operand): Held {
    if (!op.temp || this.pool.freeCount() >= 2) return { op };
    const slot = this.spillSlot();
    this.emit(`sw ${op.reg}, ${slot}(sp)`, "spill");
    this.pool.release(op.reg);
    return { slot };
  }

  private reclaim(h: Held): Operand {
    if ("op" in h) return h.op;
    const r = this.alloc();
    this.emit(`lw ${r}, ${h.slot}(sp)`, "reload");
    this.spillDepth--;
    return { reg: r, temp: true };
  }

  /** A local's register may change while later operands run: copy it first. */
  private stabilize(op: Operand, later: t.Node[]): Operand {
    if (op.temp || !this.homeRegs.has(op.reg) || !later.some(hasAssignment)) return op;
    const r = this.alloc();
    this.emit(`mv ${r}, ${op.reg}`);
    return { reg: r, temp: true };
  }

  private into(op: Operand, dest?: string): Operand {
    if (dest === undefined || op.reg === dest) return dest === undefined ? op : { reg: dest, temp: false };
    this.emit(`mv ${dest}, ${op.reg}`);
    this.free(op);
    return { reg: dest, temp: false };
  }

  // ---- names -------------------------------------------------------------

  private lookup(name: string): Binding | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const b = this.scopes[i].get(name);
      if (b) return b;
    }
    return this.fc.scope.names.get(name);
  }

  private constLookup = (name: string) => {
    const b = this.lookup(name);
    if (b?.kind === "local") return b.local.constValue !== undefined ? { kind: "const" as const, value: b.local.constValue } : undefined;
    return b;
  };

  private constant(e: t.Expression): number | undefined {
    return evalConst(e, this.constLookup);
  }

  private slotOffset(home: Home & { kind: "slot" }): number {
    return 4 * home.index;
  }

  // ---- statements --------------------------------------------------------

  private genStatement(s: t.Statement, label?: string): void {
    if (s.type !== "BlockStatement" && s.type !== "LabeledStatement") this.emitComment(s);
    switch (s.type) {
      case "BlockStatement":
        this.scopes.push(new Map());
        for (const x of s.body) this.genStatement(x);
        this.scopes.pop();
        return;
      case "EmptyStatement":
        return;
      case "ExpressionStatement":
        this.genEffect(s.expression);
        return;
      case "VariableDeclaration":
        this.genDeclaration(s);
        return;
      case "IfStatement": {
        const elseLabel = this.fc.label("else");
        this.genCond(s.test, elseLabel, false);
        this.genStatement(s.consequent);
        if (s.alternate) {
          const end = this.fc.label("endif");
          this.emit(`j ${end}`);
          this.emitLabel(elseLabel);
          this.genStatement(s.alternate);
          this.emitLabel(end);
        } else {
          this.emitLabel(elseLabel);
        }
        return;
      }
      case "WhileStatement":
      case "ForStatement": {
        this.scopes.push(new Map());
        if (s.type === "ForStatement" && s.init) {
          if (s.init.type === "VariableDeclaration") this.genDeclaration(s.init);
          else this.genEffect(s.init);
        }
        const body = this.fc.label("loop");
        const cont = this.fc.label("continue");
        const brk = this.fc.label("break");
        const test = s.test ?? undefined;
        const testConst = test ? this.constant(test) : 1;
        const cond = this.fc.label("cond");
        if (testConst === 0) {
          this.scopes.pop();
          return;
        }
        if (testConst === undefined) this.emit(`j ${cond}`);
        this.emitLabel(body);
        this.loops.push({ label, breakLabel: brk, continueLabel: cont });
        this.genStatement(s.body);
        this.loops.pop();
        this.emitLabel(cont);
        if (s.type === "ForStatement" && s.update) {
          this.emitComment(s.update);
          this.genEffect(s.update);
        }
        if (testConst === undefined) {
          this.emitLabel(cond);
          this.emitComment(test!);
          this.genCond(test!, body, true);
        } else {
          this.emit(`j ${body}`);
        }
        this.emitLabel(brk);
        this.scopes.pop();
        return;
      }
      case "DoWhileStatement": {
        const body = this.fc.label("do");
        const cont = this.fc.label("continue");
        const brk = this.fc.label("break");
        this.emitLabel(body);
        this.loops.push({ label, breakLabel: brk, continueLabel: cont });
        this.genStatement(s.body);
        this.loops.pop();
        this.emitLabel(cont);
        this.emitComment(s.test);
        this.genCond(s.test, body, true);
        this.emitLabel(brk);
        return;
      }
      case "LabeledStatement": {
        const body = s.body;
        if (body.type === "WhileStatement" || body.type === "ForStatement" || body.type === "DoWhileStatement" || body.type === "SwitchStatement") {
          this.genStatement(body, s.label.name);
        } else {
          const brk = this.fc.label("break");
          this.loops.push({ label: s.label.name, breakLabel: brk });
          this.genStatement(body);
          this.loops.pop();
          this.emitLabel(brk);
        }
        return;
      }
      case "BreakStatement":
      case "ContinueStatement": {
        const want = s.label?.name;
        const isBreak = s.type === "BreakStatement";
        for (let i = this.loops.length - 1; i >= 0; i--) {
          const l = this.loops[i];
          if (want !== undefined ? l.label === want : isBreak || l.continueLabel) {
            const to = isBreak ? l.breakLabel : l.continueLabel;
            if (to) {
              this.emit(`j ${to}`);
              return;
            }
          }
        }
        this.fc.report(s, `'${isBreak ? "break" : "continue"}' outside ${want ? `a statement labelled '${want}'` : "a loop"}`);
        return;
      }
      case "ReturnStatement":
        if (s.argument) this.gen(s.argument, "a0");
        else this.emit("li a0, 0");
        this.emit(`j ${this.retLabel}`);
        return;
      case "SwitchStatement":
        this.genSwitch(s, label);
        return;
      case "FunctionDeclaration":
        this.fc.unsupported(s, "a nested function (closure)");
        return;
      case "TSTypeAliasDeclaration":
      case "TSInterfaceDeclaration":
        return; // types only
      default:
        this.fc.unsupported(s, describe(s.type));
    }
  }

  private genDeclaration(s: t.VariableDeclaration): void {
    for (const d of s.declarations) {
      if (d.id.type !== "Identifier") continue;
      const local = this.localByDecl.get(d.id);
      if (!local) continue;
      const scope = this.scopes[this.scopes.length - 1];
      if (local.constValue !== undefined) {
        scope.set(d.id.name, { kind: "local", local });
        continue;
      }
      if (d.init && unwrap(d.init).type === "NewExpression") this.fc.unsupported(d.init, "a typed array outside a global declaration");
      // The initializer sees the outer binding (TDZ aside), so bind afterwards.
      const home = local.home!;
      if (home.kind === "reg") {
        if (d.init) this.gen(d.init, home.reg);
        else this.emit(`li ${home.reg}, 0`, "undefined | 0");
      } else {
        const v = d.init ? this.gen(d.init) : ZERO;
        this.emit(`sw ${v.reg}, ${this.slotOffset(home)}(sp)`);
        this.free(v);
      }
      scope.set(d.id.name, { kind: "local", local });
    }
  }

  private genSwitch(s: t.SwitchStatement, label?: string): void {
    const brk = this.fc.label("break");
    const caseLabels = s.cases.map(() => this.fc.label("case"));
    const values: (number | undefined)[] = s.cases.map((c) => {
      if (!c.test) return undefined;
      const v = this.constant(c.test);
      if (v === undefined) this.fc.report(c.test, "case labels must be constant integers in guest code");
      return v;
    });
    const defaultIndex = s.cases.findIndex((c) => !c.test);
    const otherwise = defaultIndex >= 0 ? caseLabels[defaultIndex] : brk;
    const d = this.gen(s.discriminant);
    const known = values.map((v, i) => ({ v, i })).filter((x): x is { v: number; i: number } => x.v !== undefined);
    const distinct = new Map<number, number>();
    for (const k of known) if (!distinct.has(k.v)) distinct.set(k.v, k.i);
    // A loop, not Math.min(...keys): a switch may have more cases than a call has arguments.
    let min = Infinity;
    let max = -Infinity;
    for (const v of distinct.keys()) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const range = max - min + 1;
    if (distinct.size >= 5 && range <= 3 * distinct.size && range <= 1024) {
      // Jump table in .rodata.
      const table = this.fc.label("jumptable");
      const idx = this.alloc();
      this.emit(min === 0 ? `mv ${idx}, ${d.reg}` : fitsImm(-min) ? `addi ${idx}, ${d.reg}, ${-min}` : `li ${idx}, ${min}`);
      if (min !== 0 && !fitsImm(-min)) this.emit(`sub ${idx}, ${d.reg}, ${idx}`);
      this.free(d);
      const tmp = this.alloc();
      this.emit(`sltiu ${tmp}, ${idx}, ${range}`);
      this.emit(`beqz ${tmp}, ${otherwise}`);
      this.emit(`slli ${idx}, ${idx}, 2`);
      this.emit(`la ${tmp}, ${table}`);
      this.emit(`add ${idx}, ${idx}, ${tmp}`);
      this.emit(`lw ${idx}, 0(${idx})`);
      this.emit(`jr ${idx}`);
      this.pool.release(tmp);
      this.pool.release(idx);
      const entries: string[] = [];
      for (let v = min; v <= max; v++) entries.push(distinct.has(v) ? caseLabels[distinct.get(v)!] : otherwise);
      this.fc.rodata.push(`    .align 4`, `${table}:`, ...entries.map((e) => `    .word ${e}`));
    } else {
      for (const [v, i] of distinct) {
        if (v === 0) this.emit(`beqz ${d.reg}, ${caseLabels[i]}`);
        else {
          const c = this.alloc();
          this.emit(`li ${c}, ${v}`);
          this.emit(`beq ${d.reg}, ${c}, ${caseLabels[i]}`);
          this.pool.release(c);
        }
      }
      this.free(d);
      this.emit(`j ${otherwise}`);
    }
    this.loops.push({ label, breakLabel: brk });
    this.scopes.push(new Map());
    s.cases.forEach((c, i) => {
      this.emitLabel(caseLabels[i]);
      for (const x of c.consequent) this.genStatement(x);
    });
    this.scopes.pop();
    this.loops.pop();
    this.emitLabel(brk);
  }

  // ---- expressions -------------------------------------------------------

  /** Evaluates for side effects only. */
  private genEffect(e0: t.Expression): void {
    const e = unwrap(e0);
    switch (e.type) {
      case "AssignmentExpression":
        this.free(this.genAssign(e, undefined, false));
        return;
      case "UpdateExpression":
        this.free(this.genUpdate(e, undefined, false));
        return;
      case "CallExpression": {
        const r = this.genCall(e, undefined, false);
        if (r) this.free(r);
        return;
      }
      case "SequenceExpression":
        for (const x of e.expressions) this.genEffect(x);
        return;
      default:
        this.free(this.gen(e));
    }
  }

  /** Evaluates `e` into a register (into `dest` when given). */
  private gen(e0: t.Expression, dest?: string): Operand {
    const e = unwrap(e0);
    const c = this.constant(e);
    if (c !== undefined && e.type !== "AssignmentExpression" && e.type !== "UpdateExpression" && e.type !== "CallExpression" && e.type !== "SequenceExpression") {
      if (c === 0 && dest === undefined) return ZERO;
      const r = this.target(dest);
      this.emit(`li ${r}, ${c}`);
      return { reg: r, temp: dest === undefined };
    }
    switch (e.type) {
      case "StringLiteral":
      case "TemplateLiteral": {
        if (e.type === "TemplateLiteral" && e.expressions.length) {
          this.fc.unsupported(e, "a template literal with expressions");
          return ZERO;
        }
        const text = e.type === "StringLiteral" ? e.value : e.quasis.map((q) => q.value.cooked ?? "").join("");
        const r = this.target(dest);
        this.emit(`la ${r}, ${this.fc.stringLabel(text)}`);
        return { reg: r, temp: dest === undefined };
      }
      case "Identifier":
        return this.genIdentifier(e, dest);
      case "BinaryExpression": {
        if (e.left.type === "PrivateName" || !isSupportedBinary(e.operator)) return ZERO; // reported by check.ts
        if (COMPARISONS.has(e.operator)) return this.genCompareValue(e, dest);
        if ((e.operator === "|" || e.operator === ">>>") && this.constant(e.right) === 0) return this.gen(e.left, dest); // x|0, x>>>0: same bits
        if (e.operator === "/" || e.operator === "%") this.checkUnsignedMix(e);
        const unsigned = this.unsignedOperands(e.left, e.right);
        const l = this.stabilize(this.gen(e.left), [e.right]);
        return this.binop(e.operator, l, e.right, dest, unsigned);
      }
      case "LogicalExpression": {
        if (e.operator === "??") {
          this.fc.unsupported(e, operatorName("??"));
          return ZERO;
        }
        // JS value semantics: a && b is a when a is 0, else b; a || b is a unless a is 0.
        const end = this.fc.label(e.operator === "&&" ? "and" : "or");
        const skip = e.operator === "&&" ? "beqz" : "bnez";
        return this.genJoin(dest, (into) => {
          const v = into(e.left);
          this.emit(`${skip} ${v}, ${end}`);
          into(e.right);
          this.emitLabel(end);
        });
      }
      case "ConditionalExpression": {
        const other = this.fc.label("else");
        const end = this.fc.label("endif");
        return this.genJoin(dest, (into) => {
          this.genCond(e.test, other, false);
          into(e.consequent);
          this.emit(`j ${end}`);
          this.emitLabel(other);
          into(e.alternate);
          this.emitLabel(end);
        });
      }
      case "UnaryExpression": {
        const a = this.gen(e.argument);
        this.free(a);
        const r = this.target(dest);
        switch (e.operator) {
          case "-":
            this.emit(`sub ${r}, zero, ${a.reg}`);
            break;
          case "~":
            this.emit(`xori ${r}, ${a.reg}, -1`);
            break;
          case "!":
            this.emit(`sltiu ${r}, ${a.reg}, 1`);
            break;
          case "+":
            if (r !== a.reg) this.emit(`mv ${r}, ${a.reg}`);
            break;
          default:
            this.fc.unsupported(e, operatorName(e.operator));
        }
        return { reg: r, temp: dest === undefined };
      }
      case "AssignmentExpression":
        return this.genAssign(e, dest, true);
      case "UpdateExpression":
        return this.genUpdate(e, dest, true);
      case "CallExpression":
        return this.genCall(e, dest, true) ?? ZERO;
      case "SequenceExpression": {
        e.expressions.slice(0, -1).forEach((x) => this.genEffect(x));
        return this.gen(e.expressions[e.expressions.length - 1], dest);
      }
      case "MemberExpression": {
        const lv = this.lvalue(e);
        if (!lv) return ZERO;
        return this.readLValue(lv, dest, true);
      }
      case "NumericLiteral":
      case "BooleanLiteral":
        return ZERO; // out-of-range literal, reported by check.ts
      default:
        this.fc.unsupported(e, describe(e.type));
        return ZERO;
    }
  }

  /**
   * Expressions whose branches each produce the result (&&, ||, ?:): `body`
   * evaluates each branch with `into`, which leaves the value in one place —
   * a register when one can be spared, else a frame slot — and returns the
   * register that held it (for a branch on it right after).
   */
  private genJoin(dest: string | undefined, body: (into: (e: t.Expression) => string) => void): Operand {
    const safe = dest !== undefined && !this.homeRegs.has(dest) ? dest : undefined;
    if (safe || this.pool.freeCount() >= 3) {
      const r = safe ?? this.alloc();
      body((x) => this.gen(x, r).reg);
      return safe ? { reg: r, temp: false } : this.into({ reg: r, temp: true }, dest);
    }
    // Registers are scarce: keep the result in memory rather than hold one.
    const slot = this.spillSlot();
    body((x) => {
      const v = this.gen(x);
      this.emit(`sw ${v.reg}, ${slot}(sp)`);
      this.free(v);
      return v.reg;
    });
    const r = this.target(dest);
    this.emit(`lw ${r}, ${slot}(sp)`);
    this.spillDepth--;
    return { reg: r, temp: dest === undefined };
  }

  private genIdentifier(e: t.Identifier, dest?: string): Operand {
    const b = this.lookup(e.name);
    if (!b) {
      this.fc.report(e, e.name === "undefined" ? unsupportedMessage("`undefined`") : `unknown name '${e.name}'`);
      return ZERO;
    }
    if (b.kind === "local") {
      const home = b.local.home!;
      if (home.kind === "reg") return this.into({ reg: home.reg, temp: false }, dest);
      const r = this.target(dest);
      this.emit(`lw ${r}, ${this.slotOffset(home)}(sp)`);
      return { reg: r, temp: dest === undefined };
    }
    if (b.kind === "scalar") {
      const r = this.target(dest);
      this.emit(`lui ${r}, %hi(${b.asmName})`);
      this.emit(`lw ${r}, %lo(${b.asmName})(${r})`);
      return { reg: r, temp: dest === undefined };
    }
    if (b.kind === "function" || b.kind === "array") {
      this.fc.unsupported(e, `${b.kind === "function" ? "a function" : "a typed array"} as a value (use addressOf)`);
      return ZERO;
    }
    this.fc.report(e, `'${e.name}' is not a value`);
    return ZERO;
  }

  /** Whether an operand is written as an unsigned (`>>>`) value, which changes comparisons, / and %. */
  private isUnsigned(e0: t.Expression | t.PrivateName): boolean {
    if (e0.type === "PrivateName") return false;
    const e = unwrap(e0);
    if (e.type !== "BinaryExpression" || e.operator !== ">>>") return false;
    const c = this.constant(e.right);
    return c === undefined || (c & 31) === 0;
  }

  /** Unsigned division/remainder: both operands `>>>` values, or one of them with a non-negative constant. */
  private unsignedOperands(left: t.Expression | t.PrivateName, right: t.Expression): boolean {
    if (left.type === "PrivateName") return false;
    const lu = this.isUnsigned(left);
    const ru = this.isUnsigned(right);
    if (lu && ru) return true;
    if (lu) return this.constant(right) !== undefined && this.literalValue(right) >= 0;
    if (ru) return this.constant(left) !== undefined && this.literalValue(left) >= 0;
    return false;
  }

  private checkUnsignedMix(e: t.BinaryExpression): void {
    const l = this.isUnsigned(e.left);
    const r = this.isUnsigned(e.right);
    if (l === r) return;
    const other = l ? e.right : (e.left as t.Expression);
    const c = this.constant(other);
    if (c !== undefined && c >= 0) return;
    this.fc.report(e, `mixing an unsigned (>>> 0) and a signed operand in '${e.operator}' is not supported in guest code; write >>> 0 on both sides`);
  }

  /** `l op right` into dest; l is already evaluated (and owned). */
  private binop(op: string, l: Operand, right: t.Expression, dest: string | undefined, unsigned: boolean): Operand {
    const c = this.constant(right);
    if (c !== undefined) {
      const imm = this.immediateForm(op, c);
      if (imm) {
        this.free(l);
        const r = this.target(dest);
        if (imm === "mv") {
          if (r !== l.reg) this.emit(`mv ${r}, ${l.reg}`);
        } else this.emit(`${imm.op} ${r}, ${l.reg}, ${imm.value}`);
        return { reg: r, temp: dest === undefined };
      }
    }
    const h = this.hold(l);
    const rv = this.gen(right);
    const lv = this.reclaim(h);
    this.free(lv);
    this.free(rv);
    const r = this.target(dest);
    const mn: Record<string, string> = { "+": "add", "-": "sub", "*": "mul", "&": "and", "|": "or", "^": "xor", "<<": "sll", ">>": "sra", ">>>": "srl" };
    if (op === "/" || op === "%") {
      const ins = op === "/" ? (unsigned ? "divu" : "div") : unsigned ? "remu" : "rem";
      if (c !== undefined && c !== 0) {
        this.emit(`${ins} ${r}, ${lv.reg}, ${rv.reg}`);
      } else {
        // JavaScript: x / 0 and x % 0 are Infinity/NaN, and (…) | 0 is 0.
        const ok = this.fc.label("divok");
        const end = this.fc.label("divend");
        this.emit(`bnez ${rv.reg}, ${ok}`);
        this.emit(`li ${r}, 0`, "division by zero gives 0, as (x / 0) | 0 in JavaScript");
        this.emit(`j ${end}`);
        this.emitLabel(ok);
        this.emit(`${ins} ${r}, ${lv.reg}, ${rv.reg}`);
        this.emitLabel(end);
      }
    } else if (mn[op]) {
      this.emit(`${mn[op]} ${r}, ${lv.reg}, ${rv.reg}`);
    } else {
      // An operator outside the dialect (`**=`): check.ts reported it at the operator.
    }
    return { reg: r, temp: dest === undefined };
  }

  private immediateForm(op: string, c: number): { op: string; value: number } | "mv" | undefined {
    switch (op) {
      case "+":
        return c === 0 ? "mv" : fitsImm(c) ? { op: "addi", value: c } : undefined;
      case "-":
        return c === 0 ? "mv" : fitsImm(-c) ? { op: "addi", value: -c } : undefined;
      case "&":
        return fitsImm(c) ? { op: "andi", value: c } : undefined;
      case "|":
        return c === 0 ? "mv" : fitsImm(c) ? { op: "ori", value: c } : undefined;
      case "^":
        return c === 0 ? "mv" : fitsImm(c) ? { op: "xori", value: c } : undefined;
      case "<<":
        return (c & 31) === 0 ? "mv" : { op: "slli", value: c & 31 };
      case ">>":
        return (c & 31) === 0 ? "mv" : { op: "srai", value: c & 31 };
      case ">>>":
        return (c & 31) === 0 ? "mv" : { op: "srli", value: c & 31 };
      case "*":
        if (c === 1) return "mv";
        return isPow2(c) ? { op: "slli", value: Math.log2(c) } : undefined;
      default:
        return undefined;
    }
  }

  // ---- comparisons and conditions ---------------------------------------

  /** Operands of a comparison, with the signedness checks of the dialect. */
  private compareOperands(e: t.BinaryExpression): { l: Operand; r: Operand; unsigned: boolean } {
    const left = e.left as t.Expression;
    const lu = this.isUnsigned(left);
    const ru = this.isUnsigned(e.right);
    const lc = this.constant(left);
    const rc = this.constant(e.right);
    let unsigned = lu && ru;
    if (lu !== ru) {
      const c = lu ? rc : lc;
      if (c !== undefined && this.literalValue(lu ? e.right : left) >= 0) unsigned = true;
      else this.fc.report(e, `comparing an unsigned (>>> 0) value with a signed one is not supported in guest code; write >>> 0 on both sides`);
    } else if (!unsigned) {
      for (const side of [left, e.right]) {
        if (this.constant(side) !== undefined && this.literalValue(side) > 0x7fffffff) {
          this.fc.report(side, `this constant is outside the int32 range, so a signed comparison would differ from JavaScript; compare (x >>> 0) instead`);
        }
      }
    }
    const l = this.stabilize(rcIsZero(lc) ? ZERO : this.gen(left), [e.right]);
    const h = this.hold(l);
    const r = rcIsZero(rc) ? ZERO : this.gen(e.right);
    return { l: this.reclaim(h), r, unsigned };
  }

  /** The value of a constant as JavaScript sees it (0xFFFFFFFF stays 4294967295). */
  private literalValue(e0: t.Expression): number {
    const e = unwrap(e0);
    if (e.type === "NumericLiteral") return e.value;
    if (e.type === "BinaryExpression" && e.operator === ">>>") return (this.constant(e) ?? 0) >>> 0;
    return this.constant(e) ?? 0;
  }

  private genCompareValue(e: t.BinaryExpression, dest?: string): Operand {
    const op = e.operator === "===" ? "==" : e.operator === "!==" ? "!=" : e.operator;
    const rc = this.constant(e.right);
    const left = e.left as t.Expression;
    // Immediate forms: x < c, x == c, x != c.
    if (rc !== undefined && !this.isUnsigned(left) && (op === "<" || op === ">=") && fitsImm(rc) && this.literalValue(e.right) <= 0x7fffffff) {
      const l = this.gen(left);
      this.free(l);
      const r = this.target(dest);
      this.emit(`slti ${r}, ${l.reg}, ${rc}`);
      if (op === ">=") this.emit(`xori ${r}, ${r}, 1`);
      return { reg: r, temp: dest === undefined };
    }
    const { l, r: rr, unsigned } = this.compareOperands(e);
    this.free(l);
    this.free(rr);
    const r = this.target(dest);
    const slt = unsigned ? "sltu" : "slt";
    switch (op) {
      case "<":
        this.emit(`${slt} ${r}, ${l.reg}, ${rr.reg}`);
        break;
      case ">":
        this.emit(`${slt} ${r}, ${rr.reg}, ${l.reg}`);
        break;
      case "<=":
        this.emit(`${slt} ${r}, ${rr.reg}, ${l.reg}`);
        this.emit(`xori ${r}, ${r}, 1`);
        break;
      case ">=":
        this.emit(`${slt} ${r}, ${l.reg}, ${rr.reg}`);
        this.emit(`xori ${r}, ${r}, 1`);
        break;
      case "==":
      case "!=":
        if (rr.reg === "zero" || l.reg === "zero") {
          const x = rr.reg === "zero" ? l.reg : rr.reg;
          this.emit(op === "==" ? `sltiu ${r}, ${x}, 1` : `sltu ${r}, zero, ${x}`);
        } else {
          this.emit(`xor ${r}, ${l.reg}, ${rr.reg}`);
          this.emit(op === "==" ? `sltiu ${r}, ${r}, 1` : `sltu ${r}, zero, ${r}`);
        }
        break;
    }
    return { reg: r, temp: dest === undefined };
  }

  /** Branches to `label` when the truth of `e` equals `when`. */
  private genCond(e0: t.Expression, label: string, when: boolean): void {
    const e = unwrap(e0);
    const c = this.constant(e);
    if (c !== undefined && e.type !== "CallExpression" && e.type !== "AssignmentExpression" && e.type !== "UpdateExpression") {
      if ((c !== 0) === when) this.emit(`j ${label}`);
      return;
    }
    if (e.type === "UnaryExpression" && e.operator === "!") return this.genCond(e.argument, label, !when);
    if (e.type === "LogicalExpression" && (e.operator === "&&" || e.operator === "||")) {
      const and = e.operator === "&&";
      if (and !== when) {
        // (a && b) false → a false or b false; (a || b) true → a true or b true.
        this.genCond(e.left, label, when);
        this.genCond(e.right, label, when);
      } else {
        const skip = this.fc.label("skip");
        this.genCond(e.left, skip, !when);
        this.genCond(e.right, label, when);
        this.emitLabel(skip);
      }
      return;
    }
    if (e.type === "BinaryExpression" && COMPARISONS.has(e.operator)) {
      let op: string = e.operator === "===" ? "==" : e.operator === "!==" ? "!=" : e.operator;
      if (!when) op = NEGATE[op];
      const { l, r, unsigned } = this.compareOperands(e);
      this.free(l);
      this.free(r);
      const u = unsigned ? "u" : "";
      switch (op) {
        case "<":
          this.emit(`blt${u} ${l.reg}, ${r.reg}, ${label}`);
          break;
        case ">=":
          this.emit(`bge${u} ${l.reg}, ${r.reg}, ${label}`);
          break;
        case ">":
          this.emit(`blt${u} ${r.reg}, ${l.reg}, ${label}`);
          break;
        case "<=":
          this.emit(`bge${u} ${r.reg}, ${l.reg}, ${label}`);
          break;
        case "==":
          this.emit(`beq ${l.reg}, ${r.reg}, ${label}`);
          break;
        case "!=":
          this.emit(`bne ${l.reg}, ${r.reg}, ${label}`);
          break;
      }
      return;
    }
    const v = this.gen(e);
    this.free(v);
    this.emit(`${when ? "bnez" : "beqz"} ${v.reg}, ${label}`);
  }

  // ---- assignment --------------------------------------------------------

  private lvalue(e0: t.Expression | t.LVal): LValue | undefined {
    const e = unwrap(e0 as t.Expression) as t.Expression | t.LVal;
    if (e.type === "Identifier") {
      const b = this.lookup(e.name);
      if (!b) {
        this.fc.report(e, `unknown name '${e.name}'`);
        return undefined;
      }
      if (b.kind === "local") {
        if (b.local.constValue !== undefined) {
          this.fc.report(e, `'${e.name}' is a constant`);
          return undefined;
        }
        const home = b.local.home!;
        return home.kind === "reg" ? { kind: "reg", reg: home.reg } : { kind: "slot", offset: this.slotOffset(home) };
      }
      if (b.kind === "scalar") {
        if (b.constant) this.fc.report(e, `'${e.name}' is a constant`);
        return { kind: "global", sym: b.asmName };
      }
      if (b.kind === "const") {
        this.fc.report(e, `'${e.name}' is a constant`);
        return undefined;
      }
      this.fc.report(e, `cannot assign to '${e.name}'`);
      return undefined;
    }
    if (e.type === "MemberExpression") {
      const obj = unwrap(e.object as t.Expression);
      const b = obj.type === "Identifier" ? this.lookup(obj.name) : undefined;
      if (!e.computed) {
        const prop = e.property.type === "Identifier" ? e.property.name : "";
        if (b?.kind === "namespace") this.fc.report(e.property, `'${prop}' is not a member of ${b.name}`);
        else this.fc.unsupported(e, "property access");
        return undefined;
      }
      if (b?.kind !== "array") {
        this.fc.unsupported(e, obj.type === "Identifier" && b?.kind === "local" ? "indexing a local (only global typed arrays can be indexed)" : "indexing anything but a global typed array");
        return undefined;
      }
      return this.elementAddress(b, e.property as t.Expression);
    }
    this.fc.unsupported(e, "assigning to this kind of expression");
    return undefined;
  }

  /** Address of arr[index]: base register + constant offset. */
  private elementAddress(arr: Extract<GlobalSymbol, { kind: "array" }>, index0: t.Expression): LValue {
    const { elem } = arr;
    const promoted = this.arrayBases.get(arr.asmName);
    const ci = this.constant(index0);
    if (ci !== undefined && fitsImm(ci * elem.size)) {
      if (promoted) return { kind: "elem", base: { reg: promoted, temp: false }, off: ci * elem.size, elem };
      const base = this.alloc();
      this.emit(`la ${base}, ${arr.asmName}`);
      return { kind: "elem", base: { reg: base, temp: true }, off: ci * elem.size, elem };
    }
    // arr[i + c] folds c into the offset.
    let index = unwrap(index0);
    let off = 0;
    if (index.type === "BinaryExpression" && (index.operator === "+" || index.operator === "-")) {
      const k = this.constant(index.right);
      if (k !== undefined && fitsImm(k * elem.size)) {
        off = (index.operator === "+" ? k : -k) * elem.size;
        index = index.left as t.Expression;
      }
    }
    const i = this.gen(index);
    this.free(i);
    const addr = this.alloc();
    if (elem.shift) this.emit(`slli ${addr}, ${i.reg}, ${elem.shift}`);
    if (promoted) {
      this.emit(`add ${addr}, ${promoted}, ${elem.shift ? addr : i.reg}`);
      return { kind: "elem", base: { reg: addr, temp: true }, off, elem };
    }
    const base = this.alloc();
    this.emit(`la ${base}, ${arr.asmName}`);
    this.emit(`add ${addr}, ${base}, ${elem.shift ? addr : i.reg}`);
    this.pool.release(base);
    return { kind: "elem", base: { reg: addr, temp: true }, off, elem };
  }

  /** Reads an lvalue; `release` frees an element address afterwards. */
  private readLValue(lv: LValue, dest: string | undefined, release: boolean): Operand {
    switch (lv.kind) {
      case "reg":
        return this.into({ reg: lv.reg, temp: false }, dest);
      case "slot": {
        const r = this.target(dest);
        this.emit(`lw ${r}, ${lv.offset}(sp)`);
        return { reg: r, temp: dest === undefined };
      }
      case "global": {
        const r = this.target(dest);
        this.emit(`lui ${r}, %hi(${lv.sym})`);
        this.emit(`lw ${r}, %lo(${lv.sym})(${r})`);
        return { reg: r, temp: dest === undefined };
      }
      case "elem": {
        if (release) this.free(lv.base);
        const r = this.target(dest);
        this.emit(`${lv.elem.load} ${r}, ${lv.off}(${lv.base.reg})`);
        return { reg: r, temp: dest === undefined };
      }
    }
  }

  private writeLValue(lv: LValue, v: Operand): void {
    switch (lv.kind) {
      case "reg":
        if (lv.reg !== v.reg) this.emit(`mv ${lv.reg}, ${v.reg}`);
        return;
      case "slot":
        this.emit(`sw ${v.reg}, ${lv.offset}(sp)`);
        return;
      case "global": {
        const a = this.alloc();
        this.emit(`lui ${a}, %hi(${lv.sym})`);
        this.emit(`sw ${v.reg}, %lo(${lv.sym})(${a})`);
        this.pool.release(a);
        return;
      }
      case "elem":
        this.emit(`${lv.elem.store} ${v.reg}, ${lv.off}(${lv.base.reg})`);
        return;
    }
  }

  private genAssign(e: t.AssignmentExpression, dest: string | undefined, want: boolean): Operand {
    const lv = this.lvalue(e.left as t.LVal);
    if (!lv) {
      this.free(this.gen(e.right));
      return ZERO;
    }
    const op = e.operator.slice(0, -1);
    if (lv.kind === "reg") {
      if (op === "") this.gen(e.right, lv.reg);
      else {
        if (op === "/" || op === "%") this.checkUnsignedMix({ ...e, type: "BinaryExpression", operator: op as t.BinaryExpression["operator"], left: e.left } as unknown as t.BinaryExpression);
        this.binop(op, { reg: lv.reg, temp: false }, e.right, lv.reg, false);
      }
      return want ? this.into({ reg: lv.reg, temp: false }, dest) : ZERO;
    }
    const held = lv.kind === "elem" ? this.hold(lv.base) : undefined;
    let v: Operand;
    if (op === "") {
      v = this.gen(e.right);
      if (held) this.reclaimBase(held, lv);
    } else {
      if (held) this.reclaimBase(held, lv);
      const cur = this.readLValue(lv, undefined, false);
      const h2 = lv.kind === "elem" ? this.hold(lv.base) : undefined;
      v = this.binop(op, cur, e.right, undefined, false);
      if (h2) this.reclaimBase(h2, lv);
    }
    this.writeLValue(lv, v);
    if (lv.kind === "elem") this.free(lv.base);
    if (!want) {
      this.free(v);
      return ZERO;
    }
    return this.into(v, dest);
  }

  private reclaimBase(h: Held, lv: LValue): Operand {
    const op = this.reclaim(h);
    if (lv.kind === "elem") lv.base = op;
    return op;
  }

  private genUpdate(e: t.UpdateExpression, dest: string | undefined, want: boolean): Operand {
    const lv = this.lvalue(e.argument as t.LVal);
    if (!lv) return ZERO;
    const delta = e.operator === "++" ? 1 : -1;
    const post = !e.prefix && want;
    if (lv.kind === "reg") {
      if (post) {
        const r = dest !== undefined && dest !== lv.reg ? dest : this.alloc();
        this.emit(`mv ${r}, ${lv.reg}`);
        this.emit(`addi ${lv.reg}, ${lv.reg}, ${delta}`);
        return dest !== undefined && r === dest ? { reg: r, temp: false } : this.into({ reg: r, temp: true }, dest);
      }
      this.emit(`addi ${lv.reg}, ${lv.reg}, ${delta}`);
      return want ? this.into({ reg: lv.reg, temp: false }, dest) : ZERO;
    }
    const cur = this.readLValue(lv, undefined, false);
    this.emit(`addi ${cur.reg}, ${cur.reg}, ${delta}`);
    this.writeLValue(lv, cur);
    if (post) this.emit(`addi ${cur.reg}, ${cur.reg}, ${-delta}`, "the old value");
    if (lv.kind === "elem") this.free(lv.base);
    if (!want) {
      this.free(cur);
      return ZERO;
    }
    return this.into(cur, dest);
  }

  // ---- calls -------------------------------------------------------------

  private genCall(e: t.CallExpression, dest: string | undefined, want: boolean): Operand | undefined {
    const callee = e.callee.type === "V8IntrinsicIdentifier" ? e.callee : unwrap(e.callee);
    if (callee.type === "MemberExpression" && callee.object.type === "Identifier" && callee.object.name === "Math" && !callee.computed && callee.property.type === "Identifier" && !this.lookup("Math")) {
      if (callee.property.name === "imul" && e.arguments.length === 2) {
        const [a, b] = e.arguments as t.Expression[];
        const l = this.stabilize(this.gen(a), [b]);
        return this.binop("*", l, b, dest, false);
      }
      this.fc.unsupported(e, `\`Math.${callee.property.name}\``);
      return ZERO;
    }
    if (callee.type !== "Identifier") {
      this.fc.unsupported(e, "a call through an expression");
      return ZERO;
    }
    const b = this.lookup(callee.name);
    if (!b) {
      this.fc.report(callee, `unknown function '${callee.name}'`);
      return ZERO;
    }
    if (b.kind === "intrinsic") return this.genIntrinsic(b.name, e, dest, want);
    if (b.kind !== "function") {
      this.fc.unsupported(callee, "a call through a variable (closure)");
      return ZERO;
    }
    for (const a of e.arguments) if (a.type === "SpreadElement" || a.type === "ArgumentPlaceholder") this.fc.unsupported(a, "spread syntax");
    const args = e.arguments.filter((a): a is t.Expression => a.type !== "SpreadElement" && a.type !== "ArgumentPlaceholder");
    if (b.params >= 0 && args.length !== b.params) {
      this.fc.report(e, `'${callee.name}' expects ${b.params} argument${b.params === 1 ? "" : "s"}, got ${args.length}`);
    }
    if (args.length > 4) {
      this.fc.unsupported(args[4], "a call with more than 4 arguments");
      return ZERO;
    }
    return this.callSequence(args.map((a) => ({ expr: a, reg: `a${args.indexOf(a)}` })), [`call ${b.asmName}`], dest, want);
  }

  /**
   * The caller's side of a call: save live temporaries, evaluate arguments
   * into their registers, run `lines`, take the result from a0, restore.
   */
  private callSequence(args: { expr: t.Expression; reg: string }[], lines: string[], dest: string | undefined, want: boolean): Operand | undefined {
    const live = this.pool.live().filter((r) => r !== dest);
    const saved: { reg: string; off: number }[] = [];
    for (const r of live) {
      const off = this.spillSlot();
      this.emit(`sw ${r}, ${off}(sp)`, "save across call");
      saved.push({ reg: r, off });
      this.pool.release(r);
    }
    const simple = args.every((a) => !hasCallOrAssignment(a.expr));
    if (simple) {
      for (const a of args) this.gen(a.expr, a.reg);
    } else {
      const held: Held[] = [];
      for (const a of args) held.push(this.hold(this.stabilize(this.gen(a.expr), args.map((x) => x.expr))));
      const ops: Operand[] = [];
      for (let i = held.length - 1; i >= 0; i--) ops[i] = this.reclaim(held[i]);
      args.forEach((a, i) => {
        if (ops[i].reg !== a.reg) this.emit(`mv ${a.reg}, ${ops[i].reg}`);
        this.free(ops[i]);
      });
    }
    for (const l of lines) this.emit(l);
    for (const s of saved) this.pool.take(s.reg);
    let result: Operand | undefined;
    if (want) {
      const r = this.target(dest);
      if (r !== "a0") this.emit(`mv ${r}, a0`);
      result = { reg: r, temp: dest === undefined };
    }
    for (let i = saved.length - 1; i >= 0; i--) {
      this.emit(`lw ${saved[i].reg}, ${saved[i].off}(sp)`, "restore");
      this.spillDepth--;
    }
    return result;
  }

  private genIntrinsic(name: IntrinsicName, e: t.CallExpression, dest: string | undefined, want: boolean): Operand | undefined {
    const spec = this.fc.intrinsics[name];
    const args = e.arguments as t.Expression[];
    const max = spec.args.length;
    if (args.length < spec.minArgs || args.length > max) {
      const expect = spec.minArgs === max ? `${max}` : `${spec.minArgs} to ${max}`;
      this.fc.report(e, `'${name}' expects ${expect} argument${max === 1 ? "" : "s"}, got ${args.length}`);
      return ZERO;
    }
    if (name === "asm") return this.genAsm(e, args[0]);
    if (name === "addressOf") return this.genAddressOf(args[0], dest);
    const label = () => this.fc.label(name);
    // Constant arguments first: they are checked, not evaluated.
    const consts: (number | undefined)[] = args.map((a, i) => {
      const kind = spec.args[i];
      if (kind.kind !== "const") return undefined;
      const v = this.constant(a);
      if (v === undefined) this.fc.report(a, `the ${kind.what} of '${name}' must be a compile-time constant`);
      else if (v < kind.range.min || v > kind.range.max) this.fc.report(a, `the ${kind.what} of '${name}' must be between ${kind.range.min} and ${kind.range.max}, got ${v}`);
      return v ?? kind.range.min;
    });
    if (spec.argRegs) {
      const regs = [...spec.argRegs];
      // A function argument (startCpu's fn) is not evaluated: its address goes into its register after the others.
      const symbolLines: string[] = [];
      args.forEach((a, i) => {
        if (spec.args[i].kind !== "symbol") return;
        const fn = this.functionArgument(name, a);
        if (fn) symbolLines.push(`la ${regs[i]}, ${fn}`);
      });
      const valueArgs = args.map((a, i) => ({ a, i })).filter(({ i }) => spec.args[i].kind !== "const" && spec.args[i].kind !== "symbol");
      const lines = [...symbolLines, ...spec.emit(args.map((_, i) => (consts[i] !== undefined ? { value: consts[i]! } : { reg: "" })), "a0", label)];
      return this.callSequence(valueArgs.map(({ a }, k) => ({ expr: a, reg: regs[k] })), lines, dest, want);
    }
    const emitted: EmittedArg[] = [];
    const held: (Held | undefined)[] = [];
    args.forEach((a, i) => {
      const kind = spec.args[i];
      if (kind.kind === "const") {
        emitted.push({ value: consts[i]! });
        held.push(undefined);
      } else if (kind.kind === "address") {
        const { op, off } = this.genAddress(a, kind.offset);
        emitted.push({ reg: op.reg, off });
        held.push(this.hold(this.stabilize(op, args.slice(i + 1))));
      } else {
        const op = this.gen(a);
        emitted.push({ reg: op.reg });
        held.push(this.hold(this.stabilize(op, args.slice(i + 1))));
      }
    });
    const ops: (Operand | undefined)[] = [];
    for (let i = held.length - 1; i >= 0; i--) ops[i] = held[i] ? this.reclaim(held[i]!) : undefined;
    ops.forEach((op, i) => {
      if (op) (emitted[i] as { reg: string }).reg = op.reg;
    });
    // A scratch register is taken while the arguments' registers are still held, so it is none of them.
    const scratch = spec.scratch ? this.alloc() : undefined;
    for (const op of ops) if (op) this.free(op);
    const rd = spec.returns ? this.target(dest) : (scratch ?? "zero");
    for (const l of spec.emit(emitted, rd, label)) {
      if (l.endsWith(":")) this.emitLabel(l.slice(0, -1));
      else this.emit(l);
    }
    if (scratch) this.pool.release(scratch);
    if (!spec.returns) return want ? ZERO : undefined;
    const result = { reg: rd, temp: dest === undefined };
    if (!want) {
      this.free(result);
      return undefined;
    }
    return result;
  }

  /** An address operand: `base + constant` folds into the offset when it fits `range` (default: 18 bits signed). */
  private genAddress(a0: t.Expression, range?: ImmRange): { op: Operand; off: number } {
    const fits = range ? (v: number) => v >= range.min && v <= range.max : fitsImm;
    const a = unwrap(a0);
    if (a.type === "BinaryExpression" && (a.operator === "+" || a.operator === "-")) {
      const k = this.constant(a.right);
      if (k !== undefined && fits(a.operator === "+" ? k : -k)) return { op: this.gen(a.left as t.Expression), off: a.operator === "+" ? k : -k };
    }
    const c = this.constant(a);
    if (c !== undefined && fits(c)) return { op: ZERO, off: c };
    return { op: this.gen(a), off: 0 };
  }

  /** The assembly name of a function passed to an intrinsic (startCpu's fn): one with no parameters, named directly. */
  private functionArgument(name: string, arg: t.Expression): string | undefined {
    const a = unwrap(arg);
    const b = a.type === "Identifier" ? this.lookup(a.name) : undefined;
    if (!b || b.kind !== "function") {
      this.fc.report(arg, `the second argument of '${name}' must be the name of a function`);
      return undefined;
    }
    if (b.params > 0) {
      this.fc.report(arg, `the function passed to '${name}' must take no parameters (it starts on a fresh CPU), not ${b.params}`);
      return undefined;
    }
    return b.asmName;
  }

  private genAsm(e: t.CallExpression, arg: t.Expression): undefined {
    const a = unwrap(arg);
    const text = a.type === "StringLiteral" ? a.value : a.type === "TemplateLiteral" && a.expressions.length === 0 ? a.quasis.map((q) => q.value.cooked ?? "").join("") : undefined;
    if (text === undefined) {
      this.fc.report(arg, "the argument of 'asm' must be a string literal");
      return undefined;
    }
    if (/\bk0\b|\br13\b/.test(text)) this.fc.report(e, "asm() must not use k0 (reserved for the soft layer)");
    const lines = text.split("\n");
    const at = this.asmSourceLines(a, lines.length);
    const statement = this.src;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i].trim();
      if (!l) continue;
      const label = /^[\w.$]+:$/.test(l);
      // Each line at its own place in the string: the assembler's errors in it point there.
      if (at) this.src = { line: at[i].line, col: at[i].col, asmCol: label ? 1 : 5 };
      if (label) this.emitLabel(l.slice(0, -1));
      else this.emit(this.fc.asmLine(l));
    }
    this.src = statement;
    return undefined;
  }

  /**
   * Where each of the `count` lines of an asm() string starts in the TypeScript
   * (its first non-blank character), or undefined when the source lines do not
   * match the string's lines one to one (a `\n` escape).
   */
  private asmSourceLines(a: t.Node, count: number): { line: number; col: number }[] | undefined {
    const start = a.loc?.start, end = a.loc?.end;
    if (!start || !end || end.line - start.line + 1 !== count) return undefined;
    const source = this.fc.scope.file.lines;
    const out: { line: number; col: number }[] = [];
    for (let i = 0; i < count; i++) {
      const line = start.line + i;
      const from = i === 0 ? start.column + 1 : 0; // past the opening quote or backtick
      const raw = source[line - 1] ?? "";
      const lead = /^\s*/.exec(raw.slice(from))![0].length;
      out.push({ line, col: from + lead + 1 });
    }
    return out;
  }

  private genAddressOf(arg: t.Expression, dest?: string): Operand {
    const a = unwrap(arg);
    const r = () => this.target(dest);
    if (a.type === "StringLiteral" || (a.type === "TemplateLiteral" && a.expressions.length === 0)) {
      return this.gen(a, dest);
    }
    if (a.type === "Identifier") {
      const b = this.lookup(a.name);
      // A string parameter or string global holds the string's address already
      // (JavaScript's addressOf takes the string, not the variable).
      if (b?.kind === "local" || (b?.kind === "scalar" && b.string)) return this.gen(a, dest);
      if (b && (b.kind === "function" || b.kind === "array" || b.kind === "scalar")) {
        const reg = r();
        this.emit(`la ${reg}, ${b.asmName}`);
        return { reg, temp: dest === undefined };
      }
    }
    this.fc.report(arg, "the argument of 'addressOf' must be a function, a global or a string literal");
    return ZERO;
  }
}

function rcIsZero(c: number | undefined): boolean {
  return c === 0;
}

function hasAssignment(n: t.Node): boolean {
  return someNode(n, (x) => x.type === "AssignmentExpression" || x.type === "UpdateExpression");
}

function hasCallOrAssignment(n: t.Node): boolean {
  return someNode(n, (x) => x.type === "AssignmentExpression" || x.type === "UpdateExpression" || x.type === "CallExpression");
}

/** Drops `j L` immediately followed by `L:` (loops and returns produce them). */
function trimJumpToNext(lines: Line[]): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s+j (\S+)$/.exec(lines[i].text);
    if (m) {
      let k = i + 1;
      while (k < lines.length && /^\s+#/.test(lines[k].text)) k++;
      if (k < lines.length && lines[k].text === `${m[1]}:`) continue;
    }
    out.push(lines[i]);
  }
  return out;
}

/** A string as an assembler literal: printable ASCII as is, the rest as \xNN (UTF-8). */
export function asmString(text: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(text)) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x09) out += "\\t";
    else if (b >= 0x20 && b < 0x7f && b !== 0x23 && b !== 0x3b) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out + '"';
}

function describe(type: string): string {
  return constructName(type);
}

export { foldBinary };
