// The playground in a real browser (issue 19): Debian's chromium (the one
// .ci/run installs) driven headless by puppeteer-core. `previrt playground
// --port 0` serves the built app (dist/web, rebuilt here from src/web); the
// page builds and runs samples in its Web Worker, and what it shows is
// compared with the library's own answers computed here in Node: the
// matrix's verdicts and cycles, the site count, the diagnostics of a broken
// program at their line:col. Screenshots and the measured timings go to
// out/web-test/ (git-ignored). Skipped, with a message, where no Chromium
// can be found, as the HTML report's test is.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { DiagnosticError } from "../../src/guest-isa/diagnostics.js";
import { findSection, SOFTLAYER_SECTION } from "../../src/guest-isa/elf-types.js";
import { parseSoftlayerTable, SITE_FLAG_EXEMPT } from "../../src/guest-isa/softlayer.js";
import { describeVerdict, runMatrix } from "../../src/hypervisors/matrix.js";

const root = new URL("../../", import.meta.url).pathname;
const outDir = join(root, "out", "web-test");
const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"];

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
if (!chromium) console.warn("playground.test: no chromium on PATH — skipping the browser test (.ci/run installs Debian's chromium)");

/** What the page shows in its matrix table: back end, verdict, cycles. */
async function matrixRows(page: Page): Promise<{ backend: string; verdict: string; cycles: number }[]> {
  return page.$$eval("#matrix tbody tr", (rows) =>
    rows.map((r) => {
      const cells = [...r.children].map((c) => c.textContent ?? "");
      return { backend: cells[0], verdict: cells[1], cycles: Number(cells[3].replace(/,/g, "")) };
    }),
  );
}

/** Whether the page scrolls sideways (it must not, at 800 px: wide tables scroll inside their own box). */
async function scrollsSideways(page: Page): Promise<boolean> {
  return page.$eval("html", (h) => h.scrollWidth > h.clientWidth);
}

/** The library's own matrix for a fixture, in the same shape. */
function expectedRows(file: string): { backend: string; verdict: string; cycles: number }[] {
  const { image } = buildSources([{ file, text: readFileSync(join(root, file), "utf8") }]);
  return runMatrix(image, { backends: BACKENDS, maxCycles: 400_000_000 }).map((r) => ({ backend: r.backend, verdict: describeVerdict(r.verdict), cycles: r.stats.cycles }));
}

async function replaceProgram(page: Page, text: string): Promise<void> {
  await page.click(".cm-content");
  await page.keyboard.down("Control");
  await page.keyboard.press("a");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  // insertText, not typing: the editor's auto-indent and bracket closing would change typed text.
  await page.evaluate(`document.execCommand("insertText", false, ${JSON.stringify(text)})`);
}

