// The playground in a real browser (issue 19), part one of two: the Run view's matrix (hello, the bundled kernel,
// the SMP kernel on 2 CPUs and its per-CPU figures), a broken program's diagnostics, and the Step view on 2 CPUs
// and its last-instructions listing. The page builds and runs samples in its Web Worker, and what it shows is
// compared with the library's own answers computed here in Node: the matrix's verdicts and cycles, the per-CPU
// clocks, the diagnostics of a broken program at their line:col. The browser, the served page and the helpers
// are test/web/playground-browser.ts's, shared with playground-views.test.ts (the other part: the Build, Sites
// and Migrate views and a student's mistakes), so that the suite's two workers each run one part.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { DiagnosticError, UserError } from "../../src/guest-isa/diagnostics.js";
import { checkCpuOptions, getBackend } from "../../src/hypervisors/index.js";
import { describeVerdict, runMatrix } from "../../src/hypervisors/matrix.js";
import { BACKENDS, chromium, expectedRows, matrixRows, outDir, replaceProgram, root, scrollsSideways, usePlayground } from "./playground-browser.js";

/**
 * The library's matrix of the SMP kernel on 2 CPUs, run once for the file: the Run view's test compares every row
 * with the page's, the Step view's test xen's per-CPU clocks (runs are deterministic: the same row either way).
 */
let smpMatrix: ReturnType<typeof runMatrix> | undefined;
function smpKernelMatrix(): ReturnType<typeof runMatrix> {
  smpMatrix ??= runMatrix(buildKernel({ workload: "smp" }).image, { backends: BACKENDS, maxCycles: 400_000_000, cpus: 2, disk: () => kernelDisk() });
  return smpMatrix;
}

