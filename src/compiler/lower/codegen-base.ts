// The first layer of codegen.ts's FunctionCompiler (codegen.ts has the whole
// chain): the state of one function being compiled and the means every later
// layer writes with. FunctionCompilerBase is extended by FunctionCompilerAccess
// (codegen-access.ts).
//
// Consumes the FileCompiler (codegen.ts) and one function's declaration.
// Produces:
// - emission: assembly lines with the source position of the statement being
//   compiled, and the `# file:line` comments before each statement;
// - temporaries: registers from regalloc.ts's TempPool, spilled to frame slots
//   (hold/reclaim) when the pool runs low and around calls;
// - names: the scope chain from a name to its local or global, constants;
// - the types the layers share (operands, lvalues, loop targets, lines).

import type * as t from "@babel/types";
import { S18 } from "../../guest-isa/isa-table.js";
import { someNode } from "../ast.js";
import { constructName } from "../check.js";
import { TempPool, type Home, type LocalInfo } from "../regalloc.js";
import { evalConst, type ElemType, type GlobalSymbol } from "./symbols.js";
import type { FileCompiler } from "./codegen.js";

export interface Operand {
  reg: string;
  /** A temporary this code owns and must release. */
  temp: boolean;
}

export type Held = { op: Operand } | { slot: number };

export interface Local extends LocalInfo {
  /** Folded constant (a `const` with a constant initializer). */
  constValue?: number;
  /** A `const` declared once with a string literal: its text (for a folded `s.length`). */
  stringText?: string;
  /** A promoted typed-array base address (the array's symbol). */
  arrayBase?: string;
}

export type Binding = { kind: "local"; local: Local } | GlobalSymbol;

export type LValue =
  | { kind: "reg"; reg: string }
  | { kind: "slot"; offset: number }
  | { kind: "global"; sym: string }
  | { kind: "elem"; base: Operand; off: number; elem: ElemType };

export interface LoopTarget {
  label?: string;
  breakLabel: string;
  continueLabel?: string;
}

export const ZERO: Operand = { reg: "zero", temp: false };
export const fitsImm = (v: number) => v >= S18.min && v <= S18.max;
export const isPow2 = (v: number) => v > 0 && (v & (v - 1)) === 0;

