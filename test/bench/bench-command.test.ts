// `previrt bench` end to end on the bundled kernel (one small workload, the
// configurations that need no hypervisor model): table, JSON and HTML written.
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
    const status = await main(["bench", "--workloads", "compute", "--hv", "bare-plain,bare-annotated,hvm", "--json", join(dir, "r.json"), "--html", join(dir, "r.html")], io);
    expect(io.stderr).toBe(""); // not a TTY: no progress
    expect(status).toBe(0);
    expect(io.stdout).toMatch(/^compute\s+1\.000×\s+1\.0\d\d×\s+\d+\.\d{3}×$/m);
    const report = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    expect(report.commit).toMatch(/^[0-9a-f]{7,}|unknown$/);
    expect(report.costModel.vmExit).toBeGreaterThan(0);
    expect(report.cells.map((c: { config: string }) => c.config)).toEqual(["bare-plain", "bare-annotated", "hvm"]);
    expect(report.cells.every((c: { status: string }) => c.status === "ok")).toBe(true);
    expect(existsSync(join(dir, "r.html"))).toBe(true);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/<figure id="chart-overhead"><svg/);
  });

  it("shows which cell is running and how many are left on a terminal", async () => {
    const io = bufferIO();
    io.isTTY = true;
    expect(await main(["bench", "--workloads", "compute,io", "--hv", "bare-plain", "--repeats", "1", "--jobs", "1"], io)).toBe(0);
    expect(io.stderr).toContain("[0/2] compute on bare, plain binary");
    expect(io.stderr).toContain("[1/2] io on bare, plain binary");
    expect(io.stderr).toMatch(/\[2\/2\] done\n$/);
  });

  it("shows progress as cells complete when they run in worker threads", async () => {
    const io = bufferIO();
    io.isTTY = true;
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
