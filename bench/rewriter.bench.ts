// Load-time rewrite speed (issue #6): sites rewritten per second on an
// annotated binary with 100k sites, for a back end that leaves sites native
// (bare) and for one with inline templates, calls and stubs (a test table
// in the style of the in-place VMMs). Target ≥ 5M sites/s. The time includes
// validating the whole table, as every load does.

import { annotate } from "../src/annotator/index.js";
import { assemble } from "../src/guest-isa/assembler/index.js";
import type { ElfImage } from "../src/guest-isa/elf-types.js";
import { rewriteImage, type RewriteTarget } from "../src/rewriter/index.js";
import { timeMedian, type Benchmark } from "./harness.js";

const SITES = 100_000;

/** A generated kernel-ish text: every fourth statement sensitive, in a mix of kinds. */
function source(sites: number): string {
  const kinds = ["cli", "sti", "rdpsr a0", "wrpsr a0", "mfcr a1, epc", "mtcr scratch, a1", "in a2, 0x10", "out 0x10, a2", "tlbinv a3", "iret"];
  const lines = ["    .text", "    .global _start", "_start:"];
  for (let i = 0; i < sites; i++) {
    lines.push(`    addi a0, a0, ${i & 1023}`, `    add t0, t0, a0`, `    xor t1, t1, t0`);
    lines.push(`    ${kinds[i % kinds.length]}`);
  }
  lines.push("    out 0xF0, zero");
  return lines.join("\n") + "\n";
}

const WINDOW = {
  symbols: { VPSR: 0xfffff000, VCR: 0xfffff010, PENDING: 0xfffff030, DELIVER: 0xfffe0000, EMULATE: 0xfffe0010, SAVE: 0xfffff040 },
  stubBase: 0xfffe1000,
  stubLimit: 0xffff0000,
  stubSaveSymbol: "SAVE",
};

const TEMPLATED: RewriteTarget = {
  name: "bench-templates",
  window: WINDOW,
  replacements: {
    cli: { strategy: "inline", code: ["lw k0, VPSR(zero)", "andi k0, k0, -2", "sw k0, VPSR(zero)"] },
    sti: { strategy: "inline", code: ["lw k0, VPSR(zero)", "ori k0, k0, 1", "sw k0, VPSR(zero)", "lw k0, PENDING(zero)", "beqz k0, .Lno", "jalr k0, DELIVER(zero)", ".Lno:"] },
    rdpsr: { strategy: "inline", code: ["lw {A}, VPSR(zero)"] },
    mfcr: { strategy: "inline", code: ["lw {A}, VCR+4*{IMM}(zero)"] },
    in: { strategy: "call", entry: "EMULATE" },
    out: { strategy: "call", entry: "EMULATE" },
    iret: { strategy: "call", entry: "EMULATE" },
  },
};

function build(): ElfImage {
  const text = source(SITES);
  return assemble([{ file: "bench.s", text: annotate("bench.s", text).text }]);
}

export const benchmarks: Benchmark[] = [
  {
    name: "rewriter",
    run() {
      const image = build();
      const results = [];
      for (const target of [{ name: "bare", replacements: {} } as RewriteTarget, TEMPLATED]) {
        let counts = "";
        const seconds = timeMedian(() => {
          const r = rewriteImage(image, target);
          counts = Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(", ");
        }, 7);
        results.push({ metric: `rewrite ${SITES.toLocaleString("en-US")} sites for ${target.name}`, value: SITES / seconds, unit: "sites/s", target: 5_000_000, detail: counts });
      }
      return results;
    },
  },
];
