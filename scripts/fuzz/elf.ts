// Fuzz campaign `elf`: the ELF reader and the loader. Real ELF files built
// from the fixtures, mutated — bit flips, truncations, and corruptions aimed
// at the ELF header, program and section headers, symbols and string tables —
// go through readElf, then the load-time step (validate + rewrite) for every
// back end, then a short run on one of them. An accepted file must also
// survive writeElf → readElf unchanged. Inputs: a fixture + a list of edits.

import { readElf } from "../../src/guest-isa/elf.js";
import { backends, prepareImage, runElf } from "../../src/hypervisors/index.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { fixtureElfs } from "./generators/fixtures.js";
import { applyByteEdits, elfEdit, elfLayout, type ByteEdit, type ElfLayout } from "./generators/mutate.js";
import { endingProblem, roundTripProblem, windowProblem } from "./generators/oracles.js";

const BACKENDS = [...backends.values()];
let layouts: Map<string, ElfLayout> | undefined;
const layoutOf = (name: string, bytes: Uint8Array) => (layouts ??= new Map()).get(name) ?? layouts.set(name, elfLayout(bytes)).get(name)!;
const baseNamed = (name: string) => {
  const b = fixtureElfs().find((e) => e.name === name);
  if (!b) throw new Error(`no fixture ELF ${name}`);
  return b;
};

export const elfCampaign: Campaign<ByteEdit> = {
  name: "elf",
  description: "mutated real ELF files through readElf, validate + rewrite for every back end, a short run",
  generate(r) {
    const base = r.pick(fixtureElfs());
    const layout = layoutOf(base.name, base.bytes);
    const n = r.weighted([[50, 1], [25, 2], [15, 3], [10, 6]] as const);
    const units = Array.from({ length: n }, () => elfEdit(r, base.bytes, layout));
    return { base: base.name, units, aux: r.int(BACKENDS.length) };
  },
  execute(input: FuzzInput<ByteEdit>, limits) {
    const bytes = applyByteEdits(baseNamed(input.base).bytes, input.units);
    const image = readElf(bytes);
    const rt = roundTripProblem(image);
    if (rt) return { class: "wrong", message: rt };
    // The loader's step for every back end: validate the site table, rewrite (never modifying the input image).
    for (const b of BACKENDS) prepareImage(b, image);
    const backend = BACKENDS[input.aux % BACKENDS.length];
    const out = runElf(image, { backend, maxCycles: Math.min(limits.maxCycles, 50_000), ramSize: 4 * 1024 * 1024 });
    const problem = endingProblem(out) ?? windowProblem(out, backend.name);
    return problem ? { class: "wrong", message: problem } : "accepted";
  },
  materialize(input) {
    return { ext: ".elf", data: applyByteEdits(baseNamed(input.base).bytes, input.units), note: `${input.base} with ${input.units.length} edit(s); run on ${BACKENDS[input.aux % BACKENDS.length].name}` };
  },
};
