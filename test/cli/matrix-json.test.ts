// `previrt matrix --json` and `matrix --migrate --json`: the document a
// script compares back ends with. Each run's record is `previrt run --json`'s
// document of that run (the same numbers), its verdict the table's; host
// facts only under `host`, so the rest is the same with --jobs 1 and 2 and
// with either engine. On a small annotated guest and the bundled kernel
// (whose wrpsr trap-and-emulate cannot virtualize: trap diverges).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildKernel } from "../../src/cli/bundled-kernel.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { BACKEND_NAMES } from "../../src/hypervisors/registry.js";
import { noteInterpreted, START_INSNS } from "../../src/machine/jit/cache.js";
import { aluLoop } from "../../bench/machine.bench.js";
import { buildSmallGuest, cli } from "./small-guest.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-matrix-json-"));
const kernel = join(dir, "kernel.elf");
const small = join(dir, "hi.elf"); // the small guest: prints "h\n", exit 3

/** A document without its host facts (every `host` key, at any depth): what must not depend on how the emulator ran. */
function simulated(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(simulated);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "host").map(([k, v]) => [k, simulated(v)]));
}

/** The table's rows (after its header and rule), split into columns. */
const tableRows = (table: string) =>
  table
    .split("\n")
    .slice(2)
    .filter((l) => l !== "")
    .map((l) => l.split(/ {2,}/));

type Run = Record<string, unknown> & { backend: string; verdict: { kind: string; text: string }; cycles: number };

beforeAll(async () => {
  writeFileSync(kernel, writeElf(buildKernel({ workload: "syscall" }).image));
  expect(await buildSmallGuest(dir)).toBe(small);
});

describe("previrt matrix --json", () => {
  for (const [name, elf, extra] of [["a small guest", small, []], ["the bundled kernel", kernel, ["--allow-diverge", "trap"]]] as const) {
    it(`${name}: every back end, the table's verdicts, the numbers of run --json`, async () => {
      const r = await cli("matrix", elf, "--json", ...extra);
      expect(r.status).toBe(0);
      const doc = JSON.parse(r.out);
      expect(doc).toMatchObject({ matrix: "backends", file: elf, reference: "bare", status: 0 });
      expect(doc.options).toMatchObject({ backends: ["bare", ...BACKEND_NAMES.filter((b) => b !== "bare")], maxCycles: 2_000_000_000, cpus: null, protect: true });
      const runs = doc.runs as Run[];
      expect(runs.map((c) => c.backend)).toEqual(doc.options.backends);
      // The table went to stderr; its verdict, ending and cycles columns are the document's.
      const table = tableRows(r.err);
      expect(table.map((t) => t[0])).toEqual(runs.map((c) => c.backend));
      for (const [i, c] of runs.entries()) {
        const [, verdict, ending, cycles] = table[i];
        expect(c.verdict.text).toBe(verdict);
        const result = c.result as { kind: string; exitCode: number; reason?: string };
        expect(ending).toBe(result.kind === "poweroff" ? `exit ${result.exitCode}` : result.reason);
        expect(cycles).toBe(c.cycles.toLocaleString("en-US"));
        expect(c.vsReference).toBe(c.cycles / runs[0].cycles);
        // What run --json says of the same back end, number for number (host facts aside).
        const alone = await cli("run", elf, "--hv", c.backend, "--json");
        const { host: _host, ...runDoc } = JSON.parse(alone.out);
        const { verdict: _v, allowedToDiverge: _a, vsReference: _o, sites: _s, host, ...cellDoc } = c;
        expect(cellDoc).toEqual(runDoc);
        expect(host).toMatchObject({ engine: "jit", seconds: expect.any(Number) });
      }
      if (elf === kernel) {
        expect(runs.find((c) => c.backend === "trap")).toMatchObject({ verdict: { kind: "diverged", line: 3, text: "diverged at line 3" }, allowedToDiverge: true });
        expect(runs.find((c) => c.backend === "hvm")!.verdict.kind).toBe("same");
      }
    });
  }

  it("is the same document with --jobs 1 and --jobs 2, and with either engine (host facts aside)", async () => {
    // 7 M instructions per back end, this thread's start budget spent (cache.ts START_INSNS): the serial JIT compiles the loop.
    const loop = join(dir, "loop.elf");
    writeFileSync(loop, writeElf(aluLoop(1_000_000)));
    noteInterpreted(START_INSNS);
    const docs = [];
    for (const args of [["--engine", "interp", "--jobs", "1"], ["--engine", "jit", "--jobs", "1"], ["--jobs", "2"]]) {
      const r = await cli("matrix", loop, "--json", "-", ...args);
      expect(r.status).toBe(0);
      docs.push(JSON.parse(r.out));
    }
    expect(docs.map((d) => d.host)).toEqual([{ engine: "interp", jobs: 1 }, { engine: "jit", jobs: 1 }, { engine: "jit", jobs: 2 }]);
    const hosts = (d: { runs: Run[] }) => d.runs.map((c) => c.host as { engine: string; jit?: { dispatches: number } });
    expect(hosts(docs[0]).every((h) => h.engine === "interp")).toBe(true);
    expect(hosts(docs[1]).every((h) => h.jit!.dispatches > 0)).toBe(true); // the JIT's translations ran
    expect(docs[0].runs.map((c: Run) => c.verdict.kind)).toEqual(["reference", "same", "same", "same", "same"]);
    for (const d of docs.slice(1)) expect(simulated(d)).toEqual(simulated(docs[0]));
  });

  it("keeps the exit status, and the error line, when a back end diverges; the document says so", async () => {
    const out = join(dir, "strict.json");
    const r = await cli("matrix", kernel, "--hv", "bare,trap", "--json", out);
    expect(r.status).toBe(1);
    expect(r.err).toBe("previrt: error: trap diverged from bare: diverged at line 3\n");
    expect(r.out).toMatch(/^back end +verdict/); // the table stays on stdout when the document goes to a file
    const doc = JSON.parse(readFileSync(out, "utf8"));
    expect(doc.status).toBe(1);
    expect(doc.runs[1]).toMatchObject({ backend: "trap", verdict: { kind: "diverged" }, allowedToDiverge: false });
  });

  it("records the options given: CPUs, cycle limit, cure", async () => {
    const r = await cli("matrix", small, "--hv", "bare,xen", "--cpus", "2", "--pcpus", "1", "--max-cycles", "500000", "--spinlocks", "pv", "--json");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out).options).toEqual({ backends: ["bare", "xen"], allowDiverge: [], maxCycles: 500000, cpus: 2, quantum: null, pcpus: 1, spinlocks: "pv", protect: true, costModel: null, disk: null });
    expect(r.err).toMatch(/^2 CPUs.*\nback end/); // the CPU line goes with the table
  });
});

