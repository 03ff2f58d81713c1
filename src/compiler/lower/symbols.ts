// Program-wide names of a `previrt cc` compilation: what every top-level
// name of every input file refers to (a function, an assembly-defined
// function, a scalar global, a folded constant, a typed-array global, an
// intrinsic, a constant namespace: CR, PORT, PSR or the program's own enums
// and `const` objects), the assembly symbol each one
// gets, and constant evaluation (evalConst: the value the compiled code
// would compute, so folding never changes a result).
//
// Consumes the checked ParsedFiles (check.ts); produces one FileScope per
// file for lower/codegen.ts. Imports between input files resolve here:
// `import { f } from "./b.js"` finds b.ts among the inputs; a module that is
// not among the inputs makes its names external functions (linked later).

import type * as t from "@babel/types";
import type { Diagnostic } from "../../guest-isa/diagnostics.js";
import { parseRegister } from "../../guest-isa/registers.js";
import { enumMemberList, unwrap, walk } from "../ast.js";
import { diagnosticAt, unsupportedMessage } from "../check.js";
import { GUEST_CONSTANTS, isIntrinsicName, type IntrinsicName } from "../intrinsics.js";
import type { ParsedFile } from "../parse.js";
import { binarySignedness, type ConstantOf, type Refusal } from "./signedness.js";

/** A typed-array element type: how indexing loads and stores. */
export interface ElemType {
  readonly name: string;
  readonly size: 1 | 2 | 4;
  readonly shift: 0 | 1 | 2;
  readonly load: string;
  readonly store: string;
  /** Whether an element reads back sign-extended (and an initializer's value wraps to the signed range). */
  readonly signed: boolean;
}

export const TYPED_ARRAYS: Readonly<Record<string, ElemType>> = {
  Int32Array: { name: "Int32Array", size: 4, shift: 2, load: "lw", store: "sw", signed: true },
  Uint8Array: { name: "Uint8Array", size: 1, shift: 0, load: "lbu", store: "sb", signed: false },
  Int8Array: { name: "Int8Array", size: 1, shift: 0, load: "lb", store: "sb", signed: true },
  Uint16Array: { name: "Uint16Array", size: 2, shift: 1, load: "lhu", store: "sh", signed: false },
  Int16Array: { name: "Int16Array", size: 2, shift: 1, load: "lh", store: "sh", signed: true },
};

/** An initializer's value as the element keeps it: wrapped to its width, as JavaScript's typed arrays store (`new Uint8Array([300])[0]` is 44). */
export function elementValue(elem: ElemType, v: number): number {
  const bits = 32 - elem.size * 8;
  return elem.signed ? (v << bits) >> bits : (v << bits) >>> bits;
}

/** The initial value of a scalar global word. */
export type DataInit = { kind: "word"; value: number } | { kind: "string"; text: string } | { kind: "symbol"; name: string };

export type GlobalSymbol =
  | { kind: "function"; asmName: string; params: number; node?: t.FunctionDeclaration; external: boolean; exported: boolean; from?: string }
  | { kind: "scalar"; asmName: string; init?: DataInit; external: boolean; exported: boolean; constant: boolean; string?: boolean }
  | { kind: "const"; value: number; asmName?: string; exported: boolean }
  | { kind: "array"; asmName: string; elem: ElemType; length: number; init?: number[]; exported: boolean; external: boolean; stackOffset?: number }
  | { kind: "intrinsic"; name: IntrinsicName }
  | { kind: "namespace"; name: string; members: Readonly<Record<string, number>> }
  | { kind: "math" };

