// The assembler and linker: G32 assembly sources → one linked ElfImage
// (elf-types.ts; elf.ts writes it to bytes). The stages, in order:
//
//   parser.ts            each file's text → statements (syntax errors collected),
//                        streamed into
//   pass1.ts (+ directives.ts, pseudo.ts)
//                        statements → symbols and per-section contributions with
//                        final sizes and the bytes known without addresses
//   layout.ts            contributions → output sections at addresses
//   link.ts              global symbols across files, label values, deferred .equs
//   encode-statement.ts  pass 2: values, ranges, instruction words, data bytes
//   (here)               .softlayer tables merged; entry `_start`; the image
//
// Every stage reports into one Reporter and carries on, so a run reports all
// the errors of all files; assemble() then throws one DiagnosticError with
// them all, sorted by file (input order), line and column.
// docs/assembly.md is the language reference.

import { DiagnosticError, type Diagnostic } from "../diagnostics.js";
import { SHT_NOBITS, SOFTLAYER_SECTION, type ElfImage, type ElfSection } from "../elf-types.js";
import { entryProblem } from "../image-check.js";
import { mergeSoftlayerTables, parseSoftlayerTables, SoftlayerFormatError } from "../softlayer.js";
import { emitContribution, NOP_WORD } from "./encode-statement.js";
import { SymbolResolver } from "./link.js";
import { layoutSections, TEXT_BASE as TEXT_BASE_DEFAULT, type OutputSection } from "./layout.js";
import type { ParsedSource, Statement } from "./ast.js";
import { parseAssembly } from "./parser.js";
import { FilePass1, TEXT } from "./pass1.js";
import { Reporter, Sym, SymKind, writeWord, type FileUnit } from "./units.js";

export interface AssemblySource {
  file: string;
  text: string;
  /**
   * Produces the file's statements instead of parsing `text`: called with
   * pass 1's statement handler, returns what parseAssembly would (the source
   * for error lines, syntax errors). The build uses it to assemble the
   * annotator's statements without writing and re-parsing the annotated text.
   */
  statements?: (onStatement: (st: Statement) => void) => { source: ParsedSource; diagnostics: Diagnostic[] };
}

export interface AssembleOptions {
  /** Absolute symbols visible in every file (`previrt build -D NAME=VALUE`). */
  defines?: Record<string, number>;
  /** Where .text starts (a page-aligned address; default TEXT_BASE); .rodata, .data, .bss follow it. */
  textBase?: number;
}

export { TEXT_BASE, PAGE_SIZE } from "./layout.js";

