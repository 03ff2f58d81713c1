// Inputs of the `protection` campaign (scripts/fuzz/protection.ts) that its
// runs found wrong, run through the driver's own entry (runInput): each must
// now be accepted — every back end and engine as bare metal, and the
// snapshot oracle's resume as the uninterrupted run.
import { describe, expect, it } from "vitest";
import { runInput } from "../../scripts/fuzz/campaign.js";
import { Rng } from "../../scripts/fuzz/generators/rng.js";
import { protectionCampaign } from "../../scripts/fuzz/protection.js";

describe("protection campaign inputs found wrong", () => {
  // Its first GRANT gives domain 0 write-only access to 0x11000-0x21000, where the kernel keeps the DEFINEs'
  // handles; a later GRANT's load of a handle faults and is skipped. t0 then held the DEFINE's answer as its
  // sign, 1: mod1's domain on bare, hvm and trap (the GRANT's size is bad: -2), the VMM's on xen and l4 (-4).
  it("seed 2502 input 41: a handle the kernel can no longer read names no domain on any back end", () => {
    const input = protectionCampaign.generate(new Rng(2502, 41), 41);
    expect(runInput(protectionCampaign, input, { maxCycles: 200_000 })).toEqual({ class: "accepted", message: "" });
  });
});