export const NEGATE: Record<string, string> = { "<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "==" };

export interface Line {
  text: string;
  src?: { line: number; col: number; asmCol?: number };
}

export abstract class FunctionCompilerBase {
  protected readonly body: Line[] = [];
  protected readonly scopes: Map<string, Binding>[] = [];
  protected readonly locals: Local[] = [];
  protected readonly localByDecl = new Map<t.Node, Local>();
  protected pool!: TempPool;
  protected localSlots = 0;
  protected spillDepth = 0;
  protected maxSpill = 0;
  protected leaf = true;
  protected src?: { line: number; col: number; asmCol?: number };
  private lastCommentLine = -1;
  protected readonly loops: LoopTarget[] = [];
  protected readonly retLabel: string;
  protected readonly name: string;
  /** Registers holding locals (never used as a multi-step destination). */
  protected readonly homeRegs = new Set<string>();
  protected readonly isStart: boolean;
  /** Typed-array symbol → register holding its address for the whole function. */
  protected readonly arrayBases = new Map<string, string>();
  /** Local typed arrays by declarator id: an array symbol with its frame offset (codegen.ts placeFrameArrays). */
  protected readonly frameArrays = new Map<t.Node, Extract<GlobalSymbol, { kind: "array" }>>();

  constructor(
    protected readonly fc: FileCompiler,
    sym: Extract<GlobalSymbol, { kind: "function" }>,
    protected readonly node: t.FunctionDeclaration,
  ) {
    this.name = sym.asmName;
    this.retLabel = fc.label(`${this.name.replace(/[^\w]/g, "_")}_ret`);
    this.isStart = sym.asmName === "_start";
  }

  // ---- emission ----------------------------------------------------------

  protected emit(text: string, comment?: string): void {
    this.body.push({ text: `    ${text}${comment ? `  # ${comment}` : ""}`, src: this.src });
  }

  protected emitLabel(label: string): void {
    this.body.push({ text: `${label}:`, src: this.src });
  }

  protected emitComment(node: t.Node): void {
    const loc = node.loc?.start;
    if (!loc) return;
    this.src = { line: loc.line, col: loc.column + 1 };
    if (loc.line === this.lastCommentLine) return;
    this.lastCommentLine = loc.line;
    const text = (this.fc.scope.file.lines[loc.line - 1] ?? "").trim();
    this.body.push({ text: `    # ${this.fc.scope.file.file}:${loc.line}: ${text.length > 60 ? text.slice(0, 57) + "..." : text}`, src: this.src });
  }

  // ---- temporaries -------------------------------------------------------

  protected alloc(): string {
    const r = this.pool.alloc();
    if (r !== undefined) return r;
    // Cannot happen while every hold() keeps two registers free; fail loudly.
    throw new Error(`internal: out of temporaries in ${this.name}`);
  }

  protected free(op: Operand): void {
    if (op.temp) this.pool.release(op.reg);
  }

  protected target(dest?: string): string {
    return dest ?? this.alloc();
  }

  protected spillSlot(): number {
    const slot = this.spillDepth++;
    this.maxSpill = Math.max(this.maxSpill, this.spillDepth);
    return 4 * (this.localSlots + slot);
  }

  /** Keeps `op` alive while more code is generated: spilled if registers run low. */
  protected hold(op: Operand): Held {
    if (!op.temp || this.pool.freeCount() >= 2) return { op };
    const slot = this.spillSlot();
    this.emit(`sw ${op.reg}, ${slot}(sp)`, "spill");
    this.pool.release(op.reg);
    return { slot };
  }

  protected reclaim(h: Held): Operand {
    if ("op" in h) return h.op;
    const r = this.alloc();
    this.emit(`lw ${r}, ${h.slot}(sp)`, "reload");
    this.spillDepth--;
    return { reg: r, temp: true };
  }

  /** A local's register may change while later operands run: copy it first. */
  protected stabilize(op: Operand, later: t.Node[]): Operand {
    if (op.temp || !this.homeRegs.has(op.reg) || !later.some(hasAssignment)) return op;
    const r = this.alloc();
    this.emit(`mv ${r}, ${op.reg}`);
    return { reg: r, temp: true };
  }

  protected into(op: Operand, dest?: string): Operand {
    if (dest === undefined || op.reg === dest) return dest === undefined ? op : { reg: dest, temp: false };
    this.emit(`mv ${dest}, ${op.reg}`);
    this.free(op);
    return { reg: dest, temp: false };
  }

  // ---- names -------------------------------------------------------------

  protected lookup(name: string): Binding | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const b = this.scopes[i].get(name);
      if (b) return b;
    }
    return this.fc.scope.names.get(name);
  }

  protected constLookup = (name: string) => {
    const b = this.lookup(name);
    if (b?.kind === "local") {
      if (b.local.constValue !== undefined) return { kind: "const" as const, value: b.local.constValue };
      // A constant string local: evalConst folds its `.length` (as a global's).
      if (b.local.stringText !== undefined) return { kind: "scalar" as const, asmName: "", init: { kind: "string" as const, text: b.local.stringText }, external: false, exported: false, constant: true };
      return undefined;
    }
    return b;
  };

  protected constant(e: t.Expression): number | undefined {
    return evalConst(e, this.constLookup);
  }

  protected slotOffset(home: Home & { kind: "slot" }): number {
    return 4 * home.index;
  }
}

export function hasAssignment(n: t.Node): boolean {
  return someNode(n, (x) => x.type === "AssignmentExpression" || x.type === "UpdateExpression");
}

export function describe(type: string): string {
  return constructName(type);
}
