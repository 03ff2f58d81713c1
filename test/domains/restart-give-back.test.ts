// A restarted driver domain's old machine gives its RAM back (host.ts
// `restart`: PhysicalMemory.recycle, so the new generation takes a buffer
// whose pages are mapped instead of a fresh 64 MiB) — and only once nothing
// reads it any more: onRestart (the `previrt drivers` runner counts the
// requests left in the client's ring from the old machine's RAM) sees it
// whole, the host then tears down what it held (which still writes to its
// buffer) on a machine not yet given back, and the run goes on exactly as
// before. The machine of the last generation stays with the caller (the
// outcome's owner: run --domains gives it back itself; `previrt drivers`'
// campaign gives back those of each run once its record is taken). Real
// guests on the real emulator: the bundled kernel's blkback serving the io
// kernel, and a driver that crashes at once.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { runRestartCampaign } from "../../src/cli/drivers/restart-campaign.js";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { runElf } from "../../src/hypervisors/index.js";
import type { Machine } from "../../src/machine/machine.js";
import { DEFAULT_RAM_SIZE, takeLiveMemories } from "../../src/machine/memory.js";
import { guest } from "./guests.js";

const MAX_CYCLES = 400_000_000;
/** The block ring's first word (fixtures/kernel/blkfront.ts), as the drivers runner looks for it. */
const RING_MAGIC = 0x314b4c42;

describe("a restarted driver's old machine goes back", () => {
  it("xen, blkback under the client's io: after onRestart has read the client's ring in its RAM; the client completes as with a local disk", () => {
    const blkback = buildKernel({ workload: "blkback" }).image;
    const io = buildKernel({ workload: "io" }).image;
    const old: Machine[] = [];
    const ringsSeen: number[] = [];
    const host = new DomainHost(
      [
        { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
        { name: "client", image: io, uses: { block: "driver" } },
      ],
      {
        backend: "xen",
        maxCycles: MAX_CYCLES,
        crashes: [{ domain: "driver", at: 1_300_000, kind: "wild-store", seed: 7 }],
        onRestart: (d, _rec, h) => {
          const m = h.machineOf(d);
          old.push(m);
          // The client's ring, mapped into the driver: read from the old machine's RAM, as restart-campaign.ts does.
          ringsSeen.push([...h.services.mappings[d].keys()].filter((page) => m.memory.i32[page >>> 2] === RING_MAGIC).length);
        },
      },
    );
    // The host's teardown of what the old machine held (its mapping of the ring: the frame's write tracking ends,
    // which re-derives its TLB's fast tags — in the buffer's state region) must come before its RAM goes back:
    // after, it wrote 24 bytes into a buffer handed on as zeroed.
    const recycledAtTearDown: boolean[] = [];
    const tearDown = host.services.tearDown.bind(host.services);
    host.services.tearDown = (d) => {
      recycledAtTearDown.push(host.machineOf(d).memory.isRecycled);
      tearDown(d);
    };
    const { domains } = host.run();
    expect(domains[0].restarts.length).toBe(1);
    expect(old.length).toBe(1);
    expect(ringsSeen).toEqual([1]); // its RAM was whole when onRestart read it
    expect(recycledAtTearDown).toEqual([false, false]); // the restart's, then the client's at its end (over)
    expect(old[0].memory.isRecycled).toBe(true);
    expect(host.machineOf(0)).not.toBe(old[0]);
    expect(host.machineOf(0).memory.isRecycled).toBe(false); // the last generation's: the caller's to give back
    expect(host.machineOf(1).memory.isRecycled).toBe(false);
    expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(domains[1].console).toBe(runElf(io, { backend: "xen", maxCycles: MAX_CYCLES, disk: kernelDisk() }).console);
  });

  it.each(["xen", "l4"])("%s, a driver that crashes at once, three restarts: every generation's machine but the last given back", (backend) => {
    const CRASH = `    .text\n    .global _start\n_start:\n    li   t0, 0x7ffff000\n    lw   t1, 0(t0)\n    out  0xF0, zero\n`;
    const SPIN = `    .text\n    .global _start\n_start:\n    addi t2, t2, 1\n    j    _start\n`;
    const specs: DomainSpec[] = [
      { name: "drv", image: guest("drv", CRASH), role: "driver", serves: ["block"] },
      { name: "app", image: guest("app", SPIN), uses: { block: "drv" } },
    ];
    const old: Machine[] = [];
    const host = new DomainHost(specs, { backend, maxCycles: 2_000_000, maxRestarts: 3, onRestart: (d, _rec, h) => old.push(h.machineOf(d)) });
    const drv = host.run().domains[0];
    expect(drv.restarts.length).toBe(3);
    expect(new Set(old).size).toBe(3);
    expect(old.map((m) => m.memory.isRecycled)).toEqual([true, true, true]);
    expect(host.machineOf(0).memory.isRecycled).toBe(false);
    // Each ending's message and diagnosis were taken before its machine went back.
    for (const r of drv.restarts) expect(r.reason).toMatch(/bus-error/);
    expect(drv.result?.kind === "stopped" && drv.result.diagnosis).toMatch(/lw/);
  });

  it("previrt drivers' campaign gives back every machine it makes, the runs' last ones too, once their records are taken", () => {
    takeLiveMemories(); // forget the machines before this test
    const r = runRestartCampaign({ runs: 1, firstSeed: 2, backend: "l4" });
    expect(r.runs[0]).toMatchObject({ completed: true, sameOutput: true, restarts: 1, retried: 1 });
    // None made since is left un-recycled: the local reference's, the crash-free run's two, the crashed run's three.
    // Taken in the same synchronous job as the campaign, so none has been collected (a WeakRef's target is kept alive
    // until the job that made it ends); the JIT's 64 KiB warm-up scratch memories (jit/warm.ts) are no machine's.
    expect(takeLiveMemories().filter((m) => m.size === DEFAULT_RAM_SIZE).length).toBe(0);
  });
});
