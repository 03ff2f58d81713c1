// The benchmark report as one self-contained HTML page: no scripts, no
// external files — inline CSS and SVG, so it can be mailed, archived or
// opened from disk. Made from the report data (report-data.ts):
//   1. overhead over bare (plain binary), per workload, one bar per configuration;
//   2. where the cycles go, per configuration: instructions, idle time and each
//      counted event, summed over the workloads, as shares of a stacked bar;
//   3. the goals, met or missed (what the terminal report prints);
//   4. every cell, grouped by workload.
// Colours mean one thing each across the page: a back end has one hue (its
// configurations are shades of it) and the events of chart 2 use a palette
// that shares no colour with the back ends. Checked as a person sees it, in
// headless Chromium at 800 and 1280 px (test/bench/report-chromium.test.ts).

import type { BenchConfiguration } from "./configurations.js";
import { describeSmp, type BenchReport } from "./report-data.js";
import type { BenchCell } from "./run-bench.js";

/** Per back end, the shades its configurations take, in order (darkest first). */
export const BACKEND_SHADES: Readonly<Record<string, readonly string[]>> = {
  bare: ["#2f5d8a", "#7fa9d6"],
  xen: ["#d4650f", "#f5ad6e"],
  l4: ["#3b8a35", "#92cf88"],
  hvm: ["#c8283a", "#ef8d94"],
  trap: ["#7d4f93", "#c3a2d4"],
};
/** Back ends not listed above: greys. */
const OTHER_SHADES = ["#555555", "#999999"];

/** Chart 2's palette: no hue of a back end (no blue, orange, green, red or purple). */
export const PART_COLORS: Readonly<Record<string, string>> = {
  instructions: "#5f6b76",
  idle: "#d5d5d5",
  exceptionEntry: "#138d9c",
  exceptionReturn: "#8fd3dc",
  tlbMissWalk: "#a9a91c",
  tlbFlush: "#dede8c",
  deviceAccess: "#7b4b2a",
  hypercall: "#e7c02e",
  vmExit: "#2b2b2b",
  ipc: "#c9a27e",
  map: "#e377c2",
  unmap: "#f4c2e0",
  shadowUpdate: "#969696",
  interruptInjection: "#1c4e5a",
  worldSwitch: "#f2e6a8",
  permissionRef: "#8c8c5a",
};

/** Each configuration's colour: its back end's hue, one shade per configuration of that back end. */
export function configurationColors(configs: readonly BenchConfiguration[]): Map<string, string> {
  const used = new Map<string, number>();
  return new Map(
    configs.map((c) => {
      const shades = BACKEND_SHADES[c.backend] ?? OTHER_SHADES;
      const i = used.get(c.backend) ?? 0;
      used.set(c.backend, i + 1);
      return [c.id, shades[i % shades.length]];
    }),
  );
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 3 : 1)}×` : "–");
const swatch = (color: string) => `<i style="background:${color}"></i>`;

export function renderHtmlReport(report: BenchReport): string {
  const configs = report.configurations;
  const colorOf = configurationColors(configs);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>previrt bench — pre-virtualization, measured</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#666;font-size:.85rem} figure{margin:1rem 0} figcaption{color:#555;font-size:.9rem;margin-top:.3rem}
table{border-collapse:collapse;font-size:.8rem;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.2rem .35rem;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
th{background:#f6f6f6;white-space:normal;vertical-align:bottom}
th:first-child,td:first-child,#cells th:nth-child(2),#cells td:nth-child(2),#goals td:nth-child(-n+3),#goals th:nth-child(-n+3){text-align:left}
#cells tr.workload th{text-align:left;background:#fff;font-size:.9rem;padding-top:.7rem;border-bottom:2px solid #ccc}
#cells tr.note td{white-space:normal;text-align:left;color:#b00020;font-size:.75rem;border-bottom:1px solid #e4e4e4;padding-top:0}
#cells tr.has-note td{border-bottom:none}
.bad{color:#b00020;font-weight:600} .met{color:#1b6e1b;font-weight:600}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem;white-space:nowrap}
i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
svg text{font-family:system-ui,sans-serif;fill:#333}
@media (max-width:900px){body{padding:0 .5rem;margin-top:1rem} th,td{padding:.2rem .22rem} table{font-size:.76rem}}
</style></head><body>
<h1>previrt bench</h1>
<p class="meta">${esc(report.generated)} · commit ${esc(report.commit)} · Node ${esc(report.versions.node)} · previrt ${esc(report.versions.previrt)} · cost model: ${esc(report.costModelName)} · ${esc(describeSmp(report.smp))}</p>
<p>Every workload of the bundled kernel, built once per kind of binary, run on every configuration. Simulated cycles are
executed instructions × their class cost plus counted events × their cost (docs/cost-model.md); nothing is special-cased
per back end. Overheads are relative to the plain kernel on bare metal.</p>
<h2>Overhead over bare metal</h2>
<figure id="chart-overhead">${overheadChart(report, colorOf)}
<figcaption>Simulated cycles relative to <em>bare, plain binary</em> for each workload (1.0 = no overhead${report.logScale ? `; logarithmic scale from ${LOG_FLOOR}×` : ""}). The table below has every figure to three places.</figcaption>
<div class="legend">${configs.map((c) => `<span>${swatch(colorOf.get(c.id)!)}${esc(c.label)}</span>`).join("")}</div></figure>
<h2>Where the cycles go</h2>
<figure id="chart-breakdown">${breakdownChart(report, colorOf)}
<figcaption>Share of all simulated cycles, summed over the workloads, by what they were spent on.</figcaption>
<div class="legend">${usedParts(report.cells).map((p) => `<span>${swatch(PART_COLORS[p] ?? "#999")}${esc(p)}</span>`).join("")}</div></figure>
<h2>Goals</h2>
${goalsTable(report)}
<h2>All cells</h2>
${cellTable(report, colorOf)}
</body></html>
`;
}

