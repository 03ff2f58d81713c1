// Stage 2 of `previrt cc`: the dialect check. Walks each parsed file (the
// iterative walk of ast.ts, which skips type-only syntax) and reports every
// construct outside the guest dialect of docs/guest-language.md as
// `<construct> is not supported in guest code`, at the construct's exact
// position. All of them, not just the first.
//
// Consumes ParsedFile (parse.ts); produces diagnostics. Structural rules live
// here; rules that need name resolution (what a call refers to, intrinsic
// arity and constant arguments, property access, operators on strings) are
// checked by lower/codegen.ts, which reports through the same
// `unsupportedMessage()` wording. A construct is named in the singular with
// its article ("a class declaration", "the `**` operator", "spread syntax"),
// so every message reads "<construct> is not supported in guest code".

import type { Node } from "@babel/types";
import type { Diagnostic } from "../guest-isa/diagnostics.js";
import { enumMemberList, walk, type Visit } from "./ast.js";
import type { ParsedFile } from "./parse.js";

/** A diagnostic at a node. */
export function diagnosticAt(file: ParsedFile, node: Node, message: string): Diagnostic {
  const line = node.loc?.start.line ?? 1;
  const col = (node.loc?.start.column ?? 0) + 1;
  return { file: file.file, line, col, message, sourceLine: file.lines[line - 1] };
}

export function unsupportedMessage(construct: string): string {
  return `${construct} is not supported in guest code`;
}

/** Names for node types that are never part of the dialect. */
const UNSUPPORTED_TYPES: Readonly<Record<string, string>> = {
  ClassDeclaration: "a class declaration",
  ClassExpression: "a class expression",
  FunctionExpression: "a function expression (closure)",
  ArrowFunctionExpression: "an arrow function",
  ObjectExpression: "an object literal (except a top-level `const` of constant integers)",
  ArrayExpression: "an array literal (only as a global `new Int32Array(…)` initializer)",
  ObjectPattern: "destructuring",
  ArrayPattern: "destructuring",
  RestElement: "a rest parameter",
  SpreadElement: "spread syntax",
  AssignmentPattern: "a default parameter value",
  TryStatement: "try/catch",
  ThrowStatement: "a throw statement (exceptions)",
  AwaitExpression: "`await`",
  YieldExpression: "`yield`",
  ForInStatement: "a for-in loop",
  ForOfStatement: "a for-of loop",
  WithStatement: "a `with` statement",
  DebuggerStatement: "a `debugger` statement",
  ThisExpression: "`this`",
  Super: "`super`",
  NullLiteral: "`null`",
  RegExpLiteral: "a regular expression",
  BigIntLiteral: "a bigint literal",
  DecimalLiteral: "a decimal literal",
  TaggedTemplateExpression: "a tagged template",
  OptionalMemberExpression: "optional chaining",
  OptionalCallExpression: "optional chaining",
  MetaProperty: "a meta property",
  Import: "dynamic `import()`",
  ImportExpression: "dynamic `import()`",
  ImportDefaultSpecifier: "a default import (use named imports)",
  ImportNamespaceSpecifier: "a namespace import (use named imports)",
  ImportAttribute: "an import attribute",
  ExportDefaultDeclaration: "a default export",
  ExportAllDeclaration: "a re-export",
  ExportNamespaceSpecifier: "a re-export",
  TSEnumDeclaration: "an enum",
  TSModuleDeclaration: "a namespace or module declaration",
  TSImportEqualsDeclaration: "`import … = require(…)`",
  TSExportAssignment: "`export =`",
  TSNamespaceExportDeclaration: "`export as namespace`",
  TSParameterProperty: "a parameter property",
};

/** Node types the dialect accepts (more checks apply to some of them). */
const SUPPORTED_TYPES = new Set([
  "Program", "File", "Directive", "DirectiveLiteral", "InterpreterDirective",
  "ImportDeclaration", "ImportSpecifier", "ExportNamedDeclaration", "ExportSpecifier",
  "FunctionDeclaration", "TSDeclareFunction", "VariableDeclaration", "VariableDeclarator", "Identifier",
  "BlockStatement", "ExpressionStatement", "IfStatement", "WhileStatement", "DoWhileStatement", "ForStatement",
  "BreakStatement", "ContinueStatement", "ReturnStatement", "SwitchStatement", "SwitchCase", "LabeledStatement",
  "EmptyStatement", "NumericLiteral", "StringLiteral", "BooleanLiteral", "TemplateLiteral", "TemplateElement",
  "BinaryExpression", "LogicalExpression", "UnaryExpression", "UpdateExpression", "AssignmentExpression",
  "ConditionalExpression", "CallExpression", "MemberExpression", "SequenceExpression", "NewExpression",
  "ParenthesizedExpression", "TSAsExpression", "TSNonNullExpression", "TSSatisfiesExpression", "TSTypeAssertion",
  "TSInstantiationExpression", "TSEnumBody", "TSEnumMember",
]);

