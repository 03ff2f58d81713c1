// The afterburner pass (docs/design.md §3): G32 assembly in, annotated G32
// assembly out. Every instruction whose ISA row is sensitive, and every load
// or store marked `.sensitive pte|mmio`, becomes a *site*: a reserved local
// label on the original instruction, then padding `nop`s up to the length the
// padding table (padding.ts) gives its kind. The file's `.softlayer` table is
// appended as assembly data (table-emit.ts). `.noannotate` … `.annotate`
// regions are left alone and recorded as exempt records.
//
// Consumes: one file's text, parsed by guest-isa's parseAssembly (no second
// parser). Produces: the annotated text (edits made with magic-string over
// original coordinates, so a source map comes for free — source-map.ts), the
// sites and exempt regions, and diagnostics (thrown together as one
// DiagnosticError: k0 uses and branch-into-padding from checks.ts, misuse of
// the annotation directives, re-annotation).
//
// The output keeps every original line as it was: a site's label is written
// in front of the instruction on its own line, its padding on new lines after
// it (after any trailing comment).

import { MagicString, type SourceMap } from "magic-string";
import type { Expr, InstructionStatement, Loc, Operand, Statement } from "../guest-isa/assembler/ast.js";
import { parseAssembly } from "../guest-isa/assembler/parser.js";
import { DiagnosticError, type Diagnostic } from "../guest-isa/diagnostics.js";
import { FORMATS, lookupInstruction, type InstructionRow } from "../guest-isa/isa-table.js";
import { parseControlRegister } from "../guest-isa/registers.js";
import { MEMORY_SITE_KINDS, SITE_FLAG_EXEMPT, siteKindName } from "../guest-isa/softlayer.js";
import { checkTargetsIntoPadding, collectTargetRefs, diagnosticAt, K0_MESSAGE, k0Uses, usesK0, type SiteSpan, type TargetRef } from "./checks.js";
import { evalConst, printExpr } from "./expr.js";
import { LABEL_PREFIX, regionEndLabel, regionStartLabel, siteLabel } from "./labels.js";
import { siteWords } from "./padding.js";
import { buildSourceMap, scanOrigins, type MapOptions, type Origin, type PaddingLines } from "./source-map.js";
import { emitSoftlayerTable, type PlannedRecord } from "./table-emit.js";

export interface AnnotatedSite {
  /** The reserved label on the site's first word. */
  label: string;
  kind: number;
  kindName: string;
  /** Site length in bytes (original instruction + padding). */
  length: number;
  /** Where the original instruction is in the input. */
  loc: Loc;
  /** What the table records as the site's source: the input line, or the `.ts` line it was compiled from. */
  origin: Origin;
  regA: number;
  regB: number;
  /** Port/control-register number or memory offset; an expression when only the assembler knows it. */
  imm: number | string;
}

export interface ExemptRegion {
  startLabel: string;
  endLabel: string;
  /** The `.noannotate` (or the section directive re-entering .text inside the region). */
  loc: Loc;
  origin: Origin;
}

export interface AnnotateResult {
  text: string;
  sites: AnnotatedSite[];
  /** Exempt `.noannotate` pieces that hold code or data in .text (each one record). */
  exempt: ExemptRegion[];
  /** The table's records, in address order. */
  records: PlannedRecord[];
  /** Whether the input carried `# FILE.ts:LINE` origin comments (records and map then point at the .ts). */
  chained: boolean;
  /** Number of input lines. */
  lines: number;
  /**
   * The input position of a 1-based (line, col) in `text` — for reporting the
   * assembler's errors against the file the user wrote. A padding line maps
   * to its site's line; the appended table maps to undefined.
   */
  originalPosition(line: number, col: number): { line: number; col: number } | undefined;
  /** A v3 source map from `text` back to the input (or its .ts origins). */
  sourceMap(options?: MapOptions): SourceMap;
}

