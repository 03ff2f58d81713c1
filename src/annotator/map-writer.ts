// The annotated output's source map, written as it is made: `previrt annotate
// --map` streams the JSON in chunks (chunks.ts), so the map of a
// million-line kernel — about 100 MB of mappings, one segment per character
// — is never held whole, and no segment becomes an object.
//
// Consumes: the annotator's edits, walked in output order (slices of the
// input and inserted text, then the appended text: EditLog.visit in
// annotate.ts), the origins of compiled input and the padding spans
// (source-map.ts, site-store.ts). Produces: calls of `write` whose
// concatenation is a v3 source map equal, as JSON, to the one
// buildSourceMap() makes with magic-string's hi-res mappings — the same
// rules: every input character but a newline is a segment pointing at
// itself, inserted text advances the generated position only, a padding
// line with no segment maps to its site's instruction, and with origins
// each segment is re-pointed at its line's `.ts` line (column 0), runs
// collapsed. test/annotator/map-writer.test.ts holds the two equal.

import { ChunkWriter, forEachSlice, type TextWriter } from "./chunks.js";
import type { MapOptions, Origin } from "./source-map.js";

/** Padding spans in output order (InsertedLines' columns; paddingCol < 0: not padding). */
export interface PaddingColumns {
  readonly generatedLine: readonly number[];
  readonly count: readonly number[];
  readonly line: readonly number[];
  readonly paddingCol: readonly number[];
}

/** Walks the output in order: `input(start, end)` for a slice of the input, `inserted(s)` for added text. */
export type OutputWalk = (input: (start: number, end: number) => void, inserted: (s: string) => void) => void;

export interface StreamMapOptions extends MapOptions {
  /** The text of an origin file for `sourcesContent` (null: not included), by its name in `sources`. */
  contentOf?: (source: string) => string | null;
}

const BASE64 = Uint8Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", (c) => c.charCodeAt(0));
const SEMICOLON = 59;
const COMMA = 44;

/** magic-string's relative path of a source from the generated file's folder (split on / and \). */
export function relativeSource(from: string, to: string): string {
  const fromParts = from.split(/[/\\]/);
  const toParts = to.split(/[/\\]/);
  fromParts.pop();
  while (fromParts.length && fromParts[0] === toParts[0]) {
    fromParts.shift();
    toParts.shift();
  }
  return fromParts.map(() => "..").concat(toParts).join("/");
}

/** The mappings string, base64 VLQ, gathered as ASCII bytes and handed out in chunks. */
class MappingsEncoder {
  private readonly buf = new Uint8Array(1 << 16);
  private n = 0;
  private readonly ascii = new TextDecoder("latin1");
  private lines = 0;
  private source = 0;
  private sourceLine = 0;
  private sourceCol = 0;

  constructor(private readonly write: TextWriter) {}

  /** One generated line: `segs` holds `count` segments of four numbers each. */
  line(segs: Int32Array, count: number): void {
    if (this.lines++ > 0) this.byte(SEMICOLON);
    let col = 0;
    for (let i = 0; i < count; i++) {
      const k = i * 4;
      if (i > 0) this.byte(COMMA);
      this.vlq(segs[k] - col);
      col = segs[k];
      this.vlq(segs[k + 1] - this.source);
      this.source = segs[k + 1];
      this.vlq(segs[k + 2] - this.sourceLine);
      this.sourceLine = segs[k + 2];
      this.vlq(segs[k + 3] - this.sourceCol);
      this.sourceCol = segs[k + 3];
    }
  }

  flush(): void {
    if (this.n === 0) return;
    this.write(this.ascii.decode(this.buf.subarray(0, this.n)));
    this.n = 0;
  }

  private vlq(value: number): void {
    let v = value < 0 ? (-value << 1) | 1 : value << 1;
    do {
      let digit = v & 31;
      v >>>= 5;
      if (v > 0) digit |= 32;
      this.byte(BASE64[digit]);
    } while (v > 0);
  }

  private byte(b: number): void {
    if (this.n === this.buf.length) this.flush();
    this.buf[this.n++] = b;
  }
}

/**
 * Writes the map of an annotated file as JSON: `walk` gives the output in
 * order, `text` is the input (its content goes into `sourcesContent`).
 * Its keys come in a different order from magic-string's (mappings before
 * sources: the chained `.ts` files are known only once mapped) — the same
 * object once parsed.
 */
