// Nothing a guest does may crash or escape the host (docs/design.md §3, the
// engineering standards): random streams of valid instructions — privileged,
// sensitive, memory, jumps, hypercalls — run on every back end, with a trap
// handler that skips whatever faults. Every run must end in a RunResult
// (power-off or a diagnosed stop), never a host exception.
import { describe, expect, it } from "vitest";
import { backends, runElf } from "../../src/hypervisors/index.js";
import { randomAnnotatedGuest, randomDeterministicGuest, randomGuest } from "../../scripts/fuzz/generators/guests.js";
import { released } from "../recycle.js";

/** Seeds from `first`: `count` of them, or PREVIRT_FUZZ_SEEDS for a longer campaign (opt-in). */
function seeds(first: number, count: number): number[] {
  return Array.from({ length: Number(process.env.PREVIRT_FUZZ_SEEDS ?? count) }, (_, i) => first + i);
}

/**
 * Each seed's guest generated once for every back end (an annotated one takes ~10 ms to annotate and
 * assemble, more than most of its runs): runElf does not change the image it is given, and a seed's guest
 * is the same whenever it is generated.
 */
function once<T>(generate: (seed: number) => T): (seed: number) => T {
  const made = new Map<number, T>();
  return (seed) => {
    let g = made.get(seed);
    if (g === undefined) made.set(seed, (g = generate(seed)));
    return g;
  };
}
const randomGuestOf = once(randomGuest);
const randomAnnotatedGuestOf = once(randomAnnotatedGuest);

/** The host survived: the run powered off or stopped with a diagnosis. */
function expectEnded(out: Pick<ReturnType<typeof runElf>, "result">, seed: number): void {
  const r = out.result;
  expect(r.kind === "poweroff" || (r.kind === "stopped" && r.diagnosis.length > 0), `seed ${seed}`).toBe(true);
}

describe("random guests on every back end", () => {
  const SEEDS = seeds(1000, 150);
  it.each([...backends.keys()])("%s: every run ends in a result, never a host exception", (backend) => {
    for (const seed of SEEDS) {
      const out = released(runElf(randomGuestOf(seed), { backend, maxCycles: 300_000, ramSize: 4 * 1024 * 1024 }));
      expectEnded(out, seed);
    }
  });
});

// Random assembly, annotated (scripts/fuzz/generators/guests.ts): the same
// streams, but as source, so its sensitive instructions become sites that xen
// and l4 rewrite into inline code and calls into the in-place VMM — the paths
// random words never reach.
describe("random annotated guests on every back end", () => {
  const SEEDS = seeds(5000, 60);
  it.each([...backends.keys()])("%s: rewritten sites and the in-place VMM never crash the host", (backend) => {
    for (const seed of SEEDS) {
      const out = released(runElf(randomAnnotatedGuestOf(seed), { backend, maxCycles: 300_000, ramSize: 4 * 1024 * 1024 }));
      expectEnded(out, seed);
      if (backend === "xen" || backend === "l4") expect(out.rewrite.sites.length, `seed ${seed}`).toBeGreaterThan(0);
    }
  });
});

// A differential oracle for the in-place VMMs: random annotated programs that
// keep to what every correct back end must agree on (randomDeterministicGuest)
// print their registers at the end. bare, hvm, xen and l4 must print the same
// thing (trap is excluded: rdpsr/wrpsr are its hole).
describe("random annotated guests agree on bare, hvm, xen and l4", () => {
  const SEEDS = seeds(9000, 60);
  it("prints the same registers and exit status everywhere", () => {
    let poweredOff = 0;
    for (const seed of SEEDS) {
      const image = randomDeterministicGuest(seed);
      const runs = ["bare", "hvm", "xen", "l4"].map((backend) => released(runElf(image, { backend, maxCycles: 2_000_000, ramSize: 4 * 1024 * 1024 })));
      const [bare, ...others] = runs;
      if (bare.result.kind === "poweroff") poweredOff++;
      for (const [i, o] of others.entries()) {
        const name = ["hvm", "xen", "l4"][i];
        // A program that loops forever stops at the cycle limit everywhere; how far it got depends on the
        // back end's costs, so only programs that end are compared output for output.
        expect(o.result.kind, `seed ${seed} on ${name}`).toBe(bare.result.kind);
        if (bare.result.kind !== "poweroff") continue;
        expect(o.console, `seed ${seed} on ${name}`).toBe(bare.console);
        expect(o.result.exitCode, `seed ${seed} on ${name}`).toBe(bare.result.exitCode);
      }
    }
    expect(poweredOff).toBe(SEEDS.length); // branches go forward only: every program runs to the end and prints its registers
  });
});
