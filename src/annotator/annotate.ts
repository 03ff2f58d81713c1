// The afterburner pass (docs/design.md §3): G32 assembly in, annotated G32
// assembly out. Every instruction whose ISA row is sensitive, every load
// or store marked `.sensitive pte|mmio`, and every spinlock acquire/release
// marked `.sensitive lock|unlock` (amoswap / sw) becomes a *site*: a reserved local
// label on the original instruction, then padding `nop`s up to the length the
// padding table (padding.ts) gives its kind. The file's `.softlayer` table is
// appended as assembly data (table-emit.ts). `.noannotate` … `.annotate`
// regions are left alone and recorded as exempt records.
//
// Consumes: one file's text, parsed by guest-isa's parseAssembly (no second
// parser), its statements streamed and dropped as they are handled.
// Produces: the annotated text (edits recorded as insertions at original
// offsets, EditLog below; walked again to stream a source map —
// map-writer.ts — or replayed into magic-string for a whole one —
// source-map.ts), the sites and exempt regions, and
// diagnostics (thrown together as one
// DiagnosticError: k0 uses and branch-into-padding from checks.ts, misuse of
// the annotation directives, re-annotation).
//
// The output keeps every original line as it was: a site's label is written
// in front of the instruction on its own line, its padding on new lines after
// it (after any trailing comment).

import { MagicString, type SourceMap } from "magic-string";
import type { Expr, InstructionStatement, LabelStatement, Loc, Operand, ParsedSource, Statement } from "../guest-isa/assembler/ast.js";
import { canonicalDirective, isSectionDirective, isSensitiveClass, sensitiveClassList, type Directive, type SensitiveClass } from "../guest-isa/assembler/directive-names.js";
import { parseAssembly } from "../guest-isa/assembler/parser.js";
import { DiagnosticError, type Diagnostic } from "../guest-isa/diagnostics.js";
import { FORMATS, lookupInstruction, type InstructionRow } from "../guest-isa/isa-table.js";
import { parseControlRegister } from "../guest-isa/registers.js";
import { LOCK_SITE_INSTRUCTION, LOCK_SITE_KINDS, MEMORY_SITE_KINDS, SITE_FLAG_EXEMPT, siteKindName } from "../guest-isa/softlayer.js";
import { ChunkWriter, collectText, type TextWriter } from "./chunks.js";
import { checkTargetsIntoPadding, collectTargetRefs, diagnosticAt, K0_MESSAGE, k0Uses, usesK0, type SiteSpan, type TargetRef } from "./checks.js";
import { evalConst, printExpr } from "./expr.js";
import { LABEL_PREFIX, regionEndLabel, regionStartLabel, SLOT_LABEL } from "./labels.js";
import { siteWords } from "./padding.js";
import { writeSourceMap, type StreamMapOptions } from "./map-writer.js";
import { buildSourceMap, mayNameOrigins, scanOrigins, type MapOptions, type Origin } from "./source-map.js";
import { InsertedLines, SiteStore, type AnnotatedSite } from "./site-store.js";
import { streamSoftlayerTable, writeSoftlayerTable, type PlannedRecord } from "./table-emit.js";

export type { AnnotatedSite } from "./site-store.js";

export interface ExemptRegion {
  startLabel: string;
  endLabel: string;
  /** The `.noannotate` (or the section directive re-entering .text inside the region). */
  loc: Loc;
  origin: Origin;
}

export interface AnnotateResult {
  /** The annotated text (made when read; writeText() hands it out without holding it whole). */
  text: string;
  /** Writes the annotated text to `write` in consecutive chunks of about 64 KiB (chunks.ts). */
  writeText(write: TextWriter): void;
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
  /** A v3 source map from `text` back to the input (or its .ts origins), built whole with magic-string. */
  sourceMap(options?: MapOptions): SourceMap;
  /**
   * The same map as JSON, written to `write` in chunks as it is made
   * (map-writer.ts): what `previrt annotate --map` uses, so a million-line
   * file's map is never held whole.
   */
  writeSourceMap(write: TextWriter, options?: StreamMapOptions): void;
}

/** Directives (canonical names, directive-names.ts) that emit nothing and do not move the location counter. */
const NON_EMITTING: ReadonlySet<string> = new Set<Directive>([".global", ".equ", ".sensitive", ".noannotate", ".annotate"]);

