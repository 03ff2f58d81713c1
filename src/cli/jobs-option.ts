// `--jobs N` of `previrt matrix` and `previrt bench`: the number of worker
// threads (hypervisors/parallel/pool.ts). Its own module, light to load, so
// that `bench` can start its workers before it loads the back ends
// (bench/environment.ts startBenchWorkers; issue 16).

import { UserError } from "../guest-isa/diagnostics.js";
import { defaultJobs } from "../hypervisors/parallel/pool.js";

/** `--jobs N`: 1 or more worker threads; default one per core. */
export function jobsOption(value: unknown): number {
  if (value === undefined) return defaultJobs();
  const n = value as number;
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--jobs must be a positive integer, not ${n}`);
  return n;
}
