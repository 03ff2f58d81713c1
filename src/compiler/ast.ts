// How the compiler walks a Babel tree: which keys of a node hold code, which
// nodes are type-only (TypeScript syntax that never produces code and is
// skipped wherever it appears), an iterative depth-first walk, and unwrap
// (an expression without its type-only wrappers).
//
// Consumes Babel nodes (parse.ts); used by check.ts (the dialect check),
// parse.ts (the nesting limit) and lower/codegen.ts (its pre-pass). The walk
// keeps its own stack, so no input shape can overflow the host's; the stages
// that do recurse (code generation, constant folding) only ever see trees
// within the nesting limit of nesting.ts.

import type { Expression, Node, TSEnumDeclaration, TSEnumMember } from "@babel/types";

/**
 * Keys that never hold code: positions, comments, and every place a type
 * can appear (annotations, return types, type parameters and arguments,
 * `implements`). `x as T`, `x satisfies T` and `<T>x` keep their type under
 * `typeAnnotation`, `f<T>` and `f<T>(x)` under `typeParameters`
 * (`typeArguments` in newer Babel), so skipping these keys skips them all.
 */
export const NON_CODE_KEYS: ReadonlySet<string> = new Set([
  "type", "loc", "start", "end", "range", "extra", "leadingComments", "trailingComments", "innerComments", "comments", "tokens",
  "typeAnnotation", "returnType", "typeParameters", "typeArguments", "superTypeParameters", "superTypeArguments", "implements", "predicate",
]);

/** Declarations that only exist for the type checker. */
const TYPE_ONLY_DECLARATIONS = new Set(["TSTypeAliasDeclaration", "TSInterfaceDeclaration"]);

/**
 * Whether a node is TypeScript type syntax with no code: a type alias, an
 * interface, `import type`, `export type { … }`, or any type node (these only
 * appear under NON_CODE_KEYS, but a stray one is type-only too).
 */
export function isTypeOnly(node: Node): boolean {
  if (TYPE_ONLY_DECLARATIONS.has(node.type)) return true;
  if (node.type === "ImportDeclaration" || node.type === "ExportNamedDeclaration") return node.type === "ImportDeclaration" ? node.importKind === "type" || node.importKind === "typeof" : node.exportKind === "type";
  if (node.type === "ImportSpecifier" || node.type === "ExportSpecifier") return (node.type === "ImportSpecifier" ? node.importKind : node.exportKind) === "type";
  return isTypeNode(node.type);
}

/** TypeScript nodes that are values or declarations (everything else named TS… is a type). */
const TS_VALUE_NODES = new Set([
  "TSAsExpression", "TSSatisfiesExpression", "TSTypeAssertion", "TSNonNullExpression", "TSInstantiationExpression",
  "TSDeclareFunction", "TSDeclareMethod", "TSEnumDeclaration", "TSEnumBody", "TSEnumMember", "TSModuleDeclaration", "TSModuleBlock",
  "TSImportEqualsDeclaration", "TSExternalModuleReference", "TSExportAssignment", "TSNamespaceExportDeclaration", "TSParameterProperty",
]);

function isTypeNode(type: string): boolean {
  return type.startsWith("TS") && !TS_VALUE_NODES.has(type);
}

/** The code children of a node, in source order, with the key that holds each. */
export function codeChildren(node: Node): { key: string; child: Node }[] {
  const out: { key: string; child: Node }[] = [];
  for (const key of Object.keys(node)) {
    if (NON_CODE_KEYS.has(key)) continue;
    const v = (node as unknown as Record<string, unknown>)[key];
    if (Array.isArray(v)) {
      for (const c of v) if (isNode(c)) out.push({ key, child: c });
    } else if (isNode(v)) out.push({ key, child: v });
  }
  return out;
}

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

/** One node as the walk presents it. */
export interface Visit {
  node: Node;
  parent?: Node;
  /** The parent's key holding this node. */
  key?: string;
  /** The visit of the parent (for looking further up). */
  up?: Visit;
  /** Inside a function body or parameter list. */
  inFunction: boolean;
  /** 0 for the root. */
  depth: number;
}

/**
 * Depth-first, pre-order, in source order, with an explicit stack. `enter`
 * returns false to skip the node's children. Type-only nodes are not
 * entered at all.
 */
export function walk(root: Node, enter: (v: Visit) => boolean | void): void {
  const stack: Visit[] = [{ node: root, inFunction: false, depth: 0 }];
  while (stack.length) {
    const v = stack.pop()!;
    if (isTypeOnly(v.node)) continue;
    if (enter(v) === false) continue;
    const inFunction = v.inFunction || isFunction(v.node);
    const children = codeChildren(v.node);
    for (let i = children.length - 1; i >= 0; i--) {
      const { key, child } = children[i];
      stack.push({ node: child, parent: v.node, key, up: v, inFunction, depth: v.depth + 1 });
    }
  }
}

/** Whether some node of the tree (type-only parts excluded) satisfies `pred`. */
export function someNode(root: Node, pred: (n: Node) => boolean): boolean {
  let found = false;
  walk(root, ({ node }) => {
    if (found) return false;
    if (pred(node)) found = true;
    return !found;
  });
  return found;
}

function isFunction(n: Node): boolean {
  return (
    n.type === "FunctionDeclaration" || n.type === "FunctionExpression" || n.type === "ArrowFunctionExpression" || n.type === "ObjectMethod" ||
    n.type === "ClassMethod" || n.type === "ClassPrivateMethod" || n.type === "TSDeclareFunction"
  );
}

/** An enum's members: under `body` in newer Babel (a TSEnumBody), directly on the declaration in older. */
export function enumMemberList(decl: TSEnumDeclaration): TSEnumMember[] {
  return "body" in decl && decl.body ? decl.body.members : (decl as unknown as { members: TSEnumMember[] }).members;
}

/** Strips what only the type checker sees (`x as T`, `x satisfies T`, `<T>x`, `x!`, `f<T>`) and parentheses. */
export function unwrap(e: Expression): Expression {
  while (
    e.type === "TSAsExpression" || e.type === "TSNonNullExpression" || e.type === "TSSatisfiesExpression" || e.type === "TSTypeAssertion" ||
    e.type === "TSInstantiationExpression" || e.type === "ParenthesizedExpression"
  ) {
    e = e.expression;
  }
  return e;
}
