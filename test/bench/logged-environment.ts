// A bench environment for test/bench/jobs.test.ts, loaded in the pool's
// worker threads (from dist/, like every pool task): the bench's own
// (bench/environment.ts benchEnvironment) with each call of its build steps
// appended to a log file as "THREAD STEP DETAIL", so the test can see which
// worker made, prepared, adopted and built what.
import { appendFileSync } from "node:fs";
import { threadId } from "node:worker_threads";
import type { BenchEnvironment } from "../../src/cli/bench/run-bench.js";
import { benchEnvironment } from "../../src/cli/bench/environment.js";

export async function loggedBenchEnvironment(arg: { log: string; scale: number }): Promise<BenchEnvironment> {
  const env = await benchEnvironment(arg.scale);
  const note = (step: string, detail = "") => appendFileSync(arg.log, `${threadId} ${step} ${detail}\n`);
  return {
    disk: env.disk,
    build: (workload, binary) => {
      note("build", `${workload}/${binary}`);
      return env.build(workload, binary);
    },
    shared: {
      make: () => {
        note("make");
        return env.shared!.make();
      },
      adopt: (value) => {
        note("adopt");
        env.shared!.adopt(value);
      },
    },
    prepare: (binary) => {
      note("prepare", binary);
      return env.prepare!(binary);
    },
    adoptPrepared: (binary, value) => {
      note("adoptPrepared", binary);
      env.adoptPrepared!(binary, value);
    },
  };
}
