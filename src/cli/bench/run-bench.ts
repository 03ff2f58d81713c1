// Runs the benchmark matrix: every workload × configuration, each cell a
// real run of the kernel on the emulated machine. Simulated cycles and
// counted events are deterministic (one run gives them); host time is not,
// so each cell runs `repeats` times and the median wall time is kept.
//
// Consumes: a kernel builder (workload × binary kind → ElfImage), the
// configurations, the cost model. Produces: BenchCell values — the data the
// table, the JSON and the HTML report are all made from.
//
// runBenchJobs() spreads the cells over worker threads (`--jobs`,
// hypervisors/parallel/pool.ts): each image is built once (benchImage), each
// cell is one task (benchCell) handed out when its image is ready — the last
// workload's cells one task per run, merged afterwards (mergeParts), so that
// the workers finish together — and the baseline comparisons are made
// afterwards in cell order, so the result is that of a serial run except for
// host times.
//
// Host work done once per process, not per cell or run (issue 16): the
// kernel is compiled once per para-virtualization (both on one worker, which
// hands the native one to the worker that builds the user programs meanwhile)
// and assembled once per
// kind of image — plain, annotated, para-virtualized: the other workloads'
// images are that one with their defines' words written (kernel-recipe.ts
// assembledKernel) — and each run's RAM buffer is recycled, zeroed,
// for the next run (memory.ts recycle) instead of a fresh 64 MiB that made
// V8 collect garbage at every run. Every run still builds its machine,
// rewrites and loads the image and runs the guest from reset.

import { DiagnosticError, UserError } from "../../guest-isa/diagnostics.js";
import type { ElfImage } from "../../guest-isa/elf-types.js";
import { backends, runElf } from "../../hypervisors/index.js";
import type { Engine } from "../../machine/machine.js";
import { compareRuns } from "../../hypervisors/matrix.js";
import { runnableModule, WorkerPool, workersAvailable } from "../../hypervisors/parallel/pool.js";
import { cycleBreakdown, defaultCostModel, type CostEvent, type CostModel } from "../../machine/cost-model.js";
import type { RunResult } from "../../machine/diagnosis.js";
import type { BetweenSlices } from "../../machine/run-image.js";
import { drain, drainInterruptible, Interrupted } from "../interrupt.js";
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
  /** The in-place VMM's protection domain on xen and l4 (default on; docs/protection.md). */
  protect?: boolean;
  /** CPUs, interleaving quantum and physical CPUs of every run (`--cpus`, `--quantum`, `--pcpus`). */
  smp?: SmpSettings;
}

