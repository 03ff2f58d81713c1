// Driver reuse (docs/driver-vms.md, "Block protocol"): the bundled kernel's
// disk workloads with their disk served by a driver domain — the same
// kernel built as `blkback`, serving with its unmodified disk.ts — print
// exactly what they print with their local driver, on xen and l4 (io on hvm too); the data
// really is on the driver domain's disk (the client has none); a run is
// deterministic (same consoles and cycles twice).
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, kernelDiskBytes, type Workload } from "../../src/cli/bundled-kernel.js";
import { DomainHost, type HostOptions } from "../../src/hypervisors/domains/host.js";
import { runElf } from "../../src/hypervisors/index.js";

const MAX_CYCLES = 400_000_000;
const built = new Map<Workload, ReturnType<typeof buildKernel>["image"]>();
const kernel = (w: Workload) => {
  if (!built.has(w)) built.set(w, buildKernel({ workload: w }).image);
  return built.get(w)!;
};

/** The client alone with its local disk: the reference. */
const local = (w: Workload, hv: string) => runElf(kernel(w), { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk() });

/** Domain 0 the driver (blkback, owns the disk), domain 1 the client (no disk) using it. */
function driverVm(w: Workload, hv: string, options: Partial<HostOptions> = {}) {
  const disk = new Uint8Array(kernelDiskBytes());
  const host = new DomainHost(
    [
      { name: "driver", image: kernel("blkback"), role: "driver", serves: ["block"], disk },
      { name: "client", image: kernel(w), uses: { block: "driver" } },
    ],
    { backend: hv, maxCycles: MAX_CYCLES, ...options },
  );
  const outcome = host.run();
  return { outcome, driver: outcome.domains[0], client: outcome.domains[1], disk };
}

/** Word w of the io workload's pattern in its sector i of instance `inst` (fixtures/kernel/user/io.ts). */
const pattern = (inst: number, i: number, w: number) => Math.imul(2048 * inst + i + 1, 0x01000193) ^ w;

describe.each(["xen", "l4"])("driver VM on %s", (hv) => {
  it.each(["io", "mixed"] as const)("%s: the client prints exactly what it prints with its local disk", (w) => {
    const ref = local(w, hv);
    expect(ref.result).toEqual({ kind: "poweroff", exitCode: 0 });
    const { client, driver, disk, outcome } = driverVm(w, hv);
    expect(client.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(client.console).toBe(ref.console);
    expect(outcome.exitCode).toBe(0);
    // The driver domain served it: its console, its disk holds the data, and the client's own disk driver never ran.
    expect(driver.console).toContain("blkback: domain 0 serves block requests\nblkback: domain 1 connected\n");
    expect(driver.restarts).toEqual([]);
    const words = new Int32Array(disk.buffer);
    const instances = w === "mixed" ? 2 : 1;
    for (let inst = 0; inst < instances; inst++) {
      for (let i = 0; i < 8; i++) for (const x of [0, 1, 127]) expect(words[(2048 * inst + i) * 128 + x]).toBe(pattern(inst, i, x));
    }
    expect(client.stats.interrupts["2"] ?? 0).toBe(0); // no local disk completion
    expect(client.stats.interrupts["4"] ?? 0).toBeGreaterThan(0); // responses arrive on line 4
    expect(driver.stats.interrupts["2"] ?? 0).toBeGreaterThan(0); // the transfers happened in the driver domain
    // Every response is notified (16 requests per io instance); requests only while the driver sleeps (not
    // while it polls or a transfer is in flight: R_REQ_EVENT). Nothing refused but the end of the driver's accept
    // loop and at most the front end's first notification, if it was sent before the driver had bound the port
    // (the driver reads the ring after binding: the request is not lost).
    const refusedSends = outcome.refused["EVT_SEND.ENOENT"] ?? 0;
    expect(refusedSends).toBeLessThanOrEqual(1);
    expect(outcome.ops.EVT_SEND).toBeGreaterThanOrEqual(16 * instances);
    expect(outcome.ops.EVT_SEND).toBeLessThan(2 * 16 * instances); // polling spared some of the request notifications
    expect(Object.keys(outcome.refused).filter((k) => k !== "EVT_SEND.ENOENT" && k !== "DEV_ACCEPT.EAGAIN")).toEqual([]);
  });
});

describe("driver VM", () => {
  it("io on hvm too (every port access a VM exit): the client prints what it prints with its local disk", () => {
    const { client, driver } = driverVm("io", "hvm");
    expect(client.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(client.console).toBe(local("io", "hvm").console);
    expect(driver.console).toContain("blkback: domain 1 connected\n");
  });

  it("is deterministic: the same consoles, cycles and counters twice", () => {
    const a = driverVm("mixed", "xen");
    const b = driverVm("mixed", "xen");
    expect(b.client.console).toBe(a.client.console);
    expect(b.driver.console).toBe(a.driver.console);
    expect(b.client.cycles).toBe(a.client.cycles);
    expect(b.driver.executedCycles).toBe(a.driver.executedCycles);
    expect(b.outcome.cycles).toBe(a.outcome.cycles);
    expect(b.client.stats).toEqual(a.client.stats);
    expect(b.outcome.ops).toEqual(a.outcome.ops);
  });

  it("a kernel with no server configured keeps its local disk under the host (DEV_LOOKUP < 0)", () => {
    const host = new DomainHost([{ name: "alone", image: kernel("io"), disk: kernelDisk() }], { backend: "xen", maxCycles: MAX_CYCLES });
    const outcome = host.run();
    const [d] = outcome.domains;
    expect(d.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(d.console).toBe(local("io", "xen").console);
    expect(d.stats.interrupts["2"]).toBe(local("io", "xen").stats.interrupts["2"]);
    expect(outcome.refused["DEV_LOOKUP.ENOENT"]).toBe(1); // asked once, at boot
    expect(outcome.ops.GNT_GRANT ?? 0).toBe(0); // and connected nothing
  });
});
