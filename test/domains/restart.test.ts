// Issue 18, driver restart on the host side (docs/driver-vms.md, "Driver
// restart"): seeded crashes of the driver domain (the bundled kernel's
// blkback) during the client kernel's io workload — a wild store, a hang the
// watchdog catches — are each followed by a restart from the driver's ELF;
// the client completes without rebooting, passes its self-check and prints
// exactly what it prints with a local disk. The runner behind
// `previrt drivers` is deterministic (the same seeds give the same records).
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { runRestartCampaign } from "../../src/cli/drivers/restart-campaign.js";

describe("driver restart under the client's io", () => {
  it("xen: a wild store and a hang, each restarted; the client completes with its self-check; twice the same", () => {
    const run = () => runRestartCampaign({ runs: 2, firstSeed: 1, backend: "xen" });
    const a = run();
    expect(a.runs.map((r) => r.kind).sort()).toEqual(["hang", "wild-store"]);
    for (const r of a.runs) {
      // retried: the request in flight, counted in the client's ring through the old driver's RAM (onRestart, before that RAM goes back).
      expect(r, `seed ${r.seed}`).toMatchObject({ completed: true, selfCheck: true, sameOutput: true, restarts: 1, retried: 1, lost: 0 });
      expect(r.restartCycles).toBeGreaterThan(0);
      // The crash cost the client time: it waited for the restart (and, for a hang, for the watchdog).
      expect(r.clientCycles).toBeGreaterThan(r.referenceCycles);
    }
    expect(a.runs.find((r) => r.kind === "hang")!.reason).toMatch(/^watchdog/);
    expect(run()).toEqual(a);
  });

  it("hvm: one crash, one restart — a driver still booting is not restarted again when its client re-publishes at once", () => {
    // Before the boot allowance (host.ts BOOT_WATCHDOGS) these seeds gave 10 and 4 restarts: the restarted kernel
    // calibrates its timer for ~530,000 cycles before it acknowledges anything, longer than the 500,000-cycle watchdog.
    const a = runRestartCampaign({ runs: 2, firstSeed: 1, backend: "hvm" });
    expect(a.runs.map((r) => r.kind).sort()).toEqual(["hang", "wild-store"]);
    for (const r of a.runs) expect(r, `seed ${r.seed}`).toMatchObject({ completed: true, selfCheck: true, sameOutput: true, restarts: 1, lost: 0 });
  });

  it("previrt drivers prints the summary, exit 0", async () => {
    const io = bufferIO(new Uint8Array());
    const status = await main(["drivers", "--crashes", "1", "--seed", "2", "--hv", "l4"], io);
    expect(io.stderr).toBe("");
    expect(status).toBe(0);
    expect(io.stdout).toContain("client completed          1/1");
    expect(io.stdout).toContain("client self-check ok      1/1");
  });

  it("bad options are one error line", async () => {
    for (const argv of [["--hv", "bare"], ["--kind", "melt"], ["--workload", "nope"], ["--crashes", "0"]]) {
      const io = bufferIO(new Uint8Array());
      expect(await main(["drivers", ...argv], io)).not.toBe(0);
      expect(io.stderr).toMatch(/^previrt: error: [^\n]*\n$/);
    }
  });
});