/** Assembles and links `sources` (in order) into one executable image. Throws DiagnosticError with every error found. */
export function assemble(sources: readonly AssemblySource[], options: AssembleOptions = {}): ElfImage {
  const report = new Reporter();
  if (sources.length === 0) throw new DiagnosticError([{ file: "previrt", line: 1, col: 1, message: "no input files" }]);

  const defines = new Map<string, Sym>();
  for (const [name, value] of Object.entries(options.defines ?? {})) {
    defines.set(name, new Sym(name, SymKind.Abs, undefined, undefined, undefined, 0, value | 0, true));
  }

  const units: FileUnit[] = [];
  sources.forEach((src, i) => {
    const pass1 = new FilePass1(i, src.file, defines, report);
    const { source, diagnostics } = src.statements ? src.statements(pass1.statement) : parseAssembly(src.file, src.text, { onStatement: pass1.statement });
    report.addSource(source);
    report.diagnostics.push(...diagnostics);
    units.push(pass1.finish());
  });

  const textBase = options.textBase ?? TEXT_BASE_DEFAULT;
  if (!Number.isInteger(textBase) || textBase < 0 || textBase > 0xffffffff || textBase % 0x1000 !== 0) {
    throw new DiagnosticError([{ file: "previrt", line: 1, col: 1, message: `text base 0x${textBase.toString(16)} is not a page-aligned 32-bit address` }]);
  }
  const sections = layoutSections(units, textBase, report);
  const resolver = new SymbolResolver(units, defines, report);
  resolver.resolveValues();

  const elfSections: ElfSection[] = [];
  for (const out of sections) {
    const data = out.type === SHT_NOBITS ? new Uint8Array(0) : new Uint8Array(out.size);
    if (out.type !== SHT_NOBITS) {
      if (out.name === TEXT) fillGapsWithNops(out, data);
      for (const c of out.contributions) {
        data.set(c.bytes.subarray(0, Math.min(c.size, c.bytes.length)), c.base - out.addr);
        resolver.unit = units.find((u) => u.contributions.get(out.name) === c)!;
        emitContribution(c, data, out.addr, resolver, report);
      }
    }
    elfSections.push({ name: out.name, type: out.type, flags: out.flags, addr: out.addr, data, size: out.size, align: out.align });
  }

  const softlayer = elfSections.find((s) => s.name === SOFTLAYER_SECTION);
  if (softlayer && softlayer.size > 0) mergeSoftlayer(softlayer, sections.find((s) => s.name === SOFTLAYER_SECTION)!, report);

  // `_start` defined, and where the readers of the image will accept it (image-check.ts): in the code, word-aligned.
  const entry = resolver.entry();
  const misplaced = "value" in entry ? entryProblem({ entry: entry.value, sections: elfSections, symbols: [] }) : undefined;
  const problem = "error" in entry ? entry.error : misplaced && `_start: ${misplaced}`;
  const loc = "loc" in entry ? entry.loc : undefined;
  if (problem && loc) report.error(loc, problem);
  else if (problem) {
    const first = sources[0].file;
    report.diagnostics.push({ file: first, line: 1, col: 1, message: problem, sourceLine: report.sourceLine(first, 1) });
  }

  if (report.diagnostics.length > 0) throw new DiagnosticError(sortDiagnostics(report.withSourceLines(), sources));
  return {
    entry: "value" in entry ? entry.value : 0,
    sections: elfSections,
    symbols: resolver.elfSymbols((s) => s.contrib?.section),
  };
}

/** Gaps between files' .text contributions (alignment) hold `nop`s, like `.align` inside one. */
function fillGapsWithNops(out: OutputSection, data: Uint8Array): void {
  let end = out.addr;
  for (const c of out.contributions) {
    for (let a = Math.ceil(end / 4) * 4; a + 4 <= c.base; a += 4) writeWord(data, a - out.addr, NOP_WORD);
    end = c.base + c.size;
  }
}

/** The per-file tables laid end to end become one sorted table; a malformed one is reported at its file's `.section .softlayer`. */
function mergeSoftlayer(section: ElfSection, out: OutputSection, report: Reporter): void {
  try {
    section.data = mergeSoftlayerTables(section.data);
    section.size = section.data.length;
  } catch (e) {
    if (!(e instanceof SoftlayerFormatError)) throw e;
    const bad = out.contributions.find((c) => {
      if (c.size === 0) return false;
      try {
        parseSoftlayerTables(section.data.subarray(c.base, c.base + c.size));
        return false;
      } catch {
        return true;
      }
    });
    const c = bad ?? out.contributions.find((c) => c.size > 0)!;
    const detail = bad ? e.message : `${e.message} (in the tables linked end to end)`;
    report.error(c.firstLoc, `invalid .softlayer table: ${detail}`);
  }
}

function sortDiagnostics(diags: readonly Diagnostic[], sources: readonly AssemblySource[]): Diagnostic[] {
  const order = new Map(sources.map((s, i) => [s.file, i] as const));
  const seen = new Set<string>();
  const unique = diags.filter((d) => {
    const key = `${d.file}\0${d.line}\0${d.col}\0${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique
    .map((d, i) => ({ d, i }))
    .sort((x, y) => (order.get(x.d.file) ?? 0) - (order.get(y.d.file) ?? 0) || x.d.line - y.d.line || x.d.col - y.d.col || x.i - y.i)
    .map((x) => x.d);
}
