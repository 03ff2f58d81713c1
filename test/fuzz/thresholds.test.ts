// The JIT threshold reaches the machines of the migration and domains
// campaigns (GuestOptions.jitThreshold in src/migration/guest.ts, the domain
// host's options in src/hypervisors/domains/host.ts): their engine oracle
// (scripts/fuzz/generators/engines.ts) runs the JIT at threshold 1, and would
// silently compare the default JIT twice if the option were dropped on the
// way. At a threshold no run of these lengths reaches, the machines translate
// nothing; at threshold 1 they translate — an option dropped gives both the
// default's count, and one of the two assertions fails.
// The runs at the unreachable threshold come first, while the process has
// compiled nothing: code the process compiled before is reused whatever the
// threshold (src/machine/jit/cache.ts, hotPages). Vitest runs a file's tests
// in order; this file runs in a fresh process (vitest.config.ts).
// Inputs: the campaigns' own (seed 1), run through their tests' entries.

import { describe, expect, it } from "vitest";
import { auxOf, runDomainsInput, type DomainsConfig } from "../../scripts/fuzz/domains.js";
import type { EngineChoice } from "../../scripts/fuzz/generators/engines.js";
import { Rng } from "../../scripts/fuzz/generators/rng.js";
import { migrationCampaign, runMigrationInput } from "../../scripts/fuzz/migration.js";
import type { Machine } from "../../src/machine/machine.js";

const translations = (m: Machine) => m.hostStats().jit!.translations;

/** The first differential guest of the migration campaign's seed 1 (deterministic: always movable). */
function migrationInput() {
  const index = Array.from({ length: 40 }, (_, i) => i).find((i) => migrationCampaign.generate(new Rng(1, i), i).base === "differential")!;
  return migrationCampaign.generate(new Rng(1, index), index);
}
/** Its unmigrated run's machine and the machine it ended on. */
function migrationMachines(choice: EngineChoice): Machine[] {
  const run = runMigrationInput(migrationInput(), 200_000, choice);
  expect(run.out.reports.length).toBeGreaterThan(0);
  return [run.unmigrated.machine, run.out.guest.machine];
}

/** A hostile guest that loops a while beside the fixture reference on xen: both domains' machines. */
function domainMachines(choice: EngineChoice): Machine[] {
  const c: DomainsConfig = { backend: "xen", reference: "fixture", hostileFirst: false, role: "guest", annotated: false, nvdisk: "none", cpus: 1 };
  const input = { base: "test", units: [{ lines: ["li   t0, 2000", ".Ld%:", "addi t0, t0, -1", "bnez t0, .Ld%"] }], aux: auxOf(c) };
  const { host, out } = runDomainsInput(input, 2_000_000, choice);
  expect(out.domains).toHaveLength(2);
  return out.domains.map((d) => host.machineOf(d.id));
}

describe("migration and domains campaigns: the JIT threshold reaches every machine", () => {
  it("at a threshold never reached (first: nothing compiled yet), no translation", () => {
    const never: EngineChoice = { engine: "jit", jitThreshold: 1e9 };
    expect([...migrationMachines(never), ...domainMachines(never)].map(translations)).toEqual([0, 0, 0, 0]);
  });

  it("at threshold 1, translations in each", () => {
    const atOnce: EngineChoice = { engine: "jit", jitThreshold: 1 };
    for (const n of [...migrationMachines(atOnce), ...domainMachines(atOnce)].map(translations)) expect(n).toBeGreaterThan(0);
  });
});