/** Where a logarithmic axis starts: below 1×, so a bar of no overhead (1.0×) still has a height. */
const LOG_FLOOR = 0.5;

function overheadChart(report: BenchReport, colorOf: Map<string, string>): string {
  const { workloads, configurations: configs, cells } = report;
  const W = 960, H = 380, left = 48, right = 8, bottom = 28, top = 40; // top: room for a bar's upright label
  const plotW = W - left - right, plotH = H - top - bottom;
  const values = cells.filter((c) => Number.isFinite(c.overhead) && c.overhead > 0).map((c) => c.overhead);
  const log = report.logScale;
  const max = niceCeiling(Math.max(1.1, ...values), log);
  const min = log ? LOG_FLOOR : 0;
  const y = (v: number) =>
    top + plotH - (log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min)) : v / max) * plotH;
  const groupW = plotW / Math.max(1, workloads.length);
  const barW = (groupW * 0.84) / Math.max(1, configs.length);
  const ticks = log ? logTicks(min, max) : linearTicks(max);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="overhead per workload and configuration">`];
  for (const t of ticks) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="${t === 1 ? "#aaa" : "#e6e6e6"}"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${t}×</text>`);
  }
  workloads.forEach((w, wi) => {
    const x0 = left + wi * groupW + groupW * 0.08;
    configs.forEach((c, ci) => {
      const cell = cells.find((k) => k.workload === w && k.config === c.id);
      if (!cell || !Number.isFinite(cell.overhead)) return;
      const x = x0 + ci * barW;
      const yTop = y(cell.overhead);
      const title = `${w} on ${c.label}: ${ratio(cell.overhead)} (${fmt(cell.cycles)} cycles)${cell.status !== "ok" ? ` — ${cell.status}` : ""}`;
      parts.push(
        `<rect class="bar" data-config="${c.id}" data-workload="${esc(w)}" x="${x.toFixed(1)}" y="${yTop.toFixed(1)}" width="${Math.max(1, barW - 1.5).toFixed(1)}" height="${Math.max(1, top + plotH - yTop).toFixed(1)}" fill="${colorOf.get(c.id)}"${cell.status === "diverged" || cell.status === "failed" ? ' stroke="#b00020" stroke-width="1.5"' : ""}><title>${esc(title)}</title></rect>`,
      );
      // Upright, one per bar: neighbours never overlap however close the values are.
      const label = cell.overhead < 10 ? cell.overhead.toFixed(2) : cell.overhead.toFixed(0);
      const cx = x + (barW - 1.5) / 2 + 3.5, ly = yTop - 3;
      parts.push(`<text class="bar-label" x="${cx.toFixed(1)}" y="${ly.toFixed(1)}" transform="rotate(-90 ${cx.toFixed(1)} ${ly.toFixed(1)})" font-size="10">${label}</text>`);
    });
    parts.push(`<text x="${(left + wi * groupW + groupW / 2).toFixed(1)}" y="${H - bottom + 18}" text-anchor="middle" font-size="12">${esc(w)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#999"/>`);
  parts.push("</svg>");
  return parts.join("");
}

function breakdownChart(report: BenchReport, colorOf: Map<string, string>): string {
  const configs = report.configurations.filter((c) => report.cells.some((k) => k.config === c.id && k.status !== "skipped"));
  const parts = usedParts(report.cells);
  const rowH = 26, left = 200, W = 960, top = 6;
  const H = top + configs.length * rowH + 8;
  const plotW = W - left - 60;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="where the cycles go per configuration">`];
  configs.forEach((c, i) => {
    const totals: Record<string, number> = {};
    for (const cell of report.cells.filter((k) => k.config === c.id && k.status !== "skipped")) {
      for (const [p, v] of Object.entries(cell.breakdown)) totals[p] = (totals[p] ?? 0) + v;
    }
    const sum = Object.values(totals).reduce((a, b) => a + b, 0) || 1;
    const y = top + i * rowH;
    out.push(`<text x="${left - 22}" y="${y + 16}" text-anchor="end" font-size="12">${esc(c.label)}</text>`);
    out.push(`<rect class="config-key" x="${left - 16}" y="${y + 6}" width="10" height="10" fill="${colorOf.get(c.id)}"/>`);
    let x = left;
    for (const p of parts) {
      const v = totals[p] ?? 0;
      if (!v) continue;
      const w = (v / sum) * plotW;
      out.push(`<rect class="segment" data-config="${c.id}" data-part="${p}" x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${PART_COLORS[p] ?? "#999"}"><title>${esc(`${c.label}: ${p} ${(100 * v / sum).toFixed(1)}% (${fmt(v)} cycles)`)}</title></rect>`);
      x += w;
    }
    out.push(`<text x="${left + plotW + 6}" y="${y + 16}" font-size="12">${fmt(sum / 1e6)}M</text>`);
  });
  out.push("</svg>");
  return out.join("");
}

