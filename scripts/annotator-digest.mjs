// `node scripts/annotator-digest.mjs DIR > digest.txt`: a digest of what the
// annotator and the build produce, using the compiled code of the checkout
// at DIR (its dist/), on this checkout's fixtures: per assembly/TypeScript
// fixture the annotated text, source map, sites, records, exempt regions and
// positions (or the error), per compiled fixture the built ELF, generated
// 20k-line kernel, and the bundled kernel's ELF and annotated assembly for
// every workload, annotated and plain. Run it for two checkouts (e.g. before
// and after a change to the annotator) and `diff` the outputs: identical
// digests mean byte-identical output (issue 16 used it to check the
// streamed annotator against the one it replaced).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
const D = (await import("node:path")).resolve(process.argv[2] ?? ".");
const { annotate } = await import(D + "/dist/src/annotator/annotate.js");
const { buildSources, compileSources } = await import(D + "/dist/src/cli/build-pipeline.js");
const { buildKernel, WORKLOADS } = await import(D + "/dist/src/cli/bundled-kernel.js");
const { writeElf } = await import(D + "/dist/src/guest-isa/elf.js");
const { generateKernelSource } = await import(D + "/dist/bench/annotator.bench.js");
const W = process.cwd();
const h = (s) => createHash("sha256").update(s).digest("hex").slice(0, 16);
const files = [];
const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) { if (f !== "node_modules" && f !== "dist" && !f.startsWith(".")) walk(p); } else if (/\.(s|ts)$/.test(f) && !/\.(test|bench|d)\.ts$/.test(f) && (p.includes("fixtures") || p.includes("/guest"))) files.push(p); } };
walk(W + "/fixtures"); walk(W + "/test");
const out = [];
const one = (name, file, text) => {
  try {
    const r = annotate(file, text);
    out.push(`${name} text=${h(r.text)} map=${h(JSON.stringify(r.sourceMap({ file: "o.s" })))} sites=${h(JSON.stringify(r.sites))} recs=${h(JSON.stringify(r.records))} ex=${h(JSON.stringify(r.exempt))} lines=${r.lines} chained=${r.chained} pos=${h(JSON.stringify([1,2,5,10,50,100,1000].map(l => [r.originalPosition(l,1), r.originalPosition(l,12)])))}`);
  } catch (e) { out.push(`${name} error ${h(String(e.message))} ${String(e.message).split("\n")[0].slice(0,80)}`); }
};
for (const f of files.sort()) {
  const text = readFileSync(f, "utf8");
  if (f.endsWith(".s")) one(f.slice(W.length), f.slice(W.length + 1), text);
  else {
    try { const { assembly } = compileSources([{ file: f.slice(W.length + 1), text }]); for (const a of assembly) one(f.slice(W.length) + "→" + a.file, a.file, a.text); } catch (e) { out.push(`${f.slice(W.length)} cc-error`); }
    try { out.push(`${f.slice(W.length)} build=${h(writeElf(buildSources([{ file: f.slice(W.length + 1), text }]).image))}`); } catch (e) { out.push(`${f.slice(W.length)} build-error ${h(String(e.message))}`); }
  }
}
one("gen20k", "gen.s", generateKernelSource(20000));
for (const w of WORKLOADS) for (const annotate of [true, false]) {
  const k = buildKernel({ workload: w, annotate });
  out.push(`kernel ${w} ${annotate} elf=${h(writeElf(k.image))} asm=${h(JSON.stringify(k.assembly))}`);
}
console.log(out.join("\n"));
