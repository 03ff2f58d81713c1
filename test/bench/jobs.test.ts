// `previrt bench --jobs`: the cells run in worker threads (each image built
// once, a cell handed out when its image is ready, the costliest first), and
// the result is that of a serial run — every cell in the same order with the same status,
// cycles, instructions, breakdown, counters and sites; only host times differ.
import { describe, expect, it } from "vitest";
import { runBenchJobs, type BenchCell } from "../../src/cli/bench/run-bench.js";
import { CONFIGURATIONS } from "../../src/cli/bench/configurations.js";
import { workersAvailable } from "../../src/hypervisors/parallel/pool.js";

const simulated = (cells: BenchCell[]) => cells.map(({ wallSeconds: _w, hostMips: _m, ...c }) => c);

describe("bench --jobs", () => {
  it("gives the cells of a serial run, in order, from two worker threads", async () => {
    const module = new URL("../../src/cli/bench/run-bench.ts", import.meta.url).href;
    expect(workersAvailable(module)).toBe(true); // the parallel path really runs (needs tsc's dist/)
    const options = {
      workloads: ["compute", "io"],
      configurations: CONFIGURATIONS.filter((c) => ["bare-plain", "xen-pre", "xen-para", "hvm", "trap"].includes(c.id)),
      environment: { module: new URL("../../src/cli/commands/bench.ts", import.meta.url).href, name: "benchEnvironment", arg: 1 },
      repeats: 1,
      maxCycles: 200_000_000,
    };
    const progress: number[] = [];
    const serial = await runBenchJobs({ ...options, jobs: 1 });
    // The later workload's cells handed out first (cost): still the serial run's cells, in the serial order.
    const parallel = await runBenchJobs({ ...options, jobs: 2, cost: (w) => (w === "io" ? 5 : 1), progress: (done) => progress.push(done) });
    expect(simulated(parallel)).toEqual(simulated(serial));
    expect(serial.map((c) => `${c.workload}/${c.config}`)).toEqual(options.workloads.flatMap((w) => options.configurations.map((c) => `${w}/${c.id}`)));
    expect(serial.filter((c) => c.status === "ok").length).toBeGreaterThanOrEqual(8);
    expect(serial.find((c) => c.config === "trap")!.status).toBe("failed"); // exit 1: trap cannot virtualize wrpsr
    expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // as cells complete, then "done"
  });
});
