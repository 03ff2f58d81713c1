// The environment of `previrt bench`'s cells (run-bench.ts BenchEnvironment):
// the bundled kernel's builds at a scale and the io workload's disk. Each
// worker thread of a parallel bench loads this module by its URL
// (BENCH_ENVIRONMENT) and calls benchEnvironment there, so it is kept apart
// from commands/bench.ts: a worker then loads the kernel recipe and nothing
// of the command's reports, options or the other benches (issue 16: every
// worker pays for what it loads).

import { runnableModule, workersAvailable, WorkerPool } from "../../hypervisors/parallel/pool.js";
import type { KernelBinary } from "./configurations.js";
import type { BenchEnvironment } from "./run-bench.js";
import type { Workload } from "../workloads.js";
import type { CompiledKernel } from "../kernel-recipe.js";

/** This module's URL, for a BenchEnvironmentSource (the .ts file under vitest, the .js file when built). */
export const BENCH_ENVIRONMENT = import.meta.url;

/**
 * Starts a parallel bench's `jobs` worker threads before the main thread
 * loads the bench itself (run-bench.ts, and with it every back end), each
 * with a first task that loads the modules its builds and cells use
 * (benchPreload): a worker takes a third of a second or more to load them,
 * which now overlaps the main thread's own loading instead of following it
 * (issue 16). Undefined when the workers cannot run here (no compiled
 * dist/): runBenchJobs then runs serially. The pool goes to runBenchJobs
 * (its `pool` option), which closes it.
 */
export function startBenchWorkers(jobs: number): WorkerPool | undefined {
  if (jobs <= 1 || !runnableModule(BENCH_ENVIRONMENT) || !workersAvailable(BENCH_ENVIRONMENT)) return undefined;
  const pool = new WorkerPool(jobs);
  // A module that fails to load fails the tasks that need it, with their own error; this one only loads early.
  for (let worker = 0; worker < jobs; worker++) pool.submit({ module: BENCH_ENVIRONMENT, name: "benchPreload", arg: undefined }, { worker }).catch(() => undefined);
  return pool;
}

/** A bench worker's first task (startBenchWorkers): loads the cells' module and the kernel recipe, so that the tasks find them loaded. */
export async function benchPreload(): Promise<void> {
  await Promise.all([import("./run-bench.js"), import("../bundled-kernel.js")]);
}

/**
 * The kernel builds and disk of a bench at `scale`, called in each thread
 * that builds or runs cells (see runBenchJobs). The kernel recipe, and with it
 * the compiler, is loaded here rather than at this module's load, so the main thread
 * of a parallel bench, which only hands out cells, does not load it.
 */
export async function benchEnvironment(scale: number): Promise<BenchEnvironment> {
  const { adoptCompiledKernel, adoptUserPrograms, buildKernel, compileKernel, kernelDiskBytes, userProgramsSource } = await import("../bundled-kernel.js");
  const paravirtOf = (binary: KernelBinary) => (binary === "paravirt-xen" ? "xen" : undefined);
  return {
    // The user programs every kernel embeds, built by one worker for all; another compiles the kernels meanwhile.
    shared: { make: () => userProgramsSource().text, adopt: (text) => adoptUserPrograms(text as string) },
    prepare: (binary: KernelBinary) => compileKernel({ paravirt: paravirtOf(binary) }),
    adoptPrepared: (binary: KernelBinary, kernel: unknown) => void adoptCompiledKernel(kernel as CompiledKernel, { paravirt: paravirtOf(binary) }),
    build: (workload: string, binary: KernelBinary) =>
      buildKernel({
        workload: workload as Workload,
        scale,
        annotate: binary !== "plain",
        paravirt: binary === "paravirt-xen" ? "xen" : undefined,
      }).image,
    disk: () => new Uint8Array(kernelDiskBytes(scale)),
  };
}
