// Runs the benchmark matrix: every workload × configuration, each cell a
// real run of the kernel on the emulated machine. Simulated cycles and
// counted events are deterministic (one run gives them); host time is not,
// so each cell runs `repeats` times and the median wall time is kept.
//
// Consumes: a kernel builder (workload × binary kind → ElfImage), the
// configurations, the cost model. Produces: BenchCell values — the data the
// table, the JSON and the HTML report are all made from.

import { DiagnosticError, UserError } from "../../guest-isa/diagnostics.js";
import type { ElfImage } from "../../guest-isa/elf-types.js";
import { backends, runElf } from "../../hypervisors/index.js";
import type { Engine } from "../../machine/machine.js";
import { compareRuns } from "../../hypervisors/matrix.js";
import { COST_EVENTS, defaultCostModel, type CostEvent, type CostModel } from "../../machine/cost-model.js";
import type { RunResult } from "../../machine/diagnosis.js";
import type { Strategy } from "../../rewriter/index.js";
import { BASELINE, type BenchConfiguration, type KernelBinary } from "./configurations.js";

export type KernelBuilder = (workload: string, binary: KernelBinary) => ElfImage;

export interface BenchCell {
  workload: string;
  config: string;
  backend: string;
  binary: KernelBinary;
  /** ok: ran and matched the baseline's output; diverged: ran, different output; failed: did not power off; skipped: back end or build not available. */
  status: "ok" | "diverged" | "failed" | "skipped";
  note?: string;
  cycles: number;
  instructions: number;
  /** cycles / the baseline's cycles for the same workload. */
  overhead: number;
  /** Cycles by where they went: "instructions", "idle", and each charged event. */
  breakdown: Record<string, number>;
  /** Counted events (how many), by cost-model name. */
  events: Partial<Record<CostEvent, number>>;
  /** The monitor's own counts (exits by reason, batches, …). */
  counts: Record<string, number>;
  sites: Record<Strategy, number>;
  tlbFlushes: number;
  /** Page-table updates per mmu_update hypercall, where the back end batches them. */
  updatesPerBatch?: number;
  wallSeconds: number;
  hostMips: number;
}

export interface BenchProgress {
  (done: number, total: number, label: string): void;
}

export interface RunBenchOptions {
  workloads: readonly string[];
  configurations: readonly BenchConfiguration[];
  build: KernelBuilder;
  costModel?: CostModel;
  repeats?: number;
  maxCycles?: number;
  /** A fresh disk image for each run. */
  disk?: () => Uint8Array | undefined;
  progress?: BenchProgress;
  /** The machine's engine (same results either way; default: PREVIRT_ENGINE, else jit). */
  engine?: Engine;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export function runBench(options: RunBenchOptions): BenchCell[] {
  const costModel = options.costModel ?? defaultCostModel();
  const repeats = Math.max(1, options.repeats ?? 3);
  const total = options.workloads.length * options.configurations.length;
  const cells: BenchCell[] = [];
  const images = new Map<string, ElfImage | Error>();
  const imageFor = (workload: string, binary: KernelBinary) => {
    const key = `${workload}/${binary}`;
    if (!images.has(key)) {
      try {
        images.set(key, options.build(workload, binary));
      } catch (e) {
        // A build the toolchain refuses (e.g. no para-virtualized variant) is a skipped cell; a bug is not.
        if (!(e instanceof UserError || e instanceof DiagnosticError)) throw e;
        images.set(key, e);
      }
    }
    return images.get(key)!;
  };

  for (const workload of options.workloads) {
    let baseline: { console: string; result: RunResult; cycles: number } | undefined;
    for (const config of options.configurations) {
      options.progress?.(cells.length, total, `${workload} on ${config.label}`);
      const cell = blankCell(workload, config);
      cells.push(cell);
      if (!backends.has(config.backend)) {
        cell.note = `back end '${config.backend}' is not available`;
        continue;
      }
      const image = imageFor(workload, config.binary);
      if (image instanceof Error) {
        cell.note = `build failed: ${image.message.split("\n")[0]}`;
        continue;
      }
      const walls: number[] = [];
      let out: ReturnType<typeof runElf> | undefined;
      try {
        for (let i = 0; i < repeats; i++) {
          const t0 = process.hrtime.bigint();
          out = runElf(image, { backend: config.backend, costModel, maxCycles: options.maxCycles, disk: options.disk?.(), engine: options.engine });
          walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
      } catch (e) {
        // A back end that refuses this binary (e.g. a para-virtualized one) is a skipped cell; a bug is not.
        if (!(e instanceof UserError)) throw e;
        cell.note = e.message.split("\n")[0];
        continue;
      }
      const run = out!;
      const s = run.stats;
      cell.cycles = s.cycles;
      cell.instructions = s.instructions;
      cell.events = s.events;
      cell.counts = s.counts;
      cell.sites = { ...run.rewrite.counts };
      cell.tlbFlushes = s.tlbFlushes;
      cell.wallSeconds = median(walls);
      cell.hostMips = s.instructions / Math.max(1e-9, cell.wallSeconds) / 1e6;
      cell.breakdown = breakdown(s.cycles, s.events, s.counts, costModel);
      const entries = s.counts["xen:mmu_update.entries"];
      const batches = s.counts["xen:mmu_update.batches"];
      if (entries !== undefined && batches) cell.updatesPerBatch = entries / batches;
      if (run.result.kind !== "poweroff" || run.result.exitCode !== 0) {
        cell.status = "failed";
        cell.note = run.result.kind === "poweroff" ? `exit ${run.result.exitCode}` : `${run.result.reason}: ${run.result.message}`;
      }
      // The reference: bare-plain, or the first configuration when bare-plain was not asked for.
      const isReference = config.id === BASELINE || (!baseline && !options.configurations.some((c) => c.id === BASELINE));
      if (isReference) {
        baseline = { console: run.console, result: run.result, cycles: s.cycles };
        if (cell.status !== "failed") cell.status = "ok";
      } else if (baseline) {
        const v = compareRuns(baseline, run);
        if (cell.status !== "failed") cell.status = v.kind === "same" ? "ok" : "diverged";
        if (v.kind === "diverged") cell.note = `diverged at console line ${v.line}`;
      } else if (cell.status !== "failed") {
        cell.status = "ok";
        cell.note = "no baseline run to compare with";
      }
      cell.overhead = baseline ? s.cycles / baseline.cycles : NaN;
    }
  }
  options.progress?.(total, total, "done");
  return cells;
}

function blankCell(workload: string, config: BenchConfiguration): BenchCell {
  return {
    workload,
    config: config.id,
    backend: config.backend,
    binary: config.binary,
    status: "skipped",
    cycles: NaN,
    instructions: NaN,
    overhead: NaN,
    breakdown: {},
    events: {},
    counts: {},
    sites: { native: 0, inline: 0, call: 0, stub: 0 },
    tlbFlushes: 0,
    wallSeconds: NaN,
    hostMips: NaN,
  };
}

/** Splits a run's cycles: each event's count × its price, idle time, and the rest (executed instructions). */
export function breakdown(cycles: number, events: Partial<Record<CostEvent, number>>, counts: Record<string, number>, model: CostModel): Record<string, number> {
  const out: Record<string, number> = {};
  let rest = cycles;
  for (const e of COST_EVENTS) {
    const n = events[e] ?? 0;
    if (!n) continue;
    out[e] = n * model[e];
    rest -= out[e];
  }
  const idle = counts.idleCycles ?? 0;
  if (idle) {
    out.idle = idle;
    rest -= idle;
  }
  out.instructions = rest;
  return out;
}
