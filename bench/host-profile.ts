// Where a previrt process spends its host time, by part of the emulator.
//
// Consumes a V8 CPU profile (the `.cpuprofile` JSON that `node --cpu-prof`
// writes). Produces the main thread's self time summed per part — guest
// instructions (interpreted or translated), the JIT's own work, memory slow
// paths and the MMU, protection checks, the monitor, the machine loop and
// devices, the ISA table and toolchain, garbage collection, Node itself — from the table
// PARTS, by the source file (and for the CPU, the function) each sample's
// function belongs to. bench/engines.bench.ts uses it for the ceiling that
// the host work *besides* executing instructions puts on interpreter ÷ JIT;
// it also runs alone on a profile:
//   node --cpu-prof --cpu-prof-dir=D bin/previrt.js run k.elf --hv xen --engine interp
//   node dist/bench/host-profile.js D        (the newest profile in D, or a file)
//
// A profile samples the main thread only: V8's compiler threads (the JIT's
// translations being compiled) and the file system's do not appear. A
// function V8 inlined is counted in its caller, so a slow path the
// interpreter's loop inlined counts as instruction execution: the split is
// by where the time was sampled, an estimate, not an exact account.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The parts, in the order they are tried and printed: a sample's function goes to the first that claims it. */
export const PARTS = [
  {
    name: "instructions, interpreted",
    /** The interpreter's loop (cpu.ts `exec`) and the `run` around it. */
    claims: (file: string, fn: string) => file.endsWith("/machine/cpu.js") && (fn === "exec" || fn === "run"),
  },
  {
    name: "instructions, translated",
    /** The JIT's generated functions (translate.ts names each `block`; no source file) and their WebAssembly, with V8's calls into it. */
    claims: (file: string, fn: string) => (file === "" && fn === "block") || fn.startsWith("wasm-function") || fn === "GenericJSToWasmWrapper" || fn.startsWith("js-to-wasm"),
  },
  { name: "JIT engine", claims: (file: string) => file.includes("/machine/jit/") },
  { name: "memory slow paths and MMU", claims: (file: string) => /\/machine\/(cpu|memory)\.js$|\/machine\/mmu\//.test(file) },
  { name: "protection checks", claims: (file: string) => file.includes("/machine/protection/") },
  { name: "monitor (back end)", claims: (file: string) => file.includes("/hypervisors/") },
  { name: "machine loop and devices", claims: (file: string) => file.includes("/machine/") },
  { name: "ISA table, toolchain, loader, CLI", claims: (file: string) => /\/(src|dist\/src)\/(guest-isa|rewriter|annotator|assembler|compiler|cli|migration)\//.test(file) },
  { name: "garbage collection", claims: (_file: string, fn: string) => fn === "(garbage collector)" },
  { name: "Node, start-up and the rest", claims: () => true },
] as const;

export type PartName = (typeof PARTS)[number]["name"];

/** The parts that are executing guest instructions, or the JIT's work to do so: what a faster engine can shrink. */
export const ENGINE_PARTS: readonly PartName[] = ["instructions, interpreted", "instructions, translated", "JIT engine"];

/** Milliseconds of main-thread self time per part, and their sum. */
export interface HostProfile {
  parts: Record<PartName, number>;
  totalMs: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Sums a profile's self time per part. Throws on a file that is not a V8 CPU profile. */
export function summarize(profile: unknown): HostProfile {
  const p = profile as Partial<CpuProfile>;
  if (!Array.isArray(p?.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas) || p.samples.length !== p.timeDeltas.length) {
    throw new Error("not a V8 CPU profile (nodes, samples, timeDeltas)");
  }
  const partOf = new Map<number, number>();
  for (const n of p.nodes) {
    const file = n.callFrame.url.replace(/^file:\/\//, "");
    partOf.set(n.id, PARTS.findIndex((part) => part.claims(file, n.callFrame.functionName)));
  }
  const ms = new Float64Array(PARTS.length);
  // A sample's time delta is the time since the previous sample: it belongs to this sample's function.
  for (let i = 0; i < p.samples.length; i++) ms[partOf.get(p.samples[i]) ?? PARTS.length - 1] += p.timeDeltas[i] / 1000;
  const parts = Object.fromEntries(PARTS.map((part, i) => [part.name, ms[i]])) as Record<PartName, number>;
  return { parts, totalMs: ms.reduce((a, b) => a + b, 0) };
}

/** The host time besides the engine's parts: what a run would still take if executing instructions cost nothing. */
export function besidesEngine(h: HostProfile): number {
  return h.totalMs - ENGINE_PARTS.reduce((a, k) => a + h.parts[k], 0);
}

/** The profile in `path`: the file, or the newest `.cpuprofile` in the directory. */
export function readProfile(path: string): unknown {
  let file = path;
  if (statSync(path).isDirectory()) {
    const found = readdirSync(path)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => join(path, f))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
    if (found.length === 0) throw new Error(`no .cpuprofile in ${path}`);
    file = found.at(-1)!;
  }
  return JSON.parse(readFileSync(file, "utf8")) as unknown;
}

/** The summary as lines: each part's milliseconds and share, the total, and the time besides the engine. */
export function formatProfile(h: HostProfile): string[] {
  const pct = (v: number) => `${((100 * v) / (h.totalMs || 1)).toFixed(1).padStart(5)}%`;
  return [
    ...PARTS.map(({ name }) => `${h.parts[name].toFixed(0).padStart(7)} ms ${pct(h.parts[name])}  ${name}`),
    `${h.totalMs.toFixed(0).padStart(7)} ms  total (main thread)`,
    `${besidesEngine(h).toFixed(0).padStart(7)} ms ${pct(besidesEngine(h))}  besides executing instructions (all but ${ENGINE_PARTS.join(", ")})`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write("usage: node dist/bench/host-profile.js PROFILE-OR-DIR\n");
    process.exit(2);
  }
  try {
    console.log(formatProfile(summarize(readProfile(path))).join("\n"));
  } catch (e) {
    process.stderr.write(`host-profile: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