export interface FileScope {
  file: ParsedFile;
  index: number;
  /** Every top-level name visible in the file (definitions and imports). */
  names: Map<string, GlobalSymbol>;
  /** Names this file exports. */
  exports: Map<string, GlobalSymbol>;
  /** Symbols defined here, in source order, for the data sections. */
  defined: { name: string; symbol: GlobalSymbol; node: t.Node }[];
  /** Exported names defined in this file (become `.global`). */
  globals: Set<string>;
  /**
   * Names whose declaration was refused (a global with an unsupported
   * initializer, a nested function, a default or namespace import): their
   * uses are not reported again (as unknown names, `g.f()` as a method
   * call), so the declaration's error stands alone.
   */
  refused: Set<string>;
}

const GUEST_MODULE = "previrt/guest";

/** Builds the scopes of all files; reports bad declarations and imports. */
export function collectSymbols(files: ParsedFile[], diagnostics: Diagnostic[]): FileScope[] {
  const scopes: FileScope[] = files.map((file, index) => ({
    file,
    index,
    names: new Map(),
    exports: new Map(),
    defined: [],
    globals: new Set(),
    refused: refusedNames(file),
  }));

  // Which names are exported, including `export { a, b }` lists.
  const exportedNames = scopes.map((s) => {
    const set = new Set<string>();
    for (const stmt of s.file.ast.program.body) {
      if (stmt.type === "ExportNamedDeclaration" && !stmt.source) {
        for (const spec of stmt.specifiers) if (spec.type === "ExportSpecifier") set.add(spec.local.name);
      }
    }
    return set;
  });

  // Symbol names: exported names keep their own; a file-local name that
  // another input also defines, or that reads as a register, gets a suffix.
  const definedCount = new Map<string, number>();
  for (const s of scopes) for (const name of topLevelNames(s.file)) definedCount.set(name, (definedCount.get(name) ?? 0) + 1);
  // A file-local name that could be a run-time symbol (`__stack_top`,
  // `__xen_*`) gets a suffix too.
  const asmNameFor = (s: FileScope, name: string, exported: boolean): string => {
    if (parseRegister(name) !== undefined || (!exported && name.startsWith("__"))) return `${asmSymbol(name)}.g`;
    if (exported) return asmSymbol(name);
    return (definedCount.get(name) ?? 0) > 1 ? `${asmSymbol(name)}.f${s.index}` : asmSymbol(name);
  };

  // Pass 1: previrt/guest imports (global initializers may use CR.x, addressOf).
  for (const s of scopes) resolveImports(scopes, s, diagnostics, true);

  // Pass 2: definitions, each file after the input files it imports, so that
  // an imported constant folds in a global initializer (`new Int32Array(SIZE
  // * 2)`, SIZE imported); an import cycle is broken at the file met again,
  // whose names then bind in pass 3 only.
  for (const s of definitionOrder(scopes)) {
    const lookup = (name: string) => s.names.get(name) ?? definedImport(scopes, s, name);
    const report = (node: t.Node, message: string) => diagnostics.push(diagnosticAt(s.file, node, message));
    const define = (name: string, symbol: GlobalSymbol, node: t.Node, exported: boolean) => {
      if (s.names.has(name)) {
        report(node, `'${name}' is already defined`);
        return;
      }
      s.names.set(name, symbol);
      if (symbol.kind !== "namespace" && (symbol.kind !== "const" || symbol.asmName)) s.defined.push({ name, symbol, node });
      if (exported) {
        s.exports.set(name, symbol);
        s.globals.add(name);
      }
    };
    for (const stmt0 of s.file.ast.program.body) {
      const exportedDecl = stmt0.type === "ExportNamedDeclaration";
      const stmt = stmt0.type === "ExportNamedDeclaration" ? stmt0.declaration : stmt0;
      if (!stmt) continue;
      if (stmt.type === "FunctionDeclaration" || stmt.type === "TSDeclareFunction") {
        if (!stmt.id) continue;
        const name = stmt.id.name;
        const exported = exportedDecl || exportedNames[s.index].has(name);
        const external = stmt.type === "TSDeclareFunction";
        if (external && s.names.get(name)?.kind === "function") continue; // overload signatures
        if (!external && s.names.get(name)?.kind === "function" && (s.names.get(name) as { external: boolean }).external) {
          s.names.delete(name); // overloads followed by the implementation
          s.defined = s.defined.filter((d) => d.name !== name);
        }
        // Optional, default and rest parameters are refused (check.ts); calls to such a function are not checked again.
        const params = external || stmt.params.every((p) => p.type === "Identifier" && !p.optional) ? stmt.params.length : -1;
        define(
          name,
          { kind: "function", asmName: external ? asmSymbol(name) : asmNameFor(s, name, exported), params, node: external ? undefined : stmt, external, exported },
          stmt,
          exported && !external,
        );
      } else if (stmt.type === "VariableDeclaration") {
        for (const decl of stmt.declarations) {
          if (decl.id.type !== "Identifier") continue; // reported by check.ts
          const name = decl.id.name;
          const exported = exportedDecl || exportedNames[s.index].has(name);
          const symbol = declareGlobal(stmt, decl, exported, asmNameFor(s, name, exported), lookup, report);
          if (symbol) define(name, symbol, decl, exported);
          else s.refused.add(name);
        }
      } else if (stmt.type === "TSEnumDeclaration" && !stmt.declare) {
        const name = stmt.id.name;
        const members = enumMembers(stmt, lookup, report);
        if (members) define(name, { kind: "namespace", name, members }, stmt, exportedDecl || exportedNames[s.index].has(name));
        else s.refused.add(name);
      }
    }
  }

  // Pass 3: imports between input files.
  for (const s of scopes) resolveImports(scopes, s, diagnostics, false);

  // An exported name is one global symbol: two inputs exporting it would
  // otherwise meet only in the linker, at the generated assembly's lines.
  const exporter = new Map<string, string>();
  for (const s of scopes) {
    for (const d of s.defined) {
      if (!s.globals.has(d.name)) continue;
      // The start-up calls an exported main (compiler/startup.ts): a global of that name built, and the call jumped into data.
      if (d.name === "main" && d.symbol.kind !== "function") {
        diagnostics.push(diagnosticAt(s.file, d.node, "an exported 'main' must be a function: the start-up calls it (export function main(): number { … })"));
      }
      const first = exporter.get(d.name);
      if (first === undefined) exporter.set(d.name, s.file.file);
      else diagnostics.push(diagnosticAt(s.file, d.node, `'${d.name}' is already exported by ${first} (an exported name is one symbol of the program)`));
    }
  }
  return scopes;
}

