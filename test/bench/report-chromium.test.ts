// The HTML report as a person sees it: rendered by headless Chromium (Debian's
// `chromium`, which .ci/run installs) at 800 and 1280 px wide. The page itself
// has no scripts; the test renders a copy with one measuring script appended
// and reads what it measured from the DOM Chromium dumps after layout: both
// charts with a bar per cell, bars of no overhead (1.0×) with a visible
// height, bar labels that do not overlap, the goals met/missed, a table that
// does not scroll sideways with every row on one line, and colours that mean
// one thing each. Skipped, with a message, where no Chromium can be found.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { findChromium } from "../chromium.js";
import { annotate } from "../../src/annotator/index.js";
import { CONFIGURATIONS, type KernelBinary } from "../../src/cli/bench/configurations.js";
import { makeReport, type BenchReport } from "../../src/cli/bench/report-data.js";
import { renderHtmlReport } from "../../src/cli/bench/report-html.js";
import { runBench } from "../../src/cli/bench/run-bench.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";

const chromium = findChromium();
if (!chromium) console.warn("report-chromium.test: no chromium on PATH — skipping the rendering test (.ci/run installs Debian's chromium)");

/** Appended to a copy of the report: measures the laid-out page and writes the figures into an attribute. */
const MEASURE = `<script>
const box = (e) => e.getBoundingClientRect();
const rows = [...document.querySelectorAll("#cells tr.cell")].map((r) => box(r).height);
const labels = [...document.querySelectorAll("#chart-overhead text.bar-label")].map(box);
let overlaps = 0;
labels.forEach((a, i) => labels.slice(i + 1).forEach((b) => {
  if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps++;
}));
const bars = [...document.querySelectorAll("#chart-overhead rect.bar")].map((r) => ({ config: r.dataset.config, height: box(r).height, fill: r.getAttribute("fill") }));
document.body.setAttribute("data-measured", JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
  rowHeights: rows, labels: labels.length, overlaps, bars,
  segmentFills: [...document.querySelectorAll("#chart-breakdown rect.segment")].map((r) => r.getAttribute("fill")),
  goals: [...document.querySelectorAll("#goals tbody tr")].map((r) => r.cells[0].textContent),
}));
</script></body>`;

interface Measured {
  scrollWidth: number;
  clientWidth: number;
  rowHeights: number[];
  labels: number;
  overlaps: number;
  bars: { config: string; height: number; fill: string }[];
  segmentFills: string[];
  goals: string[];
}

function render(html: string, width: number): { dom: string; measured: Measured } {
  const dir = mkdtempSync(join(tmpdir(), "previrt-report-"));
  writeFileSync(join(dir, "report.html"), html.replace("</body>", MEASURE));
  const dom = execFileSync(
    chromium!,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${join(dir, "profile")}`, `--window-size=${width},1200`,
      "--dump-dom", `file://${join(dir, "report.html")}`],
    { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] },
  );
  const attr = /data-measured="([^"]*)"/.exec(dom);
  expect(attr, "the measuring script ran").not.toBeNull();
  const json = attr![1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return { dom, measured: JSON.parse(json) as Measured };
}

describe.skipIf(!chromium)("the HTML report in headless Chromium", () => {
  let report: BenchReport;
  let html: string;
  const ids = ["bare-plain", "bare-annotated", "xen-pre", "l4-pre", "hvm", "trap"];
  beforeAll(() => {
    const file = "fixtures/guests/psr-hole.s";
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    const build = (_w: string, b: KernelBinary) => assemble([{ file, text: b === "annotated" ? annotate(file, text).text : text }]);
    const configurations = CONFIGURATIONS.filter((c) => ids.includes(c.id));
    const cells = runBench({ workloads: ["a", "b"], configurations, build, repeats: 1, maxCycles: 3_000_000 });
    report = makeReport({ cells, configurations, workloads: ["a", "b"], costModel: defaultCostModel(), costModelName: "default" });
    html = renderHtmlReport(report);
  }, 90_000);

  for (const width of [800, 1280]) {
    it(`at ${width} px: charts, visible 1.0× bars, labels apart, goals, a table that fits with one line per row`, () => {
      const { dom, measured: m } = render(html, width);
      expect(dom).toMatch(/<figure id="chart-overhead"><svg[^>]*>/);
      expect(dom).toMatch(/<figure id="chart-breakdown"><svg[^>]*>/);
      expect(dom).toMatch(/<rect class="segment" data-config="hvm" data-part="vmExit"/);
      expect(m.bars).toHaveLength(2 * ids.length); // 2 workloads × the configurations
      // The reference's bars (exactly 1.0×) stand out of the axis, log scale or not.
      const reference = m.bars.filter((b) => b.config === "bare-plain");
      expect(reference).toHaveLength(2);
      for (const b of reference) expect(b.height).toBeGreaterThan(8);
      expect(m.labels).toBe(m.bars.length);
      expect(m.overlaps).toBe(0);
      // The goals the terminal prints, met or missed.
      expect(m.goals).toEqual(report.goals.map((g) => (g.met ? "met" : "MISSED")));
      expect(m.goals.length).toBeGreaterThan(0);
      // No sideways scrolling; every cell row one line high (the trap cells carry a note on a row of its own).
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);
      expect(m.rowHeights).toHaveLength(report.cells.length);
      expect(Math.max(...m.rowHeights)).toBeLessThan(1.5 * Math.min(...m.rowHeights));
    }, 90_000);
  }

  it("one colour per back end, none shared with the events' palette", () => {
    const { measured: m } = render(html, 1280);
    const fillOf = new Map(m.bars.map((b) => [b.config, b.fill]));
    const backendOf = new Map(CONFIGURATIONS.map((c) => [c.id, c.backend]));
    for (const a of ids) for (const b of ids) if (backendOf.get(a) !== backendOf.get(b)) expect(fillOf.get(a), `${a} vs ${b}`).not.toBe(fillOf.get(b));
    const configFills = new Set(fillOf.values());
    expect(m.segmentFills.length).toBeGreaterThan(0);
    for (const f of m.segmentFills) expect(configFills.has(f), f).toBe(false);
  }, 90_000);
});
