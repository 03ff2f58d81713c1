// `node scripts/jit-code-digest.mjs DIR > digest.txt`: a digest of the code
// the JIT generates, using the compiled code of the checkout at DIR (its
// dist/): the source of every function made with `new Function` and the
// bytes of every WebAssembly module compiled while every workload of the
// bundled kernel (scale 1) runs on bare and xen under the JIT at threshold 1
// (every address translated when first reached), and smp, spinlock and
// ticketlock again on 4 CPUs. Prints one line per run (result, cycles,
// functions made, translations) and the sha256 of the sorted and of the
// in-order list. Run it for two checkouts (e.g. before and after a change
// that should not change the translator's output) and `diff` the outputs:
// identical digests mean byte-identical generated code. Made for the split of
// jit/translate.ts (docs/machine.md "What proves it").
import { createHash } from "node:crypto";
import { resolve } from "node:path";

const D = resolve(process.argv[2] ?? ".");
const seen = [];
const sha = (x) => createHash("sha256").update(x).digest("hex");
// The translator calls the global Function and WebAssembly.Module at run time: wrapped before it loads.
const RealFunction = globalThis.Function;
const record = (args) => seen.push("F:" + args.join("\u0000"));
globalThis.Function = new Proxy(RealFunction, {
  construct: (t, args, nt) => (record(args), Reflect.construct(t, args, nt)),
  apply: (t, self, args) => (record(args), Reflect.apply(t, self, args)),
});
WebAssembly.Module = new Proxy(WebAssembly.Module, {
  construct: (t, args, nt) => (seen.push("W:" + sha(Buffer.from(args[0]))), Reflect.construct(t, args, nt)),
});
const { buildKernel, kernelDiskBytes, WORKLOADS } = await import(D + "/dist/src/cli/bundled-kernel.js");
const { runElf } = await import(D + "/dist/src/hypervisors/index.js");

const lines = [];
const run = (name, workload, backend, cpus) => {
  const before = seen.length;
  const image = buildKernel({ workload, ...(cpus ? { cpus } : {}) }).image;
  const out = runElf(image, { backend, cpus, engine: "jit", jitThreshold: 1, maxCycles: 4_000_000_000, disk: new Uint8Array(kernelDiskBytes(1)) });
  lines.push(`${name}: ${JSON.stringify(out.result)} cycles=${out.stats.cycles} made=${seen.length - before} translations=${out.host.jit?.translations}`);
};
for (const workload of WORKLOADS) {
  for (const backend of ["bare", "xen"]) {
    if (["smp", "spinlock", "ticketlock"].includes(workload)) run(`${workload}/${backend}/4 cpus`, workload, backend, 4);
    run(`${workload}/${backend}`, workload, backend, undefined);
  }
}
const fns = seen.filter((s) => s.startsWith("F:"));
console.log(lines.join("\n"));
console.log(`functions ${fns.length} (${new Set(fns).size} distinct, ${fns.reduce((a, s) => a + s.length, 0)} characters), WebAssembly modules ${seen.length - fns.length}`);
console.log("sorted sha256", sha([...seen].sort().join("\n")));
console.log("in-order sha256", sha(seen.join("\n")));
