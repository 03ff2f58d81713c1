// Source maps: a site's generated position maps back to its original line
// (and column); padding maps to its site; compiled input chains to the .ts.

import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/annotate.js";
import { decodeMappings, fixture } from "./helpers.js";

/** Generated [line, col] (0-based) of `needle` in the annotated text. */
function generatedPosition(text: string, needle: string): [number, number] {
  const at = text.indexOf(needle);
  const before = text.slice(0, at);
  const line = before.split("\n").length - 1;
  return [line, at - (before.lastIndexOf("\n") + 1)];
}

/** The segment covering generated (line, col). */
function lookup(map: { mappings: string }, line: number, col: number) {
  const segs = decodeMappings(map.mappings)[line] ?? [];
  let hit: [number, number, number, number] | undefined;
  for (const s of segs) if (s[0] <= col) hit = s;
  return hit;
}

describe("source map", () => {
  const input = fixture("kernel.s");
  const r = annotate("kernel.s", input);
  const map = r.sourceMap({ file: "kernel.annotated.s" });

  it("is a standard v3 map with the input as its source and content", () => {
    expect(map.version).toBe(3);
    expect(map.file).toBe("kernel.annotated.s");
    expect(map.sources).toEqual(["kernel.s"]);
    expect(map.sourcesContent).toEqual([input]);
  });

  it("maps each site's instruction back to its original line and column", () => {
    for (const s of r.sites) {
      const mnemonicText = input.slice(s.loc.offset, input.indexOf("\n", s.loc.offset));
      const [line, col] = generatedPosition(r.text, `${s.label}: `);
      const instrCol = col + `${s.label}: `.length;
      expect(r.text.split("\n")[line].slice(instrCol)).toBe(mnemonicText);
      const seg = lookup(map, line, instrCol)!;
      expect(seg.slice(1)).toEqual([0, s.loc.line - 1, s.loc.col - 1]);
    }
  });

  it("maps every padding line to its site's instruction, and untouched lines to themselves", () => {
    const out = r.text.split("\n");
    const decoded = decodeMappings(map.mappings);
    for (const s of r.sites) {
      const [line] = generatedPosition(r.text, `${s.label}: `);
      for (let k = 1; k < s.length / 4; k++) {
        expect(out[line + k].trim()).toBe("nop");
        expect(decoded[line + k][0].slice(1)).toEqual([0, s.loc.line - 1, s.loc.col - 1]);
      }
    }
    const [doneLine] = generatedPosition(r.text, "done:");
    expect(decoded[doneLine][0].slice(1)).toEqual([0, input.split("\n").indexOf("done:"), 0]);
  });

  it("chains compiled input to the .ts lines its comments name", () => {
    const text = ["\t.text", "# kernel.ts:3", "f:", "\tcli", "# kernel.ts:7", "\tsti", "\tret"].join("\n") + "\n";
    const a = annotate("kernel.s", text);
    const m = a.sourceMap({ file: "kernel.annotated.s", originSource: (f) => `src/${f}` });
    expect(m.sources).toEqual(["kernel.s", "src/kernel.ts"]);
    const decoded = decodeMappings(m.mappings);
    const [cliLine] = generatedPosition(a.text, "cli");
    const [stiLine] = generatedPosition(a.text, "sti");
    expect(lookup(m, cliLine, 10)!.slice(1)).toEqual([1, 2, 0]); // kernel.ts:3
    expect(lookup(m, stiLine, 10)!.slice(1)).toEqual([1, 6, 0]); // kernel.ts:7
    for (let k = 1; k < 5; k++) expect(decoded[stiLine + k][0].slice(1)).toEqual([1, 6, 0]); // sti padding
    expect(lookup(m, 0, 1)!.slice(1)).toEqual([0, 0, 1]); // `.text` precedes any comment: stays on the .s
    // One segment per run: chaining collapses the per-character hi-res segments.
    expect(decoded[stiLine].length).toBe(1);
  });
});
