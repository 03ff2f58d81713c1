// `previrt resume FILE --hv Y [--stats] [--json [FILE]] [--max-cycles N] [--disk IMG] [--nvdisk IMG]
// [--cost-model F] [--quantum C] [--pcpus M] [--engine E] [--no-protect] [--snapshot-at M --snapshot F2]` (the CPUs are the snapshot's): continues a snapshot
// (src/migration, docs/migration.md) on any back end that can run its
// binary. The snapshot is read and checked completely before anything runs
// (a damaged, truncated or newer-format file is one error line). The console
// continues where it stopped; the exit status is the guest's. On the back end
// that took the snapshot the run continues cycle-exactly; elsewhere the sites
// are re-patched and the monitor takes the neutral virtual state.
//
// Also home of what `run --snapshot-at` does (snapshotAndExit) and of the
// end-of-run reporting both share (finishRun). --json follows run's rule:
// `--json FILE` writes the document there, bare `--json` (or `-`) to stdout
// alone, the guest console then going to stderr.

import { UserError } from "../../guest-isa/diagnostics.js";
import { getBackend } from "../../hypervisors/index.js";
import { bytesInput } from "../../machine/devices/console.js";
import type { DiskBacking } from "../../machine/devices/disk.js";
import { heldFileDisk, openDisk, openNvdisk, stdinInput } from "../host-devices.js";
import type { RunResult } from "../../machine/diagnosis.js";
import { formatHostStats, type Engine } from "../../machine/machine.js";
import { runSliced } from "../../machine/run-image.js";
import { formatStats } from "../../machine/stats.js";
import { bootGuest, type Guest } from "../../migration/guest.js";
import { runToSafePoint } from "../../migration/safe-point.js";
import { endedBefore } from "../../migration/report.js";
import { captureSnapshot, restoreGuest } from "../../migration/snapshot.js";
import { readSnapshotFile, snapshotBytes } from "../snapshot-files.js";
import { checkDistinctFiles, checkInputFile, checkOutputs, fileError, readCostModel, readElfInputWithBytes, writeOutput } from "../files.js";
import { consoleToStderr, errorOut, type CliIO } from "../io.js";
import type { CommandRunner } from "../main.js";
import { stopOnSigint } from "../interrupt.js";
import { withPositional } from "../json-option.js";
import { resultSummary, runDocument, type ResultSummary } from "../run-document.js";
import { endThenGiveBack } from "../give-back.js";

export const run: CommandRunner = async (args, options, io) => {
  // `resume --json F.snap`: --json is the flag, F.snap the snapshot, as run's (json-option.ts).
  const { file, json } = withPositional(args, options.json, "snapshot");
  options = { ...options, json };
  const backend = getBackend(String(options.hv));
  // `run --snapshot -` writes to standard output, but resume's standard input is the guest's console.
  if (file === "-") throw new UserError("-: resume reads a snapshot from a file, not standard input (the resumed guest's console input): save it with --snapshot FILE");
  checkInputFile(file);
  if (options.snapshotAt !== undefined || options.snapshot !== undefined) snapshotOptions(options);
  checkOutputs([["--json", options.json], ["--snapshot", options.snapshot, "binary"]], [file, options.disk, options.nvdisk, options.costModel]);
  checkDistinctFiles([["--disk", options.disk], ["--nvdisk", options.nvdisk]], [file, options.costModel]);
  const snap = readSnapshotFile(file);
  // --max-cycles counts from the guest's reset: one not past the snapshot's clock would stop the guest before it ran.
  const maxCycles = maxCyclesOf(options);
  const from = Math.floor(snap.cycle);
  if (maxCycles <= from) throw new UserError(`--max-cycles ${maxCycles} is not past the snapshot's cycle ${from}: it counts from the guest's reset (--max-cycles ${from + maxCycles} runs ${maxCycles} more)`);
  const costModel = typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined;
  // The snapshot's disk and nvdisk images go into --disk's and --nvdisk's files; without them, into memory.
  // A snapshot without one refuses the option (its guest had no such device to continue with).
  if (options.disk !== undefined && snap.disk === null) throw new UserError(`${file}: the snapshot has no disk to write into ${String(options.disk)}`);
  if (options.nvdisk !== undefined && snap.nvdisk === null) throw new UserError(`${file}: the snapshot has no nvdisk to write into ${String(options.nvdisk)}`);
  const disk = openSnapshotDisk(options.disk, snap.disk);
  let nvdisk: (DiskBacking & { commit(): void }) | undefined;
  try {
    nvdisk = openSnapshotDisk(options.nvdisk, snap.nvdisk);
    const { guest } = restoreNamed(file, () => restoreGuest(snap, backend.name, { costModel, disk, nvdisk, quantum: options.quantum as number | undefined, pcpus: options.pcpus as number | undefined, timeslice: options.timeslice as number | undefined, ...engineOptionsOf(options), stdin: io.stdin ? bytesInput(io.stdin) : stdinInput(), onOutput: consoleSink(options, io), file: `${file} (its binary)` }));
    // Ownership: restoreGuest made this machine for this command, which hands out only its exit status; the disks
    // are files or the snapshot's images, not RAM. Its RAM goes back after the last report (even a failed commit).
    return await endThenGiveBack(guest.machine, async () => {
      // Restored: only now do the files get the snapshot's images.
      disk?.commit();
      nvdisk?.commit();
      if (options.snapshotAt !== undefined || options.snapshot !== undefined) return snapshotAndExit(guest, options, io, file);
      const sigint = stopOnSigint();
      try {
        return finishRun(guest, await runSliced(guest.machine, maxCycles, sigint.between), options, io, file);
      } finally {
        sigint.dispose();
      }
    });
  } finally {
    disk?.close?.();
    nvdisk?.close?.();
  }
};