const SECTION_DIRECTIVES = new Set([".text", ".data", ".rodata", ".bss", ".section"]);
/** Directives that emit nothing and do not move the location counter. */
const NON_EMITTING = new Set([".global", ".globl", ".equ", ".sensitive", ".noannotate", ".annotate"]);
const SENSITIVE_CLASSES = ["pte", "mmio"] as const;

/** Whether the text was written by `annotate` (defines a reserved label or a .softlayer section). */
export function isAnnotated(file: string, text: string): boolean {
  if (!text.includes(LABEL_PREFIX) && !text.includes(".softlayer")) return false;
  return findAnnotationMarker(parseAssembly(file, text).source.statements) !== undefined;
}

function findAnnotationMarker(statements: readonly Statement[]): { loc: Loc; what: string } | undefined {
  for (const s of statements) {
    if (s.kind === "label" && s.name.startsWith(LABEL_PREFIX)) return { loc: s.loc, what: `defines the reserved label '${s.name}'` };
    if (s.kind === "directive" && s.name === ".section" && sectionName(s.args) === ".softlayer") {
      return { loc: s.loc, what: "has a .softlayer section" };
    }
  }
  return undefined;
}

function sectionName(args: readonly Operand[]): string | undefined {
  const a = args[0];
  return a?.kind === "expr" && a.expr.kind === "sym" ? a.expr.name : undefined;
}

/**
 * Annotates one file. Throws DiagnosticError (every problem of the file) for
 * syntax errors, safety-check failures, misuse of `.sensitive`/`.noannotate`,
 * and input that is already annotated (re-annotation is refused: see
 * docs/annotator.md).
 */