/**
 * Whether the text was written by `annotate`: it has a .softlayer section (every annotated file
 * ends with its table, even with no site). A reserved label alone does not make a file annotated:
 * `previrt build` passed such a file through unannotated, its sensitive instructions uncovered.
 */
export function isAnnotated(file: string, text: string): boolean {
  if (!mentionsSoftlayer(text)) return false;
  let found = false;
  parseAssembly(file, text, { onStatement: (s) => (found ||= isSoftlayerSection(s)) });
  return found;
}

const isSoftlayerSection = (s: Statement): boolean => s.kind === "directive" && s.name === ".section" && sectionName(s.args) === ".softlayer";

// Whether the text mentions the reserved label prefix or `.softlayer` at
// all. A million-line kernel is searched several times: a rarer piece of
// each needle first ('.' starts every local label and directive, so a
// search for ".L__sl_" itself is three times slower).
const mentionsPrefix = (text: string) => text.includes("__sl_") && text.includes(LABEL_PREFIX);
const mentionsSoftlayer = (text: string) => text.includes("oftla") && text.includes(".softlayer");

/** Whether a statement shows annotator output: a reserved label or a .softlayer section. */
function annotationMarker(s: Statement): { loc: Loc; what: string; label?: string } | undefined {
  if (s.kind === "label" && s.name.startsWith(LABEL_PREFIX)) return { loc: s.loc, what: `defines the reserved label '${s.name}'`, label: s.name };
  if (isSoftlayerSection(s)) return { loc: s.loc, what: "has a .softlayer section" };
  return undefined;
}

/** Offset of the first character of each line (as the parser counts lines). */
function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/**
 * The file's `.equ` definitions (a later one wins), found before the
 * streamed pass because a use may precede its definition: only the lines
 * naming `.equ` are parsed (one statement per line, so alone they parse the same).
 */
function collectEqus(file: string, text: string): Map<string, Expr> {
  const equs = new Map<string, Expr>();
  const re = /\.equ\b/gi;
  let lastLine = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = text.lastIndexOf("\n", m.index) + 1;
    if (start === lastLine) continue;
    lastLine = start;
    let end = text.indexOf("\n", m.index);
    if (end < 0) end = text.length;
    parseAssembly(file, text.slice(start, end), {
      onStatement: (s) => {
        if (s.kind === "directive" && s.name === ".equ" && s.args.length === 2) {
          const name = s.args[0].kind === "expr" && s.args[0].expr.kind === "sym" ? s.args[0].expr.name : undefined;
          if (name && s.args[1].kind === "expr") equs.set(name, s.args[1].expr);
        }
      },
    });
    re.lastIndex = end;
  }
  return equs;
}

/**
 * The annotator's edits: text inserted at offsets of the input, in
 * non-decreasing offset order (every insertion is made in source order), then
 * text appended at the end (a string, or a writer of one: the table).
 * write() hands the annotated text out in chunks (chunks.ts) — `previrt
 * annotate` writes them to the file as they come, so the text is never held
 * whole; replay() rebuilds the same edits in a MagicString, only when a
 * source map is asked for (its per-character chunks would cost far more than
 * the text).
 */
class EditLog {
  private readonly offsets: number[] = [];
  private readonly inserts: string[] = [];
  private readonly appended: (string | ((push: (s: string) => void) => void))[] = [];

  constructor(
    private readonly text: string,
    /** false: record nothing (the annotated statements are streamed instead). */
    private readonly keep = true,
  ) {}

  appendLeft(offset: number, content: string): void {
    if (!this.keep) return;
    this.offsets.push(offset);
    this.inserts.push(content);
  }

  append(content: string | ((push: (s: string) => void) => void)): void {
    if (this.keep) this.appended.push(content);
  }

  write(write: TextWriter): void {
    const { text, offsets, inserts } = this;
    const out = new ChunkWriter(write);
    const push = (s: string) => out.push(s);
    let pos = 0;
    for (let i = 0; i < offsets.length; i++) {
      const at = offsets[i];
      if (at > pos) out.push(text.slice(pos, at));
      out.push(inserts[i]);
      pos = at;
    }
    out.push(text.slice(pos));
    for (const a of this.appended) {
      if (typeof a === "string") out.push(a);
      else a(push);
    }
    out.flush();
  }

