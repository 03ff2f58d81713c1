// The Run view's charts, as plain SVG strings: overhead against the
// reference per back end (bars, log scale so 1.0× still shows), and where
// each back end's cycles go (one stacked bar per back end, by cost-model
// event); and the Migrate view's pre-copy rounds (pages sent per round, the
// final stop, stop-and-copy's pages for comparison). Consumes RunRows and
// migration reports (protocol.ts); produces markup main.ts inserts.

import type { RunRow } from "./protocol.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One colour per back end (order of the registry), none reused by the events below. */
const BACKEND_COLOURS = ["#4c6a92", "#c0504d", "#9b59b6", "#2e8b57", "#d4a017", "#555"];
/** One colour per part of the breakdown. */
const PART_COLOURS: Record<string, string> = {
  instructions: "#9ecae1",
  idle: "#e0e0e0",
  vmExit: "#3a3a3a",
  hypercall: "#31a354",
  ipc: "#756bb1",
  exceptionEntry: "#e6550d",
  tlbMiss: "#fd8d3c",
  shadowFill: "#843c39",
};
const OTHER_PARTS = ["#bcbddc", "#fdd0a2", "#c7e9c0", "#d6616b", "#7b4173", "#ad494a", "#8ca252", "#bd9e39"];

export function partColour(part: string, order: readonly string[]): string {
  return PART_COLOURS[part] ?? OTHER_PARTS[Math.max(0, order.indexOf(part)) % OTHER_PARTS.length];
}

export function overheadChart(rows: readonly RunRow[]): string {
  const w = 640;
  const barH = 22;
  const left = 60;
  const right = 110;
  const h = rows.length * (barH + 8) + 30;
  const max = Math.max(2, ...rows.map((r) => r.overhead));
  // log scale from 0.5× to max: a 1.0× bar keeps a visible length.
  const x = (v: number) => ((Math.log(Math.max(v, 0.5)) - Math.log(0.5)) / (Math.log(max) - Math.log(0.5))) * (w - left - right);
  const bars = rows.map((r, i) => {
    const y = 10 + i * (barH + 8);
    const len = Math.max(2, x(r.overhead));
    const label = `${r.overhead.toFixed(2)}× ${r.divergent ? "(diverged)" : ""}`;
    return `<g><title>${esc(`${r.backend}: ${r.cycles.toLocaleString("en-US")} cycles, ${label}`)}</title>
<text x="${left - 6}" y="${y + barH * 0.7}" text-anchor="end" font-size="12">${esc(r.backend)}</text>
<rect class="bar" data-backend="${esc(r.backend)}" x="${left}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${BACKEND_COLOURS[i % BACKEND_COLOURS.length]}"${r.divergent ? ' stroke="#b3261e" stroke-width="2" stroke-dasharray="4 2"' : ""}/>
<text x="${left + len + 6}" y="${y + barH * 0.7}" font-size="12">${esc(label)}</text></g>`;
  });
  const one = left + x(1);
  return `<svg class="chart" id="chart-overhead" viewBox="0 0 ${w} ${h}" role="img" aria-label="simulated cycles relative to ${esc(rows[0]?.backend ?? "bare")}, log scale">
<line x1="${one}" x2="${one}" y1="4" y2="${h - 18}" stroke="#888" stroke-dasharray="2 2"/>
<text x="${one}" y="${h - 4}" text-anchor="middle" font-size="11" fill="#555">1.0× (${esc(rows[0]?.backend ?? "")})</text>
${bars.join("\n")}</svg>`;
}

