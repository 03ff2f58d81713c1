// `previrt drivers [--crashes N] [--seed S] [--hv xen|l4] [--workload io] [--kind wild-store|hang]
//  [--window C] [--watchdog C] [--json [FILE]]`: N seeded crashes of a driver domain during a client's
// disk workload (cli/drivers/restart-campaign.ts, docs/driver-vms.md "Driver restart"); prints the
// summary (completed, self-check, retried/lost requests, restart time) and --json writes every run.
// Exit status 0 when the client completed with its self-check in every run, 1 otherwise;
// Ctrl-C ends it after the run under way, one line and no table, 130 (cli/interrupt.ts).
import { UserError } from "../../guest-isa/diagnostics.js";
import { WORKLOADS, type Workload } from "../bundled-kernel.js";
import { CRASH_KINDS, formatCampaign, restartCampaignSteps } from "../drivers/restart-campaign.js";
import { campaignOrInterrupt } from "../interrupt.js";
import { EXIT_STATUS } from "../../machine/diagnosis.js";
import { checkOutputs, writeOutput } from "../files.js";
import { jsonTarget, textOutput } from "../json-option.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = async (_args, options, io) => {
  const json = jsonTarget(options.json); // bare --json: stdout, as `-` (json-option.ts)
  const runs = (options.crashes as number | undefined) ?? 10;
  const firstSeed = (options.seed as number | undefined) ?? 1;
  const hv = (options.hv as string | undefined) ?? "xen";
  if (hv !== "xen" && hv !== "l4") throw new UserError(`--hv must be xen or l4 for driver restarts, not '${hv}'`);
  const workload = (options.workload as string | undefined) ?? "io";
  if (!(WORKLOADS as readonly string[]).includes(workload)) throw new UserError(`unknown workload '${workload}' (valid: ${WORKLOADS.join(", ")})`);
  const kind = options.kind as string | undefined;
  if (kind !== undefined && !(CRASH_KINDS as readonly string[]).includes(kind)) throw new UserError(`--kind must be ${CRASH_KINDS.join(" or ")}, not '${kind}'`);
  checkOutputs([["--json", json]]);
  const progress = io.stderrIsTTY ? (d: number, t: number) => io.err(`\r\x1b[K[${d}/${t}]${d === t ? "\n" : ""}`) : undefined;
  const steps = restartCampaignSteps({
    runs,
    firstSeed,
    backend: hv,
    workload: workload as Workload,
    kind: kind as (typeof CRASH_KINDS)[number] | undefined,
    window: options.window as number | undefined,
    watchdog: options.watchdog as number | undefined,
    onRun: progress,
  });
  const result = await campaignOrInterrupt(steps, () => runs, io, { openLine: true });
  if (result === undefined) return EXIT_STATUS.interrupted;
  const text = formatCampaign(result);
  textOutput(io, json)(text);
  if (json !== undefined) writeOutput(json, JSON.stringify(result, null, 2) + "\n", io);
  const s = result.summary;
  return s.completed === s.runs && s.selfCheck === s.runs ? 0 : 1;
};
