// The playground's build of the bundled kernel (src/web/build-program.ts,
// the worker's "build" request) in Node, from the fixtures read from disk as
// scripts/build-web.mjs bundles them. The page loads kernel samples one
// after another (and rebuilds kernel.ts as edited): each reply must be the
// one a fresh build gives — the compiled view of kernel.ts compiled on its
// own, its annotation, the image's sections and sites — while the kernel is
// compiled once per text of kernel.ts, not once per build.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { compileSources } from "../../src/cli/build-pipeline.js";
import { buildKernelFrom, KERNEL_FILES, kernelCompileCounts, type KernelSources } from "../../src/cli/kernel-recipe.js";
import { programBuilder } from "../../src/web/build-program.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import type { BuildReply, Program } from "../../src/web/protocol.js";

const root = join(import.meta.dirname, "../..");

/** fixtures/kernel's .s and .ts files by path in the repository, as the playground bundles them. */
function kernelFixtures(dir = "fixtures/kernel", out: Record<string, string> = {}): Record<string, string> {
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) kernelFixtures(rel, out);
    else if (/\.(s|ts)$/.test(name)) out[rel] = readFileSync(join(root, rel), "utf8");
  }
  return out;
}

const fixtures = kernelFixtures();
const bundled = fixtures["fixtures/kernel/kernel.ts"];
// An edit the compiled view shows: one more global.
const edited = bundled.replace(/^/, "let playgroundEdit = 7;\n");

const withoutTime = ({ ms, ...reply }: BuildReply) => (expect(ms).toBeGreaterThanOrEqual(0), reply);

/** What a fresh build from these sources gives: kernel.ts compiled with the kernel's other .ts files, annotated; the image assembled from its sources. */
function fresh(program: Extract<Program, { kind: "kernel" }>) {
  const sources: KernelSources = (path) => (path === "kernel.ts" ? program.text : fixtures[`fixtures/kernel/${path}`]);
  const inputs = KERNEL_FILES.filter((f) => f.endsWith(".ts")).map((f) => ({ file: `fixtures/kernel/${f}`, text: sources(f) }));
  const compiled = compileSources(inputs).assembly[0];
  const { image } = buildKernelFrom(sources, { workload: program.workload as "mixed", reuseAssembly: false });
  return { compiled, annotated: annotate(compiled.file, compiled.text).text, image };
}

describe("the playground's kernel build: the same replies, the kernel compiled once per text", () => {
  it("loads, reloads and edits of kernel samples give a fresh build's reply and compile kernel.ts once per text", () => {
    const build = programBuilder(fixtures);
    const loads: Extract<Program, { kind: "kernel" }>[] = [
      { kind: "kernel", workload: "mixed", text: bundled },
      { kind: "kernel", workload: "io", text: bundled },
      { kind: "kernel", workload: "mixed", text: edited },
      { kind: "kernel", workload: "smp", text: edited },
      { kind: "kernel", workload: "mixed", text: bundled },
    ];
    const compiles: number[] = [];
    const images: ElfImage[] = [];
    const replies = loads.map((program) => {
      const before = kernelCompileCounts.compiled;
      const { reply, built } = build(program);
      compiles.push(kernelCompileCounts.compiled - before);
      expect(reply.ok, reply.error).toBe(true);
      expect(built?.program).toEqual(program);
      images.push(built!.image);
      return withoutTime(reply);
    });
    // One compile for the bundled text, one for the edit; none for a text built before.
    expect(compiles).toEqual([1, 0, 1, 0, 0]);
    // A builder of its own (new sources functions, so nothing of the first's cached) gives the same replies.
    const again = programBuilder({ ...fixtures });
    loads.forEach((program, i) => expect(withoutTime(again(program).reply), `load ${i}`).toEqual(replies[i]));
    // And they are what the steps give done by hand: kernel.ts compiled on its own and annotated; the image, byte for byte
    // (an edited kernel's user programs are the bundled kernel's), assembled from its sources.
    for (const i of [0, 3]) {
      const f = fresh(loads[i]);
      expect(replies[i].compiled).toBe(f.compiled.text);
      expect(replies[i].annotated).toBe(f.annotated);
      expect(images[i].entry).toBe(f.image.entry);
      expect(images[i].sections.map((s) => [s.name, s.addr, Buffer.from(s.data).toString("hex")])).toEqual(f.image.sections.map((s) => [s.name, s.addr, Buffer.from(s.data).toString("hex")]));
    }
    expect(replies[3].compiled).toContain("playgroundEdit");
    expect(replies[0].compiled).not.toContain("playgroundEdit");
    expect(replies[0].marks!.length).toBeGreaterThan(0);
  });
});
