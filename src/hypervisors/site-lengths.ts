// docs/design.md §3: a site's length is the longest inline replacement any
// registered back end has for its kind (≥ 1 word: the original instruction).
// This computes that maximum from the registry; the annotator's padding
// table (src/annotator/padding.ts) must equal it, and
// test/hypervisors/padding.test.ts checks that it does — so the padding stays
// derived, never hand-tuned. (The annotator does not import the registry:
// padding.ts is data, this is its proof.)

import { SITE_KIND_NAMES } from "../guest-isa/softlayer.js";
import { compileTemplate, type Replacement } from "../rewriter/index.js";
import { backends } from "./index.js";

export interface DerivedLength {
  /** Site length in words. */
  readonly words: number;
  /** The back end and replacement that set it ("" when no inline replacement is longer than one word). */
  readonly from: string;
  readonly code: readonly string[];
}

/** Per site-kind name: the longest inline replacement over the registered back ends. */
export function derivedSiteWords(): Record<string, DerivedLength> {
  const out: Record<string, DerivedLength> = {};
  for (const kind of SITE_KIND_NAMES.values()) out[kind] = { words: 1, from: "", code: [] };
  for (const b of backends.values()) {
    const target = b.target;
    for (const [kind, r] of Object.entries(target.replacements)) {
      if (!r) continue;
      const variants: Replacement[] = [r, ...Object.values(r.byImm ?? {})];
      for (const v of variants) {
        if (v.strategy !== "inline") continue;
        const words = compileTemplate(`${b.name}/${kind}`, v.code, target.window!.symbols).length;
        if (words > out[kind].words || (words === out[kind].words && !out[kind].from)) out[kind] = { words, from: b.name, code: v.code };
      }
    }
  }
  return out;
}
