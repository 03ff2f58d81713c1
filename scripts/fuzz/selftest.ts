// Fuzz campaign `selftest`: not a front door but a check of the fuzzer
// itself (run by test/fuzz/smoke.test.ts, never by default). Inputs are lists
// of small numbers; one number in a list makes the input hang in host code
// (an endless loop), one throw a TypeError, one be refused with a UserError,
// one count as wrong — so the test can see the watchdog, the classifier and
// the shrinker (each failure must shrink to its one culprit) do their jobs.

import { UserError } from "../../src/guest-isa/diagnostics.js";
import type { Campaign } from "./campaign.js";

export const SELFTEST = { hang: 13, throws: 7, refused: 5, wrong: 3 } as const;

export const selftestCampaign: Campaign<number> = {
  name: "selftest",
  description: "the fuzzer's own check: planted hangs, exceptions, refusals and wrong results",
  generate(r, index) {
    const units = Array.from({ length: 12 }, () => r.pick([0, 1, 2, 4, 6, 8, 9, 10]));
    // Every tenth input plants one culprit, in turn (the hang only once: it costs the watchdog's time).
    const culprits = [SELFTEST.hang, SELFTEST.throws, SELFTEST.refused, SELFTEST.wrong];
    if (index % 10 === 9) units[r.int(units.length)] = index === 9 ? SELFTEST.hang : culprits[1 + (Math.floor(index / 10) % 3)];
    return { base: "numbers", units, aux: 0 };
  },
  execute(input) {
    const u = input.units;
    if (u.includes(SELFTEST.hang)) for (;;);
    if (u.includes(SELFTEST.throws)) (undefined as unknown as { x: number }).x;
    if (u.includes(SELFTEST.refused)) throw new UserError("planted refusal");
    if (u.includes(SELFTEST.wrong)) return { class: "wrong", message: "planted wrong result" };
    return "accepted";
  },
  materialize(input) {
    return { ext: ".json", data: JSON.stringify(input.units) + "\n" };
  },
};
