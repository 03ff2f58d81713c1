// The figures of docs/in-place-vmm.md's closing table: cycles per fixture on
// every back end from one binary each, pre- vs para-virtualized on xen, and
// sites by strategy. Every number is a real run (executed instructions ×
// class cost + counted events × event cost, src/machine/cost-model.ts).
//
//   npm run build && node dist/scripts/wedge-figures.js

import { readFileSync, readdirSync } from "node:fs";
import { annotate } from "../src/annotator/index.js";
import { buildSources } from "../src/cli/build-pipeline.js";
import { assemble } from "../src/guest-isa/assembler/index.js";
import type { ElfImage } from "../src/guest-isa/elf-types.js";
import { runElf } from "../src/hypervisors/index.js";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/dist\/$/, "");
const read = (rel: string) => readFileSync(ROOT + rel, "utf8");
const header = (text: string, key: string) => new RegExp(`^# ${key}: ?(.*)$`, "m").exec(text)?.[1];
const HVS = ["bare", "hvm", "trap", "xen", "l4"];

interface Case {
  name: string;
  image: ElfImage;
  input: string;
  sectors: number;
}

function asmCase(rel: string): Case {
  const text = read(rel);
  return { name: rel.replace("fixtures/", ""), image: assemble([{ file: rel, text: annotate(rel, text).text }]), input: header(text, "input") ?? "", sectors: Number(header(text, "disk-sectors") ?? 0) };
}
function tsCase(name: string, rels: string[], paravirt?: string): Case {
  return { name, image: buildSources(rels.map((r) => ({ file: r, text: read(r) })), { paravirt }).image, input: "", sectors: 0 };
}
function run(c: Case, hv: string) {
  const out = runElf(c.image, { backend: hv, maxCycles: 20_000_000, stdin: c.input, disk: c.sectors ? new Uint8Array(c.sectors * 512) : undefined });
  return { ok: out.result.kind === "poweroff", cycles: out.stats.cycles, counts: out.rewrite.counts };
}
const n = (x: number) => Math.round(x).toLocaleString("en");

const programs = readdirSync(ROOT + "fixtures/programs").filter((f) => f.endsWith(".ts")).sort();
const cases: Case[] = [
  ...readdirSync(ROOT + "fixtures/isa-tests").filter((f) => f.endsWith(".s")).sort().map((f) => asmCase(`fixtures/isa-tests/${f}`)),
  asmCase("fixtures/guests/psr-hole.s"),
  tsCase("guests/pv-kernel.ts", ["fixtures/guests/pv-kernel.ts"]),
  tsCase("programs/kernel", ["fixtures/programs/kernel/kernel.ts", "fixtures/programs/kernel/trap.s"]),
  ...programs.map((f) => tsCase(`programs/${f}`, [`fixtures/programs/${f}`, "fixtures/programs/lib/print.ts"])),
];

const total = { inline: 0, call: 0, stub: 0 };
console.log(`| fixture | ${HVS.join(" | ")} | xen sites inline/call/stub |`);
console.log(`|---|${HVS.map(() => "---:").join("|")}|---|`);
for (const c of cases) {
  const cells = HVS.map((hv) => {
    const r = run(c, hv);
    if (hv === "xen") for (const k of ["inline", "call", "stub"] as const) total[k] += r.counts[k];
    return (r.ok ? "" : "✗ ") + n(r.cycles);
  });
  const s = run(c, "xen").counts;
  console.log(`| ${c.name} | ${cells.join(" | ")} | ${s.inline}/${s.call}/${s.stub} |`);
}
console.log(`\nsites by strategy on xen, all fixtures: inline ${total.inline}, call ${total.call}, stub ${total.stub}  (✗ = did not power off: trap's rdpsr/wrpsr hole)\n`);

console.log("| program | bare | xen pre-virtualized | xen para-virtualized | pre / para |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, rels] of [["guests/pv-kernel.ts", ["fixtures/guests/pv-kernel.ts"]], ...programs.map((f) => [`programs/${f}`, [`fixtures/programs/${f}`, "fixtures/programs/lib/print.ts"]])] as [string, string[]][]) {
  const bare = run(tsCase(name, rels), "bare").cycles;
  const pre = run(tsCase(name, rels), "xen").cycles;
  const para = run(tsCase(name, rels, "xen"), "xen").cycles;
  console.log(`| ${name} | ${n(bare)} | ${n(pre)} | ${n(para)} | ${(pre / para).toFixed(2)} |`);
}