/**
 * Restoring checks what the snapshot's validator cannot (the monitor's own
 * state, the RAM limit): its errors name the snapshot as the reader's do.
 */
function restoreNamed<T>(file: string, restore: () => T): T {
  try {
    return restore();
  } catch (e) {
    if (e instanceof UserError && /^(malformed )?snapshot\b/.test(e.message)) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

/** `--cpus`, `--quantum`, `--pcpus` as given (checked where the guest is made: checkCpuOptions). */
export function cpuOptionsOf(options: Record<string, unknown>): { cpus?: number; quantum?: number; pcpus?: number; timeslice?: number } {
  return { cpus: options.cpus as number | undefined, quantum: options.quantum as number | undefined, pcpus: options.pcpus as number | undefined, timeslice: options.timeslice as number | undefined };
}

/**
 * `--engine` and `--no-protect`, as run takes them. The engine is not in a
 * snapshot; a resume on the back end that took it keeps its --no-protect
 * (restoreGuest; docs/migration.md).
 */
export function engineOptionsOf(options: Record<string, unknown>): { engine?: Engine; protect: boolean } {
  return { engine: options.engine as Engine | undefined, protect: options.protect !== false };
}

/**
 * A snapshot records the lock sites as the native cure leaves them
 * (src/migration re-patches sites from the binary for native only), so a
 * cure with `run --snapshot-at` or `matrix --migrate` (`withFlag`) is refused
 * rather than run without it.
 */
export function checkSnapshotSpinlocks(options: Record<string, unknown>, withFlag: string): void {
  const cure = options.spinlocks;
  if (cure !== undefined && cure !== "native") throw new UserError(`--spinlocks ${String(cure)} cannot be used with ${withFlag}: snapshots and migration keep the native lock sites (docs/migration.md)`);
}

export function maxCyclesOf(options: Record<string, unknown>): number {
  return typeof options.maxCycles === "number" ? options.maxCycles : Infinity;
}

/** resume's --disk/--nvdisk: the file, holding the snapshot's image until the guest is restored (heldFileDisk). */
function openSnapshotDisk(path: unknown, image: Uint8Array | null): (DiskBacking & { commit(): void }) | undefined {
  if (typeof path !== "string" || image === null) return undefined;
  checkInputFile(path);
  let disk: DiskBacking & { commit(): void };
  try {
    disk = heldFileDisk(path, image.length / 512);
  } catch (e) {
    throw fileError(path, e);
  }
  return {
    ...disk,
    commit: () => {
      try {
        disk.commit();
      } catch (e) {
        throw fileError(path, e);
      }
    },
  };
}

/** Where the guest console goes: stdout, or stderr when the JSON document or the snapshot takes stdout (run's rule). */
export function consoleSink(options: Record<string, unknown>, io: CliIO): (t: string) => void {
  return options.json === "-" || options.snapshot === "-" ? consoleToStderr(io) : (t) => io.out(t);
}

/**
 * The end of a run, as `previrt run` reports it: diagnosis for a stop,
 * --stats/--json (with the `host (not simulated)` line and `host` object), the guest's status. `file`: the --json document's `file`
 * (the snapshot a resume ran, the ELF of `run --snapshot-at`), as run's has.
 */
export function finishRun(guest: Guest, result: RunResult, options: Record<string, unknown>, io: CliIO, file?: string): number {
  if (result.kind !== "poweroff") errorOut(io, `previrt: error: ${result.message}\n${result.diagnosis}`);
  reportCounters(guest, resultSummary(result), options, io, file);
  return result.exitCode;
}

/**
 * --stats and --json as run's: the counters, then how the emulator ran the
 * guest (the machine that finished it); `summary` is the document's `result`.
 */
function reportCounters(guest: Guest, summary: ResultSummary, options: Record<string, unknown>, io: CliIO, file?: string): void {
  const stats = guest.machine.stats();
  const host = guest.machine.hostStats();
  if (options.stats) errorOut(io, formatStats(stats) + formatHostStats(host));
  if (typeof options.json === "string") writeOutput(options.json, JSON.stringify(runDocument({ backend: guest.backend.name, file, result: summary, stats, host })) + "\n", io);
}

/** `--snapshot-at N --snapshot FILE`: one needs the other (checked before anything is restored or run). */
function snapshotOptions(options: Record<string, unknown>): { at: number; file: string } {
  const at = options.snapshotAt;
  const file = options.snapshot;
  if (typeof at !== "number") throw new UserError("--snapshot needs --snapshot-at N");
  if (typeof file !== "string") throw new UserError("--snapshot-at needs --snapshot FILE");
  return { at, file };
}

/**
 * `--snapshot-at N --snapshot FILE`: runs to the first safe point at or after
 * cycle N, writes the snapshot, says so in one line (stderr), gives --stats
 * and --json (result `{kind: "snapshot", cycle, snapshot}`) and exits 0; a
 * guest that ends first ends normally, with a line saying no snapshot was taken.
 */
export function snapshotAndExit(guest: Guest, options: Record<string, unknown>, io: CliIO, elfFile?: string): number {
  const { at, file } = snapshotOptions(options);
  const sp = runToSafePoint(guest, at, maxCyclesOf(options));
  if (!sp.reached) {
    const status = finishRun(guest, guest.machine.outcome!, options, io, elfFile);
    errorOut(io, `previrt: no snapshot written: the guest ended at cycle ${Math.floor(sp.cycle)}, ${endedBefore(Math.floor(sp.cycle), at)}\n`);
    return status;
  }
  const snap = captureSnapshot(guest);
  // `--snapshot -`: to standard output (the console went to stderr: consoleSink), as every output's `-`.
  const bytes = snapshotBytes(snap);
  writeOutput(file, bytes, io);
  const deferred = sp.deferredSteps ? ` (${sp.deferredSteps} ${sp.deferredUnit}${sp.deferredSteps === 1 ? "" : "s"} past ${at}: ${sp.deferredBecause})` : "";
  errorOut(io, `${file === "-" ? "standard output" : file}: snapshot of ${guest.backend.name} at cycle ${Math.floor(sp.cycle)}${deferred}, ${snap.pages.length} pages, ${bytes.length} bytes\n`);
  // The counters up to the snapshot (a run that stops there is measured as one that ends).
  reportCounters(guest, { kind: "snapshot", cycle: Math.floor(sp.cycle), snapshot: file, exitCode: 0 }, options, io, elfFile);
  return 0;
}

/** `previrt run ELF --hv X --snapshot-at N --snapshot FILE` (run.ts delegates here). */
export async function runWithSnapshot(file: string, options: Record<string, unknown>, io: CliIO): Promise<number> {
  checkSnapshotSpinlocks(options, "--snapshot-at");
  const backend = getBackend(String(options.hv));
  const { bytes: elf, image } = readElfInputWithBytes(file);
  const costModel = typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined;
  const disk = openDisk(options.disk);
  let nvdisk: DiskBacking | undefined;
  try {
    nvdisk = openNvdisk(options.nvdisk);
    const guest = bootGuest(elf, image, backend.name, { costModel, disk, nvdisk, passthrough: options.passthrough === true, ...cpuOptionsOf(options), ...engineOptionsOf(options), stdin: io.stdin ? bytesInput(io.stdin) : stdinInput(), onOutput: consoleSink(options, io), file });
    // Ownership: booted here for this command alone; the snapshot written copies its pages and state, and the
    // report's counters are read before the end, so its RAM goes back after them.
    return await endThenGiveBack(guest.machine, () => snapshotAndExit(guest, options, io, file));
  } finally {
    disk?.close?.();
    nvdisk?.close?.();
  }
}
