// What the `snapshot` campaign's engine oracle (scripts/fuzz/snapshot.ts,
// generators/engines.ts) found, as a fixed input: seed 2037, input 2946 — a
// snapshot of fixtures/guests/psr-hole.s on bare with r0 set to 8, resumed on
// bare. The reader accepted it; the interpreter then read r0 as 8 and the
// program powered off, while the JIT at threshold 1 (r0 compiled as the
// constant 0) ran to the cycle bound. The reader now refuses a snapshot whose
// r0 is not 0 (src/migration/snapshot.ts), and the same file with r0 = 0 is
// accepted and agrees under every engine.

import { describe, expect, it } from "vitest";
import { runInput } from "../../scripts/fuzz/campaign.js";
import { enginesOf, snapshotCampaign, type SnapUnit } from "../../scripts/fuzz/snapshot.js";

const LIMITS = { maxCycles: 200_000 }; // the campaign's default
/** The input as the campaign drew it (its aux asks for the engine comparison). */
const input = (r0: number) => ({ base: "p14-bare-to-bare", aux: 75981164, units: [{ layer: "doc", path: ["machine", "cpus", 0, "regs", 0], value: { n: r0 } }] as SnapUnit[] });

describe("snapshot campaign: r0 in a snapshot", () => {
  it("the input is compared across engines", () => {
    expect(enginesOf(input(8).aux)).toBe(true);
  });

  it("not 0: refused by the reader, before anything runs", { timeout: 60_000 }, () => {
    const out = runInput(snapshotCampaign, input(8), LIMITS);
    expect(out.class).toBe("refused");
    expect(out.message).toMatch(/cpus\[0\]\.regs\[0\] \(r0\) must be 0/);
  });

  it("0: accepted, the same under the interpreter and the JIT at threshold 1", { timeout: 60_000 }, () => {
    expect(runInput(snapshotCampaign, input(0), LIMITS)).toEqual({ class: "accepted", message: "" });
  });
});
