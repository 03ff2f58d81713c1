// Reconnection (docs/driver-vms.md, "Block protocol"): when the host restarts
// the driver domain under a client's I/O — a wild store that makes its kernel
// panic, or a hang the host's watchdog catches — the client's front end sees
// the new generation on its control port, publishes its ring again and
// resubmits what was unanswered; the client's workload completes without a
// reboot, prints exactly what it prints with a local disk, and its self-check
// passes.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, kernelDiskBytes, type Workload } from "../../src/cli/bundled-kernel.js";
import { DomainHost, type CrashInjection } from "../../src/hypervisors/domains/host.js";
import { runElf } from "../../src/hypervisors/index.js";

const MAX_CYCLES = 400_000_000;
/** The client's io at scale 3: 48 requests, long enough for three crashes a million cycles apart, each after the previous restart has reconnected. */
const SCALE = 3;
const images = new Map<string, ReturnType<typeof buildKernel>["image"]>();
const kernel = (w: Workload, scale = 1) => {
  const key = `${w}/${scale}`;
  if (!images.has(key)) images.set(key, buildKernel({ workload: w, scale }).image);
  return images.get(key)!;
};

function run(w: Workload, scale: number, hv: string, crashes: CrashInjection[]) {
  const disk = new Uint8Array(kernelDiskBytes(scale));
  const host = new DomainHost(
    [
      { name: "driver", image: kernel("blkback"), role: "driver", serves: ["block"], disk },
      { name: "client", image: kernel(w, scale), uses: { block: "driver" } },
    ],
    { backend: hv, maxCycles: MAX_CYCLES, crashes },
  );
  const outcome = host.run();
  return { outcome, driver: outcome.domains[0], client: outcome.domains[1] };
}

const connected = (console: string) => console.split("\n").filter((l) => l === "blkback: domain 1 connected").length;

describe.each(["xen", "l4"])("driver restart under the client's I/O on %s", (hv) => {
  const ref = runElf(kernel("io", SCALE), { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk(SCALE) });

  it.each([
    ["a wild store (kernel panic)", "wild-store"],
    ["a hang (the watchdog)", "hang"],
  ] as const)("%s: the client's io completes, prints what it prints locally, self-check ok", (_, kind) => {
    // The client's requests run from about 1.0 M cycles on: crashes in the middle of them, each 1.1-1.2 M cycles
    // after the last (a restart takes about 0.4 M on xen, 0.7 M on l4 until the new instance accepts the client
    // again, then prints its "connected" line, a port write per byte). A wild store that lands in the kernel's
    // printing code makes its panic message fault again: that driver then hangs and the watchdog restarts it,
    // a different path than this test means to take, so the crashes stay clear of those lines.
    const crashes = [1_300_000, 2_400_000, 3_500_000].map((at, i) => ({ domain: "driver", at, kind, seed: 7 + i }));
    const { client, driver, outcome } = run("io", SCALE, hv, kind === "hang" ? crashes.slice(0, 1) : crashes);
    expect(client.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(client.console).toBe(ref.console);
    expect(client.generation).toBe(0); // never rebooted
    const restarts = kind === "hang" ? 1 : 3;
    expect(driver.restarts.length).toBe(restarts);
    expect(driver.generation).toBe(restarts);
    if (kind === "hang") expect(driver.restarts[0].reason).toMatch(/watchdog/);
    // Each generation of the driver accepted the client once: the first at boot, every later one on reconnection.
    expect(connected(driver.console)).toBe(restarts + 1);
    expect(outcome.exitCode).toBe(0);
  });

  it("mixed (two io processes, requests overlapping) survives a driver crash too", () => {
    const local = runElf(kernel("mixed"), { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk() });
    const { client, driver } = run("mixed", 1, hv, [{ domain: "driver", at: 2_000_000, kind: "wild-store", seed: 3 }]);
    expect(client.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(client.console).toBe(local.console);
    expect(driver.restarts.length).toBe(1);
    expect(connected(driver.console)).toBe(2);
  });
});
