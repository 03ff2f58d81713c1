// The benchmark report as data (what `--json` writes, what the HTML and the
// terminal table are drawn from): the cells, the configurations, the cost
// model that priced them, the commit and versions, and the verdict on the
// issue's goals — computed from the cells, never typed in.

import type { CostModel } from "../../machine/cost-model.js";
import { buildIdentity, packageVersion } from "../package-info.js";
import type { BenchConfiguration } from "./configurations.js";
import type { BenchCell, SmpSettings } from "./run-bench.js";

/** How the report names the machine: "1 CPU", or "4 CPUs (quantum 10000 cycles, 2 physical)". */
export function describeSmp(s: SmpSettings): string {
  const cpus = s.cpus ?? 1;
  const extra = [s.quantum !== undefined ? `quantum ${s.quantum} cycles` : "", s.pcpus !== undefined ? `${s.pcpus} physical` : ""].filter(Boolean);
  return `${cpus} CPU${cpus === 1 ? "" : "s"}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

export interface GoalCheck {
  goal: string;
  workload: string;
  /** The measured ratio (e.g. xen-pre cycles / xen-para cycles). */
  ratio: number;
  limit: number;
  met: boolean;
}

export interface BenchReport {
  generated: string;
  /** previrt's own checkout commit, or `v` + its package version when it is not run from a checkout (package-info.ts). */
  commit: string;
  versions: { node: string; previrt: string };
  costModelName: string;
  costModel: CostModel;
  /** The guest machine's CPUs (`--cpus`, default 1), quantum and physical CPUs (`--pcpus`), when given. */
  smp: SmpSettings;
  configurations: BenchConfiguration[];
  workloads: string[];
  cells: BenchCell[];
  goals: GoalCheck[];
  /** Whether the overhead chart needs a logarithmic axis. */
  logScale: boolean;
}

/** The issue's goals, as data: [goal, numerator configuration, denominator configuration, limit]. */
const GOALS: readonly [string, string, string, number][] = [
  ["pre-virtualized within 5% of para-virtualized on xen", "xen-pre", "xen-para", 1.05],
  ["annotated within 1% of plain on bare metal", "bare-annotated", "bare-plain", 1.01],
];

export function checkGoals(cells: readonly BenchCell[], workloads: readonly string[]): GoalCheck[] {
  const out: GoalCheck[] = [];
  for (const [goal, num, den, limit] of GOALS) {
    for (const w of workloads) {
      const a = cells.find((c) => c.workload === w && c.config === num);
      const b = cells.find((c) => c.workload === w && c.config === den);
      if (!a || !b || a.status === "skipped" || b.status === "skipped") continue;
      const ratio = a.cycles / b.cycles;
      out.push({ goal, workload: w, ratio, limit, met: ratio <= limit && a.status === "ok" && b.status === "ok" });
    }
  }
  return out;
}

export function makeReport(args: {
  cells: BenchCell[];
  configurations: readonly BenchConfiguration[];
  workloads: readonly string[];
  costModel: CostModel;
  costModelName: string;
  smp?: SmpSettings;
}): BenchReport {
  const maxOverhead = Math.max(1, ...args.cells.map((c) => (Number.isFinite(c.overhead) ? c.overhead : 1)));
  return {
    generated: new Date().toISOString(),
    commit: buildIdentity(),
    versions: { node: process.version, previrt: packageVersion() },
    costModelName: args.costModelName,
    costModel: args.costModel,
    smp: { cpus: 1, ...args.smp },
    configurations: [...args.configurations],
    workloads: [...args.workloads],
    cells: args.cells,
    goals: checkGoals(args.cells, args.workloads),
    logScale: maxOverhead > 8,
  };
}
