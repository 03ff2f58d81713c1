// The build's annotate pass streams the annotated statements into the
// assembler (build-pass.ts streamAnnotation) instead of writing the annotated
// text and parsing it again. Differential: the image, the annotated text the
// build reports and every diagnostic are those of the text path
// (annotateSources, then assemble) — on every assembly fixture, the compiled
// fixtures' output, the bundled kernel's sources and generated kernels.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKernelSource } from "../../bench/annotator.bench.js";
import { generateScaleSource } from "../../bench/scale-source.js";
import { annotateSources, toInputPositions } from "../../src/annotator/build-pass.js";
import { buildSources, compileSources, prepareAssembly, toTypeScriptPositions, type BuildOptions } from "../../src/cli/build-pipeline.js";
import { userProgramsSource } from "../../src/cli/bundled-kernel.js";
import { KERNEL_FILES } from "../../src/cli/kernel-recipe.js";
import { packageRoot } from "../../src/cli/package-info.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { DiagnosticError } from "../../src/guest-isa/diagnostics.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import type { AsmSource } from "../../src/compiler/startup.js";

const root = packageRoot()!;

/** The text path: annotated text written, then assembled (what the build did before streaming). */
function textBuild(inputs: AsmSource[], options: BuildOptions = {}) {
  const { assembly, compiled } = compileSources(inputs, options);
  const prepared = prepareAssembly(assembly, options);
  try {
    return { image: assemble(prepared, { defines: options.defines }), assembly: prepared };
  } catch (e) {
    // Back to the input's lines, then (compiled code) to the TypeScript's, as buildSources does.
    throw toTypeScriptPositions(inputs, compiled, toInputPositions(prepared, e));
  }
}

function outcome(f: () => { image: Parameters<typeof writeElf>[0]; assembly: AsmSource[] }): string {
  try {
    const { image, assembly } = f();
    return Buffer.from(writeElf(image)).toString("base64") + JSON.stringify(assembly.map((a) => [a.file, a.text]));
  } catch (e) {
    if (e instanceof DiagnosticError) return JSON.stringify(e.diagnostics);
    throw e;
  }
}

const same = (inputs: AsmSource[], options: BuildOptions = {}) => {
  const streamed = outcome(() => buildSources(inputs, options));
  expect(streamed).toBe(outcome(() => textBuild(inputs, options)));
  return streamed;
};

const files = (dir: string, ext: RegExp) =>
  readdirSync(join(root, dir)).filter((f) => ext.test(f)).map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(root, dir, f), "utf8") }));

describe("the build's streamed annotate pass", () => {
  it("gives the text path's image, annotated text and errors for every assembly fixture", () => {
    const inputs = [...files("fixtures/isa-tests", /\.s$/), ...files("fixtures/guests", /\.s$/), ...files("test/annotator/fixtures", /\.s$/)];
    expect(inputs.length).toBeGreaterThan(10);
    let built = 0;
    for (const input of inputs) if (!same([input]).startsWith("[")) built++;
    expect(built).toBeGreaterThan(10);
  });

  it("gives the text path's image for compiled programs and the bundled kernel's sources", () => {
    for (const p of files("fixtures/programs", /\.ts$/).slice(0, 6)) same([p]);
    const own = new Set<string>(KERNEL_FILES); // the kernel's own list: a new driver file (.ts or .s) joins by itself
    const kernel = [...files("fixtures/kernel", /\.(ts|s)$/).filter((f) => own.has(f.file.replace(/^.*\//, ""))), userProgramsSource()];
    expect(same(kernel, { defines: { WORKLOAD: 0, SCALE: 1, TIMER_PERIOD: 500_000, CPUS: 8 } })).not.toMatch(/^\[/);
  });

  it("gives the text path's image for generated kernels (sites of every kind, .sensitive pte stores, labels before sites)", () => {
    same([{ file: "gen.s", text: generateKernelSource(3000) }]);
    same([{ file: "scale.s", text: generateScaleSource(5000) }]);
  });

  it("handles exempt regions, CRLF, .equ after use, a missing final newline and several files like the text path", () => {
    const a = ["\t.equ P, PORT", "\t.text", "\t.global _start", "_start:", "\tcli", "\t.noannotate", "\tsti", "\t.data", "\t.word 1", "\t.text", "\trdpsr a0", "\t.annotate", "\tout P, a0", ""].join("\n");
    const b = ["f:", "\twrpsr a0", "\t.noannotate", "\tcli", "\t.equ PORT, 3"].join("\r\n") + "\r\n";
    const c = "g:\n\tsti\n\t.noannotate\n\tnop"; // no final newline: annotated as text
    same([{ file: "a.s", text: a }, { file: "b.s", text: b }, { file: "c.s", text: c }]);
  });

  it("reports annotation errors first, and the assembler's at the input's lines — in the table too", () => {
    const k0 = same([{ file: "k.s", text: "_start:\n\tcli\n\tmv k0, a0\n\tj nowhere\n" }]);
    expect(k0).toContain("k0 is reserved for the soft layer");
    expect(k0).not.toContain("nowhere");
    const undefinedPort = same([{ file: "u.s", text: "_start:\n\tcli\n\tout PORT, a0\n\tj nowhere\n" }]);
    expect(undefinedPort).toContain('"line":4');
    expect(undefinedPort).toContain("(in the .softlayer table the annotator wrote)");
    const syntax = same([{ file: "s.s", text: "_start:\n\tcli\n\tadd a0,, a1\n" }, { file: "t.s", text: "\tmv k0, a0\n" }]);
    expect(syntax).toContain('"file":"t.s"');
  });

  it("streams site labels as slots only when the input never names the reserved prefix", () => {
    // The input names site 0's label (legal: only defining a reserved label
    // marks input as annotated). Streamed as a slot, the label would be
    // missing from the symbol table and the jump undefined; the text path
    // resolves it to the site.
    const named = same([{ file: "n.s", text: "_start:\n\tcli\n\tj .L__sl_0\n\t.word .L__sl_0 + 4\n" }]);
    expect(named).not.toMatch(/^\[/);
    // A mention in a comment is enough to stream plain labels: still the same image.
    expect(same([{ file: "m.s", text: "# about .L__sl_0\n_start:\n\tcli\n\tsti\n\tout 5, a0\n\thlt\n" }])).not.toMatch(/^\[/);
  });

  it("leaves input that is already annotated as it is", () => {
    const once = annotateSources([{ file: "x.s", text: "_start:\n\tcli\n\thlt\n" }])[0];
    same([once]);
  });

  it("refuses a file whose only sign of annotation is a reserved label (it went through unannotated)", () => {
    const sources = [{ file: "u.s", text: "_start: nop\n.L__sl_0: nop\n\tout 0xF0, zero\n" }];
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof DiagnosticError) return e.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
        throw e;
      }
      return [];
    };
    const expected = ["2:1: label '.L__sl_0' starts with '.L__sl_', which is reserved for the annotator's labels: rename it"];
    expect(refusal(() => annotateSources(sources))).toEqual(expected);
    expect(refusal(() => buildSources(sources, {}))).toEqual(expected);
  });
});