/**
 * The assembly symbol for a TypeScript name. The assembler takes
 * `[A-Za-z_.$][A-Za-z0-9_.$]*`; a name with other characters (`ñ`, `変数`)
 * spells each as `$u<hex code point>` and ends in `.u`, which no TypeScript
 * name contains, so it cannot collide with a name written that way.
 * Every file (and a separately compiled one) derives the same symbol.
 */
export function asmSymbol(name: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(name)) return name;
  let out = "";
  for (const ch of name) out += /^[\w$]$/.test(ch) ? ch : `$u${ch.codePointAt(0)!.toString(16)}`;
  return `${out}.u`;
}

function resolveImports(scopes: FileScope[], s: FileScope, diagnostics: Diagnostic[], guest: boolean): void {
  const report = (node: t.Node, message: string) => diagnostics.push(diagnosticAt(s.file, node, message));
  for (const stmt of valueImports(s.file)) {
    const from = stmt.source.value;
    if ((from === GUEST_MODULE) !== guest) continue;
    const target = from === GUEST_MODULE ? undefined : findModule(scopes, s.file.file, from);
    for (const spec of stmt.specifiers) {
      const imported = importedName(spec);
      if (imported === undefined) continue;
      const local = spec.local.name;
      let symbol: GlobalSymbol | undefined;
      if (from === GUEST_MODULE) {
        if (isIntrinsicName(imported)) symbol = { kind: "intrinsic", name: imported };
        else if (Object.hasOwn(GUEST_CONSTANTS, imported)) symbol = { kind: "namespace", name: imported, members: GUEST_CONSTANTS[imported] };
        else if (imported === "ControlRegister") continue;
        else {
          report(spec, `'${imported}' is not exported by previrt/guest`);
          continue;
        }
      } else if (target) {
        symbol = target.exports.get(imported);
        if (!symbol) {
          report(spec, `'${imported}' is not exported by '${from}'`);
          continue;
        }
      } else if (from.startsWith(".")) {
        // Not among the inputs: an external function, resolved at link time.
        symbol = { kind: "function", asmName: asmSymbol(imported), params: -1, external: true, exported: false, from };
      } else {
        report(stmt.source, unsupportedMessage(`an import from '${from}' (only previrt/guest and other guest files)`));
        continue;
      }
      if (s.names.has(local)) report(spec, `'${local}' is already defined`);
      else s.names.set(local, symbol);
    }
  }
}

