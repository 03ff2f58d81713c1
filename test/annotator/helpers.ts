// Shared helpers for the annotator tests: fixtures, assembling annotated text,
// and a tiny source-map decoder (the tests read the map as any consumer would).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { annotate } from "../../src/annotator/annotate.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { DiagnosticError } from "../../src/guest-isa/diagnostics.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

/** Annotates and assembles one file. */
export function build(file: string, text: string): { image: ElfImage; annotated: string } {
  const r = annotate(file, text);
  return { image: assemble([{ file, text: r.text }]), annotated: r.text };
}

/** The formatted diagnostics annotate() throws, without source lines. */
export function annotateErrors(file: string, text: string): string[] {
  try {
    annotate(file, text);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.severity ?? "error"}: ${d.message}`);
    throw e;
  }
  return [];
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes a v3 `mappings` string into absolute [genCol, source, line, col] segments per generated line (0-based). */
export function decodeMappings(mappings: string): [number, number, number, number][][] {
  const lines: [number, number, number, number][][] = [];
  let src = 0, line = 0, col = 0;
  for (const l of mappings.split(";")) {
    const segs: [number, number, number, number][] = [];
    let gen = 0;
    for (const s of l.split(",")) {
      if (!s) continue;
      const v: number[] = [];
      let shift = 0, value = 0;
      for (const ch of s) {
        const d = B64.indexOf(ch);
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          v.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      gen += v[0];
      if (v.length >= 4) {
        src += v[1];
        line += v[2];
        col += v[3];
        segs.push([gen, src, line, col]);
      }
    }
    lines.push(segs);
  }
  return lines;
}
