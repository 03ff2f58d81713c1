// `previrt bench --jobs`: the cells run in worker threads (each image built
// once, the kernel's user programs made once for all workers, a cell handed
// out when its image is ready, the costliest first), and
// the result is that of a serial run — every cell in the same order with the same status,
// cycles, instructions, breakdown, counters and sites; only host times differ.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cellParts, mergeParts, runBenchJobs, type BenchCell, type CellRun } from "../../src/cli/bench/run-bench.js";
import { CONFIGURATIONS } from "../../src/cli/bench/configurations.js";
import { BENCH_ENVIRONMENT, startBenchWorkers } from "../../src/cli/bench/environment.js";
import type { RunResult } from "../../src/machine/diagnosis.js";
import { workersAvailable } from "../../src/hypervisors/parallel/pool.js";

const simulated = (cells: BenchCell[]) => cells.map(({ wallSeconds: _w, hostMips: _m, ...c }) => c);

describe("bench --jobs", () => {
  it("gives the cells of a serial run, in order, from two worker threads", async () => {
    const module = new URL("../../src/cli/bench/run-bench.ts", import.meta.url).href;
    expect(workersAvailable(module)).toBe(true); // the parallel path really runs (needs tsc's dist/)
    const options = {
      workloads: ["compute", "io"],
      // l4-para: a back end that refuses its binary (a skipped cell, made from a refused run in a worker).
      configurations: [...CONFIGURATIONS.filter((c) => ["bare-plain", "xen-pre", "xen-para", "hvm", "trap"].includes(c.id)), { id: "l4-para", label: "l4, para-virtualized for xen", backend: "l4", binary: "paravirt-xen" as const }],
      environment: { module: BENCH_ENVIRONMENT, name: "benchEnvironment", arg: 1 },
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
    const refused = serial.find((c) => c.config === "l4-para")!;
    expect([refused.status, refused.note]).toEqual(["skipped", "para-virtualized for xen; run it with --hv xen"]);
    expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // as cells complete, then "done"
  });

  it("gives the same cells from workers started ahead (startBenchWorkers: previrt bench's own path), and a closed pool when the options are refused", async () => {
    const options = {
      workloads: ["compute"],
      configurations: CONFIGURATIONS.filter((c) => ["bare-plain", "xen-pre", "xen-para"].includes(c.id)),
      environment: { module: BENCH_ENVIRONMENT, name: "benchEnvironment", arg: 1 },
      repeats: 1,
      maxCycles: 200_000_000,
    };
    const serial = await runBenchJobs({ ...options, jobs: 1 });
    const pool = startBenchWorkers(2);
    expect(pool).toBeDefined(); // the workers really start (needs tsc's dist/)
    const ahead = await runBenchJobs({ ...options, jobs: 2, pool });
    expect(simulated(ahead)).toEqual(simulated(serial));
    // runBenchJobs closed it: nothing more is accepted.
    await expect(pool!.submit({ module: BENCH_ENVIRONMENT, name: "benchPreload", arg: undefined })).rejects.toThrow(/closed/);
    expect(startBenchWorkers(1)).toBeUndefined(); // --jobs 1: no workers
  });

  it("makes the user programs once and each kernel's compile once: one worker builds the programs, the other compiles both kernels meanwhile, and each takes the other's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-bench-jobs-"));
    try {
      const log = join(dir, "steps.log");
      const options = {
        workloads: ["compute", "io"],
        configurations: CONFIGURATIONS.filter((c) => ["bare-plain", "xen-pre", "xen-para"].includes(c.id)),
        repeats: 1,
        maxCycles: 200_000_000,
      };
      const serial = await runBenchJobs({ ...options, jobs: 1, environment: { module: BENCH_ENVIRONMENT, name: "benchEnvironment", arg: 1 } });
      const environment = { module: new URL("./logged-environment.ts", import.meta.url).href, name: "loggedBenchEnvironment", arg: { log, scale: 1 } };
      const parallel = await runBenchJobs({ ...options, jobs: 2, environment });
      expect(simulated(parallel)).toEqual(simulated(serial));
      const steps = readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" "));
      const threadsOf = (step: string, detail?: string) => new Set(steps.filter((s) => s[1] === step && (detail === undefined || s[2] === detail)).map((s) => s[0]));
      expect(steps.filter((s) => s[1] === "make")).toHaveLength(1);
      const [maker] = threadsOf("make");
      const [other] = threadsOf("prepare", "paravirt-xen");
      expect(other).toBeDefined();
      expect(other).not.toBe(maker);
      expect(threadsOf("adopt")).toEqual(new Set([other]));
      expect(threadsOf("build", "compute/paravirt-xen")).toEqual(new Set([other]));
      expect(threadsOf("build", "compute/annotated")).toEqual(new Set([maker]));
      // Four images (two workloads, plain and annotated) on the maker, two on the other: each built once.
      expect(steps.filter((s) => s[1] === "build").map((s) => s[2]).sort()).toEqual(["compute/annotated", "compute/paravirt-xen", "compute/plain", "io/annotated", "io/paravirt-xen", "io/plain"]);
      // The other worker compiled both kernels, the maker's first (it waits on it), and before it took the user programs (the order of its own log lines).
      const mine = steps.filter((s) => s[0] === other).map((s) => `${s[1]} ${s[2] ?? ""}`.trim());
      const prepares = mine.filter((s) => s.startsWith("prepare"));
      expect(prepares).toHaveLength(2);
      expect(["prepare plain", "prepare annotated"]).toContain(prepares[0]);
      expect(prepares[1]).toBe("prepare paravirt-xen");
      expect(mine.indexOf("prepare paravirt-xen")).toBeLessThan(mine.indexOf("adopt"));
      expect(threadsOf("prepare")).toEqual(new Set([other]));
      // The maker took the native compile once, before its first build.
      expect(steps.filter((s) => s[1] === "adoptPrepared").map((s) => s[0])).toEqual([maker]);
      const makers = steps.filter((s) => s[0] === maker).map((s) => s[1]);
      expect(makers.indexOf("adoptPrepared")).toBeLessThan(makers.indexOf("build"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the last workload's cells one run per task, and gives the serial run's cells with the median of all runs", async () => {
    expect([cellParts("io", ["compute", "io"], 3), cellParts("compute", ["compute", "io"], 3), cellParts("io", ["io"], 1)]).toEqual([3, 1, 1]);
    const options = {
      workloads: ["compute", "syscall"],
      configurations: CONFIGURATIONS.filter((c) => ["bare-plain", "xen-para", "l4-pre"].includes(c.id)),
      environment: { module: BENCH_ENVIRONMENT, name: "benchEnvironment", arg: 1 },
      repeats: 3,
      maxCycles: 200_000_000,
    };
    const serial = await runBenchJobs({ ...options, jobs: 1 });
    const parallel = await runBenchJobs({ ...options, jobs: 2 });
    expect(simulated(parallel)).toEqual(simulated(serial));
    expect(parallel.every((c) => c.status === "ok" && c.wallSeconds > 0 && c.hostMips === c.instructions / c.wallSeconds / 1e6)).toBe(true);
  });

  it("merges a cell's parts: the median of every run's wall time; parts that differ are a bug, not a result", () => {
    const part = (walls: number[], cycles = 1000): CellRun => ({
      cell: { workload: "w", config: "c", backend: "bare", binary: "plain", status: "ok", cycles, instructions: 2e6, overhead: NaN, breakdown: {}, events: {}, counts: {}, sites: { native: 0, inline: 0, call: 0, stub: 0 }, tlbFlushes: 0, wallSeconds: walls[0], hostMips: 0 },
      run: { console: "hello\n", result: { kind: "poweroff", exitCode: 0 } satisfies RunResult },
      walls,
    });
    const merged = mergeParts([part([0.3]), part([0.1]), part([0.2])]);
    expect([merged.cell.wallSeconds, merged.cell.hostMips, merged.walls]).toEqual([0.2, 10, [0.3, 0.1, 0.2]]);
    expect(() => mergeParts([part([0.3]), part([0.1], 1001)])).toThrow("bench: the runs of w on c differ");
  });
});
