// `previrt cc`: the TypeScript-dialect compiler (docs/design.md §5), end to end.
//
//   parse.ts          text → Babel AST (syntax errors as diagnostics), within
//                     the nesting limit of nesting.ts
//   check.ts          every construct outside the dialect → diagnostics
//                     (walking the tree with ast.ts, which skips types)
//   lower/symbols.ts  top-level names of all inputs, imports, constants
//   lower/codegen.ts  functions and data → G32 assembly (+ source map),
//                     with regalloc.ts and the intrinsic table intrinsics.ts;
//                     its FunctionCompiler is layered over codegen-base.ts,
//                     codegen-access.ts, codegen-expressions.ts and
//                     codegen-statements.ts
//   startup.ts        the start-up and stack a program build adds
//
// compile() takes every input at once (files may import each other) and
// returns one assembly text per input, or throws DiagnosticError with every
// diagnostic of every file.

import { DiagnosticError, UserError, type Diagnostic } from "../guest-isa/diagnostics.js";
import { checkFile } from "./check.js";
import { NATIVE_INTRINSICS } from "./intrinsics.js";
import { PARAVIRT_XEN_INTRINSICS, paravirtAsmLine, paravirtEpilogue } from "./paravirt.js";
import type { ParavirtTarget } from "../guest-isa/paravirt.js";
import { FileCompiler, LabelCounter, type SourceMapping } from "./lower/codegen.js";
import { collectSymbols } from "./lower/symbols.js";
import { parseSource, type ParsedFile, type SourceFile } from "./parse.js";

export type { SourceMapping } from "./lower/codegen.js";
export { runtimeSources, STARTUP_ASM, STACK_ASM, definesLabel } from "./startup.js";

export interface CompileOptions {
  /**
   * Lower intrinsics straight to hypercalls for a hypervisor (`--paravirt
   * xen`, paravirt.ts), whose guest ABI the caller supplies (the hypervisor
   * owns it: src/hypervisors/paravirt.ts): every output file also defines the
   * ABI's `__xen_*` symbols, and the first one carries the para-virtual
   * runtime (page-table queue) and the marker symbol.
   */
  paravirt?: ParavirtTarget;
}

export interface CompiledFile {
  /** The TypeScript input. */
  source: string;
  /** The suggested assembly file name (input with `.s`). */
  file: string;
  asm: string;
  /** Assembly line (1-based) → TypeScript position, for every generated instruction line. */
  sourceMap: SourceMapping[];
  /** Symbols this file defines (functions and globals, by assembly name). */
  defines: string[];
  /** Functions imported from a module not among the inputs (linked later), by assembly name: the module named. */
  externals: Map<string, string>;
}

export function compile(sources: readonly SourceFile[], options: CompileOptions = {}): CompiledFile[] {
  const target = options.paravirt;
  if (target && target.hypervisor !== "xen") throw new UserError(`--paravirt: the compiler has no lowering for '${target.hypervisor}' (supported: xen)`);
  const diagnostics: Diagnostic[] = [];
  const parsed: ParsedFile[] = [];
  for (const s of sources) {
    const p = parseSource(s, diagnostics);
    if (p) parsed.push(p);
  }
  for (const p of parsed) checkFile(p, diagnostics);
  const scopes = collectSymbols(parsed, diagnostics);
  const labels = new LabelCounter();
  const outputs: CompiledFile[] = [];
  for (const scope of scopes) {
    const codegen = target ? { intrinsics: PARAVIRT_XEN_INTRINSICS, asmLine: paravirtAsmLine } : { intrinsics: NATIVE_INTRINSICS };
    const out = new FileCompiler(scope, labels, diagnostics, codegen).compile();
    // Appended, so the source map's line numbers stay right.
    if (target) out.asm += paravirtEpilogue(target.abi, outputs.length === 0);
    outputs.push({ source: scope.file.file, file: scope.file.file.replace(/\.(ts|mts)$/, "") + ".s", ...out });
  }
  if (diagnostics.length) throw new DiagnosticError(sortDiagnostics(diagnostics, sources));
  return outputs;
}

/** In source order; one error per position (the first stage's, usually the most precise). */
function sortDiagnostics(ds: Diagnostic[], sources: readonly SourceFile[]): Diagnostic[] {
  const order = new Map(sources.map((s, i) => [s.file, i]));
  const seen = new Set<string>();
  const unique = ds.filter((d) => {
    const key = `${d.file}:${d.line}:${d.col}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.col - b.col);
}