function topLevelNames(file: ParsedFile): string[] {
  const names: string[] = [];
  for (const stmt0 of file.ast.program.body) {
    const stmt = stmt0.type === "ExportNamedDeclaration" ? stmt0.declaration : stmt0;
    if (stmt?.type === "FunctionDeclaration" && stmt.id) names.push(stmt.id.name);
    if (stmt?.type === "VariableDeclaration") for (const d of stmt.declarations) if (d.id.type === "Identifier") names.push(d.id.name);
  }
  return [...new Set(names)];
}

function findModule(scopes: FileScope[], importer: string, spec: string): FileScope | undefined {
  if (!spec.startsWith(".")) return undefined;
  const dir = importer.includes("/") ? importer.slice(0, importer.lastIndexOf("/") + 1) : "";
  const wanted = normalizePath(dir + spec).replace(/\.(ts|js|mts|mjs)$/, "");
  return scopes.find((s) => normalizePath(s.file.file).replace(/\.(ts|mts)$/, "") === wanted);
}

function normalizePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "." || part === "") continue;
    if (part === ".." && out.length && out[out.length - 1] !== "..") out.pop();
    else out.push(part);
  }
  return (p.startsWith("/") ? "/" : "") + out.join("/");
}

function declareGlobal(
  stmt: t.VariableDeclaration,
  decl: t.VariableDeclarator,
  exported: boolean,
  asmName: string,
  lookup: (name: string) => GlobalSymbol | undefined,
  report: (node: t.Node, message: string) => void,
): GlobalSymbol | undefined {
  const constant = stmt.kind === "const";
  const init = decl.init ? unwrap(decl.init) : undefined;
  if (stmt.declare) {
    return { kind: "scalar", asmName: asmSymbol((decl.id as t.Identifier).name), external: true, exported: false, constant, string: isStringTyped(decl.id) };
  }
  if (init?.type === "NewExpression") {
    const elem = typedArrayElem(init, report);
    if (!elem) return undefined;
    const ctor = (init.callee as t.Identifier).name;
    if (init.arguments.length !== 1) {
      report(init, `new ${ctor} takes one argument: a constant length or an array of constants`);
      return undefined;
    }
    const arg = init.arguments[0];
    if (arg.type === "ArrayExpression") {
      const values: number[] = [];
      const message = "typed-array initializers must be constant integers";
      for (const el of arg.elements) {
        if (!el || el.type === "SpreadElement") {
          report(el ?? arg, message);
          return undefined;
        }
        const v = requiredConst(el, lookup, report, message);
        if (v === undefined) return undefined;
        values.push(elementValue(elem, v));
      }
      return { kind: "array", asmName, elem, length: values.length, init: values, exported, external: false };
    }
    const message = `the length of a typed array must be a constant between 0 and ${1 << 26}`;
    const length = requiredConst(arg as t.Expression, lookup, report, message);
    if (length === undefined) return undefined;
    if (length < 0 || length > 1 << 26) {
      report(arg, message);
      return undefined;
    }
    return { kind: "array", asmName, elem, length, exported, external: false };
  }
  if (!init) return { kind: "scalar", asmName, init: undefined, external: false, exported, constant, string: isStringTyped(decl.id) };
  if (init.type === "ObjectExpression") return constant ? constantObject((decl.id as t.Identifier).name, init, lookup, report) : undefined; // `let`: check.ts
  if (init.type === "StringLiteral" || (init.type === "TemplateLiteral" && init.expressions.length === 0)) {
    return { kind: "scalar", asmName, init: { kind: "string", text: stringLiteralText(init) }, external: false, exported, constant, string: true };
  }
  if (init.type === "CallExpression" && init.callee.type === "Identifier" && init.arguments.length === 1 && init.arguments[0].type === "Identifier") {
    const callee = lookup(init.callee.name);
    if (callee?.kind === "intrinsic" && callee.name === "addressOf") {
      return { kind: "scalar", asmName, init: { kind: "symbol", name: init.arguments[0].name }, external: false, exported, constant };
    }
  }
  const value = requiredConst(init, lookup, report, unsupportedMessage("a non-constant global initializer"));
  if (value === undefined) return undefined;
  if (constant) return { kind: "const", value, asmName: exported ? asmName : undefined, exported };
  return { kind: "scalar", asmName, init: { kind: "word", value }, external: false, exported, constant };
}