const TOP_LEVEL_TYPES = new Set([
  "ImportDeclaration", "ExportNamedDeclaration", "FunctionDeclaration", "TSDeclareFunction", "VariableDeclaration",
  "EmptyStatement", "TSInterfaceDeclaration", "TSTypeAliasDeclaration", "TSEnumDeclaration",
]);

const SUPPORTED_BINARY = new Set(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>", "<", ">", "<=", ">=", "==", "===", "!=", "!=="]);
const SUPPORTED_ASSIGN = new Set(["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", ">>>="]);

const MIN_INT32 = -(2 ** 31);
const MAX_UINT32 = 2 ** 32 - 1;

export function checkFile(file: ParsedFile, diagnostics: Diagnostic[]): void {
  const report = (node: Node, construct: string) => diagnostics.push(diagnosticAt(file, node, unsupportedMessage(construct)));

  for (const stmt of file.ast.program.body) {
    if (!TOP_LEVEL_TYPES.has(stmt.type) && !(stmt.type in UNSUPPORTED_TYPES)) report(stmt, "a top-level statement (code outside functions)");
  }

  walk(file.ast, (v) => {
    const node = v.node;
    const name = Object.hasOwn(UNSUPPORTED_TYPES, node.type) ? UNSUPPORTED_TYPES[node.type] : undefined;
    if (node.type === "TSEnumDeclaration" || isConstantObject(v)) return checkConstantNamespace(v, report);
    if (node.type === "ObjectProperty" && isConstantObject(v.up)) return true;
    if (name !== undefined && !isTypedArrayInitializer(v)) {
      report(node, node.type === "MetaProperty" ? `\`${node.meta.name}.${node.property.name}\`` : name);
      return false;
    }
    if (!SUPPORTED_TYPES.has(node.type) && name === undefined) {
      report(node, describeNodeType(node.type));
      return false;
    }
    return checkNode(v, report);
  });
}

/** `new Int32Array([1, 2, 3])` at global scope: the one place an array literal is allowed. */
function isTypedArrayInitializer(v: Visit): boolean {
  const parent = v.up;
  return (
    v.node.type === "ArrayExpression" &&
    parent?.node.type === "NewExpression" &&
    parent.node.arguments[0] === v.node &&
    parent.parent?.type === "VariableDeclarator" &&
    !parent.inFunction
  );
}

/**
 * `const K = { a: 1, b: 2 } as const` at the top level: a constant namespace
 * (like CR or PORT), the one place an object literal is allowed.
 */
function isConstantObject(v: Visit | undefined): boolean {
  if (v?.node.type !== "ObjectExpression" || v.inFunction) return false;
  let up = v.up;
  while (up && (up.node.type === "TSAsExpression" || up.node.type === "TSSatisfiesExpression" || up.node.type === "ParenthesizedExpression")) up = up.up;
  const decl = up?.up?.node;
  return up?.node.type === "VariableDeclarator" && decl?.type === "VariableDeclaration" && decl.kind === "const" && !decl.declare;
}

/**
 * An enum or a constant object: only at the top level, each member a name
 * (or string key) with a value the symbol table folds (lower/symbols.ts).
 */
function checkConstantNamespace(v: Visit, report: (node: Node, construct: string) => void): boolean {
  const node = v.node;
  if (node.type === "TSEnumDeclaration") {
    if (v.inFunction) report(node, "an enum inside a function (declare it at the top level)");
    else if (node.declare) report(node, "a `declare enum`");
    else {
      for (const m of enumMemberList(node)) if (isProtoKey(m.id)) report(m.id, "a `__proto__` member (JavaScript would not keep it)");
      return true;
    }
    return false;
  }
  if (node.type !== "ObjectExpression") return true;
  for (const p of node.properties) {
    if (p.type === "ObjectMethod") report(p, p.kind === "method" ? "a method in a constant object" : `a ${p.kind === "get" ? "getter" : "setter"} in a constant object`);
    if (p.type !== "ObjectProperty") continue; // spread: reported when the walk reaches it
    if (p.computed) report(p.key, "a computed key in a constant object");
    else if (p.key.type !== "Identifier" && p.key.type !== "StringLiteral") report(p.key, "a numeric key in a constant object");
    else if (isProtoKey(p.key)) report(p.key, "a `__proto__` member (JavaScript would not keep it)");
  }
  return true;
}

/** `__proto__` as a key: JavaScript sets the prototype instead (and ignores a number), so the member would not exist. */
function isProtoKey(key: Node): boolean {
  return (key.type === "Identifier" && key.name === "__proto__") || (key.type === "StringLiteral" && key.value === "__proto__");
}

/** Whether an identifier is a reference (not a property name, label or key). */
function isReference(v: Visit): boolean {
  const p = v.parent;
  if (!p) return true;
  if (v.key === "label") return false;
  if ((p.type === "MemberExpression" || p.type === "OptionalMemberExpression") && v.key === "property") return p.computed;
  if ((p.type === "ObjectProperty" || p.type === "ObjectMethod" || p.type === "ClassProperty" || p.type === "ClassMethod") && v.key === "key") return p.computed;
  return p.type !== "ImportSpecifier" && p.type !== "ExportSpecifier";
}

/** Checks one node; false skips its children. */
function checkNode(v: Visit, report: (node: Node, construct: string) => void): boolean {
  const node = v.node;
  switch (node.type) {
    case "FunctionDeclaration":
    case "TSDeclareFunction":
      if (v.inFunction) report(node, node.type === "FunctionDeclaration" ? "a nested function (closure)" : "a `declare` statement inside a function");
      if (node.async) report(node, "an async function");
      if (node.generator) report(node, "a generator function");
      for (const p of node.params) {
        if (p.type === "Identifier" && p.optional && node.type === "FunctionDeclaration") report(p, "an optional parameter");
        if (p.type === "Identifier" && p.name === "this") report(p, "a `this` parameter");
      }
      if (node.params.length > 4) report(node.params[4], "a function with more than 4 parameters");
      return true;
    case "VariableDeclaration":
      if (node.kind === "var") report(node, "a `var` declaration (use let or const)");
      else if (node.kind !== "let" && node.kind !== "const") report(node, `a \`${node.kind}\` declaration`);
      else if (node.declare && v.inFunction) report(node, "a `declare` statement inside a function");
      return true;
    case "Identifier":
      if (node.name === "arguments" && isReference(v)) report(node, "the `arguments` object");
      return true;
    case "NumericLiteral": {
      const n = node.value;
      if (!Number.isInteger(n)) report(node, "a floating-point literal");
      else if (n < MIN_INT32 || n > MAX_UINT32) report(node, "an integer literal wider than 32 bits");
      return true;
    }
    case "TemplateLiteral":
      if (node.expressions.length > 0) report(node, "a template literal with expressions");
      return true;
    case "BinaryExpression":
      if (!SUPPORTED_BINARY.has(node.operator)) report(node, operatorName(node.operator));
      return true;
    case "LogicalExpression":
      if (node.operator === "??") report(node, operatorName("??"));
      return true;
    case "UnaryExpression":
      if (!["-", "+", "~", "!"].includes(node.operator)) report(node, operatorName(node.operator));
      return true;
    case "AssignmentExpression":
      if (!SUPPORTED_ASSIGN.has(node.operator)) report(node, operatorName(node.operator));
      return true;
    case "NewExpression": {
      // A global's initializer, or a `const` local's (a typed array in the frame: lower/codegen.ts).
      const decl = v.up?.up?.node;
      if (v.parent?.type !== "VariableDeclarator" || (v.inFunction && (decl?.type !== "VariableDeclaration" || decl.kind !== "const"))) {
        report(node, "`new` outside a typed-array declaration (a global, or a `const` local)");
        return false;
      }
      return true;
    }
    case "ExportNamedDeclaration":
      if (!node.source) return true;
      // Its specifiers are the re-export: one error, not a second for `* as ns` or `a as b`.
      report(node, "a re-export");
      return false;
    case "ExportSpecifier":
      if (node.exported.type !== "Identifier" || node.exported.name !== node.local.name) report(node, "a renamed export");
      return true;
    default:
      return true;
  }
}

/** "the `**` operator". */
export function operatorName(op: string): string {
  return `the \`${op}\` operator`;
}

/** The construct name for a node type, as check.ts reports it (codegen reuses it). */
export function constructName(type: string): string {
  return Object.hasOwn(UNSUPPORTED_TYPES, type) ? UNSUPPORTED_TYPES[type] : describeNodeType(type);
}

export function isSupportedBinary(op: string): boolean {
  return SUPPORTED_BINARY.has(op);
}

/** Words of Babel node type names that keep their capitals. */
const KEEP_CASE = new Set(["JSX", "V8", "TypeScript"]);

/**
 * A readable name for any Babel node type, for the rare ones without a
 * hand-written name: "ClassPrivateProperty" → "a class private property",
 * "TSTypeReference" → "a TypeScript type reference", "JSXElement" → "a JSX
 * element", "UnaryExpression" → "a unary expression".
 */
export function describeNodeType(type: string): string {
  const words = type
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/^TS(?=[A-Z])/, "TypeScript ")
    .replace(/^JSX(?=[A-Z])/, "JSX ")
    .split(" ")
    .filter(Boolean)
    .map((w) => (KEEP_CASE.has(w) ? w : w.toLowerCase()));
  const first = words[0] ?? "";
  const vowelSound = /^[aeio]/.test(first) || (/^u/.test(first) && !/^u[nsr][aeiou]/.test(first)) || /^[AEIO]/.test(first);
  return `${vowelSound ? "an" : "a"} ${words.join(" ")}`;
}
