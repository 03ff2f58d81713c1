// The library core runs anywhere (issue 19): every part that does the work —
// ISA and ELF, compiler, annotator, assembler, rewriter, machine, back ends,
// the matrix, the build pipeline and the bundled kernel's recipe — bundled by
// esbuild for the browser platform, where a Node builtin (node:fs, …) is an
// error. The bundle is then run in a bare V8 context (node:vm) holding only
// what a browser worker has too (no process, no require): it builds the hello
// guest from text and runs the matrix, and the console and verdicts match the
// same calls made in Node; a guest is migrated there (live and stop-and-copy)
// with the report, the re-patched sites and the console of the same move in Node.
import { readdirSync, readFileSync } from "node:fs";
import { createContext, runInContext } from "node:vm";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { buildKernelFrom, kernelDisk } from "../../src/cli/kernel-recipe.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { BACKEND_NAMES } from "../../src/hypervisors/index.js";
import { runMatrix } from "../../src/hypervisors/matrix.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { migrateRoute } from "../../src/migration/route.js";

const root = new URL("../../", import.meta.url).pathname;
const CORE = ["guest-isa/index", "compiler/index", "annotator/index", "rewriter/index", "machine/index", "hypervisors/index", "hypervisors/matrix", "cli/build-pipeline", "cli/kernel-recipe", "migration/route", "migration/snapshot", "migration/codec"];
const BACKENDS = BACKEND_NAMES;

async function bundleCore(): Promise<string> {
  const result = await build({
    stdin: { contents: CORE.map((m) => `export * from "./src/${m}.js";`).join("\n"), resolveDir: root, loader: "ts", sourcefile: "core.ts" },
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "previrt",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

describe("the core bundled for the browser", () => {
  it("bundles with no Node builtin and runs without process or require: hello on every back end", async () => {
    const code = await bundleCore(); // rejects, naming the import, if anything reaches node:*
    expect(code).not.toMatch(/require\(["']node:/);
    const sandbox = createContext({ TextEncoder, TextDecoder, performance, structuredClone, console });
    expect(runInContext("typeof process + typeof require", sandbox)).toBe("undefinedundefined");
    runInContext(code, sandbox);
    const file = "fixtures/guests/hello.s";
    const text = readFileSync(`${root}${file}`, "utf8");
    const rows = runInContext(
      `(() => { const { image } = previrt.buildSources([{ file: ${JSON.stringify(file)}, text: ${JSON.stringify(text)} }], {});
        return previrt.runMatrix(image, { backends: ${JSON.stringify(BACKENDS)} }).map((r) => ({ backend: r.backend, verdict: r.verdict.kind, console: r.console, cycles: r.stats.cycles })); })()`,
      sandbox,
    ) as { backend: string; verdict: string; console: string; cycles: number }[];
    const inNode = runMatrix(buildSources([{ file, text }]).image, { backends: BACKENDS });
    expect(rows.map((r) => r.backend)).toEqual(BACKENDS);
    expect(rows[0].console).toBe("hello from G32\n");
    expect(rows.map((r) => [r.verdict, r.console, r.cycles])).toEqual(inNode.map((r) => [r.verdict.kind, r.console, r.stats.cycles]));
  });

  it("console bytes are Latin-1 characters, as Node's Buffer made them (0x80–0x9f included, unlike TextDecoder's latin1)", async () => {
    const sandbox = createContext({ TextEncoder, TextDecoder, performance, structuredClone, console });
    runInContext(await bundleCore(), sandbox);
    const text = [
      "    .text", "    .global _start", "_start:", "    la   a0, msg", ".Lloop:", "    lbu  t0, 0(a0)", "    beqz t0, .Ldone",
      "    out  0x10, t0", "    addi a0, a0, 1", "    j    .Lloop", ".Ldone:", "    out  0xF0, zero", "    .rodata",
      "msg: .byte 0x41, 0x80, 0x9f, 0xe9, 0xff, 0x0a, 0", "",
    ].join("\n");
    const out = runInContext(`previrt.runElf(previrt.buildSources([{ file: "bytes.s", text: ${JSON.stringify(text)} }]).image).console`, sandbox) as string;
    expect(out).toBe("A\x80\x9f\xe9\xff\n");
  });

  it("migration runs there too: the bundled kernel moved xen -> l4 (live) and l4 -> hvm (stop-and-copy) gives Node's reports and console", async () => {
    const sandbox = createContext({ TextEncoder, TextDecoder, performance, structuredClone, console });
    runInContext(await bundleCore(), sandbox);
    const dir = `${root}fixtures/kernel/`;
    const sources: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const e of readdirSync(dir + rel, { withFileTypes: true })) {
        if (e.isDirectory()) walk(`${rel}${e.name}/`);
        else sources[`${rel}${e.name}`] = readFileSync(`${dir}${rel}${e.name}`, "utf8");
      }
    };
    walk("");
    const moves = [{ route: ["xen", "l4"], live: true }, { route: ["l4", "hvm"], live: false }];
    const inPage = runInContext(
      `(() => { const sources = ${JSON.stringify(sources)};
        const { image } = previrt.buildKernelFrom((p) => sources[p], { workload: "syscall" });
        const elf = previrt.writeElf(image);
        return ${JSON.stringify(moves)}.map((m) => {
          const r = previrt.migrateRoute(elf, previrt.readElf(elf), m.route, [200000], { live: m.live, disk: previrt.memoryDisk(previrt.kernelDisk()) });
          return { reports: r.reports, console: r.guest.console, cycles: r.guest.cycles };
        }); })()`,
      sandbox,
    ) as { reports: unknown[]; console: string; cycles: number }[];
    const { image } = buildKernelFrom((p) => sources[p], { workload: "syscall" });
    const elf = writeElf(image);
    const inNode = moves.map((m) => {
      const r = migrateRoute(elf, readElf(elf), m.route, [200000], { live: m.live, disk: memoryDisk(kernelDisk()) });
      return { reports: r.reports, console: r.guest.console, cycles: r.guest.cycles };
    });
    // Through JSON: the sandbox's objects have the other realm's prototypes.
    expect(JSON.parse(JSON.stringify(inPage))).toEqual(JSON.parse(JSON.stringify(inNode)));
    const [live, cold] = inNode.map((x) => x.reports[0] as { migrated: boolean; rounds: unknown[]; sitesRepatched: number });
    expect([live.migrated, cold.migrated]).toEqual([true, true]);
    expect(live.rounds.length).toBeGreaterThan(0);
    expect(live.sitesRepatched).toBeGreaterThan(0);
    expect(inNode[0].console).toMatch(/\S/);
  });
});
