// `npm run fuzz -- [campaign…] [--seconds N] [--inputs N] [--seed S] [--out DIR]
//                  [--max-cycles N] [--hang-seconds N] [--shrink-seconds N]
//                  [--json FILE] [--replay INDEX]`
//
// Runs the fuzz campaigns one after another (all of them by default), prints
// a summary table and exits 1 if any input ended in a host exception, a hang
// or a wrong result (docs/reliability.md). `--replay INDEX` runs one input of
// one campaign in this process and prints its outcome (what a failure's
// .json says to run).

import { writeFileSync } from "node:fs";
import { runInput } from "./campaign.js";
import { CAMPAIGN_NAMES, DEFAULT_CAMPAIGNS, loadCampaign } from "./campaigns.js";
import { Rng } from "./generators/rng.js";
import { failed, formatSummary, runCampaign, type CampaignSummary, type RunOptions } from "./runner.js";

const USAGE = `usage: npm run fuzz -- [${CAMPAIGN_NAMES.join("|")}…] [--seconds N] [--inputs N] [--seed S] [--out DIR]
                     [--max-cycles N] [--hang-seconds N] [--shrink-seconds N] [--json FILE] [--replay INDEX]`;

function fail(message: string): never {
  process.stderr.write(`fuzz: error: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]) {
  const campaigns: string[] = [];
  const opts: Record<string, string> = {};
  const VALUED = new Set(["seconds", "inputs", "seed", "out", "max-cycles", "hang-seconds", "shrink-seconds", "json", "replay"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (a.startsWith("--")) {
      const [key, inline] = a.slice(2).split("=", 2);
      if (!VALUED.has(key)) fail(`unknown option --${key}`);
      const value = inline ?? argv[++i];
      if (value === undefined) fail(`--${key} needs a value`);
      opts[key] = value;
    } else if (CAMPAIGN_NAMES.includes(a)) campaigns.push(a);
    else fail(`unknown campaign '${a}' (valid: ${CAMPAIGN_NAMES.join(", ")})`);
  }
  const num = (key: string, fallback: number) => {
    if (opts[key] === undefined) return fallback;
    const n = Number(opts[key]);
    if (!Number.isFinite(n) || n < 0) fail(`--${key} must be a non-negative number, got '${opts[key]}'`);
    return n;
  };
  const hasBound = opts.seconds !== undefined || opts.inputs !== undefined;
  const options: RunOptions = {
    seed: num("seed", 1),
    seconds: num("seconds", hasBound ? Infinity : 60),
    inputs: num("inputs", Infinity),
    limits: { maxCycles: num("max-cycles", 200_000) },
    hangSeconds: num("hang-seconds", 10),
    shrinkSeconds: num("shrink-seconds", 30),
    out: opts.out ?? "fuzz-out",
  };
  return { campaigns: campaigns.length ? campaigns : DEFAULT_CAMPAIGNS, options, json: opts.json, replay: opts.replay === undefined ? undefined : num("replay", 0) };
}

async function main(): Promise<number> {
  const { campaigns, options, json, replay } = parseArgs(process.argv.slice(2));
  if (replay !== undefined) {
    if (campaigns.length !== 1) fail("--replay needs exactly one campaign");
    const campaign = await loadCampaign(campaigns[0]);
    const input = campaign.generate(new Rng(options.seed, replay), replay);
    const outcome = runInput(campaign, input, options.limits);
    process.stdout.write(`${campaigns[0]} seed ${options.seed} input ${replay} (${input.base}, ${input.units.length} units): ${outcome.class}${outcome.message ? `: ${outcome.message}` : ""}\n${outcome.stack ? outcome.stack + "\n" : ""}`);
    return outcome.class === "accepted" || outcome.class === "refused" ? 0 : 1;
  }
  const rows: CampaignSummary[] = [];
  for (const name of campaigns) {
    process.stderr.write(`fuzz: ${name} (seed ${options.seed}${Number.isFinite(options.seconds) ? `, ${options.seconds} s` : ""}${Number.isFinite(options.inputs) ? `, ${options.inputs} inputs` : ""})\n`);
    rows.push(await runCampaign(name, { ...options, log: (line) => process.stderr.write(`  ${line}\n`) }));
  }
  process.stdout.write(formatSummary(rows) + "\n");
  const bad = rows.filter(failed);
  if (bad.length) process.stdout.write(`failures (smallest inputs in ${options.out}/): ${bad.map((r) => r.campaign).join(", ")}\n`);
  if (json) writeFileSync(json, JSON.stringify(rows, null, 2) + "\n");
  return bad.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fuzz: error: ${e?.stack ?? e}\n`);
    process.exit(2);
  },
);
