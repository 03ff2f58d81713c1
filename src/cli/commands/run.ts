// `previrt run FILE.elf --hv X [--stats] [--json [FILE]] [--max-cycles N] [--disk IMG] [--nvdisk IMG [--passthrough]] [--cost-model F]
//  (several guests: `--guest A.elf --guest B.elf` or `--domains FILE`: run-domains.ts)
//  [--cpus N [--quantum C] [--pcpus M]] [--snapshot-at N --snapshot FILE]` (the snapshot options: resume.ts, docs/migration.md)
//
// Reads the ELF, prepares it for the back end, runs it on the machine with
// the guest console on stdout (input from io.stdin, else the process's
// stdin, read lazily). Exit status: the guest's power-off code; 124 when
// --max-cycles stopped a runaway; 130 when the user's Ctrl-C did
// (cli/interrupt.ts); 125 for a guest crash (fault with no handler, fault
// loop, hlt deadlock), after `previrt: error: <reason>` and the diagnosis on
// stderr. --stats prints the counters to stderr, then (a
// "host (not simulated)" line; `host` in --json) how the emulator ran the
// guest. --engine interp|jit picks the interpreter or the JIT: same results.
//
// --json writes one JSON document (back end, how the run ended, counters)
// for every ending, so a script can parse it whatever the guest did:
// `--json FILE` to FILE (the console stays on stdout); bare `--json` or
// `--json -` to stdout, alone — the guest console then goes to stderr with
// everything else. (README.md, "previrt run --json".)

import { UserError } from "../../guest-isa/diagnostics.js";
// One back end, loaded by name (registry.ts): not hypervisors/index.ts, which loads all five (issue 16).
import { runElfOnSliced } from "../../hypervisors/backend.js";
import { loadBackend } from "../../hypervisors/registry.js";
import type { DiskBacking } from "../../machine/devices/disk.js";
import { openDisk, openNvdisk, stdinInput } from "../host-devices.js";
import { formatStats } from "../../machine/stats.js";
import { formatHostStats, type Engine } from "../../machine/machine.js";
import { checkDistinctFiles, checkOutputs, readCostModel, readElfInput, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";
import { consoleToStderr, errorOut } from "../io.js";
import { stopOnSigint } from "../interrupt.js";
import { withPositional } from "../json-option.js";
import { resultSummary, runDocument } from "../run-document.js";
import { endThenGiveBack } from "../give-back.js";

export const run: CommandRunner = async (args, options, io) => {
  // Loaded only for a multi-guest run: its configuration file may name bundled-kernel guests, which brings in the compiler.
  if (options.guest !== undefined || options.domains !== undefined) return (await import("./run-domains.js")).runDomains(args, options, io);
  for (const o of ["window", "watchdog"]) if (options[o] !== undefined) throw new UserError(`--${o} is for several guests (--guest, --domains)`);
  if (options.hv === undefined) throw new UserError("required option '--hv <backend>' not specified", 2);
  // `previrt run --json k.elf --hv X`: --json is the flag, k.elf the ELF (json-option.ts).
  const { file, json: jsonTo } = withPositional(args, options.json, "elf");
  if (options.passthrough && options.nvdisk === undefined) throw new UserError("--passthrough needs --nvdisk (the device to pass through)");
  // Before the guest runs: a result that cannot be written is refused while the disk images are untouched.
  checkOutputs([["--json", jsonTo], ["--snapshot", options.snapshot, "binary"]], [file, options.disk, options.nvdisk, options.costModel]);
  checkDistinctFiles([["--disk", options.disk], ["--nvdisk", options.nvdisk]], [file, options.costModel]);
  // Loaded only to snapshot: it brings in the migration code.
  if (options.snapshotAt !== undefined || options.snapshot !== undefined) return (await import("./resume.js")).runWithSnapshot(file, { ...options, json: jsonTo }, io);
  const backend = await loadBackend(String(options.hv));
  const costModel = typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined;
  const maxCycles = typeof options.maxCycles === "number" ? options.maxCycles : undefined;
  const image = readElfInput(file);
  const disk = openDisk(options.disk);
  let nvdisk: DiskBacking | undefined;
  const sigint = stopOnSigint();
  try {
    nvdisk = openNvdisk(options.nvdisk);
    const outcome = await runElfOnSliced(backend, image, {
      file,
      costModel,
      maxCycles,
      disk,
      nvdisk,
      passthrough: options.passthrough === true,
      stdin: io.stdin ?? stdinInput(),
      engine: options.engine as Engine | undefined,
      protect: options.protect !== false,
      cpus: options.cpus as number | undefined,
      quantum: options.quantum as number | undefined,
      pcpus: options.pcpus as number | undefined,
      timeslice: options.timeslice as number | undefined,
      spinlocks: options.spinlocks as string | undefined,
      onOutput: jsonTo === "-" ? consoleToStderr(io) : (t) => io.out(t),
    }, sigint.between);
    // Ownership: runElfOnSliced built this machine for this run alone and hands it out only in `outcome`, whose
    // other fields are plain data; nothing here reads the machine, so its RAM goes back once the run is reported.
    return await endThenGiveBack(outcome.machine, () => {
      const { result, stats, host } = outcome;
      if (result.kind !== "poweroff") errorOut(io, `previrt: error: ${result.message}\n${result.diagnosis}`);
      if (options.stats) errorOut(io, formatStats(stats) + formatHostStats(host));
      if (jsonTo !== undefined) writeOutput(jsonTo, JSON.stringify(runDocument({ backend: backend.name, file, result: resultSummary(result), stats, host })) + "\n", io);
      return result.exitCode;
    });
  } finally {
    sigint.dispose();
    disk?.close?.();
    nvdisk?.close?.();
  }
};
