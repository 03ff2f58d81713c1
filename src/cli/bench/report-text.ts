// The benchmark report for a terminal: one table of cycles and overheads
// (workloads down, configurations across), one of what the monitors were
// entered for, and the goals with their measured ratios.

import { describeSmp, type BenchReport } from "./report-data.js";

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function renderTextReport(r: BenchReport): string {
  const configs = r.configurations;
  const cell = (w: string, c: string) => r.cells.find((k) => k.workload === w && k.config === c);
  const mark = (status: string | undefined) => (status === "diverged" ? " (diverged)" : status === "failed" ? " (FAILED)" : "");

  const overhead = table(
    ["workload", ...configs.map((c) => c.id)],
    r.workloads.map((w) => [
      w,
      ...configs.map((c) => {
        const k = cell(w, c.id);
        if (!k || k.status === "skipped") return "n/a";
        return `${k.overhead.toFixed(3)}×${mark(k.status)}`;
      }),
    ]),
  );
  const cycles = table(
    ["workload", ...configs.map((c) => c.id)],
    r.workloads.map((w) => [w, ...configs.map((c) => fmt(cell(w, c.id)?.cycles ?? NaN))]),
  );
  const events = table(
    ["workload / configuration", "VM exits", "hypercalls", "IPCs", "updates/batch", "TLB flushes", "sites i/c/s", "host MIPS", "wall s"],
    r.cells
      .filter((k) => k.status !== "skipped")
      .map((k) => [
        `${k.workload} / ${k.config}`,
        fmt(k.events.vmExit ?? 0),
        fmt(k.events.hypercall ?? 0),
        fmt(k.events.ipc ?? 0),
        k.updatesPerBatch ? k.updatesPerBatch.toFixed(1) : "–",
        fmt(k.tlbFlushes),
        `${k.sites.inline}/${k.sites.call}/${k.sites.stub}`,
        Number.isFinite(k.hostMips) ? k.hostMips.toFixed(1) : "–",
        Number.isFinite(k.wallSeconds) ? k.wallSeconds.toFixed(3) : "–",
      ]),
  );
  // The in-place VMM's protection domain (docs/protection.md): what its checks cost, where it is on.
  const guarded = r.cells.filter((k) => k.status !== "skipped" && (k.counts["protection.checks"] ?? 0) > 0);
  const protection = table(
    ["workload / configuration", "checked refs", "PLB misses", "extra refs", "cycles charged", "share"],
    guarded.map((k) => [
      `${k.workload} / ${k.config}`,
      fmt(k.counts["protection.checks"]),
      fmt(k.counts["protection.plbMisses"] ?? 0),
      fmt(k.counts["protection.extraRefs"] ?? 0),
      fmt(k.breakdown.permissionRef ?? 0),
      `${((100 * (k.breakdown.permissionRef ?? 0)) / Math.max(1, k.cycles)).toFixed(4)} %`,
    ]),
  );
  const skipped = r.cells.filter((k) => k.status === "skipped");
  const goals = r.goals.map((g) => `  ${g.met ? "met   " : "MISSED"}  ${g.goal}: ${g.workload} ${g.ratio.toFixed(4)}× (limit ${g.limit}×)`);
  return [
    `Overhead over bare (plain binary), simulated cycles, cost model: ${r.costModelName}, ${describeSmp(r.smp)}`,
    overhead,
    "",
    "Simulated cycles",
    cycles,
    "",
    "What the monitors were entered for",
    events,
    "",
    ...(guarded.length ? ["Protection domains (the in-place VMM's; compare with --no-protect)", protection, ""] : []),
    "Goals",
    ...(goals.length ? goals : ["  (no configuration pair for the goals was run)"]),
    ...(skipped.length ? ["", `Not run: ${[...new Set(skipped.map((k) => `${k.config} (${k.note})`))].join("; ")}`] : []),
    "",
  ].join("\n");
}
