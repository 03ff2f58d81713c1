// `previrt matrix FILE.elf [--hv a,b,…] [--allow-diverge a,…] [--json [FILE]]`: the same
// binary on every back end, one table. Each row: verdict against bare (same,
// or where it diverged), simulated cycles and the overhead over bare, what
// the monitor was entered for (VM exits, hypercalls, IPCs, traps), what the
// rewriter made of the sites, and host speed (emulated MIPS, "-" for runs
// shorter than MIN_SECONDS_FOR_MIPS). Exit status 1 when a back end not
// allowed to diverge did. `--disk FILE`: every back end gets its own copy.
// `--jobs N` (default: the number of cores) runs the back ends in N worker
// threads; the table is the same as with `--jobs 1` (serial, in-process).
// Ctrl-C ends it with one line and no table (cli/interrupt.ts), status 130.
// `--json [FILE]`: the document of matrix-json.ts, to FILE or (no FILE, `-`)
// to stdout, the table then going to stderr; the same status either way.
// `--migrate [--at N,…]`: the migration matrix instead (migration-matrix.ts).

import { UserError } from "../../guest-isa/diagnostics.js";
// Only the named back ends, loaded by name (registry.ts), not hypervisors/index.ts (all five; issue 16).
import { checkCpuOptions, checkCpuValues, type CpuOptions } from "../../hypervisors/backend.js";
import { cellOptions, cyclesOverReference, describeProblem, describeVerdict, isDivergence, MATRIX_MAX_CYCLES, type MatrixRow } from "../../hypervisors/matrix-verdicts.js";
import { BACKEND_NAMES, loadBackend, unknownBackend } from "../../hypervisors/registry.js";
import { runMatrixJobsInterruptible } from "../../hypervisors/parallel/matrix-jobs.js";
import { EXIT_STATUS } from "../../machine/diagnosis.js";
import { reportInterrupted, stopOnSigint } from "../interrupt.js";
import { jobsOption } from "../jobs-option.js";
import type { Engine } from "../../machine/machine.js";
import { checkOutputs, readCostModel, readElfInput, readInput, writeOutput } from "../files.js";
import { textOutput, withPositional } from "../json-option.js";
import { matrixDocument } from "./matrix-json.js";
import type { CommandRunner } from "../main.js";
import { describeSmp } from "../bench/report-data.js";
import { checkSpinlockCure } from "../../hypervisors/common/spinlock-cures.js";

// The verdict's words live with the matrix (the playground shows them too).
export { describeProblem, describeVerdict, isDivergence };

