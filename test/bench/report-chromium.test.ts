// The HTML report as a person sees it: rendered by headless Chromium (Debian's
// `chromium`, which .ci/run installs), the DOM after layout must hold both
// charts with their bars and segments. Skipped, with a message, where no
// Chromium can be found.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { CONFIGURATIONS, type KernelBinary } from "../../src/cli/bench/configurations.js";
import { makeReport } from "../../src/cli/bench/report-data.js";
import { renderHtmlReport } from "../../src/cli/bench/report-html.js";
import { runBench } from "../../src/cli/bench/run-bench.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";

function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

const chromium = findChromium();
if (!chromium) console.warn("report-chromium.test: no chromium on PATH — skipping the rendering test (.ci/run installs Debian's chromium)");

describe.skipIf(!chromium)("the HTML report in headless Chromium", () => {
  it("lays out both charts with a bar per cell and cycle segments per configuration", () => {
    const file = "fixtures/guests/psr-hole.s";
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    const build = (_w: string, b: KernelBinary) => assemble([{ file, text: b === "annotated" ? annotate(file, text).text : text }]);
    const configurations = CONFIGURATIONS.filter((c) => ["bare-plain", "bare-annotated", "hvm"].includes(c.id));
    const cells = runBench({ workloads: ["a", "b"], configurations, build, repeats: 1, maxCycles: 3_000_000 });
    const html = renderHtmlReport(makeReport({ cells, configurations, workloads: ["a", "b"], costModel: defaultCostModel(), costModelName: "default" }));
    const dir = mkdtempSync(join(tmpdir(), "previrt-report-"));
    writeFileSync(join(dir, "report.html"), html);
    const dom = execFileSync(
      chromium!,
      ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", `--user-data-dir=${join(dir, "profile")}`, "--dump-dom", `file://${join(dir, "report.html")}`],
      { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] },
    );
    expect(dom).toMatch(/<figure id="chart-overhead"><svg[^>]*>/);
    expect(dom).toMatch(/<figure id="chart-breakdown"><svg[^>]*>/);
    expect((dom.match(/<rect class="bar"/g) ?? []).length).toBe(6); // 2 workloads × 3 configurations
    expect(dom).toMatch(/<rect class="segment" data-config="hvm" data-part="vmExit"/);
    expect(dom).toMatch(/<table id="cells">/);
  }, 90_000);
});