export function annotate(file: string, text: string): AnnotateResult {
  const parsed = parseAssembly(file, text);
  if (parsed.diagnostics.length) throw new DiagnosticError(parsed.diagnostics);
  const { statements, lineStarts } = parsed.source;
  const diags: Diagnostic[] = [];
  const error = (loc: Loc, message: string) => diags.push(diagnosticAt(loc, message, text, lineStarts));

  const marker = text.includes(LABEL_PREFIX) || text.includes(".softlayer") ? findAnnotationMarker(statements) : undefined;
  if (marker) {
    error(marker.loc, `input is already annotated (it ${marker.what}); annotate the original source instead`);
    throw new DiagnosticError(diags);
  }

  const equs = new Map<string, Expr>();
  for (const s of statements) {
    if (s.kind === "directive" && s.name === ".equ" && s.args.length === 2) {
      const name = s.args[0].kind === "expr" && s.args[0].expr.kind === "sym" ? s.args[0].expr.name : undefined;
      if (name && s.args[1].kind === "expr") equs.set(name, s.args[1].expr);
    }
  }

  const origins = scanOrigins(text, lineStarts);
  const originOf = (line: number): Origin => origins?.[line] ?? { file, line };
  const nl = text.includes("\r\n") ? "\r\n" : "\n";
  const lineEnd = (line: number): number => {
    let e = line < lineStarts.length ? lineStarts[line] - 1 : text.length;
    if (e > lineStarts[line - 1] && text.charCodeAt(e - 1) === 13) e--;
    return e;
  };

  const ms = new MagicString(text);
  const sites: AnnotatedSite[] = [];
  const exempt: (ExemptRegion & { content: boolean })[] = [];
  const records: PlannedRecord[] = [];
  const pieceRecords: number[] = []; // index in records of each exempt piece
  const siteByLabel = new Map<string, SiteSpan>();
  const refs: TargetRef[] = [];

  let inText = true;
  let region: Loc | undefined; // the open .noannotate
  let piece: (ExemptRegion & { content: boolean }) | undefined; // its open piece in .text
  let pendingSensitive: { cls: (typeof SENSITIVE_CLASSES)[number]; loc: Loc } | undefined;
  let labels: string[] = []; // labels on the next emitting statement
  let addedLines = 0; // newlines inserted so far (all insertions are made in source order)
  const paddingLines: PaddingLines[] = [];
  const insertedLines: InsertedLines[] = []; // every inserted line, for originalPosition()
  const insertedText: InsertedText = { line: [], col: [], width: [] }; // labels written into original lines, in order
  const insertInLine = (loc: Loc, content: string) => {
    ms.appendLeft(loc.offset, content);
    insertedText.line.push(loc.line);
    insertedText.col.push(loc.col);
    insertedText.width.push(content.length);
  };
  const paddingText = new Map<string, string>(); // by indent and length

  const openPiece = (loc: Loc, insertAt: number, onNewLine: boolean) => {
    const n = exempt.length;
    const p = { startLabel: regionStartLabel(n), endLabel: regionEndLabel(n), loc, origin: originOf(loc.line), content: false };
    exempt.push(p);
    if (onNewLine) {
      ms.appendLeft(insertAt, `${nl}${p.startLabel}:`);
      insertedLines.push({ generatedLine: loc.line + addedLines + 1, count: 1, line: loc.line });
      addedLines++;
    } else insertInLine(loc, `${p.startLabel}: `);
    records.push({
      addrLabel: p.startLabel, length: `${p.endLabel} - ${p.startLabel}`, kind: 0, flags: SITE_FLAG_EXEMPT,
      regA: 0, regB: 0, imm: 0, line: p.origin.line, file: p.origin.file,
    });
    pieceRecords.push(records.length - 1);
    piece = p;
  };
  const closePiece = (at: Loc | undefined) => {
    if (!piece) return;
    if (at === undefined) ms.append(`${piece.endLabel}:${nl}`);
    else insertInLine(at, `${piece.endLabel}: `);
    piece = undefined;
  };
  const sensitiveMisplaced = (what: string) => {
    if (!pendingSensitive) return;
    error(pendingSensitive.loc, `.sensitive ${pendingSensitive.cls} must be followed by a load or store, not ${what}`);
    pendingSensitive = undefined;
  };

  for (const s of statements) {
    if (s.kind === "label") {
      labels.push(s.name);
      continue;
    }
    if (s.kind === "directive") {
      const name = s.name;
      if (name === ".sensitive") {
        const cls = sectionName(s.args);
        if (s.args.length !== 1 || (cls !== "pte" && cls !== "mmio")) {
          error(s.loc, ".sensitive takes one argument: pte or mmio");
        } else if (!region) {
          sensitiveMisplaced("another .sensitive");
          pendingSensitive = { cls, loc: s.loc };
        }
      } else if (name === ".noannotate") {
        if (region) error(s.loc, `nested .noannotate (the region opened at line ${region.line} is still open)`);
        else {
          sensitiveMisplaced(".noannotate");
          region = s.loc;
          if (inText) openPiece(s.loc, s.loc.offset, false);
        }
      } else if (name === ".annotate") {
        if (!region) error(s.loc, ".annotate without a matching .noannotate");
        else {
          closePiece(s.loc);
          region = undefined;
        }
      } else if (SECTION_DIRECTIVES.has(name)) {
        sensitiveMisplaced(`a section change (${name})`);
        closePiece(s.loc);
        inText = name === ".text" || (name === ".section" && sectionName(s.args) === ".text");
        if (region && inText) openPiece(s.loc, lineEnd(s.loc.line), true);
        if (labels.length) labels = [];
      } else if (!NON_EMITTING.has(name)) {
        sensitiveMisplaced(name);
        if (piece) piece.content = true;
        if (name === ".word") collectTargetRefs(s.args, equs, refs);
        if (labels.length) labels = [];
      }
      continue;
    }

    // An instruction (real or pseudo).
    if (piece) piece.content = true;
    collectTargetRefs(s.operands, equs, refs);
    const row = lookupInstruction(s.mnemonic);
    if (region) {
      sensitiveMisplaced(`an instruction inside .noannotate`);
      if (labels.length) labels = [];
      continue;
    }
    if (usesK0(s)) for (const loc of k0Uses(s, text)) error(loc, K0_MESSAGE);

    let kind: number | undefined;
    if (pendingSensitive) {
      if (row && (row.group === "load" || row.group === "store")) {
        // A page-table entry is a word: the back ends read and write whole entries (xen's mmu_update).
        if (pendingSensitive.cls === "pte" && row.mnemonic !== "lw" && row.mnemonic !== "sw") {
          error(s.loc, `.sensitive pte marks a page-table entry access, which is a word: use lw or sw, not '${s.mnemonic}'`);
        } else {
          kind = MEMORY_SITE_KINDS[`${pendingSensitive.cls}-${row.group}`];
        }
      } else {
        error(pendingSensitive.loc, `.sensitive ${pendingSensitive.cls} must be followed by a load or store, not '${s.mnemonic}'`);
      }
      pendingSensitive = undefined;
    } else if (row?.sensitive) {
      kind = row.opcode;
    }
    if (kind !== undefined && row) {
      if (!inText) {
        error(s.loc, `sensitive instruction '${s.mnemonic}' outside .text cannot be annotated (move it to .text or bracket it with .noannotate/.annotate)`);
      } else {
        const fields = siteFields(row, s, equs);
        if ("message" in fields) error(fields.loc, fields.message);
        else addSite(s, kind, fields);
      }
    }
    if (labels.length) labels = [];
  }
  sensitiveMisplaced("the end of the file");
  if (piece) closePiece(undefined);

  function addSite(s: InstructionStatement, kind: number, f: { regA: number; regB: number; imm: number | string }): void {
    const label = siteLabel(sites.length);
    const words = siteWords(kind);
    const origin = originOf(s.loc.line);
    const site: AnnotatedSite = { label, kind, kindName: siteKindName(kind), length: words * 4, loc: s.loc, origin, ...f };
    sites.push(site);
    const span: SiteSpan = { length: site.length, kindName: site.kindName, line: s.loc.line };
    for (const l of labels) siteByLabel.set(l, span);
    insertInLine(s.loc, `${label}: `);
    if (words > 1) {
      const ls = lineStarts[s.loc.line - 1];
      let i = ls;
      while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
      const indent = i > ls ? text.slice(ls, i) : "\t";
      const key = `${words}${indent}`;
      let pad = paddingText.get(key);
      if (pad === undefined) paddingText.set(key, (pad = `${nl}${indent}nop`.repeat(words - 1)));
      ms.appendLeft(lineEnd(s.loc.line), pad);
      paddingLines.push({ generatedLine: s.loc.line + addedLines + 1, count: words - 1, line: s.loc.line, col: s.loc.col });
      insertedLines.push({ generatedLine: s.loc.line + addedLines + 1, count: words - 1, line: s.loc.line });
      addedLines += words - 1;
    }
    records.push({ addrLabel: label, length: site.length, kind, flags: 0, regA: f.regA, regB: f.regB, imm: f.imm, line: origin.line, file: origin.file });
  }

  for (const { ref, message } of checkTargetsIntoPadding(refs, siteByLabel)) error(ref.loc, message);
  if (diags.length) {
    diags.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new DiagnosticError(diags);
  }

  // Exempt pieces that turned out empty (no code or data) are not recorded.
  const dropped = new Set(pieceRecords.filter((_, n) => !exempt[n].content));
  const finalRecords = dropped.size ? records.filter((_, i) => !dropped.has(i)) : records;
  const finalExempt = exempt.filter((p) => p.content).map(({ content: _c, ...p }) => p);
  const summary = `${sites.length} site${sites.length === 1 ? "" : "s"}, ${finalExempt.length} exempt region${finalExempt.length === 1 ? "" : "s"}`;
  const table = emitSoftlayerTable(finalRecords, nl, summary);
  const endsWithNl = text.length === 0 || text.endsWith("\n");
  ms.append((endsWithNl ? "" : nl) + table.slice(nl.length));

  return {
    text: ms.toString(),
    sites,
    exempt: finalExempt,
    records: finalRecords,
    chained: origins !== undefined,
    lines: lineStarts.length,
    originalPosition: (line: number, col: number) => originalPosition(insertedLines, insertedText, lineStarts.length, line, col),
    sourceMap: (options: MapOptions = {}) => buildSourceMap(ms, origins, paddingLines, { source: file, ...options }),
  };
}

