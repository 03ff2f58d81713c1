// `previrt inject [--runs N] [--seed S] [--hv BACKEND] [--no-protect] [--json [FILE]]`:
// fault injection into the Mondrix kernel variant's isolated disk driver
// (cli/inject/fault-injection.ts, docs/protection.md), on bare metal or
// under the back end --hv names. Runs N seeded
// corruptions with the driver's protection domain and N without (only
// without under --no-protect) and prints the outcome table; --json writes
// every run's record. The ≥ 1,000-run campaign is scripts/inject-campaign.sh.
// Ctrl-C ends it after the run under way, one line and no table (cli/interrupt.ts).
import { UserError } from "../../guest-isa/diagnostics.js";
import { getBackend } from "../../hypervisors/index.js";
import { checkOutputs, writeOutput } from "../files.js";
import { jsonTarget, textOutput } from "../json-option.js";
import { campaignSteps, formatCampaign } from "../inject/fault-injection.js";
import { campaignOrInterrupt } from "../interrupt.js";
import { EXIT_STATUS } from "../../machine/diagnosis.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = async (_args, options, io) => {
  const json = jsonTarget(options.json); // bare --json: stdout, as `-` (json-option.ts)
  const runs = (options.runs as number | undefined) ?? 30;
  const firstSeed = (options.seed as number | undefined) ?? 1;
  if (!Number.isInteger(runs) || runs < 1 || runs > 1_000_000) throw new UserError(`--runs must be an integer from 1 to 1000000, not ${runs}`);
  if (!Number.isInteger(firstSeed) || firstSeed < 0) throw new UserError(`--seed must be a non-negative integer, not ${firstSeed}`);
  const hv = getBackend((options.hv as string | undefined) ?? "bare").name;
  checkOutputs([["--json", json]]);
  const arms = options.protect === false ? [false] : [true, false];
  const progress = io.stderrIsTTY ? (d: number, t: number) => io.err(`\r\x1b[K[${d}/${t}]${d === t ? "\n" : ""}`) : undefined;
  const result = await campaignOrInterrupt(campaignSteps({ runs, firstSeed, arms, hv, onRun: progress }), () => runs * arms.length, io, { openLine: true });
  if (result === undefined) return EXIT_STATUS.interrupted;
  const text = formatCampaign(result);
  textOutput(io, json)(text);
  if (json !== undefined) writeOutput(json, JSON.stringify(result, null, 2) + "\n", io);
  return 0;
};
