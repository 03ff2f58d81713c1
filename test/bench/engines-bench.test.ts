// Smoke test of `npm run bench -- engines` (bench/engines.bench.ts): run
// through dist/bench/run.js (so dist/ must be built: `npx tsc -p
// tsconfig.json`) at tiny scales, one round, a one-cell-per-back-end
// `previrt bench`: every figure line is printed and parses, every case ran
// under both engines with the same simulated result, and that result is the
// one an in-process run of the same kernel gives (so the bench measured the
// workload it names); the comparison refuses results that differ; bad
// settings are refused. Speed itself is never asserted.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkSameSimulated, settingsFromEnv, type RunRecord } from "../../bench/engines.bench.js";
import { BENCH_SCALE } from "../../src/cli/commands/bench.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { runElf } from "../../src/hypervisors/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const runJs = fileURLToPath(new URL("../../dist/bench/run.js", import.meta.url));
const bench = (env: Record<string, string>) =>
  spawnSync(process.execPath, [runJs, "engines"], { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } });

interface FileRun extends Omit<RunRecord, "simulated"> {
  simulated: { status: number; console?: string; run?: { cycles: number; instructions: number }; disk?: string; report?: { cells: { cycles: number }[] } };
}

const LINE = /^engines: (.+): (\d[\d,]*\.?\d*) (s|×)(?:  \(target ([≥≤]) (\d+\.\d\d) (?:s|×): (met|MISSED)\))?(?:  \[(.*)\])?$/;

