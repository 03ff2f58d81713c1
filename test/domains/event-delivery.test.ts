// How an event reaches a guest kernel under xen and l4 (docs/in-place-vmm.md
// "Events", docs/driver-vms.md "Event channels"), counted on the bundled
// kernel's io workload: the completion interrupt wakes the idle kernel (held:
// its interrupts are masked), its unmask calls the hypervisor, and the upcall
// rides on that call's return — no second entry, no re-entry at the
// handler's first instruction for a line still asserted, and the handler's
// return to the kernel needs no call once its acknowledgement dropped the
// line. And the multi-guest host's event line is edge-triggered there
// (DOM_FEATURES): the block front end's responses cost it no port access.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { IRQ } from "../../src/guest-isa/registers.js";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { runElf } from "../../src/hypervisors/index.js";

const MAX_CYCLES = 400_000_000;
const io = (scale: number) => buildKernel({ workload: "io", scale }).image;

describe.each(["xen", "l4"])("event delivery on %s", (hv) => {
  it("a disk completion is taken twice (the wake, the upcall on the unmasking call's return) and the handler returns without a call", () => {
    const out = runElf(io(1), { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk(1) });
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
    const c = out.stats.counts;
    // 16 transfers: the line reaches the hypervisor while the kernel idles with interrupts masked (held), then
    // once more when its unmask (EVENTS) returns — not a third time at the handler's entry while still asserted.
    expect(out.stats.interrupts[IRQ.DISK]).toBe(32);
    expect(c[`${hv}:event.onReturn`]).toBeGreaterThanOrEqual(16);
    // The handler acknowledges the disk through the VMM (an emulated out): the hold is dropped there, so its iret
    // to the kernel takes the VMM's fast path; IRET calls are the returns to user mode (one per request, and a few).
    expect(c[`${hv}:event.dropped`]).toBeGreaterThanOrEqual(16);
    expect(c[`${hv}:hcall.IRET`]).toBeLessThan(24);
  });

  const client = (scale: number, engine: "interp" | "jit" = "interp") => {
    const host = new DomainHost(
      [
        { name: "driver", image: buildKernel({ workload: "blkback" }).image, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes(scale)) },
        { name: "client", image: io(scale), uses: { block: "driver" } },
      ],
      { backend: hv, maxCycles: MAX_CYCLES, engine },
    );
    const c = host.run().domains[1];
    expect(c.result).toEqual({ kind: "poweroff", exitCode: 0 });
    return c;
  };

  it("the block front end acknowledges no response, and its events are delivered in place by the VMM", () => {
    const one = client(1).stats.counts;
    const two = client(2).stats.counts;
    // 16 more requests, 16 more responses and their events: no acknowledgement each (the upcall lowers the line);
    // the few more port writes are the longer run's timer ticks (each acknowledged), not one per response.
    expect(two[`${hv}:emulate.out`] - one[`${hv}:emulate.out`]).toBeLessThan(8);
    // Each response's event reaches the idle client while its events are masked: taken off the line, left in the
    // shared-info page, and delivered by the VMM's DELIVER when the kernel unmasks — no EVENTS call for it.
    expect(two[`${hv}:event.inPlace`] - one[`${hv}:event.inPlace`]).toBeGreaterThanOrEqual(15);
    expect((two[`${hv}:hcall.EVENTS`] ?? 0) - (one[`${hv}:hcall.EVENTS`] ?? 0)).toBeLessThan(4);
  });

  it("in-place delivery is engine-independent: the interpreter and the JIT give the same consoles, cycles and counters", () => {
    const a = client(1, "interp");
    const b = client(1, "jit");
    expect([b.console, b.cycles, b.stats]).toEqual([a.console, a.cycles, a.stats]);
  });
});

describe("the event line under hvm stays level", () => {
  it("the front end acknowledges each response there (one port write per request)", () => {
    const client = (scale: number) => {
      const host = new DomainHost(
        [
          { name: "driver", image: buildKernel({ workload: "blkback" }).image, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes(scale)) },
          { name: "client", image: io(scale), uses: { block: "driver" } },
        ],
        { backend: "hvm", maxCycles: MAX_CYCLES },
      );
      const c = host.run().domains[1];
      expect(c.result).toEqual({ kind: "poweroff", exitCode: 0 });
      return c.stats.deviceAccesses;
    };
    expect(client(2) - client(1)).toBeGreaterThanOrEqual(16);
  });
});