describe("previrt matrix --migrate --json", () => {
  it("one record per (from, to, at): the table's verdicts, the moved run's counters", async () => {
    const r = await cli("matrix", "--json", small, "--migrate", "--hv", "bare,hvm,xen");
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ matrix: "migration", file: small, reference: "bare", status: 0 });
    const points = doc.options.points as number[];
    expect(points).toHaveLength(3);
    const runs = doc.runs as (Run & { from: string; to: string; at: number; movedAt: number | null })[];
    expect(runs).toHaveLength(3 * 2 * points.length);
    expect(new Set(runs.map((c) => `${c.from}>${c.to}@${c.at}`)).size).toBe(runs.length);
    // The table (stderr): a row per pair, a column per point.
    for (const [from, to, ...verdicts] of tableRows(r.err.split("\n").slice(1).join("\n"))) {
      expect(verdicts).toEqual(points.map((at) => runs.find((c) => c.from === from && c.to === to && c.at === at)!.verdict.text));
    }
    // The unmigrated bare run is run --json's; a moved run has the counters `migrate --stats` prints.
    const bare = JSON.parse((await cli("run", small, "--hv", "bare", "--json")).out);
    expect(simulated(doc.referenceRun)).toEqual(simulated(bare));
    const cell = runs.find((c) => c.from === "bare" && c.to === "hvm" && c.at === points[0])!;
    expect(cell).toMatchObject({ backend: "hvm", verdict: { kind: "same" }, movedAt: expect.any(Number) });
    const moved = await cli("migrate", small, "--from", "bare", "--to", "hvm", "--at", String(points[0]), "--stats");
    expect(moved.err).toMatch(new RegExp(`^cycles +${cell.cycles}$`, "m"));
    expect(moved.err).toMatch(new RegExp(`^instructions +${cell.instructions}$`, "m"));
  });
});