describe.skipIf(!chromium)("the playground in headless Chromium: the Run and Step views", () => {
  const pg = usePlayground();
  let page: Page;
  let url: string;
  beforeAll(() => {
    ({ page, url } = pg);
  });

  it("?sample=hello&run=1 builds and runs on load: every back end the same as bare, the cycles the library counts", async () => {
    await page.goto(`${url}?sample=hello&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    pg.timings.helloFirstResultMs = Number(await page.$eval("body", (b) => b.getAttribute("data-first-result-ms")));
    expect(await matrixRows(page)).toEqual(expectedRows("fixtures/guests/hello.s"));
    // The page's cycle limit, without max-cycles in the link: 4·10⁸ (protocol.ts LIMITS), said above the table; hello
    // ends long before it, so the command line needs no --max-cycles (a student's mistakes below runs to a smaller limit).
    const options = await page.$eval("#run-options", (e) => e.textContent);
    expect(options).toContain("a run stops at 400,000,000 simulated cycles");
    expect(options).not.toContain("--max-cycles");
    await page.screenshot({ path: join(outDir, "hello-run-800.png") });
  });

  it("the bundled kernel, built in the worker from bundled sources: the verdicts and cycles of the CLI's recipe", async () => {
    const started = Date.now();
    await page.goto(`${url}?sample=kernel-syscall&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    pg.timings.kernelSyscallLoadToMatrixMs = Date.now() - started;
    pg.timings.kernelSyscallMatrixInPageMs = Number(/matrix in ([\d.]+) s/.exec(await page.$eval("#status", (e) => e.textContent ?? ""))![1]) * 1000;
    const { image } = buildKernel({ workload: "syscall" });
    const expected = runMatrix(image, { backends: BACKENDS, maxCycles: 400_000_000, disk: () => kernelDisk() });
    expect(await matrixRows(page)).toEqual(expected.map((r) => ({ backend: r.backend, verdict: describeVerdict(r.verdict), cycles: r.stats.cycles })));
    expect(expected.find((r) => r.backend === "trap")!.verdict.kind).toBe("diverged");
    await page.screenshot({ path: join(outDir, "kernel-syscall-run-800.png"), fullPage: true });
  });

  it("the SMP kernel on 2 CPUs (cpus=2): the verdicts, cycles, per-CPU cycles and protection counters of runMatrix({ cpus: 2 }); the options round-trip through the URL", async () => {
    await page.goto(`${url}?sample=kernel-smp&cpus=2&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    const { image } = buildKernel({ workload: "smp" });
    const expected = smpKernelMatrix();
    expect(await matrixRows(page)).toEqual(expected.map((r) => ({ backend: r.backend, verdict: describeVerdict(r.verdict), cycles: r.stats.cycles })));
    const perCpu = await page.$$eval("#per-cpu tbody tr", (trs) => trs.map((tr) => [...tr.children].slice(1).map((td) => Number(td.textContent!.replace(/,/g, "")))));
    expect(perCpu).toEqual(expected.map((r) => r.stats.perCpu!.map((c) => c.cycles)));
    expect(perCpu.every((cpus) => cpus.length === 2)).toBe(true);
    const checks = await page.$$eval("#protection tbody tr", (trs) => trs.map((tr) => [tr.children[0].textContent, Number(tr.children[1].textContent!.replace(/,/g, ""))]));
    expect(checks).toEqual(expected.filter((r) => r.stats.counts["protection.checks"] !== undefined).map((r) => [r.backend, r.stats.counts["protection.checks"]]));
    expect(checks.map(([b]) => b)).toEqual(["xen", "l4"]);
    await page.screenshot({ path: join(outDir, "kernel-smp-run-800.png"), fullPage: true });

    // Time-sliced on one physical CPU, unprotected: the URL keeps the options, the link reopens them.
    await page.select("#pcpus", "1");
    await page.click("#protect");
    await page.waitForFunction(`location.search.includes("pcpus=1") && location.search.includes("protect=0")`);
    const link = page.url();
    expect(link).toMatch(/[?&]sample=kernel-smp&.*cpus=2&pcpus=1&protect=0/);
    await page.goto(link);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    expect(await page.evaluate(`[document.querySelector("#cpus").value, document.querySelector("#pcpus").value, document.querySelector("#protect").checked]`)).toEqual(["2", "1", false]);
    await page.click("#run");
    await page.waitForFunction(`/^matrix in/.test(document.querySelector("#status")?.textContent ?? "")`, { timeout: 30_000 });
    // The hypervisors ran as `matrix --cpus 2 --pcpus 1 --no-protect`; bare, which refuses --pcpus, ran its 2 CPUs and says why.
    const sliced = runMatrix(image, { backends: BACKENDS.slice(1), maxCycles: 400_000_000, cpus: 2, pcpus: 1, protect: false, disk: () => kernelDisk() });
    const shown = await matrixRows(page);
    expect(shown.slice(1).map((r) => r.cycles)).toEqual(sliced.map((r) => r.stats.cycles));
    expect(shown[0].cycles).toBe(expected[0].stats.cycles);
    let refusal = "";
    try {
      checkCpuOptions(getBackend("bare"), { cpus: 2, pcpus: 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      refusal = (e as Error).message;
    }
    expect(refusal).not.toBe("");
    expect(await page.$eval('[data-note="bare"]', (e) => e.textContent)).toContain(refusal);
    expect(await page.$$("#protection tbody tr")).toHaveLength(0);
  });

  it("the Step view on 2 CPUs: every CPU's state, any CPU viewed, and stepping epoch by epoch ends where the Run view's run does", async () => {
    await page.goto(`${url}?sample=kernel-smp&cpus=2&tab=step`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    await page.click("#step-start");
    await page.waitForSelector("#step-cpus");
    const cpuRows = () => page.$$eval("#step-cpus tbody tr", (trs) => trs.map((tr) => ({ state: tr.children[1].textContent!, cycles: Number(tr.children[4].textContent!.replace(/,/g, "")), instructions: Number(tr.children[5].textContent!.replace(/,/g, "")) })));
    expect((await cpuRows()).map((c) => c.state)).toEqual(["running", "stopped"]);
    // Step (one epoch at a time) until CPU 0 has started CPU 1: each step a click on Step and a wait for the view to
    // change, as before, but the loop runs in the page (one round trip, not four per step: most of this test's time).
    const steps = await page.evaluate(`(async () => {
      const cpu1 = () => document.querySelector("#step-cpus tbody tr:nth-child(2)").children[1].textContent;
      const where = () => document.querySelector("#step-where")?.textContent;
      let i = 0;
      for (; i < 200 && cpu1() === "stopped"; i++) {
        const before = where();
        document.querySelector("#step-1").click();
        for (const asked = performance.now(); where() === before; await new Promise((r) => requestAnimationFrame(r))) {
          if (performance.now() - asked > 30000) throw new Error("step " + i + ": the view did not change in 30 s");
        }
      }
      return i;
    })()`);
    expect(steps).toBeGreaterThan(1);
    expect((await cpuRows())[1].state).not.toBe("stopped");
    await page.click('[data-view-cpu="1"]');
    await page.waitForFunction(`document.querySelector("#step-where")?.textContent.includes("cpu 1")`);
    expect(await page.$eval("#step-virtual", (e) => e.textContent)).toMatch(/^psr 0x/);
    expect(await page.$eval('[data-view-cpu="1"]', (e) => e.getAttribute("aria-pressed"))).toBe("true");
    await page.screenshot({ path: join(outDir, "kernel-smp-step-800.png"), fullPage: true });
    // Run to end: each CPU's clock and instructions equal the matrix's run on 2 CPUs (pausing between epochs changes nothing).
    await page.click("#step-run");
    await page.waitForFunction(`document.querySelector("#step-where")?.textContent.includes("ended")`, { timeout: 60_000 });
    const xen = smpKernelMatrix().find((r) => r.backend === "xen")!;
    expect((await cpuRows()).map((c) => [c.cycles, c.instructions])).toEqual(xen.stats.perCpu!.map((c) => [c.cycles, c.instructions]));

    // Quantum 1: CPUs interleave instruction by instruction; one step moves CPU 0 by one instruction (or exception entry).
    await page.select("#step-quantum", "1");
    await page.waitForFunction(`!document.querySelector("#step-where")?.textContent.includes("ended")`);
    await page.waitForFunction(`location.search.includes("quantum=1")`);
    for (let i = 0; i < 5; i++) {
      const [before] = await cpuRows();
      const where = await page.$eval("#step-where", (e) => e.textContent);
      await page.click("#step-1");
      await page.waitForFunction(`document.querySelector("#step-where")?.textContent !== ${JSON.stringify(where)}`);
      const [after] = await cpuRows();
      expect(after.instructions - before.instructions).toBeLessThanOrEqual(1);
      expect(after.cycles).toBeGreaterThan(before.cycles);
    }
    expect(await scrollsSideways(page)).toBe(false);
  });

  it("a broken program: the assembler's and the compiler's errors become editor diagnostics at their line:col", async () => {
    await page.goto(`${url}?sample=hello`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    const cases = [
      { sample: "hello", file: "fixtures/guests/hello.s", text: "    .text\n    .global _start\n_start:\n    addi a0, a0\n    out  0xF0, zero\n" },
      { sample: "page-tables", file: "fixtures/guests/pv-kernel.ts", text: "export function main(): number {\n  return undefinedThing + 1;\n}\n" },
    ];
    for (const c of cases) {
      await page.select("#sample", c.sample);
      // The sample builds cleanly first (the status said "N errors" for the previous case).
      await page.waitForFunction(`/^built/.test(document.querySelector("#status")?.textContent ?? "")`);
      await replaceProgram(page, c.text);
      await page.click("#build");
      await page.waitForSelector("#problems li");
      let expected: string[] = [];
      try {
        buildSources([{ file: c.file, text: c.text }]);
      } catch (e) {
        expect(e).toBeInstanceOf(DiagnosticError);
        expected = (e as DiagnosticError).diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: error: ${d.message}`);
      }
      expect(expected.length).toBeGreaterThan(0);
      expect(await page.$$eval("#problems li", (lis) => lis.map((li) => li.textContent))).toEqual(expected);
      // The editor underlines what is at that line:col (the word there) and marks the gutter.
      const [, line, col] = /:(\d+):(\d+): error/.exec(expected[0])!.map(Number);
      const word = /^[\w.$]+/.exec(c.text.split("\n")[line - 1].slice(col - 1))?.[0] ?? c.text.split("\n")[line - 1][col - 1];
      expect(await page.$eval(".cm-lintRange-error", (e) => e.textContent)).toBe(word);
      expect(await page.$$(".cm-gutter-lint .cm-lint-marker-error")).toHaveLength(1);
    }
    await page.screenshot({ path: join(outDir, "diagnostic-800.png") });
    // The edited program is in the URL's fragment: the link reopens it (from another page: a fragment alone is no new load).
    await page.waitForFunction(`location.hash.startsWith("#code=")`);
    const link = page.url();
    expect(link).toMatch(/[?&]sample=page-tables#code=/);
    await page.goto("about:blank");
    await page.goto(link);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    expect(await page.$eval(".cm-content", (e) => e.textContent)).toBe(cases[1].text.replace(/\n/g, ""));
    expect(await page.$$("#problems li")).toHaveLength(1);
  });

  it("the Step view lists the last instructions as the CLI's diagnosis does: through the TLB entry the CPU holds, else <not mapped now>", async () => {
    // unmapped-code.s ran code at two addresses it unmapped before it halted for good: one also dropped from
    // the TLB, one still held there (the worker used to walk the page tables alone and said <unmapped> for both).
    const file = "fixtures/guests/unmapped-code.s";
    const text = readFileSync(join(root, file), "utf8");
    const { image } = buildSources([{ file, text }]);
    for (const backend of ["bare", "xen"]) {
      const [run] = runMatrix(image, { backends: [backend], maxCycles: 400_000_000 });
      if (run.result.kind !== "stopped") throw new Error(`${backend}: the guest did not stop`);
      const lines = run.result.diagnosis.split("\n");
      const cli = lines.slice(lines.indexOf("  last instructions:") + 1).filter((l) => l.startsWith("    0x")).map((l) => l.slice(4));
      expect(cli, backend).toContain("0x00480000:  <not mapped now>");
      expect(cli.find((l) => l.startsWith("0x00481000:")), backend).toMatch(/^0x00481000: {2}[0-9a-f]{8} {2}addi/);
      await page.goto(`${url}?sample=hello&tab=step&step=${backend}#code=${Buffer.from(text).toString("base64url")}`);
      await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
      await page.click("#step-start");
      await page.waitForSelector("#step-run");
      await page.click("#step-run");
      await page.waitForFunction(`document.querySelector("#step-where")?.textContent.includes("ended")`, { timeout: 30_000 });
      const shown = (await page.$eval("#step-last", (e) => e.textContent!)).split("\n");
      // The diagnosis lists the instruction the CPU halted at (it ran); the Step view stops before pc.
      expect(shown.slice(-(cli.length - 1)), backend).toEqual(cli.slice(0, -1));
    }
  });});
