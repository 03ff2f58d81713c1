// The smoke of the campaigns on the machine's own devices (docs/reliability.md):
// `protection` (the memory supervisor's ports) and `nvdisk` (the
// memory-mapped disk, emulated and passed through) with a fixed seed and a
// handful of inputs, run in this process through the driver's own entry
// (campaign.ts's runInput, as a worker and `--replay` run an input): every
// input must be accepted or cleanly refused — no host exception, no wrong
// result. Few inputs, because each runs its guest ten or fourteen times
// (back ends and engines). Seed 1's first inputs include paged kernels whose
// GRANTs name remapped pages, which a supervisor translating through the real
// MMU under hvm's and trap's shadow pagers gets wrong (inputs 0 and 1), and
// nvdisk requests whose data address is the monitor's reserved top, which a
// device checking DMA against the machine's RAM rather than the guest's lets
// into the in-place VMM (input 0; 5 as well, past the smoke). Each input
// also goes through the snapshot oracle (generators/snapshots.ts): the
// protection inputs are snapshotted after their kernels defined domains and
// granted them pages, so a snapshot that lost the guest's protection domains
// (tried: the codec dropping machine.protection.guest) fails both.

import { describe, expect, it } from "vitest";
import { FAILURES, runInput } from "../../scripts/fuzz/campaign.js";
import { loadCampaign } from "../../scripts/fuzz/campaigns.js";
import { Rng } from "../../scripts/fuzz/generators/rng.js";

const SEED = 1;
const SMOKE: [string, number][] = [["protection", 2], ["nvdisk", 4]];

describe("smoke of the device campaigns (seed 1): no host exception, no wrong result", () => {
  it.each(SMOKE)("%s: %i inputs", async (name, inputs) => {
    const campaign = await loadCampaign(name);
    const failures: string[] = [];
    let paged = 0;
    for (let i = 0; i < inputs; i++) {
      const input = campaign.generate(new Rng(SEED, i), i);
      if (input.base === "paged") paged++;
      const o = runInput(campaign, input, { maxCycles: 200_000 });
      if (FAILURES.has(o.class)) failures.push(`input ${i}: ${o.class}: ${o.message}`);
    }
    expect(failures).toEqual([]);
    if (name === "protection") expect(paged).toBeGreaterThan(0);
  });
});
