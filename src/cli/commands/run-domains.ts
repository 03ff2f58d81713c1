// `previrt run --guest A.elf --guest B.elf [--hv xen|l4|hvm] [--stats] [--json [FILE]] [--max-cycles N]
//  [--window C] [--watchdog C] [--engine E] [--cost-model F]`, or `previrt run --domains FILE [...]`:
// several guests on one hypervisor (src/hypervisors/domains, docs/driver-vms.md).
//
// Consumes the guests (ELF files, or the configuration file's guests) and
// runs them with the multi-guest host. Each guest's console goes to stdout
// as whole lines prefixed `[name] ` (a last unterminated line gets its
// newline at the end). Exit status: the first guest that stopped without
// powering off and was not restarted gives its status (125 crash, 124
// --max-cycles, …, after `previrt: error: [name] <reason>` and its
// diagnosis on stderr); otherwise the power-off code of the first guest that
// is not a service (role "driver" or serving a device). --stats prints each
// guest's counters (stderr, headed `[name]`); --json writes one document
// with every guest's ending, counters and restarts. Ctrl-C stops every guest
// still running (cli/interrupt.ts): each one's diagnosis, --stats and --json
// as for any ending, status 130. Options that make sense
// for one guest only (--snapshot-at, --disk, --nvdisk, --pcpus, …) are refused.

import { basename } from "node:path";
import { quotedName, UserError } from "../../guest-isa/diagnostics.js";
import { DomainHost, type DomainOutcome, type DomainSpec, type HostOutcome } from "../../hypervisors/domains/host.js";
import type { DiskBacking } from "../../machine/devices/disk.js";
import type { Engine } from "../../machine/machine.js";
import { formatStats } from "../../machine/stats.js";
import { readDomainsConfig } from "../domains-config.js";
import { checkOutputs, readCostModel, readElfInput, writeOutput } from "../files.js";
import { endThenGiveBack } from "../give-back.js";
import type { CliIO } from "../io.js";
import { stopOnSigint } from "../interrupt.js";
import { jsonTarget } from "../json-option.js";
import { resultSummary } from "../run-document.js";

/** Single-guest options a multi-guest run refuses (one line each). */
const SINGLE_ONLY: readonly [string, string][] = [
  ["snapshotAt", "--snapshot-at"],
  ["snapshot", "--snapshot"],
  ["disk", "--disk"],
  ["nvdisk", "--nvdisk"],
  ["passthrough", "--passthrough"],
  ["pcpus", "--pcpus"],
  ["timeslice", "--timeslice"],
  ["spinlocks", "--spinlocks"],
  ["quantum", "--quantum"],
];