describe("npm run bench -- engines", () => {
  it("prints every figure, ran each case under both engines with one simulated result, the in-process run's", { timeout: 120_000 }, () => {
    const json = join(mkdtempSync(join(tmpdir(), "previrt-engines-test-")), "runs.json");
    const r = bench({
      PREVIRT_ENGINES_ROUNDS: "1",
      PREVIRT_ENGINES_COMPUTE_SCALE: "2",
      PREVIRT_ENGINES_MIXED_SCALE: "1",
      PREVIRT_ENGINES_BENCH_ROUNDS: "1",
      PREVIRT_ENGINES_BENCH_ARGS: "--workloads compute --hv bare-plain --scale 1 --repeats 1 --jobs 1",
      PREVIRT_ENGINES_JSON: json,
      // This tree stands in for the one at the filing: the alternation and its rows, not a speed.
      PREVIRT_ENGINES_FILING_TREE: ROOT,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n").map((l) => l.match(LINE));
    expect(lines.every((m) => m !== null)).toBe(true);
    const metrics = lines.map((m) => m![1]);
    const cases = ["compute, scale 2, bare", "mixed, scale 1, xen", "mixed, scale 1, bare", "previrt bench --workloads compute --hv bare-plain --scale 1 --repeats 1 --jobs 1"];
    // The two cases with a ratio goal also print their start-up alone and the ceiling it puts on the ratio.
    const ceiling = (c: string) =>
      c === cases[0] || c === cases[1] ? [`${c}, start-up alone, wall`, `${c}, interpreter ÷ start-up alone, wall`, `${c}, interpreter ÷ its host work besides instructions`] : [];
    const filing = `${cases[3]} at the issue's filing`;
    expect(metrics).toEqual([
      ...cases.flatMap((c) => [`${c}, interpreter, wall`, `${c}, JIT, wall`, `${c}, interpreter ÷ JIT, wall`, ...ceiling(c)]),
      `${filing}, wall`,
      `${cases[3]}, at the issue's filing ÷ JIT, wall`,
    ]);
    // The goals are stated where the issue sets them: ≥ 5× on compute, ≥ 3× on mixed under xen (a bench with arguments has no 5.3 s goal).
    expect(lines.filter((m) => m![4]).map((m) => `${m![1]} ${m![4]} ${m![5]}`)).toEqual([
      "compute, scale 2, bare, interpreter ÷ JIT, wall ≥ 5.00",
      "mixed, scale 1, xen, interpreter ÷ JIT, wall ≥ 3.00",
    ]);

    const file = JSON.parse(readFileSync(json, "utf8")) as {
      runs: FileRun[];
      startUps: { case: string; status: number; wallSeconds: number }[];
      profiles: Record<string, { parts: Record<string, number>; totalMs: number }>;
    };
    // One profiled interpreter run per ratio case: it executed instructions in the interpreter's loop only.
    expect(Object.keys(file.profiles)).toEqual([cases[0], cases[1]]);
    for (const prof of Object.values(file.profiles)) {
      expect(prof.parts["instructions, interpreted"]).toBeGreaterThan(0);
      expect(prof.parts["instructions, translated"]).toBe(0);
      expect(Object.values(prof.parts).reduce((a, b) => a + b, 0)).toBeCloseTo(prof.totalMs, 6);
    }
    const runs = file.runs;
    // The start-up runs were stopped by --max-cycles (status 124), one per ratio case and round.
    expect(file.startUps.map((x) => `${x.case}/${x.status}`)).toEqual([`${cases[0]}/124`, `${cases[1]}/124`]);
    expect(file.startUps.every((x) => x.wallSeconds > 0)).toBe(true);
    expect(runs.map((x) => `${x.case}/${x.engine}`)).toEqual([...cases.flatMap((c) => [`${c}/interp`, `${c}/jit`]), `${filing}/interp`]);
    expect(runs.at(-1)!.status).toBe(0);
    for (const c of cases) {
      const [a, b] = runs.filter((x) => x.case === c);
      expect(b, c).toBeDefined();
      expect(b.simulated).toEqual(a.simulated);
      expect(a.wallSeconds).toBeGreaterThan(0);
    }
    // What the bench ran is the kernel it names: the same cycles, instructions and console as a run in this process.
    const compute = runElf(buildKernel({ workload: "compute", scale: 2 }).image, { backend: "bare" });
    const mixedXen = runElf(buildKernel({ workload: "mixed", scale: 1 }).image, { backend: "xen", disk: kernelDisk(1) });
    for (const [c, own] of [[cases[0], compute], [cases[1], mixedXen]] as const) {
      const sim = runs.find((x) => x.case === c)!.simulated;
      expect(sim.run).toMatchObject({ cycles: own.stats.cycles, instructions: own.stats.instructions });
      expect(sim.console).toBe(own.console);
    }
    expect(runs[0].simulated.console).toMatch(/selfcheck: ok\n$/);
    // The ratio line quotes the cycles it compared.
    expect(r.stdout).toContain(`identical in all 2 runs: ${compute.stats.cycles} cycles, ${compute.stats.instructions} instructions`);
    expect(runs.at(-2)!.simulated.report!.cells.map((x) => x.cycles).every((x) => x > 0)).toBe(true);
  });

  it("refuses two runs of a case whose simulated results differ, naming the field", () => {
    const rec = (engine: "interp" | "jit", cycles: number): RunRecord => ({
      case: "compute",
      engine,
      round: 0,
      wallSeconds: 1,
      status: 0,
      simulated: JSON.stringify({ status: 0, console: "ok\n", run: { cycles, instructions: 5, counts: { idleCycles: 3 } } }),
    });
    expect(() => checkSameSimulated([rec("interp", 100), rec("jit", 100), rec("jit", 100)])).not.toThrow();
    expect(() => checkSameSimulated([rec("interp", 100), rec("jit", 101)])).toThrow(/^compute: the simulated results differ between interp \(round 0\) and jit \(round 0\): run\.cycles: 100 vs 101$/);
  });

  it("reads its settings from the environment and refuses a bad one", () => {
    expect(settingsFromEnv({})).toMatchObject({ rounds: 5, computeScale: 1000, mixedScale: BENCH_SCALE, benchRounds: 3, benchArgs: [] });
    expect(settingsFromEnv({ PREVIRT_ENGINES_BENCH_ARGS: " --scale 2  --jobs 1 " }).benchArgs).toEqual(["--scale", "2", "--jobs", "1"]);
    expect(() => settingsFromEnv({ PREVIRT_ENGINES_ROUNDS: "0" })).toThrow(/^PREVIRT_ENGINES_ROUNDS must be an integer from 1 to 100, not '0'$/);
    expect(() => settingsFromEnv({ PREVIRT_ENGINES_MIXED_SCALE: "2x" })).toThrow(/^PREVIRT_ENGINES_MIXED_SCALE must be/);
    // Made absolute: the bench's runs start in a temporary folder, where a relative path would name nothing.
    expect(settingsFromEnv({ PREVIRT_ENGINES_FILING_TREE: relative(process.cwd(), ROOT) || "." }).filingTree).toBe(resolve(ROOT));
    expect(() => settingsFromEnv({ PREVIRT_ENGINES_FILING_TREE: tmpdir() })).toThrow(/^PREVIRT_ENGINES_FILING_TREE: no bin\/previrt\.js in /);
  });
});