/** The element type of `new Int32Array(…)` and its kin; any other `new` is reported and gives undefined (globals here, local arrays in codegen.ts). */
export function typedArrayElem(init: t.NewExpression, report: (node: t.Node, message: string) => void): ElemType | undefined {
  const ctor = init.callee.type === "Identifier" ? init.callee.name : "";
  const elem = Object.hasOwn(TYPED_ARRAYS, ctor) ? TYPED_ARRAYS[ctor] : undefined;
  if (!elem) report(init, unsupportedMessage(`\`new ${ctor || "…"}\` (only Int32Array, Uint8Array, Int8Array, Uint16Array, Int16Array)`));
  return elem;
}

/**
 * `const K = { a: 1, b: K0 + 1 } as const`: a constant namespace like CR,
 * each value a constant expression (check.ts allows only names and string
 * keys). `K.a` folds to its value; nothing is emitted.
 */
function constantObject(
  name: string,
  init: t.ObjectExpression,
  lookup: (name: string) => GlobalSymbol | undefined,
  report: (node: t.Node, message: string) => void,
): GlobalSymbol | undefined {
  const members: Record<string, number> = {};
  let ok = true;
  for (const p of init.properties) {
    if (p.type !== "ObjectProperty" || p.computed || (p.key.type !== "Identifier" && p.key.type !== "StringLiteral")) {
      ok = false; // reported by check.ts
      continue;
    }
    const key = p.key.type === "Identifier" ? p.key.name : p.key.value;
    const message = `the members of a constant object must be constant integers ('${name}.${key}')`;
    const value = p.value.type === "AssignmentPattern" ? undefined : requiredConst(p.value as t.Expression, lookup, report, message);
    if (value === undefined) {
      if (p.value.type === "AssignmentPattern") report(p.value, message);
      ok = false;
    } else if (Object.hasOwn(members, key)) {
      report(p.key, `'${key}' is already a member of ${name}`);
      ok = false;
    } else members[key] = value;
  }
  return ok ? { kind: "namespace", name, members } : undefined;
}

/**
 * An enum's members, as TypeScript numbers them: a member without an
 * initializer is the previous one plus 1 (the first is 0); an initializer is
 * a constant expression and may name earlier members (`B = A << 1`).
 */