/** The multiprocessor options of a bench (absent: one CPU). */
export interface SmpSettings {
  cpus?: number;
  quantum?: number;
  pcpus?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** What one cell's runs produced, before it is compared with its workload's baseline. */
export interface CellRun {
  cell: BenchCell;
  /** Console output and ending of the last run (for the baseline comparison); undefined when the cell did not run. */
  run?: { console: string; result: RunResult };
  /** Host wall seconds of each run (cell.wallSeconds is their median): a cell run in parts is merged from them (mergeParts). */
  walls?: number[];
}

interface CellSettings {
  costModel: CostModel;
  repeats: number;
  maxCycles?: number;
  disk?: () => Uint8Array | undefined;
  engine?: Engine;
  /** The in-place VMM's protection domain on xen and l4 (default on; docs/protection.md). */
  protect?: boolean;
  smp?: SmpSettings;
}

/** Runs one cell (`repeats` times) on an image (or records why it cannot run). The same code serially and in a worker. */
export function runCell(workload: string, config: BenchConfiguration, image: ElfImage | Error, settings: CellSettings): CellRun {
  const { costModel, repeats } = settings;
  const cell = blankCell(workload, config);
  if (!backends.has(config.backend)) {
    cell.note = `back end '${config.backend}' is not available`;
    return { cell };
  }
  if (image instanceof Error) {
    cell.note = `build failed: ${image.message.split("\n")[0]}`;
    return { cell };
  }
  const walls: number[] = [];
  let out: ReturnType<typeof runElf> | undefined;
  try {
    for (let i = 0; i < repeats; i++) {
      const t0 = process.hrtime.bigint();
      out = runElf(image, { backend: config.backend, costModel, maxCycles: settings.maxCycles, disk: settings.disk?.(), engine: settings.engine, ...settings.smp, protect: settings.protect });
      walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
      // Only the outcome's data is kept (stats, console, result): the next run takes this run's RAM, zeroed.
      out.machine.memory.recycle();
    }
  } catch (e) {
    // A back end that refuses this binary (e.g. a para-virtualized one) is a skipped cell; a bug is not.
    if (!(e instanceof UserError)) throw e;
    cell.note = e.message.split("\n")[0];
    return { cell };
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
  return { cell, run: { console: run.console, result: run.result }, walls };
}

/**
 * One cell from the CellRuns of its runs made as separate tasks (runBenchJobs
 * splits the last workload's cells so that both workers stay busy to the
 * end): the first part's simulated figures — every run of a cell is the same
 * guest on the same image, so they are identical, and this checks it — with
 * the median wall time of all the runs.
 */
export function mergeParts(parts: readonly CellRun[]): CellRun {
  const [first] = parts;
  if (parts.length === 1 || !first.run) return first;
  const walls = parts.flatMap((p) => p.walls ?? []);
  for (const p of parts.slice(1)) {
    const same = p.run && p.run.console === first.run.console && JSON.stringify(simulatedOf(p.cell)) === JSON.stringify(simulatedOf(first.cell));
    if (!same) throw new Error(`bench: the runs of ${first.cell.workload} on ${first.cell.config} differ (a run is not a function of its image)`);
  }
  const cell = { ...first.cell, wallSeconds: median(walls) };
  cell.hostMips = cell.instructions / Math.max(1e-9, cell.wallSeconds) / 1e6;
  return { cell, run: first.run, walls };
}

/**
 * Into how many tasks runBenchJobs splits a cell of `workload` (each task
 * runs `repeats / parts` of its runs): the last workload's cells one run per
 * task, the others whole.
 */
export function cellParts(workload: string, workloads: readonly string[], repeats: number): number {
  return workload === workloads[workloads.length - 1] ? repeats : 1;
}

/**
 * The worker a back end's cells would rather run on (WorkerPool's `prefer`):
 * each worker thread warms V8 up to the code its cells run — the interpreter
 * meeting each monitor's exits, the monitor's own code — so the back ends
 * whose monitors share code (xen and l4: the wedge monitor) go to one worker
 * and the rest (bare; hvm and trap: shadow paging) to the other. A worker
 * with none of its own left takes the other's, so none idles.
 */
export function preferredWorker(backend: string): number {
  return backend === "xen" || backend === "l4" ? 1 : 0;
}

/** A cell's simulated figures (all but its host times). */
const simulatedOf = ({ wallSeconds: _w, hostMips: _m, ...rest }: BenchCell) => rest;

/** Compares each cell that ran with its workload's reference (bare-plain, or the first configuration when bare-plain was not asked for), in order. */
function compareWithBaselines(runs: readonly CellRun[], configurations: readonly BenchConfiguration[]): BenchCell[] {
  let baseline: { console: string; result: RunResult; cycles: number } | undefined;
  return runs.map(({ cell, run }, i) => {
    if (i % configurations.length === 0) baseline = undefined; // a new workload
    if (!run) return cell;
    const isReference = cell.config === BASELINE || (!baseline && !configurations.some((c) => c.id === BASELINE));
    if (isReference) {
      baseline = { console: run.console, result: run.result, cycles: cell.cycles };
      if (cell.status !== "failed") cell.status = "ok";
    } else if (baseline) {
      const v = compareRuns(baseline, run);
      if (cell.status !== "failed") cell.status = v.kind === "same" ? "ok" : "diverged";
      if (v.kind === "diverged") cell.note = `diverged at console line ${v.line}`;
      if (v.kind === "unfinished") cell.note = v.who === "run" ? `unfinished (${v.message}), the same output so far` : "the reference run was unfinished";
    } else if (cell.status !== "failed") {
      cell.status = "ok";
      cell.note = "no baseline run to compare with";
    }
    cell.overhead = baseline ? cell.cycles / baseline.cycles : NaN;
    return cell;
  });
}

/** Builds each image once (a build the toolchain refuses is recorded as the cell's error). */
function imageCache(build: KernelBuilder): (workload: string, binary: KernelBinary) => ElfImage | Error {
  const images = new Map<string, ElfImage | Error>();
  return (workload, binary) => {
    const key = `${workload}/${binary}`;
    if (!images.has(key)) {
      try {
        images.set(key, build(workload, binary));
      } catch (e) {
        // A build the toolchain refuses (e.g. no para-virtualized variant) is a skipped cell; a bug is not.
        if (!(e instanceof UserError || e instanceof DiagnosticError)) throw e;
        images.set(key, e);
      }
    }
    return images.get(key)!;
  };
}

export function runBench(options: RunBenchOptions): BenchCell[] {
  return drain(benchSteps(options));
}

/**
 * runBench in this thread with the event loop let in between cells: before
 * the first (a Ctrl-C while the bench was loading) and after each, `between`
 * (the user's Ctrl-C, cli/interrupt.ts); a reason from it ends the bench
 * there, rejecting with Interrupted (no report).
 */
async function runBenchInterruptible(options: RunBenchOptions, between: BetweenSlices): Promise<BenchCell[]> {
  const early = await between();
  if (early !== undefined) throw new Interrupted(early, 0);
  const outcome = await drainInterruptible(benchSteps(options), between);
  if ("interrupted" in outcome) throw new Interrupted(outcome.interrupted, outcome.done);
  return outcome.result;
}

/** The table's cells run one at a time, in order (a step each), each reported to `progress` as it starts. */
function* benchSteps(options: RunBenchOptions): Generator<void, BenchCell[]> {
  const settings = { costModel: options.costModel ?? defaultCostModel(), repeats: Math.max(1, options.repeats ?? 3), maxCycles: options.maxCycles, disk: options.disk, engine: options.engine, smp: options.smp, protect: options.protect };
  const total = options.workloads.length * options.configurations.length;
  const imageFor = imageCache(options.build);
  const runs: CellRun[] = [];
  for (const workload of options.workloads) {
    for (const config of options.configurations) {
      options.progress?.(runs.length, total, `${workload} on ${config.label}`);
      const image = backends.has(config.backend) ? imageFor(workload, config.binary) : new Error("unused");
      runs.push(runCell(workload, config, image, settings));
      yield;
    }
  }
  options.progress?.(total, total, "done");
  return compareWithBaselines(runs, options.configurations);
}

/**
 * Where a worker thread gets the kernel builder and disk from: module URL and
 * export name of a factory `(arg) => BenchEnvironment` (functions cannot be
 * sent to a worker; the factory is called there).
 */
export interface BenchEnvironmentSource {
  module: string;
  name: string;
  arg: unknown;
}

export interface BenchEnvironment {
  build: KernelBuilder;
  disk?: () => Uint8Array | undefined;
  /**
   * A part every build needs that one thread can make for all (the kernel's
   * embedded user programs): `make()` builds it (a structured-cloneable
   * value), `adopt(value)` takes another thread's as this thread's own.
   */
  shared?: { make(): unknown; adopt(value: unknown): void };
  /**
   * Work for the builds of `binary` that needs no shared part (the kernel's
   * compile), done ahead of them; it returns that work (a structured-cloneable
   * value), which `adoptPrepared` takes in another thread as that thread's own.
   */
  prepare?: (binary: KernelBinary) => unknown;
  adoptPrepared?: (binary: KernelBinary, value: unknown) => void;
}

/** A BenchEnvironmentSource's factory: called once per thread, it may load what it needs first. */
type EnvironmentFactory = (arg: unknown) => BenchEnvironment | Promise<BenchEnvironment>;

export interface RunBenchJobsOptions extends Omit<RunBenchOptions, "build" | "disk"> {
  environment: BenchEnvironmentSource;
  /** Worker threads; 1 runs serially in this thread. */
  jobs: number;
  /**
   * The `jobs` worker threads, already started (environment.ts
   * startBenchWorkers: they load their modules while this thread loads
   * its own); default: started here. Closed at the end either way.
   */
  pool?: WorkerPool;
  /**
   * Rough relative host time of a cell's runs, for the order only: among the
   * cells whose images are built, the costliest is handed out first, and the
   * images are built costliest first. Default: all equal, the table order.
   */
  cost?: (workload: string, config: BenchConfiguration) => number;
  /**
   * Serially (one job), awaited before the first cell and after each: a
   * reason ends the bench there, rejecting with Interrupted (the user's
   * Ctrl-C: the cells run in this thread, where nothing else could take the
   * signal). With worker threads this thread waits on them and the caller
   * races its own signal.
   */
  between?: BetweenSlices;
}

interface BenchImageArg {
  environment: BenchEnvironmentSource;
  workload: string;
  binary: KernelBinary;
  /** The environment's shared part as another thread made it (BenchEnvironment.shared), if it has one. */
  shared?: unknown;
  /** The binary's prepared work (BenchEnvironment.prepare) as another thread did it, if it did. */
  prepared?: unknown;
}

interface BenchPrepareArg {
  environment: BenchEnvironmentSource;
  binary: KernelBinary;
  /** Return the prepared work, for another thread's builds (else it stays in this thread). */
  handOver?: boolean;
}

interface BenchCellArg {
  environment: BenchEnvironmentSource;
  workload: string;
  config: BenchConfiguration;
  /** The image, or the message of the build's refusal. */
  image: ElfImage | { buildError: string };
  costModel: CostModel;
  repeats: number;
  maxCycles?: number;
  engine?: Engine;
  /** The in-place VMM's protection domain on xen and l4 (default on; docs/protection.md). */
  protect?: boolean;
  smp?: SmpSettings;
}

/** Per worker thread: each environment's factory result. */
const workerEnvironments = new Map<string, Promise<BenchEnvironment>>();

function loadEnvironment(source: BenchEnvironmentSource): Promise<BenchEnvironment> {
  const key = JSON.stringify(source);
  let loaded = workerEnvironments.get(key);
  if (!loaded) {
    loaded = import(source.module).then((mod: Record<string, EnvironmentFactory>) => mod[source.name](source.arg));
    workerEnvironments.set(key, loaded);
  }
  return loaded;
}

/** A build step the toolchain refuses is left for the image builds, which record the refusal as their cells' note. */
function refusedBuild(e: unknown): undefined {
  if (!(e instanceof UserError || e instanceof DiagnosticError)) throw e;
  return undefined;
}

/** The task of a bench worker that makes the environment's shared part (undefined when it has none, or its build was refused). */
export async function benchShared(arg: { environment: BenchEnvironmentSource }): Promise<unknown> {
  const env = await loadEnvironment(arg.environment);
  try {
    return env.shared?.make();
  } catch (e) {
    return refusedBuild(e);
  }
}

/** The task of a bench worker that prepares the builds of one binary (BenchEnvironment.prepare); with `handOver`, returns the work for another thread. */
export async function benchPrepare(arg: BenchPrepareArg): Promise<unknown> {
  const env = await loadEnvironment(arg.environment);
  try {
    const prepared = env.prepare?.(arg.binary);
    return arg.handOver && env.adoptPrepared ? prepared : undefined;
  } catch (e) {
    return refusedBuild(e);
  }
}

/** The task of a bench worker that builds one image (a build the toolchain refuses comes back as its message). */
export async function benchImage(arg: BenchImageArg): Promise<ElfImage | { buildError: string }> {
  const env = await loadEnvironment(arg.environment);
  if (arg.shared !== undefined) env.shared?.adopt(arg.shared);
  if (arg.prepared !== undefined) env.adoptPrepared?.(arg.binary, arg.prepared);
  const image = imageCache(env.build)(arg.workload, arg.binary);
  return image instanceof Error ? { buildError: image.message } : image;
}

/** The task of a bench worker that runs one cell. */
export async function benchCell(arg: BenchCellArg): Promise<CellRun> {
  const env = await loadEnvironment(arg.environment);
  const image = "buildError" in arg.image ? new Error(arg.image.buildError) : arg.image;
  return runCell(arg.workload, arg.config, image, { costModel: arg.costModel, repeats: arg.repeats, maxCycles: arg.maxCycles, disk: env.disk, engine: arg.engine, smp: arg.smp, protect: arg.protect });
}

/**
 * The kernel builds that share one compile of its sources: kernel-recipe.ts
 * compiles the kernel once per para-virtualization and process, and the plain
 * and annotated images only differ after it (annotation is streamed into the
 * assembler). runBenchJobs builds each group on one worker, and has each
 * group's compile done once (on the first worker's behalf by the second).
 */
const compileGroup = (binary: KernelBinary): string => (binary === "paravirt-xen" ? "paravirt-xen" : "native");

/**
 * runBench with the cells spread over `jobs` worker threads. The cells,
 * their order and every simulated figure are those of a serial run; only host
 * times differ. How the work is spread (issue 16): each image is built once,
 * the images of one compile group (compileGroup) on one worker, so each kernel
 * is compiled once in all; the part of the builds every group needs (the
 * environment's `shared`: the kernel's user programs) is made once, by the
 * first group's worker; meanwhile the second worker compiles the first
 * group's kernel and hands it over (`prepare`, `adoptPrepared`), then its
 * own (with the compiler warm and the files parsed: compiler/parse.ts), and
 * any further worker its own; the others then take the shared part. A cell
 * is handed out as soon as its image is
 * built (in table order, or costliest first with `cost`), to whichever
 * worker is free, so runs start while the other images are still being
 * built. Progress is reported as cells complete: `[done/total]` and the first
 * cell not yet finished.
 */
export async function runBenchJobs(options: RunBenchJobsOptions): Promise<BenchCell[]> {
  const costModel = options.costModel ?? defaultCostModel();
  const repeats = Math.max(1, options.repeats ?? 3);
  const module = runnableModule(options.environment.module);
  if (options.jobs <= 1 || !module || !workersAvailable(import.meta.url)) {
    await options.pool?.close();
    const mod = (await import(options.environment.module)) as Record<string, EnvironmentFactory>;
    const env = await mod[options.environment.name](options.environment.arg);
    const serial = { ...options, costModel, repeats, build: env.build, disk: env.disk };
    return options.between ? runBenchInterruptible(serial, options.between) : runBench(serial);
  }
  const environment = { ...options.environment, module };
  const cells: { workload: string; config: BenchConfiguration; label: string; cost: number }[] = [];
  for (const workload of options.workloads) {
    for (const config of options.configurations) cells.push({ workload, config, label: `${workload} on ${config.label}`, cost: options.cost?.(workload, config) ?? 0 });
  }
  const total = cells.length;
  if (total) options.progress?.(0, total, cells[0].label);
  // The cells of each image (cells whose back end is missing need none), and the images of each compile group.
  const byImage = new Map<string, number[]>();
  const unbuilt: number[] = [];
  cells.forEach((c, i) => {
    if (!backends.has(c.config.backend)) return unbuilt.push(i);
    const key = `${c.workload}/${c.config.binary}`;
    byImage.set(key, [...(byImage.get(key) ?? []), i]);
  });
  const weight = (indices: number[]) => indices.reduce((sum, i) => sum + cells[i].cost, 0);
  const groups = new Map<string, string[]>();
  for (const [key, indices] of byImage) {
    const group = compileGroup(cells[indices[0]].config.binary);
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }
  // Heaviest group on the first worker, heaviest image first within a group (a stable sort keeps the cell order among equals).
  const ordered = [...groups.values()].map((keys) => keys.sort((a, b) => weight(byImage.get(b)!) - weight(byImage.get(a)!)));
  ordered.sort((a, b) => weight(b.flatMap((k) => byImage.get(k)!)) - weight(a.flatMap((k) => byImage.get(k)!)));

  const pool = options.pool ?? new WorkerPool(options.jobs);
  const runs = new Array<CellRun>(total);
  let done = 0;
  let firstOpen = 0;
  // The last workload's cells (the longest, mixed, in the default table) go out one run per task, so that at
  // the end the workers share the last cell's runs instead of one idling while the other runs all of them.
  const runCellTask = (i: number, image: ElfImage | { buildError: string }) => {
    const { workload, config, cost } = cells[i];
    const parts = "buildError" in image ? 1 : cellParts(workload, options.workloads, repeats);
    const arg: BenchCellArg = { environment, workload, config, image, costModel, repeats: repeats / parts, maxCycles: options.maxCycles, engine: options.engine, smp: options.smp, protect: options.protect };
    const prefer = preferredWorker(config.backend);
    const submitted = Array.from({ length: parts }, () => pool.submit<BenchCellArg, CellRun>({ module: import.meta.url, name: "benchCell", arg }, { priority: cost, prefer }));
    return Promise.all(submitted).then((results) => {
      runs[i] = mergeParts(results);
      done++;
      while (firstOpen < total && runs[firstOpen]) firstOpen++;
      if (firstOpen < total) options.progress?.(done, total, cells[firstOpen].label);
    });
  };
  // Longest first among cells that become ready together (a stable sort: cell order among equals).
  const longestFirst = (indices: number[]) => [...indices].sort((a, b) => cells[b].cost - cells[a].cost);
  try {
    const tasks: Promise<unknown>[] = longestFirst(unbuilt).map((i) => runCellTask(i, { buildError: "unused" }));
    // The shared part, first on worker 0 (whose builds then use it); the other workers compile meanwhile.
    const shared = ordered.length ? pool.submit<{ environment: BenchEnvironmentSource }, unknown>({ module: import.meta.url, name: "benchShared", arg: { environment } }, { worker: 0 }) : undefined;
    if (shared) tasks.push(shared);
    ordered.forEach((keys, group) => {
      const worker = group % pool.jobs;
      // Each image, then its cells; resolves when all of them have run.
      const buildImages = (sharedPart: unknown, prepared?: unknown) =>
        Promise.all(
          keys.map((key, k) => {
            const indices = byImage.get(key)!;
            const { workload, config } = cells[indices[0]];
            // The prepared work goes with the first build only: the worker runs its own tasks in order, and keeps it.
            const arg: BenchImageArg = { environment, workload, binary: config.binary, shared: sharedPart, prepared: k === 0 ? prepared : undefined };
            const built = pool.submit<BenchImageArg, ElfImage | { buildError: string }>({ module: import.meta.url, name: "benchImage", arg }, { worker });
            return built.then((image) => Promise.all(longestFirst(indices).map((i) => runCellTask(i, image))));
          }),
        );
      const binary = cells[byImage.get(keys[0])![0]].config.binary;
      if (worker === 0) {
        // Its preparation on the next worker, handed over, while this one makes the shared part.
        const prepared = pool.submit<BenchPrepareArg, unknown>({ module: import.meta.url, name: "benchPrepare", arg: { environment, binary, handOver: true } }, { worker: 1 });
        return tasks.push(prepared.then((p) => buildImages(undefined, p)));
      }
      tasks.push(pool.submit<BenchPrepareArg, unknown>({ module: import.meta.url, name: "benchPrepare", arg: { environment, binary } }, { worker }));
      // Its builds are submitted once the shared part is made, so that they then wait on nothing.
      tasks.push(shared!.then(buildImages));
    });
    await Promise.all(tasks);
  } finally {
    await pool.close();
  }
  options.progress?.(total, total, "done");
  return compareWithBaselines(runs, options.configurations);
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

/** Splits a run's cycles (machine/cost-model.ts, shared with the playground). */
export const breakdown = cycleBreakdown;
