// The fuzz smoke's shared parts (test/fuzz/smoke.test.ts and
// smoke-guests.test.ts): the command `npm run fuzz` runs
// (dist/scripts/fuzz/run.js: `npm test` compiles first) with a fixed seed,
// and the number of inputs each campaign gets there. The smoke is two files
// so that the two cores of `npm test` share it: one file of every campaign
// ran for two minutes, often last (the scheduler of a fresh clone starts
// large files first), while the other core had nothing left to run.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CampaignSummary } from "../../scripts/fuzz/runner.js";

const ROOT = new URL("../../", import.meta.url);
const RUN = new URL("dist/scripts/fuzz/run.js", ROOT).pathname;

/** `npm run fuzz -- <args> --seed 1` into a scratch directory: its exit status, summary, output. */
export function fuzz(args: string[]): { status: number | null; summary: CampaignSummary[]; out: string; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "previrt-fuzz-"));
  const out = join(dir, "out");
  const json = join(dir, "summary.json");
  const r = spawnSync(process.execPath, [RUN, ...args, "--seed", "1", "--out", out, "--json", json, "--shrink-seconds", "10"], { encoding: "utf8", cwd: ROOT.pathname });
  let summary: CampaignSummary[] = [];
  try {
    summary = JSON.parse(readFileSync(json, "utf8"));
  } catch {
    // No summary: the assertions below show stdout and stderr.
  }
  return { status: r.status, summary, out, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Inputs per campaign: a few seconds each on an idle machine (and extra options). PREVIRT_FUZZ_SMOKE=full
 * gives each the inputs it had before `npm test` had to fit in a few minutes on two cores
 * (docs/reliability.md). The trimmed counts still reach what the smoke is for: every campaign's
 * front door once more per run, and the inputs compared across engines that smoke.test.ts checks for;
 * snapshot's 24 find the planted break of docs/reliability.md (3 wrong).
 */
const FULL = process.env.PREVIRT_FUZZ_SMOKE === "full";
export const SMOKE: [string, number, string[]?][] = [
  ["elf", FULL ? 1500 : 500],
  ["softlayer", FULL ? 600 : 300],
  ["asm", 150],
  ["cc", 40],
  ["guests", FULL ? 500 : 200],
  ["differential", FULL ? 100 : 40],
  // Its inputs run two guests each (the first kernel reference also builds the kernel): a longer watchdog under load.
  ["domains", 40, ["--hang-seconds", "60"]],
  // Up to 8 CPUs per input, some run three times (bare, the back end, both engines): a longer watchdog under load.
  ["smp", FULL ? 300 : 120, ["--hang-seconds", "60"]],
  // Each input runs a guest to a snapshot point and resumes it (the first of each configuration also runs its reference).
  ["snapshot", FULL ? 40 : 24, ["--hang-seconds", "60"]],
  ["migration", FULL ? 300 : 100],
];

/** Inputs the smoke gives a campaign. */
export const inputsOf = (name: string): number => SMOKE.find(([c]) => c === name)![1];

/** The smoke run of some campaigns (seed 1): 0 host exceptions, 0 hangs, 0 wrong, every input run. */
export function smokeCampaigns(names: string[]): void {
  const runs = SMOKE.filter(([c]) => names.includes(c));
  if (runs.length !== names.length) throw new Error(`no smoke entry for one of ${names.join(", ")}`);
  describe("smoke run of every campaign (seed 1): 0 host exceptions, 0 hangs, 0 wrong", () => {
    it.each(runs)("%s: %i inputs", { timeout: 300_000 }, (campaign, inputs, extra = []) => {
      const r = fuzz([campaign, "--inputs", String(inputs), ...extra]);
      expect(r.summary, r.stderr).toHaveLength(1);
      const s = r.summary[0];
      expect(s.inputs).toBe(inputs);
      const failures = s.failures.map((f) => `${f.class}: ${f.message} (${f.file})`).join("\n");
      expect({ "host-exception": s.counts["host-exception"], hang: s.counts.hang, wrong: s.counts.wrong }, failures).toEqual({ "host-exception": 0, hang: 0, wrong: 0 });
      expect(s.counts.accepted + s.counts.refused).toBe(inputs);
      expect(r.status).toBe(0);
    });
  });
}
