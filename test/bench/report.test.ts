// The benchmark's data → table / JSON / HTML, on a real (small) guest run on
// the real back ends: the report machinery is checked here; `previrt bench`
// itself runs the kernel's workloads.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { CONFIGURATIONS, type KernelBinary } from "../../src/cli/bench/configurations.js";
import { makeReport } from "../../src/cli/bench/report-data.js";
import { renderHtmlReport } from "../../src/cli/bench/report-html.js";
import { renderTextReport } from "../../src/cli/bench/report-text.js";
import { breakdown, runBench } from "../../src/cli/bench/run-bench.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";

const file = "fixtures/guests/psr-hole.s";
const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
const build = (_w: string, binary: KernelBinary) => {
  if (binary === "paravirt-xen") throw new UserError("no para-virtualized build of this guest");
  return assemble([{ file, text: binary === "annotated" ? annotate(file, text).text : text }]);
};

describe("bench report", () => {
  const configurations = CONFIGURATIONS.filter((c) => ["bare-plain", "bare-annotated", "hvm", "trap", "xen-para"].includes(c.id));
  const cells = runBench({ workloads: ["hole"], configurations, build, repeats: 1, maxCycles: 3_000_000 });
  const report = makeReport({ cells, configurations, workloads: ["hole"], costModel: defaultCostModel(), costModelName: "default" });

  it("runs every cell for real and compares it with bare (plain)", () => {
    const by = Object.fromEntries(cells.map((c) => [c.config, c]));
    expect(by["bare-plain"].status).toBe("ok");
    expect(by["bare-plain"].overhead).toBe(1);
    expect(by["bare-annotated"].status).toBe("ok");
    expect(by.hvm.status).toBe("ok");
    expect(by.hvm.events.vmExit).toBeGreaterThan(0);
    expect(by.trap.status).toBe("failed"); // runs into the cycle limit: the virtualization hole
    expect(by["xen-para"].status).toBe("skipped");
    expect(by["xen-para"].note).toMatch(/not available|build failed/);
  });

  it("accounts for every cycle in the breakdown", () => {
    for (const c of cells.filter((k) => k.status !== "skipped")) {
      const sum = Object.values(c.breakdown).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(c.cycles, 6);
      expect(c.breakdown.instructions).toBeGreaterThan(0);
    }
    expect(breakdown(1000, { vmExit: 0 }, {}, defaultCostModel())).toEqual({ instructions: 1000 });
  });

  it("checks the goals from the measured cells", () => {
    const g = report.goals.find((x) => x.goal.startsWith("annotated"))!;
    expect(g.ratio).toBeCloseTo(cells[1].cycles / cells[0].cycles, 12);
    expect(g.met).toBe(g.ratio <= 1.01);
  });

  it("renders a terminal table, JSON and a self-contained HTML report with both charts", () => {
    const t = renderTextReport(report);
    expect(t).toMatch(/^hole\s+1\.000×/m);
    expect(t).toMatch(/Not run: xen-para/);
    const json = JSON.parse(JSON.stringify(report));
    expect(json.costModel.vmExit).toBe(defaultCostModel().vmExit);
    expect(json.cells).toHaveLength(cells.length);
    const html = renderHtmlReport(report);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toMatch(/<figure id="chart-overhead"><svg/);
    expect(html).toMatch(/<figure id="chart-breakdown"><svg/);
    expect((html.match(/class="bar"/g) ?? []).length).toBe(4); // one bar per run cell
    expect(html).toMatch(/class="segment" data-config="hvm" data-part="vmExit"/);
  });
});
