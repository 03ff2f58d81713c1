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
  private n = 0;
  private kind = new Int32Array(0);
  private line = new Int32Array(0);
  private col = new Int32Array(0);
  private offset = new Int32Array(0);
  private regA = new Int32Array(0);
  private regB = new Int32Array(0);
  private readonly imm: (number | string)[] = [];
  /** The sites' label strings, when kept (see the constructor). */
  private readonly labels: string[] = [];
  /** Record order: a site index (≥ 0), or ~n for exempt piece n. */
  private order = new Int32Array(0);
  private orderLength = 0;
  private readonly pieces: PlannedRecord[] = [];
  private sitesMade?: AnnotatedSite[];

  constructor(
    private readonly file: string,
    /** Per input line, the `.ts` line it was compiled from (source-map.ts scanOrigins), if the input names any. */
    private readonly origins: readonly (Origin | undefined)[] | undefined,
    /**
     * Keep each site's label string (the build: the same string object names
     * the label when it is defined and in the table's `.word`, so the
     * assembler hashes it once; it lives in the assembler's symbol anyway).
     */
    private readonly keepLabels = false,
  ) {}

  get count(): number {
    return this.n;
  }

  /** Site i's label (the kept string, else made again). */
  label(i: number): string {
    return this.keepLabels ? this.labels[i] : siteLabel(i);
  }

  /** What the table records as the source of input line `line` (without making an Origin when there are no origins). */
  private originOf(line: number): Origin {
    return this.origins?.[line] ?? { file: this.file, line };
  }

  /** Adds a site; returns its number (label(n) names it). */
  addSite(kind: number, loc: Loc, regA: number, regB: number, imm: number | string): number {
    const i = this.n;
    if (i === this.kind.length) this.grow();
    this.pushOrder(i);
    this.kind[i] = kind;
    this.line[i] = loc.line;
    this.col[i] = loc.col;
    this.offset[i] = loc.offset;
    this.regA[i] = regA;
    this.regB[i] = regB;
    this.imm.push(imm);
    this.n = i + 1;
    if (this.keepLabels) this.labels.push(siteLabel(i));
    return i;
  }

  // Typed columns, grown by doubling: a million-line kernel's quarter of a
  // million sites is a few megabytes outside the JS heap, not arrays of
  // numbers that the collector copies as they grow.
  private grow(): void {
    const cap = Math.max(64, this.kind.length * 2);
    const g = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.kind = g(this.kind);
    this.line = g(this.line);
    this.col = g(this.col);
    this.offset = g(this.offset);
    this.regA = g(this.regA);
    this.regB = g(this.regB);
  }

  private pushOrder(entry: number): void {
    if (this.orderLength === this.order.length) {
      const b = new Int32Array(Math.max(64, this.order.length * 2));
      b.set(this.order);
      this.order = b;
    }
    this.order[this.orderLength++] = entry;
  }

  /** An exempt piece's record (its index is the piece number). */
  addPiece(record: PlannedRecord): void {
    this.pushOrder(~this.pieces.length);
    this.pieces.push(record);
  }

  site(i: number): AnnotatedSite {
    const kind = this.kind[i];
    const line = this.line[i];
    return {
      label: this.label(i),
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
    return (this.sitesMade ??= Array.from({ length: this.n }, (_, i) => this.site(i)));
  }

  /**
   * Record `entry` (an order entry) written into `into` (a piece's own record
   * is returned as is); `withLabel` false leaves a site's `addrLabel` empty
   * (a build that knows its sites by number does not make the strings).
   */
  private record(entry: number, into: PlannedRecord, withLabel: boolean): PlannedRecord {
    if (entry < 0) return this.pieces[~entry];
    const kind = this.kind[entry];
    const line = this.line[entry];
    const origin = this.origins?.[line];
    into.addrLabel = withLabel ? this.label(entry) : "";
    into.length = siteWords(kind) * 4;
    into.kind = kind;
    into.flags = 0;
    into.regA = this.regA[entry];
    into.regB = this.regB[entry];
    into.imm = this.imm[entry];
    into.line = origin ? origin.line : line;
    into.file = origin ? origin.file : this.file;
    return into;
  }

  /** The records in address order, without the exempt pieces `keepPiece` rejects; each made when read. */
  records(keepPiece: (n: number) => boolean): RecordList {
    let order = this.order.subarray(0, this.orderLength);
    if (!this.pieces.every((_, n) => keepPiece(n))) order = order.filter((e) => e >= 0 || keepPiece(~e));
    return {
      length: order.length,
      siteIndex: (i: number) => order[i],
      file: (i: number) => (order[i] < 0 ? this.pieces[~order[i]].file : (this.origins?.[this.line[order[i]]]?.file ?? this.file)),
      at: (i: number) => (i >= 0 && i < order.length ? this.record(order[i], blankRecord(), true) : undefined),
      read: (i: number, into: PlannedRecord, withLabel = true) => this.record(order[i], into, withLabel),
    };
  }
}

/** A record to fill in (RecordList.read). */
export function blankRecord(): PlannedRecord {
  return { addrLabel: "", length: 0, kind: 0, flags: 0, regA: 0, regB: 0, imm: 0, line: 0, file: "" };
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