  /** The output in order, as input slices and inserted text (the source map's walk: map-writer.ts). */
  visit(input: (start: number, end: number) => void, inserted: (s: string) => void): void {
    const { text, offsets, inserts } = this;
    let pos = 0;
    for (let i = 0; i < offsets.length; i++) {
      const at = offsets[i];
      if (at > pos) input(pos, at);
      inserted(inserts[i]);
      pos = at;
    }
    input(pos, text.length);
    for (const a of this.appended) {
      if (typeof a === "string") inserted(a);
      else a(inserted);
    }
  }

  replay(): MagicString {
    const ms = new MagicString(this.text);
    for (let i = 0; i < this.offsets.length; i++) ms.appendLeft(this.offsets[i], this.inserts[i]);
    for (const a of this.appended) ms.append(typeof a === "string" ? a : collectText((w) => a(w)));
    return ms;
  }
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
  return annotateFile(file, text, undefined).result;
}

/**
 * annotate() for the build (build-pass.ts): the annotated file's statements —
 * the input's, the site labels, the padding `nop`s, the table — go straight
 * into `sink` (the assembler's pass 1) in the order parsing the annotated
 * text would give them, located at the input's positions (the table at its
 * lines in the annotated text). The text itself is written only if `text` is
 * read. Only for input that ends with a newline (see canStream).
 */
export function annotateStatements(file: string, text: string, sink: (s: Statement) => void): AnnotateResult & { source: ParsedSource } {
  const { result, lineStarts } = annotateFile(file, text, sink);
  return Object.assign(result, { source: { file, text, statements: [], lineStarts } });
}

/** Whether annotateStatements() takes this text (else annotate it as text). */
export function canStream(text: string): boolean {
  return text.length === 0 || text.endsWith("\n");
}

/**
 * The one pass behind annotate() and annotateStatements(). Its result makes
 * what it is asked for when it is asked (the text, the sites, the records),
 * so nothing may copy it property by property (a spread would make them all).
 */