function enumMembers(
  decl: t.TSEnumDeclaration,
  lookup: (name: string) => GlobalSymbol | undefined,
  report: (node: t.Node, message: string) => void,
): Record<string, number> | undefined {
  const members: Record<string, number> = {};
  const self: GlobalSymbol = { kind: "namespace", name: decl.id.name, members };
  const inner = (n: string): GlobalSymbol | undefined =>
    Object.hasOwn(members, n) ? { kind: "const", value: members[n], exported: false } : n === decl.id.name ? self : lookup(n);
  let next: number | undefined = 0;
  let ok = true;
  for (const m of enumMemberList(decl)) {
    const key = m.id.type === "Identifier" ? m.id.name : m.id.value;
    let value: number | undefined = next;
    if (m.initializer) {
      const init = unwrap(m.initializer);
      if (isStringLiteral(init)) {
        value = undefined;
        report(m.initializer, unsupportedMessage("a string enum member"));
      } else value = requiredConst(m.initializer, inner, report, `enum members must be constant integers ('${decl.id.name}.${key}')`);
    } else if (value === undefined) {
      report(m, `enum member '${decl.id.name}.${key}' needs an initializer (the one before it has no constant value)`);
    }
    if (value === undefined) {
      ok = false;
      next = undefined;
      continue;
    }
    if (Object.hasOwn(members, key)) {
      report(m.id, `'${key}' is already a member of ${decl.id.name}`);
      ok = false;
    }
    members[key] = value;
    next = (value + 1) | 0;
  }
  return ok ? members : undefined;
}

/** Names declared by constructs check.ts refuses: functions inside functions, default and namespace imports. */
function refusedNames(file: ParsedFile): Set<string> {
  const names = new Set<string>();
  walk(file.ast, (v) => {
    const n = v.node;
    if (v.inFunction && n.type === "FunctionDeclaration" && n.id) names.add(n.id.name);
    if (n.type === "ImportDefaultSpecifier" || n.type === "ImportNamespaceSpecifier") names.add(n.local.name);
  });
  return names;
}

/** Files in an order where each comes after the input files it imports (cycles broken where met). */
function definitionOrder(scopes: FileScope[]): FileScope[] {
  const order: FileScope[] = [];
  const state = new Map<FileScope, "visiting" | "done">();
  for (const root of scopes) {
    if (state.has(root)) continue;
    // Iterative DFS: a long chain of imports must not exhaust the host's stack.
    const stack: { s: FileScope; deps: FileScope[] }[] = [{ s: root, deps: importedInputs(scopes, root) }];
    state.set(root, "visiting");
    while (stack.length) {
      const top = stack[stack.length - 1];
      const dep = top.deps.shift();
      if (dep === undefined) {
        stack.pop();
        state.set(top.s, "done");
        order.push(top.s);
      } else if (!state.has(dep)) {
        state.set(dep, "visiting");
        stack.push({ s: dep, deps: importedInputs(scopes, dep) });
      }
    }
  }
  return order;
}

function importedInputs(scopes: FileScope[], s: FileScope): FileScope[] {
  const out: FileScope[] = [];
  for (const stmt of valueImports(s.file)) {
    const target = findModule(scopes, s.file.file, stmt.source.value);
    if (target && target !== s) out.push(target);
  }
  return out;
}

/** During pass 2: a name `s` imports from an input file already defined (pass 3 binds every import). */
function definedImport(scopes: FileScope[], s: FileScope, local: string): GlobalSymbol | undefined {
  for (const stmt of valueImports(s.file)) {
    for (const spec of stmt.specifiers) {
      const imported = importedName(spec);
      if (imported === undefined || spec.local.name !== local) continue;
      return findModule(scopes, s.file.file, stmt.source.value)?.exports.get(imported);
    }
  }
  return undefined;
}

/** A file's import declarations that bring values (`import type` is the type checker's alone). */
function valueImports(file: ParsedFile): t.ImportDeclaration[] {
  return file.ast.program.body.filter((stmt): stmt is t.ImportDeclaration => stmt.type === "ImportDeclaration" && stmt.importKind !== "type");
}

