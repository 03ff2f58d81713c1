// Fuzz campaign `differential`: random annotated guests that keep to what
// every correct back end must agree on (generators/guests.ts's deterministic
// family: self-contained, forward branches only, ending by printing their
// registers) are built once — annotate, assemble — and run on bare, hvm, xen
// and l4. Console output and exit status must be identical everywhere (trap
// is left out: rdpsr/wrpsr are its documented hole); any difference, or a run
// that does not power off, is `wrong`. Page-table entries are also read
// with ordinary loads: a queued update must never be observable as stale memory. On xen and l4 the in-place VMM's
// read-only window must also be intact afterwards. For one input in four (a
// digit of its aux) each back end's run is also made under the interpreter
// and under the JIT translating every page at once, and must leave exactly
// what the default run left (generators/engines.ts).

import { backends, runElf } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { buildAnnotated, deterministicGuestSource, randomDeterministicBody } from "./generators/guests.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, runElfEnginesProblem } from "./generators/engines.js";
import { endingProblem, windowProblem } from "./generators/oracles.js";
import { auxDigits } from "./generators/rng.js";

/** Every back end that runs a correct guest as bare metal does (the registry, less Backend.unfaithful: trap's psr hole); bare, the reference, first. */
const COMPARED = [...backends.values()].filter((b) => !b.unfaithful).map((b) => b.name);
const RAM = 4 * 1024 * 1024;

type Unit = [number, string[]];
/** Program lengths stay below this: the aux is the length, then the engine digit. */
const LENGTHS = 1024;
/** An input's configuration, from its aux: the program's length (its last label) and whether the engines are compared. */
export function differentialConfig(aux: number): { length: number; engines: boolean } {
  const take = auxDigits(aux);
  return { length: take(LENGTHS), engines: enginesDrawn(take(ENGINE_RADIX)) };
}
const source = (input: FuzzInput<Unit>) => deterministicGuestSource(input.units, differentialConfig(input.aux).length);

export const differentialCampaign: Campaign<Unit> = {
  name: "differential",
  description: `random annotated guests must print and exit the same on ${COMPARED.slice(0, -1).join(", ")} and ${COMPARED[COMPARED.length - 1]} (a quarter also under both engines)`,
  generate(r) {
    const length = r.range(10, 120);
    return { base: "deterministic", units: randomDeterministicBody(() => r.float(), length, { plainPteLoads: true }), aux: length + LENGTHS * r.int(ENGINE_RADIX) };
  },
  execute(input, limits) {
    const image = buildAnnotated("diff.s", source(input));
    const maxCycles = Math.max(limits.maxCycles, 2_000_000);
    const { engines } = differentialConfig(input.aux);
    let reference: { console: string; exit: number } | undefined;
    for (const backend of COMPARED) {
      const options = { backend, maxCycles, ramSize: RAM };
      const out = runElf(image, options);
      const problem = endingProblem(out) ?? windowProblem(out, backend) ?? runElfEnginesProblem(engines, image, () => options, out);
      if (problem) return { class: "wrong", message: problem };
      const r = out.result;
      // Branches go forward only: every program must reach its end and power off, everywhere.
      if (r.kind !== "poweroff") return { class: "wrong", message: `${backend}: stopped (${r.reason}) instead of powering off` };
      if (!reference) reference = { console: out.console, exit: r.exitCode };
      else if (out.console !== reference.console || r.exitCode !== reference.exit) {
        return { class: "wrong", message: `${backend} differs from bare: exit ${r.exitCode} vs ${reference.exit}, console ${out.console === reference.console ? "same" : "differs"}` };
      }
    }
    return "accepted";
  },
  materialize(input) {
    return { ext: ".s", data: source(input), note: `unannotated source; build with previrt build FILE -o x.elf, then previrt matrix x.elf --hv ${COMPARED.join(",")}${differentialConfig(input.aux).engines ? ` ${ENGINES_NOTE}` : ""}` };
  },
};
