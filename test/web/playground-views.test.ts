// The playground in a real browser (issue 19), part two of two: the psr-hole guest through the Run, Build, Sites
// and Step views, the Migrate view's live and stop-and-copy moves, and a student's mistakes (a guest that never
// ends, moves too late or refused, damaged and oversized links, options changed mid-run, Ctrl+Enter). What the
// page shows is compared with the library's answers computed here in Node: the matrix, the site table and the
// rewriters' strategies, migrateRoute's reports and consoles, the CLI's diagnosis. The browser, the served page
// and the helpers are test/web/playground-browser.ts's, shared with playground.test.ts (the other part).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { findSection, SOFTLAYER_SECTION } from "../../src/guest-isa/elf-types.js";
import { parseSoftlayerTable, SITE_FLAG_EXEMPT } from "../../src/guest-isa/softlayer.js";
import { getBackend, prepareImage } from "../../src/hypervisors/index.js";
import { runMatrix } from "../../src/hypervisors/matrix.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { formatReport } from "../../src/migration/report.js";
import { migrateRoute } from "../../src/migration/route.js";
import { BACKENDS, chromium, expectedRows, matrixRows, outDir, root, scrollsSideways, usePlayground } from "./playground-browser.js";

describe.skipIf(!chromium)("the playground in headless Chromium: the Build, Sites and Migrate views, and a student's mistakes", () => {
  const pg = usePlayground();
  let page: Page;
  let url: string;
  beforeAll(() => {
    ({ page, url } = pg);
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

  it("the Migrate view: a live move xen -> l4 and a stop-and-copy move xen -> hvm show the library's reports, rounds, re-patched sites and a console equal to bare's", async () => {
    await page.goto(`${url}?sample=kernel-syscall&tab=migrate&migrate=xen,l4&at=200000&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    await page.waitForSelector("#mig-report");
    const { image } = buildKernel({ workload: "syscall" });
    const elf = writeElf(image);
    const move = (route: string[], live: boolean) => migrateRoute(elf, readElf(elf), route, [200_000], { live, disk: memoryDisk(kernelDisk()), maxCycles: 400_000_000 });
    const bare = runMatrix(image, { backends: ["bare"], maxCycles: 400_000_000, disk: () => kernelDisk() })[0];

    const live = move(["xen", "l4"], true);
    const r = live.reports[0];
    expect(r.migrated).toBe(true);
    expect(r.rounds.length).toBeGreaterThan(1);
    expect(await page.$eval("#mig-report", (e) => e.textContent)).toContain(formatReport(r).trim());
    const rounds = await page.$$eval("#mig-rounds tbody tr", (trs) => trs.map((tr) => [...tr.children].slice(0, 4).map((td) => td.textContent!.replace(/,/g, ""))));
    expect(rounds).toEqual([...r.rounds.map((x, i) => [String(i + 1), String(x.pages), String(x.cycles), String(x.dirtied)]), ["stop", String(r.downtimePages), String(r.downtimeCycles), ""]]);
    // Each round's dirty set lists as many pages as the round dirtied (runs of pages written as ranges).
    const dirtySets = await page.$$eval("#mig-rounds tbody tr:not(.stop) td.mono", (tds) => tds.map((td) => td.textContent!));
    const count = (list: string) => list.split(" ").reduce((n, part) => { const [a, b] = part.split("–").map((x) => parseInt(x, 16) / 4096); return n + (b === undefined ? 1 : b - a + 1); }, 0);
    expect(dirtySets.map(count)).toEqual(r.rounds.map((x) => x.dirtied));
    expect(await page.$$("#chart-rounds rect.round")).toHaveLength(r.rounds.length + 1);
    // The console: what the moved guest printed, the move marked in it, and the verdict against bare's unmigrated run.
    expect(live.guest.console).toBe(bare.console);
    const shown = await page.$eval("#mig-console", (e) => e.textContent!);
    const marker = await page.$eval("#mig-console mark.moved", (e) => e.textContent!);
    expect(marker).toContain(`moved xen → l4 at cycle ${r.stoppedAt.toLocaleString("en-US")}`);
    expect(shown.replace(marker, "")).toBe(live.guest.console);
    expect(await page.$eval("#mig-bare-console", (e) => e.textContent)).toBe(bare.console);
    expect(await page.$eval("#mig-verdict", (e) => e.textContent)).toBe("same");
    expect(await scrollsSideways(page)).toBe(false);
    await page.screenshot({ path: join(outDir, "kernel-migrate-live-800.png"), fullPage: true });

    // Stop-and-copy to hvm: every site goes back to its native instruction; the URL keeps the choice.
    await page.select("#mig-to", "hvm");
    await page.select("#mig-mode", "stop");
    await page.click("#mig-go");
    // Wait for this move's report: the live one also says "stop-and-copy" (its comparison line).
    await page.waitForFunction(`document.querySelector("#mig-report")?.textContent.includes("xen -> hvm")`, { timeout: 30_000 });
    const cold = move(["xen", "hvm"], false);
    const c = cold.reports[0];
    expect(await page.$eval("#mig-report", (e) => e.textContent)).toContain(formatReport(c).trim());
    expect(await page.$$("#mig-rounds")).toHaveLength(0);
    const sites = await page.$$eval("#mig-sites tbody tr", (trs) => trs.map((tr) => [tr.children[2].textContent, tr.children[4].textContent, tr.classList.contains("changed")]));
    expect(sites).toHaveLength(c.sitesRepatched);
    // Each site's strategy on xen and on hvm, and whether its words changed, as the two back ends' rewriters make them.
    const [onXen, onHvm] = ["xen", "hvm"].map((hv) => prepareImage(getBackend(hv), readElf(elf)).sites);
    expect(sites).toEqual(onXen.map((x, i) => [x.strategy, onHvm[i].strategy, x.after.some((w, k) => w !== onHvm[i].after[k])]));
    expect(onHvm.every((x) => x.strategy === "native")).toBe(true);
    expect(sites.filter(([, , changed]) => changed).length).toBeGreaterThan(sites.length / 2);
    expect(await page.$eval("#mig-verdict", (e) => e.textContent)).toBe("same");
    expect(cold.guest.console).toBe(bare.console);
    // xen -> hvm is the default pair (not in the URL); the point and the mode are.
    await page.waitForFunction(`location.search.includes("live=0")`);
    expect(new URL(page.url()).searchParams.get("migrate")).toBeNull();
    expect(new URL(page.url()).searchParams.get("at")).toBe("200000");
    expect(new URL(page.url()).searchParams.get("tab")).toBe("migrate");
    await page.screenshot({ path: join(outDir, "kernel-migrate-stop-800.png"), fullPage: true });
  });

  it("a student's mistakes: a guest that never ends (run, stepped, moved), a move too late or refused, links damaged or oversized, Ctrl+Enter in the editor", async () => {
    // One line of output, forever: stopped at the page's limit, said so, with the CLI's diagnosis; quoted lines cut, nothing wider than the page.
    // The limit is the link's max-cycles, not the page's 4·10⁸ (checked with hello above): what is said and shown does not depend on
    // where the never-ending guest is stopped, and 4·10⁸ cycles on every back end, stepped and moved took most of this test's time.
    const limit = 2_000_000;
    const spam = "    .text\n    .global _start\n_start:\n    li t0, 65\n.L:\n    out 0x10, t0\n    j .L\n";
    await page.goto(`${url}?sample=hello&max-cycles=${limit}#code=${Buffer.from(spam).toString("base64url")}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    await page.click("#run");
    await page.waitForSelector("#limit-note", { timeout: 30_000 });
    // The note comes with bare's row; the status line when every back end has run.
    await page.waitForFunction(`document.querySelector("#status").textContent.startsWith("matrix in")`, { timeout: 60_000 });
    const { image } = buildSources([{ file: "fixtures/guests/hello.s", text: spam }]);
    const [bare] = runMatrix(image, { backends: ["bare"], maxCycles: limit });
    if (bare.result.kind !== "stopped") throw new Error("the guest powered off");
    expect(await matrixRows(page).then((rows) => rows[0].cycles)).toBe(bare.stats.cycles);
    expect(await page.$eval("#limit-note", (e) => e.textContent)).toContain("stopped at the link's limit (max-cycles) of 2,000,000 simulated cycles");
    expect(await page.$eval('[data-diagnosis="bare"]', (e) => e.textContent)).toBe(`${bare.result.message}\n${bare.result.diagnosis}`);
    expect(await page.$eval('#matrix tr[data-backend="bare"] td:nth-child(3)', (e) => e.textContent)).toBe("max-cycles");
    expect(await page.$eval("#run-options", (e) => e.textContent)).toContain("a run stops at 2,000,000 simulated cycles (the link's max-cycles) (previrt matrix --max-cycles 2000000)");
    expect(await page.$eval("#status", (e) => e.textContent)).toContain("bare stopped at the cycle limit");
    // hvm, slower, printed less of the same line by the limit: unfinished, not a divergence to explain.
    expect(await page.$eval('#matrix tr[data-backend="hvm"] td:nth-child(2)', (e) => e.textContent)).toBe("unfinished, same so far");
    expect(await page.$("#explain-hvm")).toBeNull();
    expect(await scrollsSideways(page)).toBe(false);

    // A long line that differs (trap's rdpsr hole at its end): the divergence quotes it cut.
    const long = "    .text\n    .global _start\n_start:\n    li t1, 3000\n    li t0, 65\n.L:\n    out 0x10, t0\n    addi t1, t1, -1\n    bnez t1, .L\n" +
      "    rdpsr t0\n    andi t0, t0, 2\n    addi t0, t0, 83\n    out 0x10, t0\n    li t0, 10\n    out 0x10, t0\n    out 0xF0, zero\n";
    await page.goto(`${url}?sample=hello#code=${Buffer.from(long).toString("base64url")}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    await page.click("#run");
    await page.waitForSelector("#explain-trap code", { timeout: 30_000 });
    expect(await page.$eval("#explain-trap code", (e) => e.textContent!.length)).toBeLessThan(300);
    expect(await scrollsSideways(page)).toBe(false);

    // Stepped to its end on bare: the same limit, said in the Step view.
    await page.goto(`${url}?sample=hello&tab=step&step=bare&max-cycles=${limit}#code=${Buffer.from(spam).toString("base64url")}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    await page.click("#step-start");
    await page.waitForSelector("#step-run");
    await page.click("#step-run");
    await page.waitForSelector("#step-limit", { timeout: 30_000 });
    expect(await page.$eval("#step-where", (e) => e.textContent)).toContain(`cycles ${bare.stats.cycles.toLocaleString("en-US")}`);
    expect(await page.$eval("#step-limit", (e) => e.textContent)).toContain("Stopped at the link's limit (max-cycles) of 2,000,000 simulated cycles");
    // The limit stays in the page's URL, as the other options do.
    await page.click("#tab-run");
    await page.waitForFunction(`location.search.includes("tab=run")`);
    expect(new URL(page.url()).searchParams.get("max-cycles")).toBe(String(limit));

    // Moved, it still never ends: the command line carries the page's limit (previrt migrate has none by default).
    await page.goto(`${url}?sample=hello&tab=migrate&live=0&run=1&max-cycles=${limit}#code=${Buffer.from(spam).toString("base64url")}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    expect(await page.$eval("#mig-report", (e) => e.textContent)).toMatch(/^previrt migrate prog\.elf --from xen --to hvm --at \d+ --max-cycles 2000000\n/);
    expect(await page.$eval("#mig-facts", (e) => e.textContent)).toContain(`(bare: ${bare.stats.cycles.toLocaleString("en-US")})`);

    // hello ends before a live move from half of bare's run can stop it: the view says so, not "before cycle N".
    await page.goto(`${url}?sample=hello&tab=migrate&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    const notMoved = await page.$eval("#mig-facts", (e) => e.textContent!);
    expect(notMoved).toMatch(/the guest ended at cycle 22,635, during live pre-copy \(1 round from cycle [\d,]+\), before it could be stopped and moved/);

    // A move the library refuses (fewer physical CPUs, from bare): the refusal in the view, not only in the status line.
    await page.goto(`${url}?sample=hello&cpus=2&pcpus=1&tab=migrate&migrate=bare,xen&run=1`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    expect(await page.$eval("#mig-error", (e) => e.textContent)).toMatch(/pcpus.*bare/);
    expect(await page.$eval("#panel-migrate", (e) => e.textContent)).toContain("1 physical CPU by the hypervisors");

    // An edited kernel.ts (about 52 KB of base64url) reloads: the text rides in the fragment, which no server sees.
    const kernel = "// a student's note\n" + readFileSync(join(root, "fixtures/kernel/kernel.ts"), "utf8");
    await page.goto(`${url}?sample=kernel-syscall#code=${Buffer.from(kernel).toString("base64url")}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    await page.waitForFunction(`location.hash.startsWith("#code=")`);
    expect(new URL(page.url()).search.length).toBeLessThan(200);
    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(200);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    expect(await page.$eval(".cm-content", (e) => e.textContent)).toMatch(/^\/\/ a student's note/);
    expect(await page.$eval("#status", (e) => e.textContent)).toMatch(/^built/);

    // A link cut short when copied, naming a sample that is not there: said where it stays, not only in the status line the build overwrites.
    await page.goto(`${url}?sample=kernel-nosuch#code=w6`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    const notice = await page.$eval("#link-notice", (e) => (e.hasAttribute("hidden") ? "" : e.textContent));
    expect(notice).toContain("The link names no sample 'kernel-nosuch': showing hello.");
    expect(notice).toContain("not base64url of UTF-8 text");

    // The options changed while the matrix runs: its answer, for the old options, is not shown under the new ones.
    await page.goto(`${url}?sample=kernel-ticketlock&cpus=4&pcpus=2&tab=run`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    await page.evaluate(`{ const w = window.previrtWorker; const was = w.onmessage; w.onmessage = (e) => { was.call(w, e); if (e.data.op === "run") window.ranOld = true; }; }`);
    await page.click("#run");
    await page.waitForFunction(`/^ran bare/.test(document.querySelector("#status")?.textContent ?? "")`, { timeout: 20_000 });
    await page.select("#cpus", "1");
    await page.waitForFunction(`/^run options changed/.test(document.querySelector("#status")?.textContent ?? "")`);
    await page.waitForFunction("window.ranOld === true", { timeout: 30_000 });
    expect(await page.$$("#matrix")).toHaveLength(0);

    // The same for the Step view: a machine run to its end on 4 CPUs is not shown once the header says 2.
    await page.click("#tab-step");
    await page.select("#cpus", "4");
    await page.click("#step-start");
    await page.waitForSelector("#step-cpus");
    await page.evaluate(`{ const w = window.previrtWorker; const was = w.onmessage; w.onmessage = (e) => { was.call(w, e); if (e.data.op === "step") window.stepped = true; }; window.stepped = false; }`);
    await page.click("#step-run");
    await page.select("#cpus", "2");
    await page.waitForFunction("window.stepped === true", { timeout: 60_000 });
    expect(await page.$$("#step-cpus")).toHaveLength(0);
    expect(await page.$("#step-start")).not.toBeNull();

    // Ctrl+Enter in the editor builds and runs once, and leaves the program as it was (CodeMirror's Mod-Enter inserted a blank line).
    await page.evaluateOnNewDocument(`{
      const post = Worker.prototype.postMessage;
      window.posted = [];
      Worker.prototype.postMessage = function (m) { window.posted.push(m.op); return post.call(this, m); };
    }`);
    await page.goto(`${url}?sample=hello`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    const lines = await page.$$eval(".cm-line", (l) => l.length);
    await page.click(".cm-content");
    await page.keyboard.down("Control");
    await page.keyboard.press("Enter");
    await page.keyboard.up("Control");
    await page.waitForFunction(`/^matrix in/.test(document.querySelector("#status")?.textContent ?? "")`, { timeout: 20_000 });
    expect(await page.$$eval(".cm-line", (l) => l.length)).toBe(lines);
    expect(await page.evaluate("window.posted")).toEqual(["early", "build", "build", "run"]);
    await new Promise((r) => setTimeout(r, 400)); // the URL follows edits after 300 ms
    expect(new URL(page.url()).hash).toBe("");
  });
});
