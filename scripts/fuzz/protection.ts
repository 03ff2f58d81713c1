// Fuzz campaign `protection`: the Mondrian memory supervisor's ports
// (docs/protection.md, "Guest-visible domains") from hostile kernels. Each
// input is a random kernel of generators/supervisor.ts (the one
// test/protection/supervisor-differential.test.ts draws from, with its wider
// GRANT targets: the guest's own page directory and table, the soft-layer
// window, the last word of the address space): paging on or off with pages
// mapped at other virtual addresses, DEFINEs of module code and of ranges
// that cut kernel code or are empty, GRANTs naming real, absent and garbage
// domains with hostile, wrapping, unaligned and empty ranges and bad
// permissions, and loads, stores and atomics from each module's code and the
// kernel's, a fault recorded (its cause) and skipped by the handler. The
// shrinker drops operations.
//
// Oracle: bare metal under the interpreter is the reference; every back end
// (bare, hvm, trap, xen, l4) under the interpreter and under the JIT at
// threshold 1 must end as it does (the power-off with its code, or the kind
// and reason of the stop), print the same, and leave the same words where the
// kernel records each call's answer (a DEFINE's as its sign), each access's
// value and fault cause, and in the pages the accesses reach. No run may end
// without a diagnosis, and on xen and l4 the in-place VMM's read-only window
// must be intact afterwards. And the snapshot oracle (generators/snapshots.ts):
// one of the ten configurations, drawn into the input's aux, is run again to
// a pseudo-random cycle (0.1–99.9 % of its run), snapshotted — the guest's
// protection domains with their partial grants, the supervisor's words,
// paging, a fault in its handler — encoded to bytes, parsed back, restored
// on the same back end (for one input in four under the other engine) and
// finished: it must end exactly as that configuration's uninterrupted run —
// ending, console, the words above, cycles and every counter, every
// register, all of RAM; a refusal of the file is wrong too. A difference is
// `wrong`; a throw is classified as everywhere (campaign.ts).

import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { runElf, type RunElfOutcome } from "../../src/hypervisors/index.js";
import { bootGuest } from "../../src/migration/guest.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import type { SimulatedRun } from "./generators/engines.js";
import { difference, endingProblem, windowProblem } from "./generators/oracles.js";
import { snapshotAuxRange, snapshotDraw, snapshotNote, snapshotProblem } from "./generators/snapshots.js";
import { DATA, RESULTS, SHARED, supervisorKernel, supervisorKernelSource } from "./generators/supervisor.js";

const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;
const ENGINES = [{ engine: "interp" }, { engine: "jit", jitThreshold: 1 }] as const;
/** The configurations in the loop's order: the snapshot oracle's is drawn from them. */
const CONFIGS = BACKENDS.flatMap((backend) => ENGINES.map((engine) => ({ backend, engine })));
/** A kernel's operations finish in well under this (the test's bound); a kernel that loses its handler loops until it. */
const MAX_CYCLES = 5_000_000;

const source = (input: FuzzInput<string[]>) => supervisorKernelSource({ paging: input.base === "paged", ops: input.units });

/** What a run leaves that must not depend on the back end or the engine (cycles do). */
function observed(o: SimulatedRun): string {
  const words = (at: number, count: number) => Array.from(o.machine.memory.i32.subarray(at >>> 2, (at >>> 2) + count));
  const ending = o.result.kind === "poweroff" ? o.result : { kind: o.result.kind, reason: o.result.reason };
  return JSON.stringify({ ending, console: o.console, results: words(RESULTS, 256), shared: words(SHARED, 1024), data: words(DATA, 64) });
}

export const protectionCampaign: Campaign<string[]> = {
  name: "protection",
  description: `random memory-supervisor kernels (hostile DEFINEs and GRANTs, accesses from every domain, paging on or off) must end as on bare metal on ${BACKENDS.join(", ")} under both engines`,
  generate(r) {
    const k = supervisorKernel(() => r.float(), { wide: true });
    // The snapshot oracle's draw after the kernel's, so a seed's kernels stay what they were.
    return { base: k.paging ? "paged" : "flat", units: k.ops, aux: r.int(snapshotAuxRange(CONFIGS.length)) };
  },
  execute(input, limits) {
    const name = `protection-${input.base}.s`;
    const image = assemble([{ file: name, text: annotate(name, source(input)).text }]);
    const maxCycles = Math.max(limits.maxCycles, MAX_CYCLES);
    const draw = snapshotDraw(input.aux, CONFIGS.length);
    let reference: string | undefined;
    let drawn: RunElfOutcome | undefined;
    for (const [i, { backend, engine }] of CONFIGS.entries()) {
      const out = runElf(image, { backend, maxCycles, ...engine });
      const problem = endingProblem(out) ?? windowProblem(out, backend);
      if (problem) return { class: "wrong", message: `${backend} ${engine.engine}: ${problem}` };
      const got = observed(out);
      if (reference === undefined) reference = got;
      else if (got !== reference) return { class: "wrong", message: `${backend} ${engine.engine} differs from bare: ${difference(reference, got)}` };
      if (i === draw.config) drawn = out;
    }
    const { backend, engine } = CONFIGS[draw.config];
    const want = reference!;
    const snapshot = snapshotProblem({
      name: `${backend} ${engine.engine}`,
      guest: bootGuest(writeElf(image), image, backend, engine),
      engine,
      reference: drawn!,
      maxCycles,
      draw,
      observed: (resumed) => {
        const got = observed(resumed);
        return got === want ? undefined : `differs from the uninterrupted run: ${difference(want, got)}`;
      },
    });
    return snapshot ? { class: "wrong", message: snapshot } : "accepted";
  },
  materialize(input) {
    const draw = snapshotDraw(input.aux, CONFIGS.length);
    const { backend, engine } = CONFIGS[draw.config];
    const snapshot = snapshotNote(`--hv ${backend} --engine ${engine.engine}`, draw, engine);
    return { ext: ".s", data: source(input), note: `unannotated kernel; build with previrt build FILE -o x.elf, then run it with --hv ${BACKENDS.join(",")} and --engine interp / jit: the words at 0x${RESULTS.toString(16)} (each operation's outcome), 0x${SHARED.toString(16)} and 0x${DATA.toString(16)} must be bare's; ${snapshot}` };
  },
};
