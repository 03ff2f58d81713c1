// Annotator benchmarks (issue 5):
//  - throughput: annotate() over a generated 200,000-line kernel-like source
//    (ALU/memory code, branches on labels, comments, and about 16% sensitive
//    instructions and `.sensitive` accesses — far denser than real kernels), median lines/s; target ≥ 300,000.
//    The same with the hi-res source map, for information (no target).
//  - code growth: for each fixture that builds, the sites by kind and the
//    growth of .text (bytes and %) of the annotated build over the plain one.
//  - the build at scale (issue 16): `previrt annotate`, `as` (of the annotated
//    output) and `build` of the generated 250k/500k/1M-line file
//    (bench/scale-source.ts, a quarter of its lines sites), each in a child
//    process of its own: wall time and peak resident memory (maxRSS). Goal for
//    the 1M-line build: ≤ 3 s and ≤ 400 MB, linear in the input; for the 1M-line
//    `annotate`: ≤ 400 MB (its text is streamed to the file). `annotate --map`
//    too, for information (the map is streamed as well: map-writer.ts).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { annotate } from "../src/annotator/annotate.js";
import { verifyImage } from "../src/annotator/verify.js";
import { buildSources } from "../src/cli/build-pipeline.js";
import { assemble } from "../src/guest-isa/assembler/index.js";
import type { ElfImage } from "../src/guest-isa/elf-types.js";
import type { Benchmark, BenchResult } from "./harness.js";
import { timeMedian } from "./harness.js";
import { generateScaleSource } from "./scale-source.js";

const LINES = 200_000;

