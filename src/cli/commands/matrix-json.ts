// The JSON document of `previrt matrix --json` and `matrix --migrate --json`
// (matrix.ts, migration-matrix.ts write it; README.md "Outputs, for scripts"
// lists its fields): what the table shows and what a script needs to compare
// back ends. Each run is `previrt run --json`'s document of that run
// (run-document.ts) with the matrix's verdict beside it; the matrix's
// options as given; host facts (engine, --jobs, each run's wall time) only
// under `host` keys, so that a document without them is the same whatever
// engine or number of threads ran it.

import { defaultEngine, type Engine } from "../../machine/machine-options.js";
import { cyclesOverReference, describeVerdict, type MatrixRow, type Verdict } from "../../hypervisors/matrix-verdicts.js";
import type { MigrationMatrix } from "../../migration/matrix.js";
import { resultSummary, runDocument } from "../run-document.js";

/** The table's words for a run's verdict; "ended first": a migration matrix's guest that ended before the point, not moved. */
export function verdictText(v: Verdict | { kind: "not-migrated" }): string {
  return v.kind === "not-migrated" ? "ended first" : describeVerdict(v);
}

/** A run's verdict in the document: the kind and its details (Verdict), and `text`, the table's words for it. */
function verdictRecord(v: Verdict | { kind: "not-migrated" }): Record<string, unknown> {
  return { ...v, text: verdictText(v) };
}

/** What both matrices record of the command line: the options as given (null: not given, the default applies), the cycle limit in force. */
function optionsRecord(options: Record<string, unknown>, backends: readonly string[], maxCycles: number): Record<string, unknown> {
  const given = (k: string) => options[k] ?? null;
  return {
    backends,
    allowDiverge: (options.allowDiverge as string[] | undefined) ?? [],
    maxCycles,
    cpus: given("cpus"),
    quantum: given("quantum"),
    pcpus: given("pcpus"),
    spinlocks: given("spinlocks"),
    protect: options.protect !== false,
    costModel: given("costModel"),
    disk: given("disk"),
  };
}

const engineOf = (options: Record<string, unknown>) => (options.engine as Engine | undefined) ?? defaultEngine();

/** `matrix --json`: one record per back end, in the table's order (the reference first). */
export function matrixDocument(file: string, rows: readonly MatrixRow[], options: Record<string, unknown>, run: { maxCycles: number; jobs: number; status: number }): Record<string, unknown> {
  const allow = new Set((options.allowDiverge as string[] | undefined) ?? []);
  const ref = rows[0];
  return {
    matrix: "backends",
    file,
    reference: ref.backend,
    options: optionsRecord(options, rows.map((r) => r.backend), run.maxCycles),
    status: run.status,
    runs: rows.map((r) => ({
      backend: r.backend,
      verdict: verdictRecord(r.verdict),
      allowedToDiverge: allow.has(r.backend),
      vsReference: cyclesOverReference(r.stats.cycles, ref.stats.cycles), // the table's "vs bare", unrounded
      sites: r.sites,
      ...runDocument({ backend: r.backend, file, result: resultSummary(r.result), stats: r.stats, host: { ...r.host, seconds: r.seconds } }),
    })),
    host: { engine: engineOf(options), jobs: run.jobs },
  };
}

/** `matrix --migrate --json`: one record per (from, to, at) cell, in the table's order; the unmigrated bare run as `referenceRun`. */
export function migrationMatrixDocument(file: string, m: MigrationMatrix, options: Record<string, unknown>, run: { maxCycles: number; status: number }): Record<string, unknown> {
  const allow = new Set((options.allowDiverge as string[] | undefined) ?? []);
  return {
    matrix: "migration",
    file,
    reference: "bare",
    options: { ...optionsRecord(options, m.backends, run.maxCycles), points: m.points },
    status: run.status,
    referenceRun: runDocument({ backend: "bare", file, result: resultSummary(m.reference.result), stats: m.reference.stats, host: m.reference.host }),
    runs: m.cells.map((c) => ({
      from: c.from,
      to: c.to,
      at: c.at,
      movedAt: c.movedAt ?? null,
      verdict: verdictRecord(c.verdict),
      allowedToDiverge: allow.has(c.from) || allow.has(c.to),
      // `backend`: the one the guest ended on (the source, when it ended before the point).
      ...runDocument({ backend: c.verdict.kind === "not-migrated" ? c.from : c.to, file, result: resultSummary(c.result), stats: c.stats, host: c.host }),
    })),
    host: { engine: engineOf(options) },
  };
}
