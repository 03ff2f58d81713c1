// Stage 2 of `previrt cc`: the dialect check. Walks each parsed file with
// @babel/traverse and reports every construct outside the guest dialect of
// DESIGN.md §5 as `<construct> is not supported in guest code`, at the
// construct's exact position. All of them, not just the first.
//
// Consumes ParsedFile (parse.ts); produces diagnostics. Structural rules live
// here; rules that need name resolution (what a call refers to, intrinsic
// arity and constant arguments, property access) are checked by
// lower/codegen.ts, which reports through the same `unsupported()` wording.

import traverseModule, { type NodePath } from "@babel/traverse";
import type { Node } from "@babel/types";
import type { Diagnostic } from "../guest-isa/diagnostics.js";
import type { ParsedFile } from "./parse.js";

type TraverseFn = (typeof traverseModule)["default"];
const traverse: TraverseFn =
  typeof traverseModule === "function" ? (traverseModule as unknown as TraverseFn) : (traverseModule as unknown as { default: TraverseFn }).default;

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
  ClassDeclaration: "class declarations",
  ClassExpression: "class expressions",
  FunctionExpression: "function expressions (closures)",
  ArrowFunctionExpression: "arrow functions",
  ObjectExpression: "object literals",
  ArrayExpression: "array literals",
  ObjectPattern: "destructuring",
  ArrayPattern: "destructuring",
  RestElement: "rest parameters",
  SpreadElement: "spread syntax",
  AssignmentPattern: "default parameter values",
  TryStatement: "try/catch",
  ThrowStatement: "throw statements (exceptions)",
  AwaitExpression: "await",
  YieldExpression: "yield",
  ForInStatement: "for-in loops",
  ForOfStatement: "for-of loops",
  WithStatement: "with statements",
  DebuggerStatement: "debugger statements",
  ThisExpression: "this",
  Super: "super",
  NullLiteral: "null",
  RegExpLiteral: "regular expressions",
  BigIntLiteral: "bigint literals",
  DecimalLiteral: "decimal literals",
  TaggedTemplateExpression: "tagged templates",
  OptionalMemberExpression: "optional chaining",
  OptionalCallExpression: "optional chaining",
  MetaProperty: "import.meta / new.target",
  Import: "dynamic import",
  ImportExpression: "dynamic import",
  ImportDefaultSpecifier: "default imports",
  ImportNamespaceSpecifier: "namespace imports",
  ExportDefaultDeclaration: "default exports",
  ExportAllDeclaration: "re-exports",
  ExportNamespaceSpecifier: "re-exports",
  TSEnumDeclaration: "enums",
  TSModuleDeclaration: "namespaces",
  TSImportEqualsDeclaration: "import = require",
  TSExportAssignment: "export =",
  TSParameterProperty: "parameter properties",
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
]);

/** TypeScript type-level nodes: ignored (types do not change code), their subtrees skipped. */
const TYPE_ONLY = new Set([
  "TSTypeAnnotation", "TSTypeParameterDeclaration", "TSTypeParameterInstantiation", "TSInterfaceDeclaration",
  "TSTypeAliasDeclaration", "TSDeclareMethod",
]);

const TOP_LEVEL_TYPES = new Set([
  "ImportDeclaration", "ExportNamedDeclaration", "FunctionDeclaration", "TSDeclareFunction", "VariableDeclaration",
  "EmptyStatement", "TSInterfaceDeclaration", "TSTypeAliasDeclaration",
]);

