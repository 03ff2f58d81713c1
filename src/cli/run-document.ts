// The JSON document of one guest run, as `previrt run --json` writes it:
// `backend`, `file`, `result` (how the run ended), the machine's counters
// (MachineStats, docs/machine.md) and `host` (how the emulator ran it, never
// a simulated result). One builder for every command that reports a run:
// run, resume and `run --snapshot-at` (commands/resume.ts), and each cell of
// `previrt matrix --json` (commands/matrix-json.ts), so that a cell reads as
// `run --json` of the same back end. README.md "Outputs, for scripts".

import type { RunResult } from "../machine/diagnosis.js";
import type { HostStats } from "../machine/machine.js";
import type { MachineStats } from "../machine/stats.js";

/** `result`: how a run ended, without the diagnosis (which goes to stderr). A snapshot run gives its own (`kind: "snapshot"`). */
export type ResultSummary =
  | { kind: "poweroff"; exitCode: number }
  | { kind: "stopped"; reason: string; message: string; exitCode: number }
  | { kind: "snapshot"; cycle: number; snapshot: string; exitCode: 0 };

export function resultSummary(r: RunResult): ResultSummary {
  return r.kind === "poweroff" ? { kind: "poweroff", exitCode: r.exitCode } : { kind: "stopped", reason: r.reason, message: r.message, exitCode: r.exitCode };
}

export interface RunFacts {
  backend: string;
  /** The file the run came from (the ELF, or the snapshot a resume ran); left out when unknown. */
  file?: string;
  /** resultSummary of the run's RunResult, or a snapshot's. */
  result: ResultSummary;
  stats: MachineStats;
  /** A matrix cell adds its wall time (`seconds`): a host fact too. */
  host: HostStats & { seconds?: number };
}

/** The document, keys in `run --json`'s order. */
export function runDocument(r: RunFacts): Record<string, unknown> {
  return { backend: r.backend, ...(r.file !== undefined ? { file: r.file } : {}), result: r.result, ...r.stats, host: r.host };
}
