// The benchmark report as one self-contained HTML page: no scripts, no
// external files — inline CSS and SVG, so it can be mailed, archived or
// opened from disk. Two charts and the full table:
//   1. overhead over bare (plain binary), per workload, one bar per configuration;
//   2. where the cycles go, per configuration: instructions, idle time and each
//      counted event, summed over the workloads, as shares of a stacked bar.

import type { BenchConfiguration } from "./configurations.js";
import type { BenchReport } from "./report-data.js";
import type { BenchCell } from "./run-bench.js";

const CONFIG_COLORS = ["#4e79a7", "#a0cbe8", "#f28e2b", "#ffbe7d", "#59a14f", "#e15759", "#b07aa1", "#9c755f"];
const PART_COLORS: Record<string, string> = {
  instructions: "#4e79a7",
  idle: "#d3d3d3",
  exceptionEntry: "#f28e2b",
  exceptionReturn: "#ffbe7d",
  tlbMissWalk: "#8cd17d",
  tlbFlush: "#59a14f",
  deviceAccess: "#b6992d",
  hypercall: "#e15759",
  vmExit: "#ff9d9a",
  ipc: "#b07aa1",
  map: "#d4a6c8",
  unmap: "#9d7660",
  shadowUpdate: "#79706e",
  interruptInjection: "#bab0ac",
  worldSwitch: "#86bcb6",
};

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 3 : 1)}×` : "–");

export function renderHtmlReport(report: BenchReport): string {
  const configs = report.configurations;
  const colorOf = new Map(configs.map((c, i) => [c.id, CONFIG_COLORS[i % CONFIG_COLORS.length]]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>previrt bench — pre-virtualization, measured</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#666;font-size:.85rem} figure{margin:1rem 0} figcaption{color:#555;font-size:.9rem;margin-top:.3rem}
table{border-collapse:collapse;font-size:.82rem;width:100%} th,td{padding:.25rem .5rem;border-bottom:1px solid #e4e4e4;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left} th{background:#f6f6f6}
.bad{color:#b00020;font-weight:600} .legend span{display:inline-block;margin-right:1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
svg text{font:11px system-ui,sans-serif;fill:#333}
</style></head><body>
<h1>previrt bench</h1>
<p class="meta">${esc(report.generated)} · commit ${esc(report.commit)} · Node ${esc(report.versions.node)} · previrt ${esc(report.versions.previrt)} · cost model: ${esc(report.costModelName)}</p>
<p>Every workload of the bundled kernel, built once per kind of binary, run on every configuration. Simulated cycles are
executed instructions × their class cost plus counted events × their cost (docs/cost-model.md); nothing is special-cased
per back end. Overheads are relative to the plain kernel on bare metal.</p>
<h2>Overhead over bare metal</h2>
<figure id="chart-overhead">${overheadChart(report, colorOf)}
<figcaption>Simulated cycles relative to <em>bare, plain binary</em> for each workload (1.0 = no overhead${report.logScale ? "; logarithmic scale" : ""}).</figcaption>
<div class="legend">${configs.map((c) => `<span><i style="background:${colorOf.get(c.id)}"></i>${esc(c.label)}</span>`).join("")}</div></figure>
<h2>Where the cycles go</h2>
<figure id="chart-breakdown">${breakdownChart(report)}
<figcaption>Share of all simulated cycles, summed over the workloads, by what they were spent on.</figcaption>
<div class="legend">${usedParts(report.cells).map((p) => `<span><i style="background:${PART_COLORS[p] ?? "#999"}"></i>${esc(p)}</span>`).join("")}</div></figure>
<h2>All cells</h2>
${cellTable(report)}
</body></html>
`;
}

function overheadChart(report: BenchReport, colorOf: Map<string, string>): string {
  const { workloads, configurations: configs, cells } = report;
  const W = 1060, H = 360, left = 56, bottom = 40, top = 12;
  const plotW = W - left - 10, plotH = H - top - bottom;
  const values = cells.filter((c) => Number.isFinite(c.overhead) && c.overhead > 0).map((c) => c.overhead);
  const max = niceCeiling(Math.max(1.1, ...values), report.logScale);
  const log = report.logScale;
  const y = (v: number) => top + plotH - (log ? (Math.log10(Math.max(v, 1)) / Math.log10(max)) * plotH : (v / max) * plotH);
  const groupW = plotW / Math.max(1, workloads.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, configs.length));
  const ticks = log ? logTicks(max) : linearTicks(max);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="overhead per workload and configuration">`];
  for (const t of ticks) {
    parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#e6e6e6"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}×</text>`);
  }
  workloads.forEach((w, wi) => {
    const x0 = left + wi * groupW + groupW * 0.1;
    configs.forEach((c, ci) => {
      const cell = cells.find((k) => k.workload === w && k.config === c.id);
      if (!cell || !Number.isFinite(cell.overhead)) return;
      const x = x0 + ci * barW;
      const yTop = y(cell.overhead);
      const title = `${w} on ${c.label}: ${ratio(cell.overhead)} (${fmt(cell.cycles)} cycles)${cell.status !== "ok" ? ` — ${cell.status}` : ""}`;
      parts.push(
        `<rect class="bar" data-config="${c.id}" data-workload="${esc(w)}" x="${x.toFixed(1)}" y="${yTop.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${Math.max(0.5, top + plotH - yTop).toFixed(1)}" fill="${colorOf.get(c.id)}"${cell.status === "diverged" || cell.status === "failed" ? ' stroke="#b00020" stroke-width="1.5"' : ""}><title>${esc(title)}</title></rect>`,
      );
      if (barW >= 14) {
        const label = cell.overhead < 10 ? cell.overhead.toFixed(1) : cell.overhead.toFixed(0); // the table has the precision
        parts.push(`<text x="${(x + (barW - 1) / 2).toFixed(1)}" y="${(yTop - 3).toFixed(1)}" text-anchor="middle" font-size="9">${label}</text>`);
      }
    });
    parts.push(`<text x="${(left + wi * groupW + groupW / 2).toFixed(1)}" y="${H - bottom + 18}" text-anchor="middle">${esc(w)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#999"/>`);
  parts.push("</svg>");
  return parts.join("");
}

function breakdownChart(report: BenchReport): string {
  const configs = report.configurations.filter((c) => report.cells.some((k) => k.config === c.id && k.status !== "skipped"));
  const parts = usedParts(report.cells);
  const rowH = 26, left = 210, W = 1060, top = 6;
  const H = top + configs.length * rowH + 8;
  const plotW = W - left - 70;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="where the cycles go per configuration">`];
  configs.forEach((c, i) => {
    const totals: Record<string, number> = {};
    for (const cell of report.cells.filter((k) => k.config === c.id && k.status !== "skipped")) {
      for (const [p, v] of Object.entries(cell.breakdown)) totals[p] = (totals[p] ?? 0) + v;
    }
    const sum = Object.values(totals).reduce((a, b) => a + b, 0) || 1;
    const y = top + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(c.label)}</text>`);
    let x = left;
    for (const p of parts) {
      const v = totals[p] ?? 0;
      if (!v) continue;
      const w = (v / sum) * plotW;
      out.push(`<rect class="segment" data-config="${c.id}" data-part="${p}" x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${PART_COLORS[p] ?? "#999"}"><title>${esc(`${c.label}: ${p} ${(100 * v / sum).toFixed(1)}% (${fmt(v)} cycles)`)}</title></rect>`);
      x += w;
    }
    out.push(`<text x="${left + plotW + 6}" y="${y + 16}">${fmt(sum / 1e6)}M</text>`);
  });
  out.push("</svg>");
  return out.join("");
}

