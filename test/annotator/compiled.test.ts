// Compiled input: `previrt cc` output annotated (sites by kind, records and
// map pointing at the .ts lines), and `previrt build` annotating by default.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/annotate.js";
import { verifyImage } from "../../src/annotator/verify.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { compile } from "../../src/compiler/index.js";
import { DiagnosticError } from "../../src/guest-isa/diagnostics.js";
import { decodeMappings } from "./helpers.js";

const KERNEL_TS = `import { cli, sti, readPsr, writePsr, readCr, writeCr, CR, outPort, writePte, readPte, mmioRead32, tlbFlush } from "previrt/guest";

export function main(): number {
  cli();
  const psr = readPsr();
  writeCr(CR.scratch, readCr(CR.ptbr));
  writePte(0x2000, 0x3001);
  const pte = readPte(0x2000);
  const dev = mmioRead32(0x8000);
  tlbFlush();
  writePsr(psr);
  sti();
  outPort(0x10, 65);
  return pte + dev;
}
`;
const tsLine = (needle: string) => KERNEL_TS.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("annotating compiled input", () => {
  const [compiled] = compile([{ file: "kernel.ts", text: KERNEL_TS }]);
  const r = annotate(compiled.file, compiled.asm);

  it("wraps every sensitive intrinsic, memory-sensitive ones by kind", () => {
    const kinds = r.sites.map((s) => s.kindName);
    expect(kinds).toEqual(["cli", "rdpsr", "mfcr", "mtcr", "pte-store", "pte-load", "mmio-load", "tlbflush", "wrpsr", "sti", "out"]);
  });

  it("records name the .ts line each site came from", () => {
    const where = (kind: string) => r.sites.find((s) => s.kindName === kind)!.origin;
    expect(r.chained).toBe(true);
    expect(where("cli")).toEqual({ file: "kernel.ts", line: tsLine("cli();") });
    expect(where("mfcr")).toEqual({ file: "kernel.ts", line: tsLine("writeCr(") });
    expect(where("pte-store")).toEqual({ file: "kernel.ts", line: tsLine("writePte(") });
    expect(where("out")).toEqual({ file: "kernel.ts", line: tsLine("outPort(") });
    expect(r.text).toContain('\t.asciz "kernel.ts"');
  });

  it("the map takes each site's instruction to its .ts line", () => {
    const map = r.sourceMap({ file: "kernel.annotated.s" });
    expect(map.sources).toEqual(["kernel.s", "kernel.ts"]);
    const decoded = decodeMappings(map.mappings);
    const out = r.text.split("\n");
    for (const s of r.sites) {
      const line = out.findIndex((l) => l.includes(`${s.label}: `));
      expect(decoded[line][0].slice(1, 3)).toEqual([1, s.origin.line - 1]);
    }
  });
});

describe("previrt build", () => {
  it("annotates by default, start-up included, and verify passes", () => {
    const { image, assembly } = buildSources([{ file: "kernel.ts", text: KERNEL_TS }]);
    const report = verifyImage(image);
    expect(report.problems).toEqual([]);
    expect(report.sites).toBe(12); // 11 in kernel.ts + the start-up's power-off `out`
    expect(assembly.every((a) => a.text.includes(".section .softlayer"))).toBe(true);
  });

  it("--no-annotate builds a plain binary, which verify rejects", () => {
    const { image } = buildSources([{ file: "kernel.ts", text: KERNEL_TS }], { annotate: false });
    const report = verifyImage(image);
    expect(report.annotated).toBe(false);
    expect(report.problems.length).toBe(1 + 9); // "not annotated" + 9 instruction sites (memory sites are not visible in the bytes)
  });

  it("passes already-annotated .s inputs through, and reports assembler errors at the input's lines", () => {
    const text = "\t.text\n\t.global _start\n_start:\n\tsti\n\tsti\n\tj nowhere\n";
    const once = annotate("a.s", text.replace("nowhere", "_start")).text;
    expect(verifyImage(buildSources([{ file: "a.s", text: once }]).image).problems).toEqual([]);
    try {
      buildSources([{ file: "b.s", text }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DiagnosticError);
      const d = (e as DiagnosticError).diagnostics[0];
      expect([d.file, d.line, d.col, d.sourceLine]).toEqual(["b.s", 6, 4, "\tj nowhere"]);
    }
    // On a site's own line the inserted label is taken out of the column too.
    try {
      buildSources([{ file: "c.s", text: "_start:\tsti\n\tout nothing, a0\n" }]);
      expect.unreachable();
    } catch (e) {
      const ds = (e as DiagnosticError).diagnostics.filter((d) => d.file === "c.s");
      expect(ds.map((d) => [d.line, d.col, d.sourceLine])).toContainEqual([2, 6, "\tout nothing, a0"]);
    }
  });

  it("through the CLI: build then verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-build-"));
    writeFileSync(join(dir, "kernel.ts"), KERNEL_TS);
    const io = bufferIO();
    expect(await main(["build", join(dir, "kernel.ts"), "-o", join(dir, "k.elf")], io)).toBe(0);
    expect(await main(["verify", join(dir, "k.elf")], io)).toBe(0);
    expect(await main(["build", join(dir, "kernel.ts"), "--no-annotate", "-o", join(dir, "p.elf")], io)).toBe(0);
    expect(await main(["verify", join(dir, "p.elf")], io)).toBe(1);
    expect(readFileSync(join(dir, "k.elf")).length).toBeGreaterThan(readFileSync(join(dir, "p.elf")).length);
  });
});
