// The playground's goals, measured (docs/playground.md, "Measured"): the
// first build-and-run of hello after load, the bundled kernel's matrix in the
// page against `previrt matrix` on the command line, and the bundle's size
// compressed. Starts `previrt playground --port 0`, loads each page RUNS
// times in a fresh headless chromium tab (a new browser each run, so nothing
// is cached), and prints one line per figure. Host timings: they vary with
// the machine's load, which is why no test asserts them.
//
// Usage: npm run build && node scripts/playground-figures.mjs [RUNS]   (default 3)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import puppeteer from "puppeteer-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 3);
const previrt = join(root, "bin", "previrt.js");
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms (median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0)})`;

const web = join(root, "dist", "web");
let raw = 0;
let gz = 0;
for (const f of readdirSync(web)) {
  const bytes = readFileSync(join(web, f));
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
console.log(`bundle: ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzip -9 (goal ≤ 1.5 MB)`);

const server = spawn(process.execPath, [previrt, "playground", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
    if (m) resolve(m[0]);
  });
});
const chromium = execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser || command -v google-chrome"], { encoding: "utf8" }).trim();

async function load(query) {
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-gpu"] });
  try {
    const page = await browser.newPage();
    await page.goto(url + query);
    await page.waitForSelector("body[data-ready='1']", { timeout: 120_000 });
    const status = await page.$eval("#status", (e) => e.textContent);
    return { firstResultMs: Number(await page.$eval("body", (b) => b.dataset.firstResultMs)), matrixMs: Number(/matrix in ([\d.]+) s/.exec(status)[1]) * 1000 };
  } finally {
    await browser.close();
  }
}

const hello = [];
const kernel = [];
for (let i = 0; i < runs; i++) hello.push((await load("?sample=hello&run=1")).firstResultMs);
for (let i = 0; i < runs; i++) kernel.push((await load("?sample=kernel-mixed&run=1")).matrixMs);
server.kill("SIGTERM");
console.log(`hello, navigation to the matrix on screen: ${range(hello)} (goal ≤ 1 s)`);

const dir = mkdtempSync(join(tmpdir(), "previrt-figures-"));
execFileSync(process.execPath, [previrt, "kernel", "-o", join(dir, "k.elf"), "--disk", join(dir, "disk.img")], { stdio: "ignore" });
const cli = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [previrt, "matrix", join(dir, "k.elf"), "--disk", join(dir, "disk.img"), "--allow-diverge", "trap", "--jobs", "1"], { stdio: "ignore" });
  cli.push(performance.now() - t);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`bundled kernel (mixed) matrix in the page: ${range(kernel)}; previrt matrix --jobs 1 (wall): ${range(cli)}; page/CLI ${(median(kernel) / median(cli)).toFixed(2)}× (goal ≤ 3×)`);