/** A deterministic kernel-like source of about `lines` lines that annotates and assembles. */
export function generateKernelSource(lines: number): string {
  const out: string[] = ["# generated annotator benchmark source", ".equ CONSOLE, 0x10", ".text", ".global _start", "_start:", "    li sp, 0x80000"];
  let seed = 4242;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const regs = ["a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "s0", "s1", "s2"];
  const r = () => regs[rnd(regs.length)];
  const crs = ["tvec", "epc", "epsr", "cause", "badva", "ptbr", "scratch", "pgctl"];
  let fn = 0;
  while (out.length < lines) {
    const name = `kfn${fn}`;
    out.push("", `# function ${fn}`, `${name}:`, "    push lr", "    la t0, page_table");
    const body = 30 + rnd(30);
    for (let i = 0; i < body; i++) {
      switch (rnd(32)) {
        case 0: out.push("    cli"); break;
        case 1: out.push("    sti"); break;
        case 2: out.push(`    mfcr ${r()}, ${crs[rnd(8)]}`); break;
        case 3: out.push(`    out CONSOLE, ${r()}    # console`); break;
        case 4: out.push("    .sensitive pte", `    sw ${r()}, ${rnd(1024) * 4}(t0)`); break;
        case 5: out.push(`    rdpsr ${r()}`, `    wrpsr ${r()}`); break;
        case 6: out.push(`.L${name}_${i}:`, `    bne ${r()}, zero, .L${name}_${i}`); break;
        case 7: out.push(`    lw ${r()}, ${rnd(64) * 4}(t0)`); break;
        case 8: out.push(`    sw ${r()}, ${rnd(64) * 4}(t0)`); break;
        case 9: out.push(`    li ${r()}, ${rnd(100000)}`); break;
        case 10: out.push(`    beqz ${r()}, .L${name}_end`); break;
        case 11: out.push("    ; a comment line"); break;
        case 12: out.push(`    slli ${r()}, ${r()}, ${rnd(31)}`); break;
        case 13: out.push(`    mv ${r()}, ${r()}`); break;
        default: out.push(`    add ${r()}, ${r()}, ${r()}`); break;
      }
    }
    if (fn > 0) out.push(`    call kfn${rnd(fn)}`);
    out.push(`.L${name}_end:`, "    pop lr", "    ret");
    fn++;
  }
  out.push("    .data", "    .align 4", "page_table:", "    .space 4096", "");
  return out.join("\n");
}

const here = dirname(fileURLToPath(import.meta.url));
const root = here.endsWith(join("dist", "bench")) ? join(here, "..", "..") : join(here, "..");

function textSize(image: ElfImage): number {
  return image.sections.find((s) => s.name === ".text")?.size ?? 0;
}

/** The fixtures this benchmark builds: every fixtures/programs/*.ts, and the hand-written test kernel. */
function fixtures(): { name: string; inputs: { file: string; text: string }[] }[] {
  const out: { name: string; inputs: { file: string; text: string }[] }[] = [];
  const programs = join(root, "fixtures", "programs");
  const lib = join(programs, "lib");
  const libs = (() => {
    try {
      return readdirSync(lib).filter((f) => f.endsWith(".ts")).map((f) => ({ file: join(lib, f), text: readFileSync(join(lib, f), "utf8") }));
    } catch {
      return [];
    }
  })();
  for (const f of readdirSync(programs).filter((f) => f.endsWith(".ts")).sort()) {
    out.push({ name: `programs/${f}`, inputs: [{ file: join(programs, f), text: readFileSync(join(programs, f), "utf8") }, ...libs] });
  }
  const k = join(root, "test", "annotator", "fixtures", "kernel.s");
  out.push({ name: "test/annotator/fixtures/kernel.s", inputs: [{ file: k, text: readFileSync(k, "utf8") }] });
  return out;
}

export const benchmarks: Benchmark[] = [
  {
    name: "annotator",
    run(): BenchResult[] {
      const text = generateKernelSource(LINES);
      const lines = text.split("\n").length;
      let sites = 0;
      let chars = 0;
      // The annotation and its text, handed out chunk by chunk as `previrt annotate` writes it
      // (the result is lazy: reading only `sites` would skip the text).
      const t = timeMedian(() => {
        const r = annotate("bench.s", text);
        chars = 0;
        r.writeText((chunk) => (chars += chunk.length));
        sites = r.sites.length;
      }, 5);
      // As `previrt annotate --map` makes it: streamed in chunks (map-writer.ts), each dropped once made.
      const tMap = timeMedian(() => annotate("bench.s", text).writeSourceMap(() => {}, { file: "bench.annotated.s" }), 3);
      return [
        { metric: "annotation throughput", value: lines / t, unit: "lines/s", target: 300_000, detail: `${lines} lines, ${sites} sites, ${chars} characters out, median ${(t * 1000).toFixed(1)} ms` },
        { metric: "annotation + hi-res source map", value: lines / tMap, unit: "lines/s", detail: `median ${(tMap * 1000).toFixed(1)} ms` },
      ];
    },
  },
  {
    name: "annotator-growth",
    run(): BenchResult[] {
      const results: BenchResult[] = [];
      for (const fx of fixtures()) {
        let plain: ElfImage, annotated: ElfImage;
        try {
          plain = buildSources(fx.inputs, { annotate: false }).image;
          annotated = buildSources(fx.inputs).image;
        } catch (e) {
          results.push({ metric: `code growth ${fx.name}`, value: NaN, unit: "%", detail: `does not build: ${(e as Error).message.split("\n")[0]}` });
          continue;
        }
        const report = verifyImage(annotated);
        const a = textSize(annotated), p = textSize(plain);
        results.push({
          metric: `code growth ${fx.name}`,
          value: p ? ((a - p) / p) * 100 : 0,
          unit: "%",
          detail: `${report.sites} sites, .text ${p} → ${a} bytes (+${a - p}), verify ${report.problems.length === 0 ? "ok" : `${report.problems.length} problems`}`,
        });
      }
      const gen = generateKernelSource(20_000);
      const plain = assemble([{ file: "gen.s", text: gen }]);
      const annotated = assemble([{ file: "gen.s", text: annotate("gen.s", gen).text }]);
      const report = verifyImage(annotated);
      const a = textSize(annotated), p = textSize(plain);
      results.push({
        metric: "code growth generated 20k-line kernel",
        value: ((a - p) / p) * 100,
        unit: "%",
        detail: `${report.sites} sites, .text ${p} → ${a} bytes (+${a - p}), verify ${report.problems.length === 0 ? "ok" : `${report.problems.length} problems`}`,
      });
      return results;
    },
  },
  {
    name: "annotator-scale",
    run(): BenchResult[] {
      const dir = mkdtempSync(join(tmpdir(), "previrt-scale-"));
      const results: BenchResult[] = [];
      try {
        for (const lines of SCALE_LINES) {
          const input = join(dir, `scale-${lines}.s`);
          writeFileSync(input, generateScaleSource(lines));
          const k = `${lines / 1000}k`;
          const steps: [string, string[]][] = [
            ["annotate", ["annotate", input, "-o", join(dir, "annotated.s")]],
            ["as (annotated output)", ["as", join(dir, "annotated.s"), "-o", join(dir, "as.elf")]],
            ["build", ["build", input, "-o", join(dir, "build.elf")]],
            ["annotate --map", ["annotate", input, "-o", join(dir, "annotated.s"), "--map"]],
          ];
          for (const [what, argv] of steps) {
            const { seconds, userSeconds, maxRssMB } = childRun(argv);
            const goal = lines !== 1_000_000 ? "" : what === "build" ? "; goal ≤ 3 s, ≤ 400 MB" : what === "annotate" ? "; goal ≤ 400 MB" : "";
            results.push({
              metric: `${what} ${k} lines`,
              value: seconds,
              unit: "s",
              detail: `user CPU ${userSeconds.toFixed(2)} s (the whole process), peak RSS ${maxRssMB.toFixed(0)} MB, ${Math.round(lines / seconds).toLocaleString("en-US")} lines/s${goal}`,
            });
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return results;
    },
  },
];

/** The input sizes of the build-at-scale figures (linearity: each twice the last). */
const SCALE_LINES = [250_000, 500_000, 1_000_000];

/**
 * Runs `previrt ARGV…` (the compiled CLI) in a child process: the command's
 * wall seconds, the process's user CPU seconds (start-up included: on a
 * shared machine the steadier figure) and its peak resident memory.
 */
function childRun(argv: string[]): { seconds: number; userSeconds: number; maxRssMB: number } {
  const main = pathToFileURL(join(root, "dist", "src", "cli", "main.js")).href;
  const script =
    `const { main } = await import(${JSON.stringify(main)}); const t0 = process.hrtime.bigint();` +
    `const status = await main(${JSON.stringify(argv)});` +
    `const seconds = Number(process.hrtime.bigint() - t0) / 1e9;` +
    `const usage = process.resourceUsage();` +
    `console.log(JSON.stringify({ status, seconds, user: usage.userCPUTime, maxRss: usage.maxRSS }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 1 << 20 });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  const out = JSON.parse(last || "{}") as { status?: number; seconds?: number; user?: number; maxRss?: number };
  if (out.status !== 0) throw new Error(`previrt ${argv[0]} failed: ${r.stderr.trim().split("\n")[0]}`);
  return { seconds: out.seconds!, userSeconds: out.user! / 1e6, maxRssMB: out.maxRss! / 1024 };
}
