// The set-up the playground's browser tests share (test/web/playground*.test.ts, split in two files so that the
// suite's two workers each run one): Debian's chromium (the one .ci/run installs) driven headless by
// puppeteer-core, the page served by `previrt playground --port 0` from the built app (dist/web, rebuilt here
// from src/web), and the helpers that read what the page shows and compute what the library answers in Node.
// Consumes the built CLI (bin/previrt.js, dist/) and scripts/build-web.mjs; produces one browser page per test
// file, screenshots and timings under out/web-test/ (git-ignored). Where no Chromium can be found, the files
// skip with a message, as the HTML report's test does.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll } from "vitest";
import { findChromium } from "../chromium.js";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { BACKEND_NAMES } from "../../src/hypervisors/index.js";
import { describeVerdict, runMatrix } from "../../src/hypervisors/matrix.js";
import { rebuildWeb } from "./rebuild-web.js";

export const root = new URL("../../", import.meta.url).pathname;
export const outDir = join(root, "out", "web-test");
/** The page's matrix: every registered back end (src/web/link.ts takes the registry's list). */
export const BACKENDS = BACKEND_NAMES;

export const chromium = findChromium();
if (!chromium) console.warn("playground tests: no chromium on PATH — skipping the browser tests (.ci/run installs Debian's chromium)");

/** What the page shows in its matrix table: back end, verdict, cycles. */
export async function matrixRows(page: Page): Promise<{ backend: string; verdict: string; cycles: number }[]> {
  return page.$$eval("#matrix tbody tr", (rows) =>
    rows.map((r) => {
      const cells = [...r.children].map((c) => c.textContent ?? "");
      return { backend: cells[0], verdict: cells[1], cycles: Number(cells[3].replace(/,/g, "")) };
    }),
  );
}

/** Whether the page scrolls sideways (it must not, at 800 px: wide tables scroll inside their own box). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return page.$eval("html", (h) => h.scrollWidth > h.clientWidth);
}

/** The library's own matrix for a fixture, in the same shape. */
export function expectedRows(file: string): { backend: string; verdict: string; cycles: number }[] {
  const { image } = buildSources([{ file, text: readFileSync(join(root, file), "utf8") }]);
  return runMatrix(image, { backends: BACKENDS, maxCycles: 400_000_000 }).map((r) => ({ backend: r.backend, verdict: describeVerdict(r.verdict), cycles: r.stats.cycles }));
}

export async function replaceProgram(page: Page, text: string): Promise<void> {
  await page.click(".cm-content");
  await page.keyboard.down("Control");
  await page.keyboard.press("a");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  // insertText, not typing: the editor's auto-indent and bracket closing would change typed text.
  await page.evaluate(`document.execCommand("insertText", false, ${JSON.stringify(text)})`);
}

/** The page a test file drives, and the timings it records (written to out/web-test/timings.json if any). */
export interface Playground {
  readonly url: string;
  readonly page: Page;
  readonly timings: Record<string, number>;
}

/**
 * Registers the file's beforeAll/afterAll: the served playground, one browser and one 800 px page for all of the
 * file's tests (call inside the describe). The fields are read in the tests, after beforeAll has set them.
 */
export function usePlayground(): Playground {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const state = { url: "", page: undefined as unknown as Page, timings: {} as Record<string, number> };

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    rebuildWeb();
    const child = spawn("node", [join(root, "bin/previrt.js"), "playground", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    server = child;
    state.url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) resolve(m[0]);
      });
      child.once("exit", (code) => reject(new Error(`previrt playground exited with ${code}: ${out}`)));
    });
    const asRoot = process.getuid?.() === 0;
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: [...(asRoot ? ["--no-sandbox"] : []), "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
    });
    state.page = await browser.newPage();
    await state.page.setViewport({ width: 800, height: 1000 });
    state.page.on("pageerror", (e) => console.error("playground page error:", e));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
    if (Object.keys(state.timings).length) writeFileSync(join(outDir, "timings.json"), JSON.stringify(state.timings, null, 2) + "\n");
  });

  return state;
}