/** The name a named value specifier imports (`import { a as b }`: a); undefined for a type-only, default or namespace one. */
function importedName(spec: t.ImportDeclaration["specifiers"][number]): string | undefined {
  if (spec.type !== "ImportSpecifier" || spec.importKind === "type") return undefined;
  return spec.imported.type === "Identifier" ? spec.imported.name : spec.imported.value;
}

/** Whether a declaration is annotated `: string` (its value is a string's address). */
export function isStringTyped(id: t.Node): boolean {
  const ann = "typeAnnotation" in id ? id.typeAnnotation : undefined;
  return ann?.type === "TSTypeAnnotation" && ann.typeAnnotation.type === "TSStringKeyword";
}

/** Whether an expression is a string literal (a template literal without expressions counts). */
export function isStringLiteral(e: t.Expression): boolean {
  const u = unwrap(e);
  return u.type === "StringLiteral" || (u.type === "TemplateLiteral" && u.expressions.length === 0);
}

/** A string literal's text (a template literal without expressions counts). */
export function stringLiteralText(e: t.StringLiteral | t.TemplateLiteral | t.Expression): string {
  return e.type === "StringLiteral" ? e.value : e.type === "TemplateLiteral" ? e.quasis.map((q) => q.value.cooked ?? "").join("") : "";
}

/**
 * `s.length` of a constant string, folded only when it is ASCII: then
 * JavaScript's count (UTF-16 units) is the number of bytes in memory (UTF-8).
 */
export function asciiLength(text: string): number | undefined {
  return /^[\x00-\x7f]*$/.test(text) ? text.length : undefined;
}

type ConstLookup = (name: string) => GlobalSymbol | { kind: "const"; value: number } | undefined;

/**
 * Evaluates a constant expression with the dialect's semantics: the value
 * the compiled code computes (every result an int32, like `(expr) | 0`);
 * undefined when not constant. A literal at or above 2^31 is its int32
 * pattern, as in a register (`0xFFFFF000 % 7` is -1, as `x % 7` computes
 * with x = 0xFFFFF000); comparisons, `/` and `%` are signed or unsigned by
 * the rule code generation follows (signedness.ts), so
 * `(x >>> 0) < 0x80000000` folds as the `sltu` it would emit. What that rule
 * refuses is not a constant: `refusals`, when given, receives its errors
 * (code generation reports them itself when it compiles the expression).
 */
export function evalConst(e: t.Expression, lookup: ConstLookup, refusals?: Refusal[]): number | undefined {
  // The signedness rule asks again for values evaluated already: its operands'
  // (answered in evalNode) and a `>>>` operand's count (kept here). Evaluating
  // them again would cost time exponential in the nesting of such counts.
  const counts = new Map<t.Expression, number | undefined>();
  const constant: ConstantOf = (x) => (counts.has(x) ? counts.get(x) : evalNode(x, constant, counts, lookup, refusals));
  return constant(e);
}

/**
 * evalConst where a constant is required (a global's initializer, a typed
 * array's length or elements, an enum or constant-object member, a case
 * label, a local typed array's length): when `e` is not one, reports why at
 * it — what the unsigned rule refused, with the error code generation gives
 * the same expression, else `message`.
 */
export function requiredConst(e: t.Expression, lookup: ConstLookup, report: (node: t.Node, message: string) => void, message: string): number | undefined {
  const refusals: Refusal[] = [];
  const v = evalConst(e, lookup, refusals);
  if (v === undefined) {
    if (refusals.length) for (const r of refusals) report(r.node, r.message);
    else report(e, message);
  }
  return v;
}