const SUPPORTED_BINARY = new Set(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>", "<", ">", "<=", ">=", "==", "===", "!=", "!=="]);
const SUPPORTED_ASSIGN = new Set(["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", ">>>="]);

const MIN_INT32 = -(2 ** 31);
const MAX_UINT32 = 2 ** 32 - 1;

export function checkFile(file: ParsedFile, diagnostics: Diagnostic[]): void {
  const report = (node: Node, construct: string) => diagnostics.push(diagnosticAt(file, node, unsupportedMessage(construct)));

  for (const stmt of file.ast.program.body) {
    if (!TOP_LEVEL_TYPES.has(stmt.type) && !(stmt.type in UNSUPPORTED_TYPES)) report(stmt, "top-level statements (code outside functions)");
  }

  traverse(file.ast, {
    enter(path: NodePath) {
      const node = path.node;
      if (TYPE_ONLY.has(node.type)) {
        path.skip();
        return;
      }
      const name = UNSUPPORTED_TYPES[node.type];
      if (name !== undefined && !isTypedArrayInitializer(path)) {
        report(node, name);
        path.skip();
        return;
      }
      if (!SUPPORTED_TYPES.has(node.type) && name === undefined) {
        report(node, describeNodeType(node.type));
        path.skip();
        return;
      }
      checkNode(path, report);
    },
  });
}

/** `new Int32Array([1, 2, 3])` at global scope: the one place an array literal is allowed. */
function isTypedArrayInitializer(path: NodePath): boolean {
  const parent = path.parentPath;
  return (
    path.node.type === "ArrayExpression" &&
    parent?.node.type === "NewExpression" &&
    parent.node.arguments[0] === path.node &&
    parent.parentPath?.node.type === "VariableDeclarator" &&
    !parent.getFunctionParent()
  );
}

function checkNode(path: NodePath, report: (node: Node, construct: string) => void): void {
  const node = path.node;
  switch (node.type) {
    case "FunctionDeclaration":
    case "TSDeclareFunction":
      if (node.type === "FunctionDeclaration" && path.getFunctionParent()) report(node, "closures (nested functions)");
      if (node.async) report(node, "async functions");
      if (node.generator) report(node, "generator functions");
      for (const p of node.params) {
        if (p.type === "Identifier" && p.optional && node.type === "FunctionDeclaration") report(p, "optional parameters");
        if (p.type === "Identifier" && p.name === "this") report(p, "this parameters");
      }
      if (node.params.length > 4) report(node.params[4], "more than 4 parameters");
      return;
    case "VariableDeclaration":
      if (node.kind === "var") report(node, "`var` declarations (use let or const)");
      else if (node.kind !== "let" && node.kind !== "const") report(node, `\`${node.kind}\` declarations`);
      return;
    case "Identifier":
      if (node.name === "arguments" && path.isReferencedIdentifier()) report(node, "the arguments object");
      return;
    case "NumericLiteral": {
      const v = node.value;
      if (!Number.isInteger(v)) report(node, "floating-point literals");
      else if (v < MIN_INT32 || v > MAX_UINT32) report(node, "integer literals wider than 32 bits");
      return;
    }
    case "TemplateLiteral":
      if (node.expressions.length > 0) report(node, "template literals with expressions");
      return;
    case "BinaryExpression":
      if (!SUPPORTED_BINARY.has(node.operator)) report(node, binaryName(node.operator));
      return;
    case "LogicalExpression":
      if (node.operator === "??") report(node, "nullish coalescing (??)");
      return;
    case "UnaryExpression":
      if (!["-", "+", "~", "!"].includes(node.operator)) report(node, `the \`${node.operator}\` operator`);
      return;
    case "AssignmentExpression":
      if (!SUPPORTED_ASSIGN.has(node.operator)) {
        report(node, ["&&=", "||=", "??="].includes(node.operator) ? "logical assignment" : `the \`${node.operator}\` operator`);
      }
      return;
    case "NewExpression":
      if (path.getFunctionParent() || path.parentPath?.node.type !== "VariableDeclarator") {
        report(node, "`new` outside a global typed-array declaration");
        path.skip();
      }
      return;
    case "ExportNamedDeclaration":
      if (node.source) report(node, "re-exports");
      return;
    case "ExportSpecifier":
      if (node.exported.type !== "Identifier" || node.exported.name !== node.local.name) report(node, "renamed exports");
      return;
    case "ImportSpecifier":
      if (node.importKind === "type" || path.parentPath?.node.type !== "ImportDeclaration") return;
      return;
    default:
      return;
  }
}

function binaryName(op: string): string {
  switch (op) {
    case "**":
      return "exponentiation (**)";
    case "in":
      return "the `in` operator";
    case "instanceof":
      return "instanceof";
    default:
      return `the \`${op}\` operator`;
  }
}

/** The construct name for a node type, as check.ts reports it (codegen reuses it). */
export function constructName(type: string): string {
  return UNSUPPORTED_TYPES[type] ?? describeNodeType(type);
}

export function isSupportedBinary(op: string): boolean {
  return SUPPORTED_BINARY.has(op);
}

function describeNodeType(type: string): string {
  // "TSEnumDeclaration" → "TS enum declaration"; good enough for rare nodes.
  return type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase() + " (" + type + ")";
}