export function breakdownChart(rows: readonly RunRow[]): { svg: string; legend: string } {
  const parts: string[] = [];
  for (const r of rows) for (const [p, v] of Object.entries(r.breakdown)) if (v > 0 && !parts.includes(p)) parts.push(p);
  parts.sort((a, b) => (a === "instructions" ? -1 : b === "instructions" ? 1 : a.localeCompare(b)));
  const w = 640;
  const left = 60;
  const barH = 22;
  const h = rows.length * (barH + 8) + 10;
  const maxCycles = Math.max(1, ...rows.map((r) => r.cycles));
  const bars = rows.map((r, i) => {
    const y = 6 + i * (barH + 8);
    let at = left;
    const segs = parts
      .filter((p) => (r.breakdown[p] ?? 0) > 0)
      .map((p) => {
        const v = r.breakdown[p];
        const len = (v / maxCycles) * (w - left - 10);
        const seg = `<rect class="segment" data-backend="${esc(r.backend)}" data-part="${esc(p)}" x="${at.toFixed(1)}" y="${y}" width="${Math.max(0.5, len).toFixed(1)}" height="${barH}" fill="${partColour(p, parts)}"><title>${esc(`${r.backend} · ${p}: ${Math.round(v).toLocaleString("en-US")} cycles (${((v / Math.max(1, r.cycles)) * 100).toFixed(1)}%)`)}</title></rect>`;
        at += len;
        return seg;
      });
    return `<text x="${left - 6}" y="${y + barH * 0.7}" text-anchor="end" font-size="12">${esc(r.backend)}</text>${segs.join("")}`;
  });
  const svg = `<svg class="chart" id="chart-breakdown" viewBox="0 0 ${w} ${h}" role="img" aria-label="where each back end's cycles go">${bars.join("\n")}</svg>`;
  const legend = `<div class="legend">${parts.map((p) => `<span style="--c:${partColour(p, parts)}">${esc(p)}</span>`).join("")}</div>`;
  return { svg, legend };
}

/** Pages sent in each pre-copy round and in the final stop (the downtime), with a line at what stop-and-copy would send while stopped. */
export function roundsChart(rounds: readonly number[], stopPages: number, stopAndCopyPages: number): string {
  const w = 640;
  const h = 170;
  const top = 26;
  const left = 44;
  const bottom = 24;
  const bars = [...rounds, stopPages];
  const max = Math.max(1, stopAndCopyPages, ...bars);
  const slot = (w - left - 10) / bars.length;
  const barW = Math.min(48, slot * 0.7);
  const y = (v: number) => top + (1 - v / max) * (h - bottom - top);
  const rects = bars.map((v, i) => {
    const stop = i === bars.length - 1;
    const x = left + i * slot + (slot - barW) / 2;
    const label = stop ? "stop" : `${i + 1}`;
    return `<g><title>${esc(`${stop ? "final stop (downtime)" : `round ${i + 1}`}: ${v.toLocaleString("en-US")} pages`)}</title>
<rect class="round${stop ? " stop" : ""}" x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(1, h - bottom - y(v)).toFixed(1)}" fill="${stop ? "#c0504d" : "#4c6a92"}"/>
<text x="${(x + barW / 2).toFixed(1)}" y="${h - 8}" text-anchor="middle" font-size="11">${label}</text>
<text x="${(x + barW / 2).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="11">${v}</text></g>`;
  });
  const sc = y(stopAndCopyPages);
  return `<svg class="chart" id="chart-rounds" viewBox="0 0 ${w} ${h}" role="img" aria-label="pages sent per pre-copy round and in the final stop">
<text x="${left - 6}" y="${y(max) + 4}" text-anchor="end" font-size="11" fill="#555">${max}</text><text x="${left - 6}" y="${h - bottom}" text-anchor="end" font-size="11" fill="#555">0</text>
<line x1="${left}" x2="${w - 10}" y1="${sc.toFixed(1)}" y2="${sc.toFixed(1)}" stroke="#b3261e" stroke-dasharray="4 3"/>
<text x="${w - 12}" y="${(sc - 5).toFixed(1)}" text-anchor="end" font-size="11" fill="#b3261e">stop-and-copy: ${stopAndCopyPages} pages while stopped</text>
${rects.join("\n")}</svg>`;
}