/** Labels written into original lines: parallel arrays, in output order. */
interface InsertedText {
  line: number[];
  col: number[];
  width: number[];
}

interface InsertedLines {
  /** First inserted line in the output (1-based). */
  generatedLine: number;
  count: number;
  /** The input line it belongs to. */
  line: number;
}

function originalPosition(
  inserted: readonly InsertedLines[],
  insertedText: InsertedText,
  inputLines: number,
  line: number,
  col: number,
): { line: number; col: number } | undefined {
  // inserted[] is in output order; count the lines inserted before `line`.
  let lo = 0, hi = inserted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (inserted[mid].generatedLine <= line) lo = mid + 1;
    else hi = mid;
  }
  let before = 0;
  for (let i = 0; i < lo; i++) {
    const span = inserted[i];
    if (line < span.generatedLine + span.count) return { line: span.line, col: 1 };
    before += span.count;
  }
  const original = line - before;
  if (original < 1 || original > inputLines) return undefined;
  let c = col;
  let i = insertedText.line.indexOf(original);
  for (; i >= 0 && i < insertedText.line.length && insertedText.line[i] === original; i++) {
    const at = insertedText.col[i], width = insertedText.width[i];
    if (c >= at + width) c -= width;
    else if (c >= at) c = at;
  }
  return { line: original, col: c };
}