export const run: CommandRunner = async (args, options, io) => {
  // `matrix --json k.elf`: --json is the flag, k.elf the ELF, as run's (json-option.ts).
  const { file, json } = withPositional(args, options.json, "elf");
  options = { ...options, json };
  // Loaded only for --migrate: it brings in the migration code (issue 16).
  if (options.migrate) return (await import("./migration-matrix.js")).runMigrationMatrix(file, options, io);
  if (options.at !== undefined) throw new UserError("--at is for --migrate (the migration points)"); // not ignored
  // Each back end once (`--hv xen,xen` is one row).
  const names = [...new Set((options.hv as string[] | undefined) ?? BACKEND_NAMES)];
  const allow = new Set((options.allowDiverge as string[] | undefined) ?? []);
  for (const n of [...names, ...allow]) if (!BACKEND_NAMES.includes(n)) throw unknownBackend(n);
  const ordered = names.includes("bare") ? ["bare", ...names.filter((n) => n !== "bare")] : names;
  const image = readElfInput(file);
  const diskBytes = typeof options.disk === "string" ? readInput(options.disk) : undefined;
  const jobs = jobsOption(options.jobs);
  checkOutputs([["--json", json]], [file, options.disk, options.costModel]); // before anything runs
  const smp = smpOptions(options);
  const loaded = [];
  for (const n of ordered) loaded.push(await loadBackend(n));
  // Every back end must run them (refused before anything runs); bare, the reference, without --pcpus
  // (cellOptions) — unless it is alone, when --pcpus would time-slice nothing.
  const onlyBare = ordered.every((n) => n === "bare");
  for (const b of loaded) checkCpuOptions(b, onlyBare ? smp : cellOptions(b.name, smp));
  // --spinlocks: every back end but the reference (bare, native) must offer the cure.
  const spinlocks = options.spinlocks as string | undefined;
  for (const b of loaded) if (b.name !== "bare") checkSpinlockCure(b.name, b.spinlocks, spinlocks);
  const maxCycles = (options.maxCycles as number | undefined) ?? MATRIX_MAX_CYCLES;
  const matrixOptions = {
    file, // errors about the binary name it, as run's do
    ...smp,
    spinlocks,
    jobs,
    backends: ordered,
    maxCycles,
    costModel: typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined,
    disk: diskBytes ? () => diskBytes.slice() : undefined,
    engine: options.engine as Engine | undefined,
    protect: options.protect !== false,
  };
  // The Ctrl-C handler once everything that can refuse (the cost model) has been read: a refusal after it left it installed.
  const sigint = stopOnSigint();
  const outcome = await runMatrixJobsInterruptible(image, matrixOptions, sigint).finally(sigint.dispose);
  if (outcome.kind === "interrupted") {
    reportInterrupted(io, outcome.done, ordered.length, "back ends (no table)");
    return EXIT_STATUS.interrupted; // as run's (128 + SIGINT)
  }
  const rows = outcome.rows;
  const table = textOutput(io, json);
  if (smp.cpus !== undefined || smp.pcpus !== undefined) table(`${describeSmp(smp)}${smp.pcpus !== undefined && ordered.includes("bare") ? "; bare, one physical CPU per CPU" : ""}\n`);
  table(formatMatrix(rows));
  const bad = rows.filter((r) => isDivergence(r.verdict) && !allow.has(r.backend));
  const status = bad.length ? 1 : 0;
  if (json !== undefined) writeOutput(json, JSON.stringify(matrixDocument(file, rows, options, { maxCycles, jobs, status }), null, 2) + "\n", io);
  for (const r of bad) io.err(`previrt: error: ${r.backend} ${describeProblem(r.verdict, rows[0].backend)}\n`);
  return status;
};

/** `--cpus`, `--quantum`, `--pcpus` of a command that runs several back ends: checked (one-line errors), only those given. */
export function smpOptions(options: Record<string, unknown>): CpuOptions {
  const o: CpuOptions = {};
  for (const k of ["cpus", "quantum", "pcpus"] as const) if (options[k] !== undefined) o[k] = options[k] as number;
  checkCpuValues(o);
  return o;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Below this much wall time a run is mostly set-up (RAM, rewriting): its speed says nothing. */
export const MIN_SECONDS_FOR_MIPS = 0.05;

/** Emulated instructions per host second, or "-" for runs too short to measure. */
export function hostMips(r: Pick<MatrixRow, "stats" | "seconds">): string {
  return r.seconds < MIN_SECONDS_FOR_MIPS ? "-" : (r.stats.instructions / r.seconds / 1e6).toFixed(1);
}

export function formatMatrix(rows: readonly MatrixRow[]): string {
  const ref = rows[0];
  const header = ["back end", "verdict", "ending", "cycles", "vs " + ref.backend, "exits", "hcalls", "IPCs", "traps", "sites i/c/s", "host MIPS"];
  const body = rows.map((r) => {
    const e = r.stats.events;
    const overhead = r === ref ? "1.00×" : `${cyclesOverReference(r.stats.cycles, ref.stats.cycles).toFixed(2)}×`;
    return [
      r.backend,
      describeVerdict(r.verdict),
      r.result.kind === "poweroff" ? `exit ${r.result.exitCode}` : r.result.reason,
      fmt(r.stats.cycles),
      overhead,
      fmt(e.vmExit ?? 0),
      fmt(e.hypercall ?? 0),
      fmt(e.ipc ?? 0),
      fmt(e.exceptionEntry ?? 0),
      `${r.sites.inline}/${r.sites.call}/${r.sites.stub}`,
      hostMips(r),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([3, 4, 5, 6, 7, 8, 10]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n") + "\n";
}