export function writeSourceMap(
  write: TextWriter,
  walk: OutputWalk,
  text: string,
  origins: readonly (Origin | undefined)[] | undefined,
  padding: PaddingColumns,
  opts: StreamMapOptions,
): void {
  const out = new ChunkWriter(write);
  const sources = [opts.source ? relativeSource(opts.file || "", opts.source) : opts.file || ""];
  const sourceIndex = new Map<string, number>();
  const head: Record<string, unknown> = { version: 3 };
  if (opts.file) head.file = opts.file.split(/[/\\]/).pop();
  out.push(JSON.stringify(head).slice(0, -1) + ',"names":[],"mappings":"');

  const encoder = new MappingsEncoder((s) => out.push(s));
  let segs = new Int32Array(4 * 256);
  let count = 0;
  let genLine = 0, genCol = 0, srcLine = 0, srcCol = 0;
  let pad = 0; // the next padding span that may cover genLine
  const push = (a: number, b: number, c: number, d: number) => {
    if (count * 4 === segs.length) {
      const grown = new Int32Array(segs.length * 2);
      grown.set(segs);
      segs = grown;
    }
    const k = count++ * 4;
    segs[k] = a;
    segs[k + 1] = b;
    segs[k + 2] = c;
    segs[k + 3] = d;
  };
  const mapped = (file: string): number => {
    let i = sourceIndex.get(file);
    if (i === undefined) {
      i = sources.length;
      sources.push(opts.originSource ? opts.originSource(file) : file);
      sourceIndex.set(file, i);
    }
    return i;
  };
  const endLine = () => {
    if (count === 0) {
      // A padding line (no input characters of its own) maps to its site's instruction.
      const g = genLine + 1;
      while (pad < padding.count.length && (padding.paddingCol[pad] < 0 || padding.generatedLine[pad] + padding.count[pad] <= g)) pad++;
      if (pad < padding.count.length && padding.generatedLine[pad] <= g) push(0, 0, padding.line[pad] - 1, padding.paddingCol[pad] - 1);
    }
    if (origins) count = chainLine(segs, count, origins, mapped);
    encoder.line(segs, count);
    count = 0;
    genLine++;
    genCol = 0;
  };

  walk(
    (start, end) => {
      for (let i = start; i < end; i++) {
        if (text.charCodeAt(i) === 10) {
          endLine();
          srcLine++;
          srcCol = 0;
        } else {
          push(genCol++, 0, srcLine, srcCol++);
        }
      }
    },
    (s) => {
      let from = 0;
      for (let nl = s.indexOf("\n"); nl >= 0; nl = s.indexOf("\n", from)) {
        endLine();
        from = nl + 1;
      }
      genCol += s.length - from;
    },
  );
  endLine();
  encoder.flush();

  const content = (i: number) => (i === 0 ? text : (opts.contentOf?.(sources[i]) ?? null));
  out.push(`","sources":${JSON.stringify(sources)},"sourcesContent":[`);
  for (let i = 0; i < sources.length; i++) {
    if (i > 0) out.push(",");
    pushJsonString(out, content(i));
  }
  out.push("]}");
  out.flush();
}

/** Re-points a line's segments at their input lines' origins, keeping the first of each run (as chainMappings in source-map.ts). */
function chainLine(segs: Int32Array, count: number, origins: readonly (Origin | undefined)[], mapped: (file: string) => number): number {
  let kept = 0;
  let lastSource = -1, lastLine = -1;
  for (let i = 0; i < count; i++) {
    const k = i * 4;
    const origin = origins[segs[k + 2] + 1];
    let source = segs[k + 1], line = segs[k + 2], col = segs[k + 3];
    if (origin) {
      source = mapped(origin.file);
      line = origin.line - 1;
      col = 0;
      if (source === lastSource && line === lastLine) continue;
      lastSource = source;
      lastLine = line;
    } else {
      lastSource = lastLine = -1;
    }
    const o = kept++ * 4;
    segs[o] = segs[k];
    segs[o + 1] = source;
    segs[o + 2] = line;
    segs[o + 3] = col;
  }
  return kept;
}

/** A JSON string (or null) in slices: a 40 MB input is escaped piece by piece, never whole. */
function pushJsonString(out: ChunkWriter, s: string | null): void {
  if (s === null) {
    out.push("null");
    return;
  }
  out.push('"');
  // Each slice is escaped on its own: a lone half of a pair would become a \u escape.
  forEachSlice(s, (slice) => out.push(JSON.stringify(slice).slice(1, -1)));
  out.push('"');
}
