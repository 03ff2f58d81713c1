// The padding table: a row for every site kind, lengths ≥ 1 word, and the
// copy in docs/annotator.md kept equal to it.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLANNED_SITE_WORDS, siteLength, siteWords } from "../../src/annotator/padding.js";
import { SITE_KIND_NAMES, SITE_KINDS } from "../../src/guest-isa/softlayer.js";

describe("padding table", () => {
  it("has one row per site kind, each at least one word", () => {
    expect(Object.keys(PLANNED_SITE_WORDS).sort()).toEqual([...SITE_KIND_NAMES.values()].sort());
    for (const [kind, name] of SITE_KIND_NAMES) {
      expect(siteWords(kind)).toBe(PLANNED_SITE_WORDS[name].words);
      expect(siteWords(kind)).toBeGreaterThanOrEqual(1);
      expect(siteLength(kind)).toBe(siteWords(kind) * 4);
    }
    expect(() => siteWords(0)).toThrow();
  });

  it("matches the table in docs/annotator.md", () => {
    const doc = readFileSync(new URL("../../docs/annotator.md", import.meta.url), "utf8");
    for (const [name, row] of Object.entries(PLANNED_SITE_WORDS)) {
      expect(doc).toContain(`| \`${name}\` | ${row.words} | ${row.words * 4} |`);
    }
    expect(SITE_KINDS.size).toBe(Object.keys(PLANNED_SITE_WORDS).length);
  });
});