function evalNode(
  e0: t.Expression,
  constant: ConstantOf,
  counts: Map<t.Expression, number | undefined>,
  lookup: ConstLookup,
  refusals: Refusal[] | undefined,
): number | undefined {
  const e = unwrap(e0);
  const ev = (x: t.Expression | t.PrivateName) => (x.type === "PrivateName" ? undefined : constant(x));
  switch (e.type) {
    case "NumericLiteral":
      return Number.isInteger(e.value) && e.value >= -(2 ** 31) && e.value < 2 ** 32 ? e.value | 0 : undefined;
    case "BooleanLiteral":
      return e.value ? 1 : 0;
    case "Identifier": {
      const sym = lookup(e.name);
      return sym?.kind === "const" ? sym.value : undefined;
    }
    case "MemberExpression": {
      const prop = !e.computed && e.property.type === "Identifier" ? e.property.name : e.property.type === "StringLiteral" ? e.property.value : undefined;
      if (prop === undefined) return undefined;
      const object = unwrap(e.object as t.Expression);
      if (prop === "length" && isStringLiteral(object)) return asciiLength(stringLiteralText(object));
      if (object.type !== "Identifier") return undefined;
      const sym = lookup(object.name);
      if (sym?.kind === "namespace") return Object.hasOwn(sym.members, prop) ? sym.members[prop] : undefined;
      if (sym?.kind === "array" && prop === "length") return sym.length;
      if (sym?.kind === "scalar" && sym.constant && sym.init?.kind === "string" && prop === "length") return asciiLength(sym.init.text);
      return undefined;
    }
    case "UnaryExpression": {
      const a = ev(e.argument);
      if (a === undefined) return undefined;
      switch (e.operator) {
        case "-":
          return -a | 0; // wraps as the `neg` the compiler emits: -(-2147483648) is -2147483648
        case "+":
          return a;
        case "~":
          return ~a;
        case "!":
          return a === 0 ? 1 : 0;
        default:
          return undefined;
      }
    }
    case "BinaryExpression": {
      if (e.left.type === "PrivateName") return undefined;
      const a = ev(e.left);
      const b = ev(e.right);
      if (a === undefined || b === undefined) return undefined;
      if (e.operator === ">>>") counts.set(e.right, b);
      const sign = binarySignedness(e, (x) => (x === e.left ? a : x === e.right ? b : constant(x)));
      if (sign.refusals.length) {
        refusals?.push(...sign.refusals);
        return undefined;
      }
      return foldBinary(e.operator, a, b, sign.unsigned);
    }
    case "LogicalExpression": {
      const a = ev(e.left);
      if (a === undefined) return undefined;
      if (e.operator === "&&") return a === 0 ? a : ev(e.right);
      if (e.operator === "||") return a !== 0 ? a : ev(e.right);
      return undefined;
    }
    case "ConditionalExpression": {
      const c = ev(e.test);
      if (c === undefined) return undefined;
      return c !== 0 ? ev(e.consequent) : ev(e.alternate);
    }
    default:
      return undefined;
  }
}

/** `a op b` on int32 operands, as the emitted instruction computes it (`unsigned`: sltu, divu, remu). */
function foldBinary(op: string, a: number, b: number, unsigned: boolean): number | undefined {
  const x = unsigned ? a >>> 0 : a;
  const y = unsigned ? b >>> 0 : b;
  switch (op) {
    case "+":
      return (a + b) | 0;
    case "-":
      return (a - b) | 0;
    case "*":
      return Math.imul(a, b);
    case "/":
      return b === 0 ? 0 : (x / y) | 0;
    case "%":
      return b === 0 ? 0 : (x % y) | 0;
    case "&":
      return a & b;
    case "|":
      return a | b;
    case "^":
      return a ^ b;
    case "<<":
      return a << b;
    case ">>":
      return a >> b;
    case ">>>":
      return (a >>> b) | 0;
    case "<":
      return x < y ? 1 : 0;
    case ">":
      return x > y ? 1 : 0;
    case "<=":
      return x <= y ? 1 : 0;
    case ">=":
      return x >= y ? 1 : 0;
    case "==":
    case "===":
      return a === b ? 1 : 0;
    case "!=":
    case "!==":
      return a !== b ? 1 : 0;
    default:
      return undefined;
  }
}
