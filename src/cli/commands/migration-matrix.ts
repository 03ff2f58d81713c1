// `previrt matrix ELF --migrate [--hv a,b,…] [--at N,…] [--allow-diverge a,…]
// [--disk IMG] [--engine E] [--no-protect] [--json [FILE]]`: every ordered pair of back ends that accept the binary,
// migrated at each point (default: 1/4, 1/2, 3/4 of the bare run), verdict
// against the unmigrated bare run (src/migration/matrix.ts). One row per
// pair, one column per point; exit status 1 when a pair not involving an
// --allow-diverge back end diverged. Ctrl-C ends it (cli/interrupt.ts) with
// one line and no table, status 130. `--json [FILE]`: one record per (from,
// to, at) cell (matrix-json.ts), to FILE or stdout, the table then on stderr.

import { UserError } from "../../guest-isa/diagnostics.js";
import { BACKEND_NAMES, unknownBackend } from "../../hypervisors/registry.js";
import { MATRIX_MAX_CYCLES, type Verdict } from "../../hypervisors/matrix-verdicts.js";
import { migrationMatrixSliced, type MigrationCell } from "../../migration/matrix.js";
import { EXIT_STATUS } from "../../machine/diagnosis.js";
import { reportInterrupted, stopOnSigint } from "../interrupt.js";
import { checkOutputs, readCostModel, readElfInputWithBytes, readInput, writeOutput } from "../files.js";
import { migrationMatrixDocument, verdictText } from "./matrix-json.js";
import { point } from "./migrate.js";
import { checkSnapshotSpinlocks, engineOptionsOf } from "./resume.js";
import type { CliIO } from "../io.js";
import { textOutput } from "../json-option.js";
import { describeProblem, isDivergence, smpOptions } from "./matrix.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

export async function runMigrationMatrix(file: string, options: Record<string, unknown>, io: CliIO): Promise<number> {
  // What the migration code cannot keep across a move is refused, not ignored (docs/migration.md).
  if (options.pcpus !== undefined) throw new UserError("--pcpus cannot be used with --migrate (the migration matrix gives every back end, bare the reference too, a physical CPU per CPU)");
  checkSnapshotSpinlocks(options, "--migrate");
  if (options.jobs !== undefined) throw new UserError("--jobs cannot be used with --migrate (the migration matrix runs in this thread)");
  const given = options.hv as string[] | undefined;
  const names = given && [...new Set(given)];
  const allow = new Set((options.allowDiverge as string[] | undefined) ?? []);
  for (const n of [...(names ?? []), ...allow]) if (!BACKEND_NAMES.includes(n)) throw unknownBackend(n);
  // A pair needs two: one back end would be a table of no row, and a status 0 for nothing checked.
  if (names && names.length < 2) throw new UserError(`--migrate needs at least two back ends to move between (--hv ${names.join(",")})`);
  const points = (options.at as string[] | undefined)?.map(point);
  const json = options.json as string | undefined; // jsonTarget's (matrix.ts)
  checkOutputs([["--json", json]], [file, options.disk, options.costModel]); // before anything runs
  const { bytes: elf, image } = readElfInputWithBytes(file);
  const diskBytes = typeof options.disk === "string" ? readInput(options.disk) : undefined;
  const maxCycles = (options.maxCycles as number | undefined) ?? MATRIX_MAX_CYCLES;
  const matrixOptions = {
    file,
    backends: names,
    points,
    maxCycles,
    costModel: typeof options.costModel === "string" ? readCostModel(options.costModel) : undefined,
    disk: diskBytes ? () => diskBytes.slice() : undefined,
    cpus: smpOptions(options).cpus,
    quantum: options.quantum as number | undefined,
    ...engineOptionsOf(options),
  };
  // The Ctrl-C handler once everything that can refuse (cost model, CPU and engine options) has been read.
  const sigint = stopOnSigint();
  const m = await migrationMatrixSliced(elf, image, matrixOptions, sigint.between).finally(sigint.dispose);
  if (m.interrupted) {
    const runs = m.backends.length * (m.backends.length - 1) * m.points.length;
    reportInterrupted(io, m.cells.length, runs, "migrated runs (no table)");
    return EXIT_STATUS.interrupted; // as run's (128 + SIGINT)
  }
  const verdict = (c: MigrationCell) => verdictText(c.verdict);
  const header = ["from", "to", ...m.points.map((p) => `at ${fmt(p)}`)];
  const body: string[][] = [];
  for (const from of m.backends) {
    for (const to of m.backends) {
      if (to === from) continue;
      const cells = m.cells.filter((c) => c.from === from && c.to === to);
      body.push([from, to, ...cells.map(verdict)]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const table = textOutput(io, json);
  table(`migration matrix: reference bare (${describeEnding(m.reference.result)}, ${fmt(m.reference.cycles)} cycles); stop-and-copy at each point\n`);
  table([line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n") + "\n");
  const moved = (c: MigrationCell): c is MigrationCell & { verdict: Verdict } => c.verdict.kind !== "not-migrated";
  const bad = m.cells.filter(moved).filter((c) => isDivergence(c.verdict) && !allow.has(c.from) && !allow.has(c.to));
  const status = bad.length ? 1 : 0;
  if (json !== undefined) writeOutput(json, JSON.stringify(migrationMatrixDocument(file, m, options, { maxCycles, status }), null, 2) + "\n", io);
  for (const c of bad) io.err(`previrt: error: ${c.from} -> ${c.to} at ${c.at} ${describeProblem(c.verdict, "bare")}\n`);
  return status;
}

function describeEnding(r: { kind: string; exitCode: number }): string {
  return r.kind === "poweroff" ? `exit ${r.exitCode}` : `stopped, status ${r.exitCode}`;
}
