// `previrt bench [--workloads …] [--hv …] [--json [FILE]] [--html FILE] [--cost-model FILE] [--scale N] [--repeats N]`
// (and `--smp`, `--drivers`: the benches of src/cli/bench/smp-bench.ts and driver-bench.ts):
// the papers' comparison, measured. Builds the bundled kernel for every
// workload (plain, annotated, para-virtualized for xen), runs every workload
// on every configuration (src/cli/bench/configurations.ts), prints the
// terminal report and writes the JSON and HTML reports when asked (`-`, or
// --json without a file: to stdout, and the terminal report then goes to stderr). Progress goes to
// stderr: one line redrawn in place when stderr is a terminal, plain lines
// otherwise (a log gets no escape codes). `--jobs N` (default: the number of
// cores) runs the cells in N worker threads; `--jobs 1` runs them serially
// here. The simulated figures do not depend on it. Ctrl-C ends it with one
// line (the cells done, no report), status 130: with worker threads at once,
// serially (and `--smp`, `--drivers`) after the run under way.

import { UserError } from "../../guest-isa/diagnostics.js";
import { defaultCostModel } from "../../machine/cost-model.js";
import type { CpuOptions } from "../../hypervisors/backend.js";
import type { Engine } from "../../machine/machine.js";
import { CONFIGURATIONS } from "../bench/configurations.js";
import { makeReport } from "../bench/report-data.js";
import { renderHtmlReport } from "../bench/report-html.js";
import { renderTextReport } from "../bench/report-text.js";
import { BENCH_ENVIRONMENT, startBenchWorkers } from "../bench/environment.js";
import type { BenchCell } from "../bench/run-bench.js";
import { WORKLOADS, type Workload } from "../workloads.js";
import { checkOutputs, readCostModel, writeOutput } from "../files.js";
import { jobsOption } from "../jobs-option.js";
import { jsonTarget } from "../json-option.js";
import { EXIT_STATUS } from "../../machine/diagnosis.js";
import { campaignOrInterrupt, Interrupted, reportInterrupted, stopOnSigint } from "../interrupt.js";
import type { CommandRunner } from "../main.js";
import type { CliIO } from "../io.js";

/**
 * Checks the report files before anything runs (checkOutputs) and says whether one of --json/--html goes to
 * standard output (`-`): at most one may, and then the terminal report goes to stderr.
 */
function reportsToStdout(options: Record<string, unknown>): boolean {
  checkOutputs([["--json", options.json], ["--html", options.html]], [options.costModel]);
  return options.json === "-" || options.html === "-";
}

/** The option as the user typed it (costModel: --cost-model). */
const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Prints the terminal report (to stderr when a report goes to stdout) and writes the JSON and HTML reports asked for. */
function emitReports(options: Record<string, unknown>, io: CliIO, toStdout: boolean, text: string, report: unknown, html: () => string): void {
  if (toStdout) io.err(text);
  else io.out(text);
  if (typeof options.json === "string") writeOutput(options.json, JSON.stringify(report, null, 2) + "\n", io);
  if (typeof options.html === "string") writeOutput(options.html, html(), io);
}

/** The progress of `bench --smp` and `--drivers`, a line per run; `total` keeps the count for an interrupted ending. */
function progressLines(io: CliIO): { progress: (done: number, total: number, label: string) => void; total: () => number } {
  let seen = 0;
  return {
    progress: (done, total, label) => {
      seen = total;
      io.err(`[${done}/${total}] ${done < total ? label : "done"}\n`);
    },
    total: () => seen,
  };
}

