// `previrt bench --drivers` through the CLI (bin/previrt.js, so dist/ must
// be built: `npx tsc -p tsconfig.json`): the JSON report has every
// configuration on every back end, every client printed what it prints with
// its local disk, the goal lines are there; the same bench run in process
// gives the same figures (simulated cycles only), a driver-VM client's
// console is the local run's byte for byte, and options that do not apply
// are refused in one line (by the CLI's main in this process).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { renderDriverHtml, runDriverBench, runDriverVm, runIo, type DriverBenchReport } from "../../src/cli/bench/driver-bench.js";

const bin = fileURLToPath(new URL("../../bin/previrt.js", import.meta.url));
const previrt = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 300_000 });

describe("previrt bench --drivers", () => {
  it("reports every configuration, matching consoles and the goals; the same figures in process", () => {
    const r = previrt("bench", "--drivers", "--json", "-");
    expect(r.stderr).toMatch(/^\[0\/28\] io --scale 1 on bare, bare, port disk\n/);
    expect(r.stderr).toMatch(/\[28\/28\] done\n/);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as DriverBenchReport;
    expect(report.scales).toEqual([1, 4]);
    const configs = report.rows.map((x) => `${x.backend}/${x.config}`);
    expect(configs).toEqual([
      "bare/bare-port",
      "bare/bare-nvdisk",
      ...["xen", "l4", "hvm"].flatMap((b) => ["local", "driver-vm", "nvdisk-emulated", "nvdisk-passthrough"].map((c) => `${b}/${c}`)),
    ]);
    for (const row of report.rows) {
      expect(row.runs.map((x) => x.scale)).toEqual([1, 4]);
      for (const run of row.runs) {
        expect(run.ok).toBe(true);
        expect(run.consoleMatchesLocal).toBe(true);
        expect(run.cycles).toBeGreaterThan(0);
      }
      expect(row.cyclesPerRequest).toBe((row.runs[1].cycles - row.runs[0].cycles) / 48);
    }
    expect(report.allMatch).toBe(true);
    const row = (b: string, c: string) => report.rows.find((x) => x.backend === b && x.config === c)!;
    // Passed through, the device path enters the VMM only at setup; emulated, on every request.
    for (const b of ["xen", "l4"]) {
      expect(row(b, "nvdisk-passthrough").runs.map((x) => x.vmmDeviceEntries)).toEqual([6, 6]);
      expect(row(b, "nvdisk-emulated").runs[1].vmmDeviceEntries).toBeGreaterThan(3 * 64);
      expect(row(b, "driver-vm").driverExecutedPerRequest).toBeGreaterThan(0);
    }
    // The goal lines: per request, against the local driver and against bare, on xen and l4, with the papers.
    expect(report.goals.map((g) => `${g.goal} ${g.backend}`)).toEqual(["driver VM vs the local driver xen", "driver VM vs the local driver l4", "bypass vs bare xen", "bypass vs bare l4"]);
    for (const g of report.goals) expect(g.met).toBe(g.measured <= g.bound);
    expect(report.goals[0].measured).toBe(row("xen", "driver-vm").overheadVsLocal);
    expect(report.goals[2].measured).toBe(row("xen", "nvdisk-passthrough").overheadVsBare);
    expect(row("xen", "nvdisk-passthrough").overheadVsBare).toBe(row("xen", "nvdisk-passthrough").cyclesPerRequest / row("bare", "bare-nvdisk").cyclesPerRequest - 1);
    // The terminal table went to stderr (the JSON took stdout), goal lines with the papers' figures.
    expect(r.stderr).toMatch(/^(met   |MISSED) driver VM vs the local driver on xen: \+\d+\.\d\d % per request \(goal <= 8 %; OSDI'04 \(LeVasseur et al\.\): 3–8 % \(network\)\)$/m);
    expect(r.stderr).toMatch(/^(met   |MISSED) bypass vs bare on l4: \+\d+\.\d\d % per request \(goal <= 2 %; Liu et al\. \(USENIX'06\): near-native\)$/m);

    // Simulated cycles only: the same bench in this process gives the same rows.
    const again = runDriverBench({ hv: ["xen"] });
    expect(again.rows).toEqual(report.rows.filter((x) => x.backend === "bare" || x.backend === "xen"));
    // The HTML page is self-contained: no scripts, nothing fetched; the goal lines and the table are in it.
    const html = renderDriverHtml(again);
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
    expect(html).toMatch(/<li class="(met|missed)">(met   |MISSED) bypass vs bare on xen: /);
    expect(html).toContain("<td>driver VM (blkback in a driver domain)</td>");
  }, 600_000);

  it("the driver VM's client prints exactly what the local driver's run prints", () => {
    const local = runIo("l4", 1);
    const remote = runDriverVm("l4", 1);
    expect(local.ok && remote.ok).toBe(true);
    expect(remote.console).toBe(local.console);
    expect(remote.console.length).toBeGreaterThan(0);
  }, 120_000);

  it("refuses options that do not apply, in one line", async () => {
    for (const [args, msg] of [
      [["--cpus", "2"], "bench --drivers runs the io workload on one CPU with the default cost model; --cpus does not apply"],
      [["--workloads", "compute"], "bench --drivers runs the io workload on one CPU with the default cost model; --workloads does not apply"],
      [["--smp"], "--drivers and --smp are separate benches: give one"],
      [["--scale", "1"], "--scale must be an integer from 2 to 1000 with --drivers (the scales are 1 and N), not 1"],
      [["--hv", "trap"], "bench --drivers runs on xen, l4, hvm (bare is always the reference), not 'trap'"],
      [["--json", "-", "--html", "-"], "only one of --json and --html can be - (standard output)"],
    ] as const) {
      // In this process: bin/previrt.js is main's status and output; a process each took ~0.5 s of start-up.
      const io = bufferIO();
      expect(await main(["bench", "--drivers", ...args], io), args.join(" ")).not.toBe(0);
      expect(io.stdout).toBe("");
      expect(io.stderr).toBe(`previrt: error: ${msg}\n`);
    }
  }, 120_000);
});
