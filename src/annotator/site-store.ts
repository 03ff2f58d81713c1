// Where annotate.ts keeps what it found while it streams through a file: the
// sites and the table's records as columns of numbers (a few bytes per site,
// not an object graph per site), and the lines it inserted. Objects —
// AnnotatedSite, PlannedRecord — are made only when asked for (the `sites`
// and `records` of an AnnotateResult, the table as it is written), so a
// million-line kernel's annotation stays small (issue 16).
//
// Consumes: one call per site, exempt piece and inserted line, in source
// order. Produces: the sites, the records in address order (exempt pieces
// with no content dropped), and the inserted-line spans.

import type { Loc } from "../guest-isa/assembler/ast.js";
import { siteKindName } from "../guest-isa/softlayer.js";
import { siteLabel } from "./labels.js";
import { siteWords } from "./padding.js";
import type { Origin, PaddingLines } from "./source-map.js";
import type { PlannedRecord, RecordList } from "./table-emit.js";

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

export class SiteStore {
  private readonly kind: number[] = [];
  private readonly line: number[] = [];
  private readonly col: number[] = [];
  private readonly offset: number[] = [];
  private readonly regA: number[] = [];
  private readonly regB: number[] = [];
  private readonly imm: (number | string)[] = [];
  /** Record order: a site index (≥ 0), or ~n for exempt piece n. */
  private readonly order: number[] = [];
  private readonly pieces: PlannedRecord[] = [];
  private sitesMade?: AnnotatedSite[];

  constructor(
    private readonly file: string,
    private readonly originOf: (line: number) => Origin,
  ) {}

  get count(): number {
    return this.kind.length;
  }

  addSite(kind: number, loc: Loc, regA: number, regB: number, imm: number | string): void {
    this.order.push(this.kind.length);
    this.kind.push(kind);
    this.line.push(loc.line);
    this.col.push(loc.col);
    this.offset.push(loc.offset);
    this.regA.push(regA);
    this.regB.push(regB);
    this.imm.push(imm);
  }

  /** An exempt piece's record (its index is the piece number). */
  addPiece(record: PlannedRecord): void {
    this.order.push(~this.pieces.length);
    this.pieces.push(record);
  }

  site(i: number): AnnotatedSite {
    const kind = this.kind[i];
    const line = this.line[i];
    return {
      label: siteLabel(i),
      kind,
      kindName: siteKindName(kind),
      length: siteWords(kind) * 4,
      loc: { file: this.file, line, col: this.col[i], offset: this.offset[i] },
      origin: this.originOf(line),
      regA: this.regA[i],
      regB: this.regB[i],
      imm: this.imm[i],
    };
  }

  /** Every site, made once on first use. */
  sites(): AnnotatedSite[] {
    return (this.sitesMade ??= this.kind.map((_, i) => this.site(i)));
  }

  private record(entry: number): PlannedRecord {
    if (entry < 0) return this.pieces[~entry];
    const kind = this.kind[entry];
    const origin = this.originOf(this.line[entry]);
    return {
      addrLabel: siteLabel(entry), length: siteWords(kind) * 4, kind, flags: 0,
      regA: this.regA[entry], regB: this.regB[entry], imm: this.imm[entry], line: origin.line, file: origin.file,
    };
  }

  /** The records in address order, without the exempt pieces `keepPiece` rejects; each made when read. */
  records(keepPiece: (n: number) => boolean): RecordList {
    const order = this.pieces.every((_, n) => keepPiece(n)) ? this.order : this.order.filter((e) => e >= 0 || keepPiece(~e));
    return { length: order.length, at: (i: number) => this.record(order[i]) };
  }
}

/** Lines the annotator inserted (padding, exempt start labels), in output order, as columns. */
export class InsertedLines {
  /** First inserted line in the output (1-based). */
  readonly generatedLine: number[] = [];
  readonly count: number[] = [];
  /** The input line they belong to. */
  readonly line: number[] = [];
  /** For padding: the site instruction's column (1-based); -1 for other lines. */
  readonly paddingCol: number[] = [];

  /** keep = false: record nothing (nothing will ask). */
  constructor(private readonly keep = true) {}

  add(generatedLine: number, count: number, line: number, paddingCol: number): void {
    if (!this.keep) return;
    this.generatedLine.push(generatedLine);
    this.count.push(count);
    this.line.push(line);
    this.paddingCol.push(paddingCol);
  }

  /** The padding spans, as the source map wants them. */
  padding(): PaddingLines[] {
    const out: PaddingLines[] = [];
    for (let i = 0; i < this.count.length; i++) {
      const col = this.paddingCol[i];
      if (col >= 0) out.push({ generatedLine: this.generatedLine[i], count: this.count[i], line: this.line[i], col });
    }
    return out;
  }
}
