// The memory supervisor differentially (docs/protection.md, "Guest-visible
// domains"): seeded random kernels (scripts/fuzz/generators/supervisor.ts,
// which the fuzz campaign `protection` draws from too) — paging on or off (one page mapped at
// two other virtual pages), DEFINEs of module code (and of ranges that cut
// kernel code or are empty), GRANTs naming real, absent and garbage
// domains, addresses in guest RAM, at the page tables, in the soft-layer
// window, unmapped or huge, sizes empty, negative, unaligned or 2 GiB, and
// bad permissions; between them word, halfword and byte loads and stores and
// atomics from the modules' code and the kernel's, a fault recorded and
// skipped by the handler — must leave the same results on every back end
// and in both engines: each call's answer (a DEFINE's as its sign: the ids
// differ where a monitor has a domain of its own), each access's value and
// fault, and the words they reach. Bare metal is the reference; the
// translation a GRANT names is the guest's own under the shadow pagers of
// hvm and trap (seeds 1 and 15 differ there without it).
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";
import { DATA, RESULTS, SHARED, supervisorKernel, supervisorKernelSource } from "../../scripts/fuzz/generators/supervisor.js";
import { rng } from "../machine/random-program.js";

const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;

function kernel(seed: number): string {
  const next = rng(seed);
  return supervisorKernelSource(supervisorKernel(() => next() / 2 ** 32));
}

describe("random memory-supervisor kernels end as on bare metal", () => {
  it.each([1, 7, 15])("seed %i: every back end and engine leaves bare's results", (seed) => {
    const image = assemble([{ file: `supervisor-${seed}.s`, text: annotate(`supervisor-${seed}.s`, kernel(seed)).text }]);
    const outcome = (backend: string, engine: "interp" | "jit") => {
      const o = runElf(image, { backend, engine, jitThreshold: 1, maxCycles: 5_000_000 });
      const words = (at: number, count: number) => Array.from(o.machine.memory.i32.subarray(at >>> 2, (at >>> 2) + count));
      // How the run ended (a kernel that took its own handler's words away stops in a fault loop), not where: cycles differ.
      const ending = o.result.kind === "poweroff" ? o.result : { kind: o.result.kind, reason: o.result.reason };
      return { ending, results: words(RESULTS, 256), shared: words(SHARED, 1024), data: words(DATA, 64), checks: o.stats.counts["protection.checks"] ?? 0 };
    };
    const bare = outcome("bare", "interp");
    expect(bare.checks).toBeGreaterThan(0); // some grant took effect
    for (const backend of BACKENDS) {
      for (const engine of ["interp", "jit"] as const) {
        const { checks: _, ...rest } = outcome(backend, engine);
        const { checks: __, ...want } = bare;
        expect(rest, `${backend} ${engine}`).toEqual(want);
      }
    }
  });
});
