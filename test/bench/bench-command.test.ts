// `previrt bench` end to end on the bundled kernel (one small workload, the
// configurations that need no hypervisor model): table, JSON and HTML written;
// progress on stderr decided by stderr; `npm run bench -- NAME` refusing a
// name that matches no benchmark.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

describe("previrt bench", () => {
  it("measures the kernel and writes the terminal, JSON and HTML reports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-bench-"));
    const io = bufferIO();
    const status = await main(["bench", "--workloads", "compute", "--hv", "bare-plain,bare-annotated,hvm", "--jobs", "1", "--json", join(dir, "r.json"), "--html", join(dir, "r.html")], io);
    // stderr is not a terminal: plain progress lines, no escape codes (serial: one line per cell, in order).
    expect(io.stderr).toBe("[0/3] compute on bare, plain binary\n[1/3] compute on bare, annotated binary\n[2/3] compute on hvm (same annotated binary)\n[3/3] done\n");
    expect(status).toBe(0);
    expect(io.stdout).toMatch(/^compute\s+1\.000×\s+1\.0\d\d×\s+\d+\.\d{3}×$/m);
    const report = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    expect(report.commit).toMatch(/^[0-9a-f]{7,}$/); // run from a checkout: its commit (test/package: installed, the version)
    expect(report.costModel.vmExit).toBeGreaterThan(0);
    expect(report.cells.map((c: { config: string }) => c.config)).toEqual(["bare-plain", "bare-annotated", "hvm"]);
    expect(report.cells.every((c: { status: string }) => c.status === "ok")).toBe(true);
    expect(existsSync(join(dir, "r.html"))).toBe(true);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/<figure id="chart-overhead"><svg/);
  });

  it("shows which cell is running and how many are left, on one redrawn line when stderr is a terminal", async () => {
    const io = bufferIO();
    io.stderrIsTTY = true;
    expect(await main(["bench", "--workloads", "compute,io", "--hv", "bare-plain", "--repeats", "1", "--scale", "1", "--jobs", "1"], io)).toBe(0);
    expect(io.stderr).toBe("\r\x1b[K[0/2] compute on bare, plain binary\r\x1b[K[1/2] io on bare, plain binary\r\x1b[K[2/2] done\n");
  });

  it("--json - writes the report to stdout and the table to stderr", async () => {
    const io = bufferIO();
    expect(await main(["bench", "--workloads", "compute", "--hv", "bare-plain", "--repeats", "1", "--scale", "1", "--json", "-"], io)).toBe(0);
    expect(JSON.parse(io.stdout).cells).toHaveLength(1);
    expect(io.stderr).toMatch(/^compute\s+1\.000×$/m);
  });

  it("npm run bench -- NAME: a name that matches no benchmark is an error listing them", () => {
    const run = new URL("../../dist/bench/run.js", import.meta.url).pathname;
    const r = spawnSync(process.execPath, [run, "nosuch"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^bench: no benchmark name contains 'nosuch' \(benchmarks: .*\bassembler\b.*\bmachine\b.*\)\n$/);
  });

  it("shows progress as cells complete when they run in worker threads", async () => {
    const io = bufferIO();
    io.stderrIsTTY = true;
    expect(await main(["bench", "--workloads", "compute,io", "--hv", "bare-plain", "--repeats", "1", "--scale", "1", "--jobs", "2"], io)).toBe(0);
    expect(io.stderr).toContain("[0/2] compute on bare, plain binary");
    expect(io.stderr).toMatch(/\[1\/2\] (compute|io) on bare, plain binary/);
    expect(io.stderr).toMatch(/\[2\/2\] done\n$/);
  });

  it("refuses unknown workloads and configurations in one line", async () => {
    for (const argv of [["bench", "--workloads", "nope"], ["bench", "--hv", "vmware"]]) {
      const io = bufferIO();
      expect(await main(argv, io)).toBe(1);
      expect(io.stderr).toMatch(/^previrt: error: unknown (workload|configuration) '(nope|vmware)'/);
    }
  });
});
