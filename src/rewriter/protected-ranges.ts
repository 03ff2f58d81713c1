// What the rewriter tells the machine's protection domains (docs/protection.md):
// the code that belongs to the in-place VMM's domain besides the VMM itself.
//
// Consumes a RewriteResult; produces the code ranges of every rewritten site
// (their inline replacement touches the VMM's shared state in the window, so
// they run in the VMM's domain) and of the out-of-line stubs the rewriter
// placed in the window. Native sites (left as the original instruction, e.g.
// on bare) are not VMM code and are not reported.

import type { RewriteResult } from "./rewrite.js";

export interface VmmCodeRange {
  /** First byte (virtual). */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

/** The rewritten sites' and stubs' code ranges, sorted by start, adjacent ranges merged. */
export function vmmSiteRanges(rewrite: RewriteResult): VmmCodeRange[] {
  const raw: VmmCodeRange[] = [];
  for (const s of rewrite.sites) if (s.strategy !== "native") raw.push({ start: s.record.addr >>> 0, end: (s.record.addr >>> 0) + s.record.length });
  for (const st of rewrite.stubs) raw.push({ start: st.addr >>> 0, end: (st.addr >>> 0) + st.words.length * 4 });
  raw.sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const r of raw) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
