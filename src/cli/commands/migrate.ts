// `previrt migrate ELF --from X --to Y --at N [--live] [--json [F]] [--route
// a,b,c,…] [--disk IMG] [--nvdisk IMG [--passthrough]] [--max-cycles N] [--cost-model F] [--stats] [--engine E] [--no-protect]`: runs the
// guest on X, moves it to Y at the first safe point at or after cycle N
// (stop-and-copy, or with --live iterative pre-copy), finishes on Y
// (src/migration, docs/migration.md). `--route` chains several moves, at
// the cycles of --at (one per move, or one N meaning N, 2N, …).
// Stdout: the guest console of the whole run. Stderr: the migration report
// (and --stats); --json F writes the reports as JSON (bare --json or `-`:
// to stdout, the console then going to stderr, as run's). Exit status: the
// guest's. A guest that ends before N ends normally, and the report says
// that no migration happened. Ctrl-C stops the guest where it is, as `run`'s
// does (cli/interrupt.ts): the diagnosis, the reports of the moves made so
// far (--json), --stats, status 130.

import { UserError } from "../../guest-isa/diagnostics.js";
import { getBackend } from "../../hypervisors/index.js";
import { bytesInput } from "../../machine/devices/console.js";
import { stdinInput } from "../host-devices.js";
import { formatReport } from "../../migration/report.js";
import { migrateRouteSliced, routePoints } from "../../migration/route.js";
import type { CommandRunner } from "../main.js";
import { consoleToStderr, errorOut } from "../io.js";
import { checkDistinctFiles, checkOutputs, readCostModel, readElfInputWithBytes, writeOutput } from "../files.js";
import { cpuOptionsOf, engineOptionsOf, finishRun, maxCyclesOf } from "./resume.js";
import { openDisk, openNvdisk } from "../host-devices.js";
import type { DiskBacking } from "../../machine/devices/disk.js";
import { stopOnSigint } from "../interrupt.js";
import { withPositional } from "../json-option.js";
import { endThenGiveBack } from "../give-back.js";

export const run: CommandRunner = async (args, options, io) => {
  // `migrate --json k.elf …`: --json is the flag, k.elf the ELF, as run's (json-option.ts).
  const { file, json } = withPositional(args, options.json, "elf");
  options = { ...options, json };
  const route = routeOf(options);
  for (const name of route) getBackend(name);
  const points = (options.at as string[] | undefined)?.map(point);
  if (!points?.length) throw new UserError("missing --at N (the cycle to migrate at)");
  // A limit before the last move would end the guest before it (one line, not a move that never comes).
  const last = routePoints(route.length - 1, points).at(-1)!;
  if (maxCyclesOf(options) < last) throw new UserError(`--max-cycles ${maxCyclesOf(options)} would stop the guest before its move at cycle ${last}`);
  checkOutputs([["--json", options.json]], [file, options.disk, options.nvdisk, options.costModel]);
  checkDistinctFiles([["--disk", options.disk], ["--nvdisk", options.nvdisk]], [file, options.costModel]);
  const { bytes: elf, image } = readElfInputWithBytes(file);
  const costModel = typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined;
  const disk = openDisk(options.disk);
  let nvdisk: DiskBacking | undefined;
  const sigint = stopOnSigint();
  try {
    nvdisk = openNvdisk(options.nvdisk);
    const r = await migrateRouteSliced(elf, image, route, points, {
      file,
      costModel,
      disk,
      nvdisk,
      passthrough: options.passthrough === true,
      live: Boolean(options.live),
      ...cpuOptionsOf(options),
      ...engineOptionsOf(options),
      maxCycles: maxCyclesOf(options),
      stdin: io.stdin ? bytesInput(io.stdin) : stdinInput(),
      // `--json -`: the report takes stdout, the console goes to stderr (run's rule).
      onOutput: options.json === "-" ? consoleToStderr(io) : (t) => io.out(t),
      onHop: (report) => errorOut(io, formatReport(report)),
    }, sigint.between);
    // Ownership: the route made the guest it ends on (its earlier machines went back as it left them: route.ts) and
    // hands out nothing else that refers to it; the reports are plain data. Its RAM goes back after the last report.
    return await endThenGiveBack(r.guest.machine, () => {
      if (typeof options.json === "string") writeOutput(options.json, JSON.stringify(r.reports.length === 1 ? r.reports[0] : r.reports, null, 2) + "\n", io);
      return finishRun(r.guest, r.result, { ...options, json: undefined }, io);
    });
  } finally {
    sigint.dispose();
    disk?.close?.();
    nvdisk?.close?.();
  }
};

function routeOf(options: Record<string, unknown>): string[] {
  const route = options.route as string[] | undefined;
  if (route) {
    if (options.from !== undefined || options.to !== undefined) throw new UserError("give either --route or --from/--to");
    return route;
  }
  if (typeof options.from !== "string" || typeof options.to !== "string") throw new UserError("missing --from X --to Y (or --route a,b,…)");
  return [options.from, options.to];
}

/** One `--at` value: a cycle count from reset, in decimal digits as every whole-number option (main.ts). */
export function point(s: string): number {
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new UserError(`--at: not a non-negative integer: '${s}'`);
  return n;
}
