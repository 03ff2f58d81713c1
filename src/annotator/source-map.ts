// Source maps for the annotated output, and the chaining rule that carries
// positions through to the TypeScript a `.s` file was compiled from.
//
// Consumes: the MagicString holding the edits (every index in original
// coordinates) and the input's origin comments. Produces: a v3 source map
// from the annotated output back to the input `.s` — or, for compiled input,
// to the `.ts` lines the compiler's comments name.
//
// The chaining rule: `previrt cc` writes a comment line `# FILE.ts:LINE: text`
// before the code it generates for a TypeScript line. An assembly line's origin is
// the NEAREST PRECEDING such comment (only whole-line comments count). Lines
// before the first comment keep mapping to the `.s` itself. Records in the
// `.softlayer` table name the same origin (file and line), so `objdump
// --sites` and the rewriter's messages point at the TypeScript.

import { SourceMap, type MagicString, type SourceMapSegment } from "magic-string";

export interface Origin {
  file: string;
  line: number;
}

/** A whole-line comment naming a TypeScript origin: `# kernel.ts:42` or `# kernel.ts:42: the source text`. */
const ORIGIN_COMMENT = /^[ \t]*#[ \t]*(\S+?\.[cm]?tsx?):(\d+)(?!\d)/;

/**
 * Whether the text may hold an origin comment (false: it has none). Every
 * `.ts:`, `.tsx:`, `.mts:`… has "ts" followed by ":" or "x:"; one search for
 * "ts" (rare in assembly) rules them out in a single pass over a large file,
 * far faster than the regular expression (or a search for each ending).
 */
export function mayNameOrigins(text: string): boolean {
  let hit = false;
  for (let i = text.indexOf("ts"); i >= 0 && !hit; i = text.indexOf("ts", i + 2)) {
    const c = text.charCodeAt(i + 2);
    hit = c === 58 /* : */ || (c === 120 /* x */ && text.charCodeAt(i + 3) === 58);
  }
  return hit && (text.includes(".ts:") || /\.[cm]?tsx?:\d/.test(text));
}

/**
 * For each 1-based line of `text`, the origin named by the nearest preceding
 * origin comment; undefined when the text has no origin comments at all.
 * `may`: mayNameOrigins(text), when the caller has it already.
 */
export function scanOrigins(text: string, lineStarts: readonly number[], may = mayNameOrigins(text)): (Origin | undefined)[] | undefined {
  if (!may) return undefined;
  const origins: (Origin | undefined)[] = new Array(lineStarts.length + 1);
  let current: Origin | undefined;
  let found = false;
  for (let i = 0; i < lineStarts.length; i++) {
    const start = lineStarts[i];
    let p = start;
    while (p < text.length && (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9)) p++;
    if (text.charCodeAt(p) === 35 /* # */) {
      const end = i + 1 < lineStarts.length ? lineStarts[i + 1] - 1 : text.length;
      const m = ORIGIN_COMMENT.exec(text.slice(start, end).replace(/\r$/, ""));
      if (m) {
        current = { file: m[1], line: Number(m[2]) };
        found = true;
      }
    }
    origins[i + 1] = current;
  }
  return found ? origins : undefined;
}

export interface MapOptions {
  /** The generated file's name, as the map should record it. */
  file?: string;
  /** The input's name as the map should record it (relative to the map). */
  source?: string;
  /** Rewrites an origin comment's file name for the map's `sources` (e.g. relative to the map's folder). */
  originSource?: (file: string) => string;
}

/** Generated lines holding a site's padding (1-based), mapped to the site's instruction. */
export interface PaddingLines {
  generatedLine: number;
  count: number;
  /** The site instruction's input line and column (1-based). */
  line: number;
  col: number;
}

/**
 * The annotated output's source map: magic-string's hi-res map to the input,
 * plus a segment for each padding line pointing at its site's instruction
 * (inserted text has no mapping of its own). With origins, each segment is
 * re-pointed at its line's origin (column 0: a `.ts` column is not known per
 * instruction).
 */
export function buildSourceMap(
  ms: MagicString,
  origins: (Origin | undefined)[] | undefined,
  padding: readonly PaddingLines[],
  opts: MapOptions,
): SourceMap {
  const decoded = ms.generateDecodedMap({ hires: true, file: opts.file, source: opts.source, includeContent: true });
  const sources = [...decoded.sources];
  const contents = [...(decoded.sourcesContent ?? sources.map(() => null))];
  let mappings = decoded.mappings;
  for (const p of padding) {
    for (let i = 0; i < p.count; i++) {
      const g = p.generatedLine - 1 + i;
      while (mappings.length <= g) mappings.push([]);
      if (mappings[g].length === 0) mappings[g] = [[0, 0, p.line - 1, p.col - 1]];
    }
  }
  if (origins) mappings = chainMappings(mappings, origins, sources, contents, opts);
  return new SourceMap({ file: decoded.file, sources, sourcesContent: contents, names: decoded.names, mappings });
}

/** Re-points every segment at its input line's origin, adding the origin files to `sources`. */
function chainMappings(
  mappings: SourceMapSegment[][],
  origins: (Origin | undefined)[],
  sources: string[],
  contents: (string | null)[],
  opts: MapOptions,
): SourceMapSegment[][] {
  const indexOf = new Map<string, number>();
  const mapped = (file: string): number => {
    let i = indexOf.get(file);
    if (i === undefined) {
      i = sources.length;
      sources.push(opts.originSource ? opts.originSource(file) : file);
      contents.push(null);
      indexOf.set(file, i);
    }
    return i;
  };
  return mappings.map((line) => {
    const out: SourceMapSegment[] = [];
    let last = "";
    for (const seg of line) {
      if (seg.length < 4) continue;
      const [col, src, srcLine, srcCol] = seg as [number, number, number, number];
      const origin = origins[srcLine + 1];
      const next: SourceMapSegment = origin ? [col, mapped(origin.file), origin.line - 1, 0] : [col, src, srcLine, srcCol];
      // Hi-res maps have a segment per character; after chaining, a run of them
      // points at one .ts line, so keep the first of each run.
      const key = origin ? `${next[1]}:${next[2]}` : "";
      if (origin && key === last) continue;
      last = key;
      out.push(next);
    }
    return out;
  });
}