/**
 * The record fields of a site, read from the instruction's operands in the
 * ISA table's operand order (A/B registers; cr, port or memory offset as the
 * immediate), or what is wrong with them.
 */
function siteFields(
  row: InstructionRow,
  s: InstructionStatement,
  equs: ReadonlyMap<string, Expr>,
): { regA: number; regB: number; imm: number | string } | { message: string; loc: Loc } {
  const fmt = FORMATS[row.format];
  if (s.operands.length !== fmt.operands.length) {
    return { loc: s.loc, message: `'${row.mnemonic}' takes ${fmt.operands.length === 0 ? "no operands" : `operands ${fmt.syntax}`}` };
  }
  let regA = 0, regB = 0;
  let imm: number | string = 0;
  for (let i = 0; i < fmt.operands.length; i++) {
    const spec = fmt.operands[i];
    const op = s.operands[i];
    const bad = (message: string) => ({ loc: op.loc, message });
    if (spec.kind === "reg") {
      if (op.kind !== "reg") return bad(`operand ${i + 1} of '${row.mnemonic}' must be a register`);
      if (spec.field === "A") regA = op.reg;
      else regB = op.reg;
    } else if (spec.kind === "mem") {
      if (op.kind !== "mem") return bad(`operand ${i + 1} of '${row.mnemonic}' must be a memory operand off(reg)`);
      regB = op.base;
      if (op.offset) {
        const v = valueOf(op.offset);
        if (v === undefined) return bad(`the offset of a site's memory operand cannot use '.'`);
        imm = v;
      }
    } else if (spec.kind === "cr" || spec.kind === "port") {
      if (op.kind !== "expr") return bad(`operand ${i + 1} of '${row.mnemonic}' must be a ${spec.kind === "cr" ? "control register" : "port number"}`);
      const cr = spec.kind === "cr" && op.expr.kind === "sym" ? parseControlRegister(op.expr.name) : undefined;
      const v = cr ?? valueOf(op.expr);
      if (v === undefined) return bad(`the ${spec.kind === "cr" ? "control register" : "port"} of a site cannot use '.'`);
      imm = v;
    }
  }
  return { regA, regB, imm };

  function valueOf(e: Expr): number | string | undefined {
    // Folded here when the text alone decides it (numbers, .equ constants);
    // otherwise the table carries the expression for the assembler to fold.
    return evalConst(e, equs) ?? printExpr(e);
  }
}