describe.skipIf(!chromium)("the playground in headless Chromium", () => {
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    execFileSync("node", [join(root, "scripts/build-web.mjs")], { stdio: "ignore" });
    server = spawn("node", [join(root, "bin/previrt.js"), "playground", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) resolve(m[0]);
      });
      server.once("exit", (code) => reject(new Error(`previrt playground exited with ${code}: ${out}`)));
    });
    const asRoot = process.getuid?.() === 0;
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: [...(asRoot ? ["--no-sandbox"] : []), "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 800, height: 1000 });
    page.on("pageerror", (e) => console.error("playground page error:", e));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
    if (Object.keys(timings).length) writeFileSync(join(outDir, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
  });

  it("?sample=hello&run=1 builds and runs on load: every back end the same as bare, the cycles the library counts", async () => {
    await page.goto(`${url}?sample=hello&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    timings.helloFirstResultMs = Number(await page.$eval("body", (b) => b.getAttribute("data-first-result-ms")));
    expect(await matrixRows(page)).toEqual(expectedRows("fixtures/guests/hello.s"));
    await page.screenshot({ path: join(outDir, "hello-run-800.png") });
  });

  it("the bundled kernel, built in the worker from bundled sources: the verdicts and cycles of the CLI's recipe", async () => {
    const started = Date.now();
    await page.goto(`${url}?sample=kernel-syscall&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    timings.kernelSyscallLoadToMatrixMs = Date.now() - started;
    timings.kernelSyscallMatrixInPageMs = Number(/matrix in ([\d.]+) s/.exec(await page.$eval("#status", (e) => e.textContent ?? ""))![1]) * 1000;
    const { image } = buildKernel({ workload: "syscall" });
    const expected = runMatrix(image, { backends: BACKENDS, maxCycles: 400_000_000, disk: () => kernelDisk() });
    expect(await matrixRows(page)).toEqual(expected.map((r) => ({ backend: r.backend, verdict: describeVerdict(r.verdict), cycles: r.stats.cycles })));
    expect(expected.find((r) => r.backend === "trap")!.verdict.kind).toBe("diverged");
    await page.screenshot({ path: join(outDir, "kernel-syscall-run-800.png"), fullPage: true });
  });

  it("the psr-hole guest: trap diverges and the page says why; the sites are marked and rewritten per back end", async () => {
    await page.goto(`${url}?sample=psr-hole&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    const rows = await matrixRows(page);
    expect(rows).toEqual(expectedRows("fixtures/guests/psr-hole.s"));
    expect(rows.find((r) => r.backend === "trap")!.verdict).toMatch(/^diverged at line/);
    expect(await page.$eval("#explain-trap", (e) => e.textContent)).toMatch(/rdpsr and wrpsr are sensitive but not privileged/);
    expect(await page.$$("#chart-overhead rect.bar")).toHaveLength(BACKENDS.length);
    expect((await page.$$("#chart-breakdown rect.segment")).length).toBeGreaterThan(BACKENDS.length);
    expect(await scrollsSideways(page)).toBe(false);
    await page.screenshot({ path: join(outDir, "psr-hole-run-800.png"), fullPage: true });

    // Build view: every record of the image's table counted, each site of the file marked with its record.
    const file = "fixtures/guests/psr-hole.s";
    const { image } = buildSources([{ file, text: readFileSync(join(root, file), "utf8") }]);
    const records = parseSoftlayerTable(findSection(image, SOFTLAYER_SECTION)!.data).records.filter((r) => !(r.flags & SITE_FLAG_EXEMPT));
    await page.click("#tab-build");
    expect(Number(await page.$eval("#site-count", (e) => e.textContent))).toBe(records.length);
    const marks = await page.$$eval("#annotated [data-site]", (els) => els.map((e) => e.getAttribute("title")!));
    expect(marks).toHaveLength(records.length);
    for (const r of records) expect(marks.some((t) => t.includes(`0x${r.addr.toString(16).padStart(8, "0")}`) && t.includes(`${file}:${r.line}`))).toBe(true);

    // Sites view: xen rewrites every site (none left native); hvm leaves them all native.
    await page.click("#tab-sites");
    await page.waitForSelector("#sites-table");
    const strategies = await page.$$eval("#sites-table tbody tr", (trs) => trs.map((tr) => tr.children[2].textContent));
    expect(strategies).toHaveLength(records.length);
    expect(strategies.every((s) => s !== "native")).toBe(true);
    await page.click('[data-hv="hvm"]');
    const hvm = await page.$$eval("#sites-table tbody tr", (trs) => trs.map((tr) => tr.children[2].textContent));
    expect(hvm.every((s) => s === "native")).toBe(true);
    expect(await scrollsSideways(page)).toBe(false);
    await page.screenshot({ path: join(outDir, "psr-hole-sites-800.png"), fullPage: true });

    // Step view: xen's machine one instruction at a time, its virtual CPU and window shown.
    await page.click("#tab-step");
    await page.click("#step-start");
    await page.waitForSelector("#step-where");
    const before = await page.$eval("#step-where", (e) => e.textContent);
    await page.click("#step-1");
    await page.waitForFunction(`document.querySelector("#step-where")?.textContent !== ${JSON.stringify(before)}`);
    expect(await page.$eval("#step-where", (e) => e.textContent)).toMatch(/instructions 1\b/);
    expect(await page.$$("#step-window tr")).not.toHaveLength(0);
    // Run to the wrpsr site (local_irq_restore): the machine stops with pc on it.
    const options = await page.$$eval("#step-site option", (os) => os.map((o) => [o.getAttribute("value"), o.textContent]));
    const wrpsr = options.find(([, t]) => / wrpsr /.test(t ?? ""));
    expect(wrpsr).toBeDefined();
    await page.select("#step-site", wrpsr![0]!);
    await page.click("#step-to");
    const target = `pc 0x${Number(wrpsr![0]).toString(16).padStart(8, "0")}`;
    await page.waitForFunction(`document.querySelector("#step-where")?.textContent.includes(${JSON.stringify(target)})`);
    expect(await scrollsSideways(page)).toBe(false);
    await page.screenshot({ path: join(outDir, "psr-hole-step-800.png"), fullPage: true });
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
    // The edited program is in the URL: the link reopens it.
    await page.waitForFunction(`location.search.includes("code=")`);
    const link = page.url();
    expect(link).toMatch(/[?&]sample=page-tables&code=/);
    await page.goto(link);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    expect(await page.$eval(".cm-content", (e) => e.textContent)).toBe(cases[1].text.replace(/\n/g, ""));
    expect(await page.$$("#problems li")).toHaveLength(1);
  });
});