function goalsTable(report: BenchReport): string {
  if (!report.goals.length) return `<p id="goals">No configuration pair for the goals was run.</p>`;
  const rows = report.goals.map(
    (g) =>
      `<tr class="${g.met ? "goal-met" : "goal-missed"}"><td class="${g.met ? "met" : "bad"}">${g.met ? "met" : "MISSED"}</td><td>${esc(g.goal)}</td><td>${esc(g.workload)}</td><td>${g.ratio.toFixed(4)}×</td><td>≤ ${g.limit}×</td></tr>`,
  );
  return `<table id="goals"><thead><tr><th>verdict</th><th>goal</th><th>workload</th><th>measured</th><th>limit</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function cellTable(report: BenchReport, colorOf: Map<string, string>): string {
  const label = new Map<string, BenchConfiguration>(report.configurations.map((c) => [c.id, c]));
  const columns = 10;
  const rows: string[] = [];
  for (const w of report.workloads) {
    rows.push(`<tr class="workload"><th colspan="${columns}">${esc(w)}</th></tr>`);
    for (const c of report.cells.filter((k: BenchCell) => k.workload === w)) {
      const ev = c.events;
      const cls = c.status === "ok" ? "" : ' class="bad"';
      rows.push(
        `<tr class="cell${c.note ? " has-note" : ""}"><td title="${esc(label.get(c.config)?.label ?? c.config)}">${swatch(colorOf.get(c.config) ?? "#999")}${esc(c.config)}</td><td${cls}>${esc(c.status)}</td>` +
          `<td>${fmt(c.cycles)}</td><td>${ratio(c.overhead)}</td><td>${fmt(c.instructions)}</td>` +
          `<td>${monitorEntries(ev)}</td><td>${c.updatesPerBatch ? c.updatesPerBatch.toFixed(1) : "–"}</td>` +
          `<td>${fmt(c.tlbFlushes)}</td><td>${c.sites.inline}/${c.sites.call}/${c.sites.stub}</td><td>${Number.isFinite(c.hostMips) ? c.hostMips.toFixed(1) : "–"}</td></tr>`,
      );
      // The note (why a cell failed or was skipped) on a line of its own under the row, the full width of the table.
      if (c.note) rows.push(`<tr class="note"><td></td><td colspan="${columns - 1}">${esc(c.status)}: ${esc(c.note)}</td></tr>`);
    }
  }
  return `<table id="cells"><thead><tr><th>configuration</th><th>status</th><th>cycles</th><th>overhead</th><th>instructions</th>` +
    `<th>monitor entered</th><th>updates / batch</th><th>TLB flushes</th><th>sites i/c/s</th><th>host MIPS</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

/** VM exits, hypercalls and IPCs in one column: a back end enters its monitor one of these ways. */
function monitorEntries(ev: BenchCell["events"]): string {
  const kinds = ([["vmExit", "exits"], ["hypercall", "hcalls"], ["ipc", "IPCs"]] as const).filter(([k]) => (ev[k] ?? 0) > 0);
  return kinds.length ? kinds.map(([k, name]) => `${fmt(ev[k]!)} ${name}`).join(" + ") : "–";
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

function logTicks(min: number, max: number): number[] {
  const t: number[] = [];
  for (let mag = 0.1; mag <= max * 1.0001; mag *= 10) {
    for (const s of [1, 2, 5]) {
      const v = Number((s * mag).toPrecision(3));
      if (v >= min * 0.9999 && v <= max * 1.0001) t.push(v);
    }
  }
  return t;
}

function linearTicks(max: number): number[] {
  const step = max <= 2 ? 0.25 : max <= 5 ? 0.5 : max <= 10 ? 1 : 2;
  const t: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) t.push(Number(v.toFixed(2)));
  return t;
}