export async function runDomains(args: string[], options: Record<string, unknown>, io: CliIO): Promise<number> {
  for (const [key, flag] of SINGLE_ONLY) {
    if (options[key] !== undefined) {
      const why = key.startsWith("snapshot")
        ? "snapshots and migration are for one guest"
        : key === "disk" || key === "nvdisk" || key === "passthrough"
          ? `give each guest its ${key === "disk" ? "disk" : "nvdisk"} in the --domains file`
          : "it applies to one guest's vCPUs";
      throw new UserError(`${flag} cannot be used with several guests (${why})`);
    }
  }
  const guests = (options.guest as string[] | undefined) ?? [];
  if (options.domains !== undefined && guests.length > 0) throw new UserError("give the guests either with --guest or in the --domains file, not both");
  if (args.length > 0) {
    const where = options.domains !== undefined ? "with --domains, every guest is in the file" : "with --guest, give every guest as --guest";
    throw new UserError(`${where} (unexpected argument ${quotedName(args[0])})`);
  }
  // --cpus applies to --guest's guests; the file gives each of its guests its own (it was ignored).
  if (options.domains !== undefined && options.cpus !== undefined) throw new UserError('--cpus cannot be used with --domains (give each guest its "cpus" in the file)');
  const jsonTo = jsonTarget(options.json); // no positional here: `--json g.elf` names the file (README.md)
  checkOutputs([["--json", jsonTo]], [...guests, options.domains, options.costModel]);
  let specs: DomainSpec[];
  let hv = options.hv as string | undefined;
  let window = options.window as number | undefined;
  let watchdog = options.watchdog as number | undefined;
  let opened: DiskBacking[] = [];
  let configFiles: string[] = [];
  if (typeof options.domains === "string") {
    const config = readDomainsConfig(options.domains);
    specs = config.specs;
    opened = config.opened;
    configFiles = config.files;
    hv ??= config.hv;
    window ??= config.window;
    watchdog ??= config.watchdog;
  } else {
    const cpus = options.cpus as number | undefined;
    const used = new Set<string>();
    specs = guests.map((file, i) => {
      let name = basename(file).replace(/\.elf$/, "").replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 28) || "guest";
      if (used.has(name)) name = `${name}.${i}`;
      used.add(name);
      return { name, image: readElfInput(file), file, cpus };
    });
  }
  const sigint = stopOnSigint();
  try {
    // The files the configuration names (its guests' binaries and images) are inputs too, known once it is read.
    if (configFiles.length > 0) checkOutputs([["--json", jsonTo]], configFiles);
    const costModel = typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined;
    const write = jsonTo === "-" ? (t: string) => io.err(t) : (t: string) => io.out(t);
    const partial = new Map<number, string>();
    const host = new DomainHost(specs, {
      backend: hv ?? "xen",
      window,
      watchdog,
      maxCycles: typeof options.maxCycles === "number" ? options.maxCycles : undefined,
      costModel,
      engine: options.engine as Engine | undefined,
      protect: options.protect !== false,
      onOutput: (d, text) => {
        const lines = ((partial.get(d) ?? "") + text).split("\n");
        partial.set(d, lines.pop()!);
        for (const l of lines) write(`[${specs[d].name}] ${l}\n`);
      },
    });
    const out = await host.runSliced(sigint.between);
    // Each guest's last machine goes back once the ending below has read the outcome (endThenGiveBack). Ownership:
    // the DomainHost made them for this command alone and nothing else holds them; the outcome is plain data (results,
    // consoles, counters copied out of the machines), so the diagnosis, --stats and --json read no RAM.
    return await endThenGiveBack(host.machines(), () => {
      for (const [d, rest] of partial) if (rest !== "") write(`[${specs[d].name}] ${rest}\n`);
      for (const d of out.domains) {
        if (d.result?.kind === "stopped") io.err(`previrt: error: [${d.name}] ${d.result.message}\n${d.result.diagnosis}`);
        for (const r of d.restarts) io.err(`previrt: [${d.name}] restarted (generation ${r.generation}) at cycle ${r.at}: ${r.reason}\n`);
        // A crash's message says it stays down; a power-off with a code has no message of its own.
        if (d.staysDown && d.result?.kind === "poweroff") io.err(`previrt: [${d.name}] powered off with code ${d.result.exitCode}; restarted ${d.restarts.length} times already, it stays down\n`);
      }
      if (options.stats) {
        for (const d of out.domains) io.err(`[${d.name}] ${summaryLine(d)}\n${formatStats(d.stats)}`);
        io.err(`host: window=${out.window} cycles=${out.cycles} pageCopies=${out.pageCopies} readOnlyWrites=${out.readOnlyWrites} ops=${JSON.stringify(out.ops)} refused=${JSON.stringify(out.refused)}\n`);
      }
      if (jsonTo !== undefined) writeOutput(jsonTo, JSON.stringify(jsonDocument(out)) + "\n", io);
      return out.exitCode;
    });
  } finally {
    sigint.dispose();
    for (const d of opened) d.close?.();
  }
}

function summaryLine(d: DomainOutcome): string {
  const end = d.result === undefined ? "still serving when its clients finished" : d.result.kind === "poweroff" ? `power-off ${d.result.exitCode}` : `stopped: ${d.result.reason}`;
  const refused = Object.keys(d.refused).length > 0 ? `, refused ${JSON.stringify(d.refused)}` : "";
  return `${d.role}, ${end}, generation ${d.generation}, ${d.executedCycles} cycles executed${refused}`;
}

/** The --json document: the run, then each guest (its counters as `previrt run --json` has them). */
export function jsonDocument(out: HostOutcome): Record<string, unknown> {
  return {
    backend: out.backend,
    window: out.window,
    cycles: out.cycles,
    exitCode: out.exitCode,
    ops: out.ops,
    refused: out.refused,
    pageCopies: out.pageCopies,
    readOnlyWrites: out.readOnlyWrites,
    domains: out.domains.map((d) => ({
      id: d.id,
      name: d.name,
      role: d.role,
      result: d.result === undefined ? { kind: "serving" } : resultSummary(d.result),
      generation: d.generation,
      restarts: d.restarts,
      executedCycles: d.executedCycles,
      clock: d.cycles,
      refused: d.refused,
      ...d.stats,
    })),
  };
}