function cellTable(report: BenchReport): string {
  const label = new Map<string, BenchConfiguration>(report.configurations.map((c) => [c.id, c]));
  const rows = report.cells.map((c: BenchCell) => {
    const cls = c.status === "ok" ? "" : ' class="bad"';
    const ev = c.events;
    return `<tr><td>${esc(c.workload)}</td><td>${esc(label.get(c.config)?.label ?? c.config)}</td><td${cls}>${esc(c.status)}${c.note ? ` — ${esc(c.note)}` : ""}</td>` +
      `<td>${fmt(c.cycles)}</td><td>${ratio(c.overhead)}</td><td>${fmt(c.instructions)}</td>` +
      `<td>${fmt(ev.vmExit ?? 0)}</td><td>${fmt(ev.hypercall ?? 0)}</td><td>${fmt(ev.ipc ?? 0)}</td><td>${c.updatesPerBatch ? c.updatesPerBatch.toFixed(1) : "–"}</td>` +
      `<td>${fmt(c.tlbFlushes)}</td><td>${c.sites.inline}/${c.sites.call}/${c.sites.stub}</td><td>${Number.isFinite(c.hostMips) ? c.hostMips.toFixed(1) : "–"}</td></tr>`;
  });
  return `<table id="cells"><thead><tr><th>workload</th><th>configuration</th><th>status</th><th>cycles</th><th>overhead</th><th>instructions</th>` +
    `<th>VM exits</th><th>hypercalls</th><th>IPCs</th><th>updates/batch</th><th>TLB flushes</th><th>sites i/c/s</th><th>host MIPS</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function usedParts(cells: readonly BenchCell[]): string[] {
  const seen = new Set<string>();
  for (const c of cells) for (const [p, v] of Object.entries(c.breakdown)) if (v) seen.add(p);
  return ["instructions", "idle", ...Object.keys(PART_COLORS)].filter((p, i, a) => seen.has(p) && a.indexOf(p) === i);
}

/** The axis top: the next 1-2-5 step at or above the largest value. */
function niceCeiling(v: number, log: boolean): number {
  const mag = 10 ** Math.floor(Math.log10(v));
  const steps = log ? [1, 2, 5, 10] : [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
  return steps.map((s) => s * mag).find((s) => s >= v * 1.02) ?? 10 * mag;
}

function logTicks(max: number): number[] {
  const t: number[] = [];
  for (let mag = 1; mag <= max * 1.0001; mag *= 10) for (const s of [1, 2, 5]) if (s * mag <= max * 1.0001) t.push(s * mag);
  return t;
}

function linearTicks(max: number): number[] {
  const step = max <= 2 ? 0.25 : max <= 5 ? 0.5 : max <= 10 ? 1 : 2;
  const t: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) t.push(Number(v.toFixed(2)));
  return t;
}