function annotateFile(file: string, text: string, statementSink: ((s: Statement) => void) | undefined): { result: AnnotateResult; lineStarts: number[] } {
  // Cleared once the table is streamed: the result's closures must not keep the assembler alive.
  let sink = statementSink;
  if (sink && !canStream(text)) throw new Error("annotateStatements: the input must end with a newline");
  // One streamed pass over the parser's statements: none is kept once handled,
  // so memory follows the output (the edits, the sites), not the input's lines.
  // Filled by the parser as it goes (below) unless origin comments need them first.
  const mayHaveOrigins = mayNameOrigins(text);
  const lineStarts = mayHaveOrigins ? computeLineStarts(text) : [];
  const pending: { loc: Loc; message: string }[] = [];
  const error = (loc: Loc, message: string) => pending.push({ loc, message });
  const prefixMentioned = mentionsPrefix(text);
  const markable = prefixMentioned || mentionsSoftlayer(text);
  let marker: { loc: Loc; what: string; label?: string } | undefined;

  const equs = collectEqus(file, text);
  const origins = scanOrigins(text, lineStarts, mayHaveOrigins);
  const originOf = (line: number): Origin => origins?.[line] ?? { file, line };
  const nl = text.includes("\r\n") ? "\r\n" : "\n";
  /** The end of a line (before "\r\n" or "\n") — of any line the parser has reached. */
  const lineEnd = (line: number): number => {
    const start = lineStarts[line - 1];
    let e = line < lineStarts.length ? lineStarts[line] - 1 : text.indexOf("\n", start);
    if (e < 0) e = text.length;
    if (e > start && text.charCodeAt(e - 1) === 13) e--;
    return e;
  };

  // Streaming into the assembler, nothing needs the edits: the text, map and
  // positions then come from annotate() itself, only if asked for (below).
  const keepEdits = sink === undefined;
  const ms = new EditLog(text, keepEdits);
  // Streaming an input that never mentions the reserved prefix, no statement
  // can name a site label but the table's: each is streamed as a label slot
  // (ast.ts LabelStatement.slot), which the assembler keeps as two numbers
  // rather than a symbol — a quarter of a million of them at a million lines.
  const slots = sink !== undefined && !prefixMentioned;
  const store = new SiteStore(file, origins, sink !== undefined && !slots);
  const exempt: (ExemptRegion & { content: boolean })[] = [];
  const siteByLabel = new Map<string, SiteSpan>();
  const refs: TargetRef[] = [];

  let inText = true;
  let region: Loc | undefined; // the open .noannotate
  let piece: (ExemptRegion & { content: boolean }) | undefined; // its open piece in .text
  let pendingSensitive: { cls: SensitiveClass; loc: Loc } | undefined;
  // The labels on the next emitting statement: labels[0, labelCount). Both
  // scratch arrays here are reused with a count — emptied by `length = 0` or
  // replaced, each would be reallocated for most lines of a large file.
  const labels: string[] = [];
  let labelCount = 0;
  let closedAtEnd = false; // an exempt piece's end label was appended after the last line
  let addedLines = 0; // newlines inserted so far (all insertions are made in source order)
  const insertedLines = new InsertedLines(keepEdits); // every inserted line (padding too), for originalPosition() and the map
  const insertedText: InsertedText = { line: [], col: [], width: [] }; // labels written into original lines, in order
  const after: Statement[] = []; // what follows the current statement (sink only): after[0, afterCount)
  let afterCount = 0;
  /** Writes `label: ` in front of the statement at `loc` (streamed with `slot` when given). */
  // One statement for every slot label, its location and slot changed: pass 1 keeps only its numbers.
  const slotLabel: LabelStatement = { kind: "label", name: SLOT_LABEL, loc: { file, line: 0, col: 0, offset: 0 }, slot: 0 };
  const insertInLine = (loc: Loc, label: string, slot?: number) => {
    if (sink) {
      if (slot === undefined) sink({ kind: "label", name: label, loc });
      else {
        slotLabel.loc = loc;
        slotLabel.slot = slot;
        sink(slotLabel);
      }
    }
    if (!keepEdits) return;
    ms.appendLeft(loc.offset, `${label}: `);
    insertedText.line.push(loc.line);
    insertedText.col.push(loc.col);
    insertedText.width.push(label.length + 2);
  };
  const paddingText = new Map<string, string>(); // by indent and length
  const nop: InstructionStatement = { kind: "instruction", mnemonic: "nop", operands: [], loc: { file, line: 0, col: 0, offset: 0 }, end: 0 };

  const openPiece = (loc: Loc, insertAt: number, onNewLine: boolean) => {
    const n = exempt.length;
    const p = { startLabel: regionStartLabel(n), endLabel: regionEndLabel(n), loc, origin: originOf(loc.line), content: false };
    exempt.push(p);
    if (onNewLine) {
      ms.appendLeft(insertAt, `${nl}${p.startLabel}:`);
      if (sink) after[afterCount++] = { kind: "label", name: p.startLabel, loc };
      insertedLines.add(loc.line + addedLines + 1, 1, loc.line, -1);
      addedLines++;
    } else insertInLine(loc, p.startLabel);
    store.addPiece({
      addrLabel: p.startLabel, length: `${p.endLabel} - ${p.startLabel}`, kind: 0, flags: SITE_FLAG_EXEMPT,
      regA: 0, regB: 0, imm: 0, line: p.origin.line, file: p.origin.file,
    });
    piece = p;
  };
  const closePiece = (at: Loc | undefined) => {
    if (!piece) return;
    if (at === undefined) {
      ms.append(`${piece.endLabel}:${nl}`);
      closedAtEnd = true;
      if (sink) sink({ kind: "label", name: piece.endLabel, loc: piece.loc });
    } else insertInLine(at, piece.endLabel);
    piece = undefined;
  };
  const sensitiveMisplaced = (what: string) => {
    if (!pendingSensitive) return;
    error(pendingSensitive.loc, `.sensitive ${pendingSensitive.cls} must be followed by a load or store, not ${what}`);
    pendingSensitive = undefined;
  };

  const onStatement = (s: Statement): void => {
    handle(s);
    if (sink) {
      sink(s);
      for (let i = 0; i < afterCount; i++) sink(after[i]);
      afterCount = 0;
    }
  };
  const handle = (s: Statement): void => {
    if (markable && !marker) marker = annotationMarker(s);
    if (s.kind === "label") {
      labels[labelCount++] = s.name;
      return;
    }
    if (s.kind === "directive") {
      // Canonical, so an alias is what it stands for (`.set` is `.equ`, `.long` is `.word`); an unknown name stays as written.
      const canonical = canonicalDirective(s.name);
      const name: string = canonical ?? s.name;
      if (name === ".sensitive") {
        const cls = sectionName(s.args);
        if (s.args.length !== 1 || !isSensitiveClass(cls)) {
          // At the argument that is wrong (the first extra one, or the unknown class), as the assembler
          // points at a bad operand; at the directive when there is none.
          const at = s.args.length > 1 ? s.args[1].loc : s.args.length === 1 ? s.args[0].loc : s.loc;
          error(at, `.sensitive takes one argument: ${sensitiveClassList()}`);
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
      } else if (name === ".section" || (canonical !== undefined && isSectionDirective(canonical))) {
        sensitiveMisplaced(`a section change (${name})`);
        closePiece(s.loc);
        inText = name === ".text" || (name === ".section" && sectionName(s.args) === ".text");
        if (region && inText) openPiece(s.loc, lineEnd(s.loc.line), true);
        labelCount = 0;
      } else if (!NON_EMITTING.has(name)) {
        sensitiveMisplaced(s.name);
        if (piece) piece.content = true;
        if (name === ".word") collectTargetRefs(s.args, equs, refs);
        labelCount = 0;
      }
      return;
    }

    // An instruction (real or pseudo).
    if (piece) piece.content = true;
    collectTargetRefs(s.operands, equs, refs);
    const row = lookupInstruction(s.mnemonic);
    if (region) {
      sensitiveMisplaced(`an instruction inside .noannotate`);
      labelCount = 0;
      return;
    }
    if (usesK0(s)) for (const loc of k0Uses(s, text)) error(loc, K0_MESSAGE);

    let kind: number | undefined;
    let lockCheck: "lock" | "ticket" | undefined; // a lock or ticket site's atomic must have rd = rs2 (checked with the operands)
    if (pendingSensitive && (pendingSensitive.cls === "lock" || pendingSensitive.cls === "unlock" || pendingSensitive.cls === "ticket")) {
      const cls = pendingSensitive.cls;
      const want = LOCK_SITE_INSTRUCTION[cls];
      if (row?.mnemonic === want) {
        kind = LOCK_SITE_KINDS[cls];
        if (cls === "lock" || cls === "ticket") lockCheck = cls;
      } else {
        error(pendingSensitive.loc, `.sensitive ${cls} must be followed by '${want}', not '${s.mnemonic}'`);
      }
      pendingSensitive = undefined;
    } else if (pendingSensitive) {
      if (row && (row.group === "load" || row.group === "store")) {
        // A page-table entry is a word: the back ends read and write whole entries (xen's mmu_update).
        if (pendingSensitive.cls === "pte" && row.mnemonic !== "lw" && row.mnemonic !== "sw") {
          error(s.loc, `.sensitive pte marks a page-table entry access, which is a word: use lw or sw, not '${s.mnemonic}'`);
        } else {
          kind = MEMORY_SITE_KINDS[`${pendingSensitive.cls as "pte" | "mmio"}-${row.group}`];
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
        else if (lockCheck && fields.regC !== fields.regA) {
          const insn = LOCK_SITE_INSTRUCTION[lockCheck];
          error(s.loc, `.sensitive ${lockCheck} marks '${insn} rd, rd, off(rs1)': the register ${lockCheck === "lock" ? "swapped in" : "added"} must be the destination (the site's record carries only rd)`);
        } else if (lockCheck === "ticket" && fields.regA === fields.regB) {
          // A cure's stub reads the now-serving word through rs1 after the amoadd has put the ticket in rd.
          error(s.loc, `.sensitive ticket marks 'amoadd rd, rd, off(rs1)': rd must not be the base register rs1 (the now-serving word is read through rs1 afterwards)`);
        } else addSite(s, kind, fields);
      }
    }
    labelCount = 0;
  };

  const parsed = parseAssembly(file, text, { onStatement, lineStarts });
  if (parsed.diagnostics.length) throw new DiagnosticError(parsed.diagnostics);
  const diags: Diagnostic[] = [];
  if (marker) {
    // A reserved label in a file with no table is the user's own label, not annotator output.
    const message =
      marker.label !== undefined && !isAnnotated(file, text)
        ? `label '${marker.label}' starts with '${LABEL_PREFIX}', which is reserved for the annotator's labels: rename it`
        : `input is already annotated (it ${marker.what}); annotate the original source instead`;
    diags.push(diagnosticAt(marker.loc, message, text, lineStarts));
    throw new DiagnosticError(diags);
  }
  sensitiveMisplaced("the end of the file");
  if (piece) closePiece(undefined);

  function addSite(s: InstructionStatement, kind: number, f: { regA: number; regB: number; imm: number | string }): void {
    const words = siteWords(kind);
    const n = store.addSite(kind, s.loc, f.regA, f.regB, f.imm);
    if (labelCount) {
      const span: SiteSpan = { length: words * 4, kindName: siteKindName(kind), line: s.loc.line };
      for (let k = 0; k < labelCount; k++) siteByLabel.set(labels[k], span);
    }
    // With slots the label is known by its number (no string made: labels.ts SLOT_LABEL).
    if (slots) insertInLine(s.loc, SLOT_LABEL, n);
    else insertInLine(s.loc, store.label(n));
    if (words > 1) {
      if (keepEdits) {
        const ls = lineStarts[s.loc.line - 1];
        let i = ls;
        while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
        const indent = i > ls ? text.slice(ls, i) : "\t";
        const key = `${words}${indent}`;
        let pad = paddingText.get(key);
        if (pad === undefined) paddingText.set(key, (pad = `${nl}${indent}nop`.repeat(words - 1)));
        ms.appendLeft(lineEnd(s.loc.line), pad);
      }
      if (sink) {
        // One statement for every padding nop: pass 1 keeps nothing of a constant instruction.
        nop.loc = s.loc;
        nop.end = s.end;
        for (let k = 1; k < words; k++) after[afterCount++] = nop;
      }
      insertedLines.add(s.loc.line + addedLines + 1, words - 1, s.loc.line, s.loc.col);
      addedLines += words - 1;
    }
  }

  for (const { ref, message } of checkTargetsIntoPadding(refs, siteByLabel)) error(ref.loc, message);
  for (const d of pending) diags.push(diagnosticAt(d.loc, d.message, text, lineStarts));
  if (diags.length) {
    diags.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new DiagnosticError(diags);
  }

  // Exempt pieces that turned out empty (no code or data) are not recorded.
  const finalRecords = store.records((n) => exempt[n].content);
  const finalExempt = exempt.filter((p) => p.content).map(({ content: _c, ...p }) => p);
  const sites = store.count;
  const summary = `${sites} site${sites === 1 ? "" : "s"}, ${finalExempt.length} exempt region${finalExempt.length === 1 ? "" : "s"}`;
  const endsWithNl = text.length === 0 || text.endsWith("\n");
  let tableWritten = false;
  const writeTable = () => {
    if (tableWritten) return;
    tableWritten = true;
    ms.append((push) => writeSoftlayerTable(finalRecords, nl, summary, endsWithNl ? "" : nl, push));
  };
  let output: string | undefined;
  const textOut = () => (keepEdits ? (output ??= collectText((w) => (writeTable(), ms.write(w)))) : "");
  if (sink) {
    const linesBefore = lineStarts.length - (endsWithNl ? 1 : 0) + addedLines + (closedAtEnd ? 1 : 0);
    streamSoftlayerTable(finalRecords, summary, file, linesBefore + 1, sink, slots);
    sink = undefined;
  }

  let full: AnnotateResult | undefined;
  const asText = () => (full ??= annotate(file, text)); // the streamed case
  const result: AnnotateResult = {
    get text() {
      return keepEdits ? textOut() : asText().text;
    },
    writeText: (write: TextWriter) => {
      if (!keepEdits) return asText().writeText(write);
      if (output === undefined) {
        writeTable();
        ms.write(write);
        return;
      }
      const out = new ChunkWriter(write);
      out.push(output);
      out.flush();
    },
    get sites() {
      return store.sites();
    },
    exempt: finalExempt,
    get records() {
      return Array.from({ length: finalRecords.length }, (_, i) => finalRecords.at(i)!);
    },
    chained: origins !== undefined,
    lines: lineStarts.length,
    originalPosition: (line: number, col: number) =>
      keepEdits ? originalPosition(insertedLines, insertedText, lineStarts.length, line, col) : asText().originalPosition(line, col),
    sourceMap: (options: MapOptions = {}) =>
      keepEdits ? buildSourceMap((writeTable(), ms.replay()), origins, insertedLines.padding(), { source: file, ...options }) : asText().sourceMap(options),
    writeSourceMap: (write: TextWriter, options: StreamMapOptions = {}) =>
      keepEdits
        ? (writeTable(), writeSourceMap(write, (input, inserted) => ms.visit(input, inserted), text, origins, insertedLines, { source: file, ...options }))
        : asText().writeSourceMap(write, options),
  };
  return { result, lineStarts };
}

/** Labels written into original lines: parallel arrays, in output order. */
interface InsertedText {
  line: number[];
  col: number[];
  width: number[];
}

function originalPosition(
  inserted: InsertedLines,
  insertedText: InsertedText,
  inputLines: number,
  line: number,
  col: number,
): { line: number; col: number } | undefined {
  // inserted[] is in output order; count the lines inserted before `line`.
  const { generatedLine, count } = inserted;
  let lo = 0, hi = generatedLine.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (generatedLine[mid] <= line) lo = mid + 1;
    else hi = mid;
  }
  let before = 0;
  for (let i = 0; i < lo; i++) {
    if (line < generatedLine[i] + count[i]) return { line: inserted.line[i], col: 1 };
    before += count[i];
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

/** siteFields()'s answer, one object reused: valid until the next call (the caller reads it at once). */
const fieldsOut: { regA: number; regB: number; regC: number; imm: number | string } = { regA: 0, regB: 0, regC: 0, imm: 0 };

/**
 * The record fields of a site, read from the instruction's operands in the
 * ISA table's operand order (A/B registers; cr, port or memory offset as the
 * immediate), or what is wrong with them. Allocates nothing for a good site
 * (a quarter of a million of them in a million-line build).
 */
function siteFields(
  row: InstructionRow,
  s: InstructionStatement,
  equs: ReadonlyMap<string, Expr>,
): typeof fieldsOut | { message: string; loc: Loc } {
  const fmt = FORMATS[row.format];
  if (s.operands.length !== fmt.operands.length) {
    return { loc: s.loc, message: `'${row.mnemonic}' takes ${fmt.operands.length === 0 ? "no operands" : `operands ${fmt.syntax}`}` };
  }
  let regA = 0, regB = 0, regC = 0;
  let imm: number | string = 0;
  for (let i = 0; i < fmt.operands.length; i++) {
    const spec = fmt.operands[i];
    const op = s.operands[i];
    if (spec.kind === "reg") {
      if (op.kind !== "reg") return { loc: op.loc, message: `operand ${i + 1} of '${row.mnemonic}' must be a register` };
      if (spec.field === "A") regA = op.reg;
      else if (spec.field === "C") regC = op.reg;
      else regB = op.reg;
    } else if (spec.kind === "mem") {
      if (op.kind !== "mem") return { loc: op.loc, message: `operand ${i + 1} of '${row.mnemonic}' must be a memory operand off(reg)` };
      regB = op.base;
      if (op.offset) {
        const v = fieldValue(op.offset, equs);
        if (v === undefined) return { loc: op.loc, message: `the offset of a site's memory operand cannot use '.'` };
        imm = v;
      }
    } else if (spec.kind === "cr" || spec.kind === "port") {
      if (op.kind !== "expr") return { loc: op.loc, message: `operand ${i + 1} of '${row.mnemonic}' must be a ${spec.kind === "cr" ? "control register" : "port number"}` };
      const cr = spec.kind === "cr" && op.expr.kind === "sym" ? parseControlRegister(op.expr.name) : undefined;
      const v = cr ?? fieldValue(op.expr, equs);
      if (v === undefined) return { loc: op.loc, message: `the ${spec.kind === "cr" ? "control register" : "port"} of a site cannot use '.'` };
      imm = v;
    }
  }
  fieldsOut.regA = regA;
  fieldsOut.regB = regB;
  fieldsOut.regC = regC;
  fieldsOut.imm = imm;
  return fieldsOut;
}

/**
 * A site field's value: folded here when the text alone decides it (numbers,
 * .equ constants); otherwise the expression, for the table to carry and the
 * assembler to fold.
 */
function fieldValue(e: Expr, equs: ReadonlyMap<string, Expr>): number | string | undefined {
  return evalConst(e, equs) ?? printExpr(e);
}