/** `bench --smp` (src/cli/bench/smp-bench.ts): the lock-holder preemption bench; --workloads, --hv, --scale, --json, --html apply. */
async function runSmp(options: Record<string, unknown>, io: CliIO): Promise<number> {
  const { renderSmpHtml, renderSmpText, smpBenchSteps } = await import("../bench/smp-bench.js");
  const toStdout = reportsToStdout(options);
  for (const k of ["cpus", "pcpus", "quantum", "repeats", "costModel"]) {
    if (options[k] !== undefined) throw new UserError(`bench --smp chooses its own CPUs (--cpus 4, --pcpus 4/2/1); ${flag(k)} does not apply`);
  }
  const scale = (options.scale as number | undefined) ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 1000) throw new UserError(`--scale must be an integer from 1 to 1000, not ${scale}`);
  const lines = progressLines(io);
  const steps = smpBenchSteps({ workloads: options.workloads as string[] | undefined, hv: options.hv as string[] | undefined, scale, progress: lines.progress });
  const report = await campaignOrInterrupt(steps, lines.total, io, { unit: "cells (no report)" });
  if (report === undefined) return EXIT_STATUS.interrupted;
  emitReports(options, io, toStdout, renderSmpText(report), report, () => renderSmpHtml(report));
  return report.rows.every((r) => r.matchesBare) ? 0 : 1;
}

/** `bench --drivers` (src/cli/bench/driver-bench.ts): local driver, driver VM, nvdisk emulated and passed through; --hv, --scale, --json, --html apply. */
async function runDrivers(options: Record<string, unknown>, io: CliIO): Promise<number> {
  const { renderDriverHtml, renderDriverText, driverBenchSteps } = await import("../bench/driver-bench.js");
  const toStdout = reportsToStdout(options);
  if (options.smp) throw new UserError("--drivers and --smp are separate benches: give one");
  if (options.protect === false) throw new UserError("bench --drivers measures the default configuration; --no-protect does not apply");
  for (const k of ["workloads", "cpus", "pcpus", "quantum", "repeats", "costModel", "jobs", "engine"]) {
    if (options[k] !== undefined) throw new UserError(`bench --drivers runs the io workload on one CPU with the default cost model; ${flag(k)} does not apply`);
  }
  // --scale N: the two scales are 1 and N (the cost per request is their difference).
  const top = (options.scale as number | undefined) ?? 4;
  if (!Number.isInteger(top) || top < 2 || top > 1000) throw new UserError(`--scale must be an integer from 2 to 1000 with --drivers (the scales are 1 and N), not ${top}`);
  const lines = progressLines(io);
  const steps = driverBenchSteps({ hv: options.hv as string[] | undefined, scales: [1, top], progress: lines.progress });
  const report = await campaignOrInterrupt(steps, lines.total, io, { unit: "runs (no report)" });
  if (report === undefined) return EXIT_STATUS.interrupted;
  emitReports(options, io, toStdout, renderDriverText(report), report, () => renderDriverHtml(report));
  // A missed goal is a result; a client that failed or printed something else is not.
  return report.allMatch ? 0 : 1;
}

/** The workloads the benchmark runs by default (the kernel's `faults` is a robustness test, not a benchmark). */
export const BENCH_WORKLOADS: readonly Workload[] = ["syscall", "ctxsw", "pagetable", "io", "compute", "mixed"];
/** Default workload size: large enough that boot does not dominate and host time is measurable, small enough for about a minute. */
export const BENCH_SCALE = 24;

