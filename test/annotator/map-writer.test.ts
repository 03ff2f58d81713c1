// The streamed source map (map-writer.ts, what `previrt annotate --map`
// writes) against the one magic-string builds from the same edits
// (AnnotateResult.sourceMap): equal as JSON on every kind of input — plain,
// compiled (chained to .ts), CRLF, no final newline, exempt regions whose end
// labels are appended, text beyond one 64 KiB chunk with a surrogate pair on
// the boundary — and the CLI's file parses to the same object.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/annotate.js";
import { collectText } from "../../src/annotator/chunks.js";
import type { StreamMapOptions } from "../../src/annotator/map-writer.js";
import { relativeSource } from "../../src/annotator/map-writer.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { compile } from "../../src/compiler/index.js";
import { generateScaleSource } from "../../bench/scale-source.js";
import { fixture } from "./helpers.js";

/** Both maps of one input, as parsed JSON. */
function bothMaps(file: string, text: string, opts: StreamMapOptions = {}) {
  const r = annotate(file, text);
  const streamed = JSON.parse(collectText((w) => r.writeSourceMap(w, opts)));
  const whole = JSON.parse(JSON.stringify(r.sourceMap(opts)));
  return { streamed, whole };
}

const KERNEL_TS = `import { cli, sti, outPort, writePte } from "previrt/guest";

export function main(): number {
  cli();
  writePte(0x2000, 0x3001);
  sti();
  outPort(0x10, 65);
  return 0;
}
`;

describe("the streamed source map equals magic-string's", () => {
  it("on the annotator's kernel fixture", () => {
    const { streamed, whole } = bothMaps("kernel.s", fixture("kernel.s"), { file: "out/kernel.annotated.s", source: "src/kernel.s" });
    expect(streamed.mappings.length).toBeGreaterThan(1000);
    expect(streamed).toEqual(whole);
  });

  it("on compiled input, chained to the .ts lines (origin names rewritten, content supplied)", () => {
    const [compiled] = compile([{ file: "kernel.ts", text: KERNEL_TS }]);
    const { streamed, whole } = bothMaps(compiled.file, compiled.asm, { file: "kernel.annotated.s", originSource: (f) => `src/${f}` });
    expect(streamed.sources).toEqual(["kernel.s", "src/kernel.ts"]);
    expect(streamed).toEqual(whole);
    const r = annotate(compiled.file, compiled.asm);
    const withContent = JSON.parse(collectText((w) => r.writeSourceMap(w, { contentOf: (s) => (s === "kernel.ts" ? KERNEL_TS : null) })));
    expect(withContent.sourcesContent).toEqual([compiled.asm, KERNEL_TS]);
  });

  it("on CRLF input, input without a final newline, and exempt regions", () => {
    const text = ["\t.text", "f:", "\tcli", "\t.noannotate", "\tsti", "\t.annotate", "\tmfcr r1, ptbr  # a comment", "\tret"].join("\n");
    for (const t of [text + "\n", text, text.split("\n").join("\r\n") + "\r\n", "\t.text\n\t.noannotate\n\tcli\n"]) {
      const { streamed, whole } = bothMaps("k.s", t, { file: "k.out.s" });
      expect(streamed).toEqual(whole);
    }
  });

  it("on text longer than a chunk, with a surrogate pair across the 64 KiB boundary", () => {
    const body = generateScaleSource(4000);
    const pad = 65536 - body.length % 65536;
    const text = body + "# " + "x".repeat(pad - 3) + "😀 end\n\t.text\n\tcli\n";
    expect(text.charCodeAt(body.length + pad - 1)).toBe(0xd83d); // the pair's first half ends a 64 KiB slice
    const { streamed, whole } = bothMaps("big.s", text, { file: "big.out.s" });
    expect(streamed).toEqual(whole);
  });

  it("keeps magic-string's relative source path", () => {
    expect(relativeSource("a/b/out.s", "a/c/in.s")).toBe("../c/in.s");
    expect(relativeSource("out.s", "src/in.s")).toBe("src/in.s");
    expect(relativeSource("a\\out.s", "a/in.s")).toBe("in.s");
  });
});

describe("previrt annotate --map", () => {
  it("writes the streamed map, equal to magic-string's with the CLI's paths and the .ts content", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-map-"));
    const [compiled] = compile([{ file: "kernel.ts", text: KERNEL_TS }]);
    writeFileSync(join(dir, "kernel.ts"), KERNEL_TS);
    writeFileSync(join(dir, "kernel.s"), compiled.asm);
    const io = bufferIO();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await main(["annotate", "kernel.s", "-o", "out.s", "--map"], io)).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    const written = JSON.parse(readFileSync(join(dir, "out.s.map"), "utf8"));
    const whole = JSON.parse(JSON.stringify(annotate("kernel.s", compiled.asm).sourceMap({ file: "out.s", source: "kernel.s" })));
    expect(written).toEqual({ ...whole, sourcesContent: [compiled.asm, KERNEL_TS] });
    expect(readFileSync(join(dir, "out.s"), "utf8")).toBe(annotate("kernel.s", compiled.asm).text);
  });
});
