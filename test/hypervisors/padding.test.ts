// docs/design.md §3: padding is derived, never hand-tuned. The annotator's padding
// table (src/annotator/padding.ts) must equal, kind by kind, the longest
// inline replacement of any registered back end (at least one word) — so
// adding or changing a back end's template shows up here. A template longer
// than its slot would still be correct (an out-of-line stub), but it would
// cost a jump and a copy, and this test makes that visible.
import { describe, expect, it } from "vitest";
import { PLANNED_SITE_WORDS } from "../../src/annotator/padding.js";
import { derivedSiteWords } from "../../src/hypervisors/site-lengths.js";
import { buildAsm, runBytes } from "./helpers.js";

describe("the padding table", () => {
  const derived = derivedSiteWords();

  it.each(Object.keys(PLANNED_SITE_WORDS))("%s: padding.ts = the longest inline replacement of the registered back ends", (kind) => {
    expect(PLANNED_SITE_WORDS[kind].words, `${kind}: longest is ${derived[kind].from} ${derived[kind].code.join("; ")}`).toBe(derived[kind].words);
  });

  it("so every inline replacement fits its slot: no stubs on the conformance fixtures", () => {
    for (const f of ["fixtures/isa-tests/timer.s", "fixtures/isa-tests/privilege.s", "fixtures/guests/psr-hole.s"]) {
      for (const hv of ["xen", "l4"]) expect(runBytes(buildAsm(f), hv, 5_000_000).rewrite.counts.stub, `${f} on ${hv}`).toBe(0);
    }
  });
});