export const run: CommandRunner = async (_args, options, io) => {
  options = { ...options, json: jsonTarget(options.json) }; // bare --json: stdout, as `-` (json-option.ts)
  if (options.drivers) return runDrivers(options, io);
  if (options.smp) return runSmp(options, io);
  const workloads = (options.workloads as string[] | undefined) ?? [...BENCH_WORKLOADS];
  for (const w of workloads) {
    if (!(WORKLOADS as readonly string[]).includes(w)) throw new UserError(`unknown workload '${w}' (known: ${WORKLOADS.join(", ")})`);
  }
  const wanted = options.hv as string[] | undefined;
  for (const id of wanted ?? []) {
    if (!CONFIGURATIONS.some((c) => c.id === id || c.backend === id)) {
      throw new UserError(`unknown configuration '${id}' (known: ${CONFIGURATIONS.map((c) => c.id).join(", ")}, or a back-end name)`);
    }
  }
  const configurations = wanted ? CONFIGURATIONS.filter((c) => wanted.includes(c.id) || wanted.includes(c.backend)) : CONFIGURATIONS;
  const costModelName = typeof options.costModel === "string" ? options.costModel : "default (docs/cost-model.md)";
  const costModel = typeof options.costModel === "string" ? readCostModel(options.costModel) : defaultCostModel();
  const scale = (options.scale as number | undefined) ?? BENCH_SCALE;
  if (!Number.isInteger(scale) || scale < 1 || scale > 1000) throw new UserError(`--scale must be an integer from 1 to 1000, not ${scale}`);
  const repeats = (options.repeats as number | undefined) ?? 3;
  // Each cell runs at least once whatever --repeats says: 0 would promise a report with no run behind it.
  if (repeats < 1 || repeats > 1000) throw new UserError(`--repeats must be an integer from 1 to 1000, not ${repeats}`);

  const toStdout = reportsToStdout(options);
  const progress = io.stderrIsTTY
    ? (done: number, total: number, label: string) => io.err(`\r\x1b[K[${done}/${total}] ${done < total ? label : "done"}${done < total ? "" : "\n"}`)
    : (done: number, total: number, label: string) => io.err(`[${done}/${total}] ${done < total ? label : "done"}\n`);

  const jobs = jobsOption(options.jobs);
  // The workers start loading now; this thread loads the bench (run-bench.ts: every back end) and the
  // --cpus checks (matrix.ts: the machine) meanwhile (issue 16).
  const pool = startBenchWorkers(jobs);
  // Ctrl-C ends the bench with one line (the cells done so far). With worker threads this thread waits on them
  // and takes the signal at once; serially the cells run in this thread, which lets it in after each cell.
  const sigint = stopOnSigint();
  let finished = 0;
  let cells: BenchCell[];
  let smp: CpuOptions;
  try {
    const [{ runBenchJobs }, { smpOptions }] = await Promise.all([import("../bench/run-bench.js"), import("./matrix.js")]);
    // Bad values are refused before anything runs; a back end that cannot run them is a skipped cell.
    smp = smpOptions(options);
    const running = runBenchJobs({
      workloads,
      configurations,
      environment: { module: BENCH_ENVIRONMENT, name: "benchEnvironment", arg: scale },
      jobs,
      pool,
      // No `cost`: the cells go out in table order (syscall first, mixed last). Longest first was
      // measured slower: V8 re-optimized the interpreter's exec more often (38 compiles against
      // 26–28) and the paired runs took 0.5–2.5 s more CPU than the few tenths of a second it saved
      // at the end (docs/speed-history.md "Measured speed", "The bench's own host work").
      costModel,
      repeats,
      maxCycles: 4_000_000_000,
      engine: options.engine as Engine | undefined,
      protect: options.protect !== false,
      smp,
      between: pool ? undefined : sigint.between,
      progress: (done, total, label) => {
        finished = done;
        progress(done, total, label);
      },
    });
    let first: BenchCell[] | string;
    if (pool) first = await Promise.race([running, sigint.signalled]);
    else {
      // Serially the cells run in this thread, which lets the signal in before each (runBenchJobs' between).
      try {
        first = await running;
      } catch (e) {
        if (!(e instanceof Interrupted)) throw e;
        [first, finished] = [e.reason, e.done];
      }
    }
    if (typeof first === "string") {
      running.catch(() => undefined); // rejected as the pool closes: nobody waits for it now
      await pool?.close();
      reportInterrupted(io, finished, workloads.length * configurations.length, "cells (no report)", true);
      return EXIT_STATUS.interrupted; // as run's (128 + SIGINT)
    }
    cells = first;
  } catch (e) {
    // Refused options: the workers started for nothing (runBenchJobs closes them in every other case).
    await pool?.close();
    throw e;
  } finally {
    sigint.dispose();
  }
  const report = makeReport({ cells, configurations, workloads, costModel, costModelName, smp });
  emitReports(options, io, toStdout, renderTextReport(report), report, () => renderHtmlReport(report));
  // A guest that diverges or fails on a back end is a result, shown in the report, not an error of the command.
  return 0;
};
