// `previrt run FILE.elf --hv X [--stats] [--json] [--max-cycles N] [--disk IMG] [--cost-model F]`
//
// Reads the ELF, prepares it for the back end, runs it on the machine with
// the guest console on stdout (input from io.stdin, else the process's
// stdin, read lazily). Exit status: the guest's power-off code; 124 when
// --max-cycles stopped a runaway; 125 for a guest crash (fault with no
// handler, fault loop, hlt deadlock), after `previrt: error: <reason>` and
// the diagnosis on stderr. --stats / --json print the counters to stderr,
// then (under "host", not simulated) how the emulator ran the guest.
// --engine interp|jit picks the interpreter or the JIT: same results.

import { UserError } from "../../guest-isa/diagnostics.js";
import { readElfFile } from "../../guest-isa/elf.js";
import { getBackend, runElf } from "../../hypervisors/index.js";
import { loadCostModel } from "../../machine/cost-model.js";
import { stdinInput } from "../../machine/devices/console.js";
import { fileDisk, type DiskBacking } from "../../machine/devices/disk.js";
import { formatStats } from "../../machine/stats.js";
import { formatHostStats, type Engine } from "../../machine/machine.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = async (args, options, io) => {
  const [file] = args;
  const backend = getBackend(String(options.hv));
  const costModel = typeof options.costModel === "string" ? loadCostModel(options.costModel) : undefined;
  const maxCycles = typeof options.maxCycles === "number" ? options.maxCycles : undefined;
  const image = await readElfFile(file);
  let disk: DiskBacking | undefined;
  if (typeof options.disk === "string") {
    try {
      disk = fileDisk(options.disk);
    } catch (e) {
      throw new UserError(`${options.disk}: cannot open disk image: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  try {
    const outcome = runElf(image, {
      backend,
      file,
      costModel,
      maxCycles,
      disk,
      stdin: io.stdin ?? stdinInput(),
      engine: options.engine as Engine | undefined,
      onOutput: (t) => io.out(t),
    });
    const { result, stats, host } = outcome;
    let status: number;
    if (result.kind === "poweroff") status = result.exitCode;
    else {
      io.err(`previrt: error: ${result.message}\n${result.diagnosis}`);
      status = result.exitCode;
    }
    if (options.stats) io.err(formatStats(stats) + formatHostStats(host));
    if (options.json) io.err(JSON.stringify({ backend: backend.name, result: summary(result), ...stats, host }) + "\n");
    return status;
  } finally {
    disk?.close?.();
  }
};

function summary(r: { kind: string; exitCode: number; reason?: string }) {
  return r.kind === "poweroff" ? { kind: "poweroff", exitCode: r.exitCode } : { kind: "stopped", reason: r.reason, exitCode: r.exitCode };
}
