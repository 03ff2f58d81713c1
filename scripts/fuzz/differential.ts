// Fuzz campaign `differential`: random annotated guests that keep to what
// every correct back end must agree on (generators/guests.ts's deterministic
// family: self-contained, forward branches only, ending by printing their
// registers) are built once — annotate, assemble — and run on bare, hvm, xen
// and l4. Console output and exit status must be identical everywhere (trap
// is left out: rdpsr/wrpsr are its documented hole); any difference, or a run
// that does not power off, is `wrong`. Page-table entries are also read
// with ordinary loads: a queued update must never be observable as stale memory. On xen and l4 the in-place VMM's
// read-only window must also be intact afterwards.

import { writeElf } from "../../src/guest-isa/elf.js";
import { runElf } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { buildAnnotated, deterministicGuestSource, randomDeterministicBody } from "./generators/guests.js";
import { endingProblem, windowProblem } from "./generators/oracles.js";

const COMPARED = ["bare", "hvm", "xen", "l4"];
const RAM = 4 * 1024 * 1024;

type Unit = [number, string[]];
const source = (input: FuzzInput<Unit>) => deterministicGuestSource(input.units, input.aux);

export const differentialCampaign: Campaign<Unit> = {
  name: "differential",
  description: "random annotated guests must print and exit the same on bare, hvm, xen and l4",
  generate(r) {
    const length = r.range(10, 120);
    return { base: "deterministic", units: randomDeterministicBody(() => r.float(), length, { plainPteLoads: true }), aux: length };
  },
  execute(input, limits) {
    const image = buildAnnotated("diff.s", source(input));
    const maxCycles = Math.max(limits.maxCycles, 2_000_000);
    let reference: { console: string; exit: number } | undefined;
    for (const backend of COMPARED) {
      const out = runElf(image, { backend, maxCycles, ramSize: RAM });
      const problem = endingProblem(out) ?? windowProblem(out, backend);
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
    return { ext: ".s", data: source(input), note: `unannotated source; build with previrt build FILE -o x.elf, then previrt matrix x.elf --hv ${COMPARED.join(",")}` };
  },
};
