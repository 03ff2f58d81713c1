// A short run of every fuzz campaign (scripts/fuzz, docs/reliability.md),
// here those of the front doors and guests (smoke-guests.test.ts: the rest),
// with a fixed seed and a fixed number of inputs, through the command
// `npm run fuzz` runs (dist/scripts/fuzz/run.js: `npm test` compiles first).
// Every front door must hold: 0 host exceptions, 0 hangs, 0 wrong results.
// The fuzzer itself is checked first, on planted failures (the selftest
// campaign): the watchdog catches an endless loop, the classifier tells a
// TypeError from a clean refusal, and each failure shrinks to its culprit.
// The smoke's inputs of guests, differential, smp and snapshot include runs
// compared across engines (generators/engines.ts), guests' of every family.
// The snapshot smoke includes snapshots of Mondrix, whose guest domains it edits.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { differentialCampaign, differentialConfig } from "../../scripts/fuzz/differential.js";
import { Rng } from "../../scripts/fuzz/generators/rng.js";
import { configOf as guestsConfig, guestsCampaign } from "../../scripts/fuzz/guests.js";
import { configOf as smpConfig, smpCampaign } from "../../scripts/fuzz/smp.js";
import { enginesOf as snapshotEngines, protectedOf as snapshotMondrix, snapshotCampaign } from "../../scripts/fuzz/snapshot.js";
import { fuzz, inputsOf as inputs, smokeCampaigns } from "./smoke-run.js";

describe("the fuzzer finds what was planted", () => {
  it("classifies a hang, a host exception, a refusal and a wrong result, and shrinks each to its culprit", { timeout: 120_000 }, () => {
    // A 1 s watchdog: the planted hang costs it at every step of its shrinking (about 6 s in all; 2 s made it
    // 13), while the other inputs take microseconds and a new worker under 100 ms (right three times in a row
    // beside five busy loops on two cores).
    const r = fuzz(["selftest", "--inputs", "40", "--hang-seconds", "1"]);
    expect(r.summary, r.stderr).toHaveLength(1);
    const s = r.summary[0];
    expect(s.inputs).toBe(40);
    expect(s.counts).toEqual({ accepted: 36, refused: 1, "host-exception": 1, hang: 1, wrong: 1 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^selftest\s+40\s+36\s+1\s+1\s+1\s+1\s/m);
    const written = readdirSync(r.out).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(r.out, f), "utf8")));
    const byClass = Object.fromEntries(written.map((w) => [w.class, w]));
    expect(byClass.hang.units).toEqual([13]);
    expect(byClass["host-exception"].units).toEqual([7]);
    expect(byClass["host-exception"].message).toMatch(/^TypeError: /);
    expect(byClass.wrong.units).toEqual([3]);
    expect(byClass.refused).toBeUndefined(); // a clean refusal is not a failure
  });
});

smokeCampaigns(["elf", "softlayer", "asm", "cc", "guests"]);

describe("the smoke run compares engines (seed 1)", () => {
  const compared = <U>(campaign: { generate(r: Rng, i: number): { base: string; aux: number } & U }, engines: (aux: number) => boolean, n: number) =>
    Array.from({ length: n }, (_, i) => campaign.generate(new Rng(1, i), i)).filter((x) => engines(x.aux));

  it("guests: a quarter of its inputs or so, of every family", () => {
    const c = compared(guestsCampaign, (a) => guestsConfig(a).engines, inputs("guests"));
    expect(c.length).toBeGreaterThan(inputs("guests") / 8);
    expect(new Set(c.map((x) => x.base))).toEqual(new Set(["random", "window", "hcalls", "pagetables", "selfmod"]));
  });

  it("differential and smp: some of their inputs", () => {
    expect(compared(differentialCampaign, (a) => differentialConfig(a).engines, inputs("differential")).length).toBeGreaterThan(inputs("differential") / 8);
    expect(compared(smpCampaign, (a) => smpConfig(a).engines, inputs("smp")).length).toBeGreaterThan(inputs("smp") / 8);
  });

  it("snapshot: some of its inputs, mutated and not", () => {
    const c = compared(snapshotCampaign, snapshotEngines, inputs("snapshot"));
    expect(c.length).toBeGreaterThan(inputs("snapshot") / 8);
    expect(c.some((x) => x.units.length === 0) && c.some((x) => x.units.length > 0)).toBe(true);
  });

  it("snapshot: some of its inputs are of Mondrix (guest protection domains), some edited there", () => {
    const m = Array.from({ length: inputs("snapshot") }, (_, i) => snapshotCampaign.generate(new Rng(1, i), i)).filter((x) => snapshotMondrix(x.aux));
    expect(m.length).toBeGreaterThan(inputs("snapshot") / 8);
    const aimed = m.flatMap((x) => x.units).filter((u) => u.layer === "guest" || /"(guest|supervisor)"/.test(JSON.stringify(u)));
    expect(aimed.length).toBeGreaterThan(0);
  });
});

