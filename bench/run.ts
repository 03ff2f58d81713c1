// `npm run bench`: runs every bench/*.bench.ts (compiled to dist/bench) and
// prints one line per figure. `npm run bench -- NAME` runs the benchmarks
// whose name contains NAME; a NAME that matches none is an error listing the
// names (status 2), not a silent run of nothing. A benchmark marked optIn
// (bench/engines.bench.ts: minutes of fresh processes) runs only when its
// name matches NAME. A benchmark that throws (e.g. the engines' simulated
// results differ) is reported in one line, and the run ends with status 1.

import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Benchmark } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];

const files = readdirSync(here).filter((f) => f.endsWith(".bench.js")).sort();
const all: Benchmark[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { benchmarks: Benchmark[] };
  all.push(...mod.benchmarks);
}
const selected = filter ? all.filter((b) => b.name.includes(filter)) : all.filter((b) => !b.optIn);
if (selected.length === 0) {
  process.stderr.write(`bench: no benchmark name contains '${filter ?? ""}' (benchmarks: ${all.map((b) => b.name).join(", ")})\n`);
  process.exit(2);
}
for (const b of selected) {
  let results;
  try {
    results = await b.run();
  } catch (e) {
    process.stderr.write(`bench: ${b.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  for (const r of results) {
    const lower = r.better === "lower";
    const met = r.target !== undefined && (lower ? r.value <= r.target : r.value >= r.target);
    const target = r.target === undefined ? "" : `  (target ${lower ? "≤" : "≥"} ${fmt(r.target)} ${r.unit}: ${met ? "met" : "MISSED"})`;
    console.log(`${b.name}: ${r.metric}: ${fmt(r.value)} ${r.unit}${target}${r.detail ? `  [${r.detail}]` : ""}`);
  }
}

function fmt(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2);
}
