// The block back end against clients that do not follow the protocol
// (docs/driver-vms.md, "Block protocol"): small assembly guests (the
// host tests' prelude) talking to the real `blkback` kernel. A malformed
// request (slot or operation out of range) is answered with -22 and the
// well-formed ones around it are served; a device error comes back as -2; a
// ring that is not of this protocol is refused with a console line — and the
// driver goes on serving a well-behaved client next to it, which prints
// exactly what it prints with its local disk. A refusal keeps nothing: the
// client can revoke its grants, and one that publishes bad rings again and
// again leaves the driver's count of free frames (mm.ts, read from its
// memory) where one refusal left it — so it cannot exhaust the driver's
// memory and make it refuse everyone else. (Exhausting it outright would take
// ~1,800 refusals of ~90,000 cycles each on xen — the refusal's console line
// is a port write per byte: too slow for a test; the count shows the leak.)
// A client that publishes again and again, faster than the driver refuses
// it, does not keep the driver in its accept loop with its control port
// unacknowledged until the host's watchdog restarts it (every restart makes
// every client reconnect): no restart, and a client next to it is served.
// A refusal's console line is a VM exit per byte under hvm (~220,000 cycles
// of the driver for one publication of the client): the driver says why for
// a client's 1st, 2nd, 4th, 8th… refusal only and counts the others, so a
// flood of bad publications costs it the protocol's work alone — a third of
// what a refusal cost with its line.
// The two refusals no client can bring about at will — out of memory for the
// data pages' page table, a client gone before its port is bound — are
// brought about by the test (the driver's frames taken away; the client
// stopped by the host mid-attach) and undo as much.
// Nor does such a flood slow the driver's boot: a publication that replaces
// one still waiting is not announced again (services.ts), so the driver
// boots exactly as it boots with one publication waiting — under hvm, where
// an event interrupt costs ~12 exits (~29,500 cycles), one interrupt per
// publication kept it from running a single instruction of its boot for as
// long as the flood lasted.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { HC } from "../../src/hypervisors/common/hypercalls.js";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { runElf } from "../../src/hypervisors/index.js";
import { allocPort, grant, guest, lookupServer, pause, prelude, publish, ringHeader, ringWithDataPages } from "./guests.js";

const MAX_CYCLES = 400_000_000;
const blkback = buildKernel({ workload: "blkback" }).image;
const io = buildKernel({ workload: "io" }).image;

/**
 * A client that builds a correct ring (header, two granted data pages) but
 * queues four requests: slot 99, an operation 7, a read of sector 0 into
 * slot 0, a read of sector 100000 (beyond the disk) into slot 1. It waits for
 * four responses and powers off with a bit per wrong one (1: slot 99 not
 * -22, 2: op 7 not -22, 4: slot 0 not 0, 8: slot 1 not -2, 16: slot 0's data
 * is not the disk's sector 0): 0 when the back end did all it should.
 */
const malformed = `${prelude}
main:
${lookupServer}
${ringWithDataPages}
    li   t1, 99
    sw   t1, 128(t0)
    li   t1, 1
    sw   t1, 132(t0)
    sw   zero, 136(t0)
    li   t1, 3
    sw   t1, 144(t0)
    li   t1, 7
    sw   t1, 148(t0)
    sw   zero, 152(t0)
    sw   zero, 160(t0)
    li   t1, 1
    sw   t1, 164(t0)
    sw   zero, 168(t0)
    sw   t1, 176(t0)
    sw   t1, 180(t0)
    li   t1, 100000
    sw   t1, 184(t0)
    li   t1, 4
    sw   t1, 64(t0)
${grant(0x30000)}
    mv   s1, a0
    mv   a0, s0
${allocPort}
${publish}
.Lresponses:
    li   t0, 1
    sll  a0, t0, s2
    call wait
    li   t0, 0x30000
    lw   t1, 68(t0)
    li   t2, 4
    blt  t1, t2, .Lresponses
    li   s1, 0
    lw   t1, 512(t0)
    lw   t2, 516(t0)
    li   t3, 99
    bne  t1, t3, .Lbad0
    li   t3, -22
    beq  t2, t3, .Lok0
.Lbad0:
    ori  s1, s1, 1
.Lok0:
    lw   t1, 520(t0)
    lw   t2, 524(t0)
    li   t3, 3
    bne  t1, t3, .Lbad1
    li   t3, -22
    beq  t2, t3, .Lok1
.Lbad1:
    ori  s1, s1, 2
.Lok1:
    lw   t1, 528(t0)
    lw   t2, 532(t0)
    bnez t1, .Lbad2
    beqz t2, .Lok2
.Lbad2:
    ori  s1, s1, 4
.Lok2:
    lw   t1, 536(t0)
    lw   t2, 540(t0)
    li   t3, 1
    bne  t1, t3, .Lbad3
    li   t3, -2
    beq  t2, t3, .Lok3
.Lbad3:
    ori  s1, s1, 8
.Lok3:
    li   t0, 0x31000
    lw   t1, 0(t0)
    li   t2, 0x12345678
    beq  t1, t2, .Lok4
    ori  s1, s1, 16
.Lok4:
    out  0xF0, s1
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * How long (iterations of `pause`, ~2 cycles each) a client waits after a
 * publication for the driver to have refused it — unmapped its pages — before
 * it revokes its grants. The slowest is the first, published while the driver
 * boots: its GNT_UNMAP comes ~0.42 M cycles into the run on xen, ~0.69 M on
 * l4 and ~1.28 M on hvm (timer calibration and the event interrupt are VM
 * exits there, ~2,400 cycles each); a later one, ~0.31 M cycles after its
 * publication on hvm (the previous refusal's console line first: a port
 * write, an exit, per byte). A wait of ~1.2 M cycles lost that race on hvm by
 * ~2,000 cycles (the revoke found the ring still mapped: EBUSY); ~2 M leaves
 * hvm's boot 0.7 M to spare.
 */
const REFUSED = 1_000_000;

/**
 * A client that publishes a bad ring `times` times: each time it grants its
 * ring page 0x30000 afresh, publishes, waits for the driver to refuse it
 * (REFUSED; publishing again sooner would keep it in its accept loop), then
 * revokes its grants. The ring is all zeros (not of this protocol) unless
 * `dataPage`: then it has the right header, data page 0 granted (0x31000,
 * the driver maps it) and data page 1 a forged ref (which it cannot).
 * Powers off with 0, or 16 when a revoke found its page still mapped (EBUSY).
 */
const badRing = (times: number, dataPage: boolean): string => `${prelude}
main:
${lookupServer}
${allocPort}
    li   t3, ${times}
.Lagain:${dataPage ? `
${grant(0x31000)}
    li   t0, 0x30000
    sw   a0, 16(t0)
    li   t1, 999
    sw   t1, 20(t0)
${ringHeader}` : ""}
${grant(0x30000)}
    mv   s1, a0
${publish}
${pause(".Lpause", REFUSED)}
    mv   a0, s1
    li   a3, HC_GNT_REVOKE
    call domop
    bnez a0, .Lheld${dataPage ? `
    li   t0, 0x30000
    lw   a0, 16(t0)
    li   a3, HC_GNT_REVOKE
    call domop
    bnez a0, .Lheld` : ""}
    addi t3, t3, -1
    bnez t3, .Lagain
    li   a0, 0
    out  0xF0, a0
.Lheld:
    li   a0, 16
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * A client that floods the driver with publishes: its ring page 0x30000
 * (all zeros: not of this protocol), granted once, published `times` times
 * ~`gap` cycles apart — far sooner than the driver refuses it (a refusal's
 * console line takes ~90,000 cycles on xen), so the driver finds it
 * published again after nearly every refusal. Then one last publish of
 * another ring, 0x33000, with the right header but a forged ref for data
 * page 1 (refused "cannot map its data pages": the line shows it was taken
 * — a publish is never lost), and a pause (REFUSED) for the driver to take
 * it before it powers off with 0.
 */
const flood = (times: number, gap: number): string => `${prelude}
main:
${lookupServer}
${allocPort}
${grant(0x30000)}
    mv   s1, a0
    li   t3, ${times}
.Lagain:
${publish}
${pause(".Lpause", gap / 2)}
    addi t3, t3, -1
    bnez t3, .Lagain
${grant(0x31000)}
    li   t0, 0x33000
    sw   a0, 16(t0)
    li   t1, 999
    sw   t1, 20(t0)
${ringHeader}
${grant(0x33000)}
    mv   s1, a0
${publish}
${pause(".Llinger", REFUSED)}
    li   a0, 0
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

/** Where the driver kernel keeps its count of free frames (mm.ts freeCount; the kernel is identity-mapped). */
const FREE_COUNT = blkback.symbols.find((s) => s.name === "freeCount")!.value;

/**
 * The refusal lines of client `dom` in the driver's console, as "why #n"
 * (its n-th refusal; the first line has no number): the driver says why for
 * the 1st, 2nd, 4th, 8th… only.
 */
function refusalLines(console: string, dom: number): string[] {
  const line = new RegExp(`^blkback: domain ${dom}: refused, (.*?)(?: \\(refusal (\\d+)\\))?$`, "gm");
  return [...console.matchAll(line)].map((m) => `${m[1]} #${m[2] ?? 1}`);
}

/** What refusalLines gives for `times` refusals all for `why`. */
function expectedLines(why: string, times: number): string[] {
  const lines: string[] = [];
  for (let n = 1; n <= times; n *= 2) lines.push(`${why} #${n}`);
  return lines;
}

describe.each(["xen", "l4", "hvm"])("the block back end against hostile clients on %s", (hv) => {
  it("answers malformed requests with -22 and serves the good ones around them; a device error is -2", () => {
    const disk = new Uint8Array(kernelDiskBytes());
    new DataView(disk.buffer).setInt32(0, 0x12345678, true);
    const host = new DomainHost(
      [
        { name: "driver", image: blkback, role: "driver", serves: ["block"], disk },
        { name: "hostile", image: guest("malformed", malformed), uses: { block: "driver" } },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    );
    const { domains } = host.run();
    expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(domains[0].console).toContain("blkback: domain 1 connected\n");
    expect(domains[0].restarts).toEqual([]); // nothing it was sent made it crash
  });

  it("refuses a ring that is not of this protocol, lets go of its page (the client can revoke its grant) and goes on serving a well-behaved client", () => {
    const host = new DomainHost(
      [
        { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
        { name: "hostile", image: guest("badring", badRing(1, false)), uses: { block: "driver" } },
        { name: "client", image: io, uses: { block: "driver" } },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    );
    const { domains } = host.run();
    expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 }); // its GNT_REVOKE of the ring page: 0, not EBUSY
    expect(domains[0].console).toContain("blkback: domain 1: refused, not a ring of this protocol\n");
    expect(domains[0].console).toContain("blkback: domain 2 connected\n");
    expect(domains[2].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(domains[2].console).toBe(runElf(io, { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk() }).console);
  });

  it("is not kept in its accept loop by a client that publishes again and again faster than it refuses: no restart, and a well-behaved client is served", () => {
    const times = 750;
    const host = new DomainHost(
      [
        { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
        { name: "hostile", image: guest("flood", flood(times, 4000)), uses: { block: "driver" } },
        { name: "client", image: io, uses: { block: "driver" } },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    );
    const { domains } = host.run();
    const drv = domains[0].console;
    expect(domains[0].restarts).toEqual([]); // the control port was acknowledged between refusals: the watchdog saw progress
    expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
    // Lines for its 1st, 2nd, 4th… refusal only (the last publish's among them or not): more than 10 refusals, at most `times` + 1.
    const lines = refusalLines(drv, 1).filter((l) => !l.startsWith("cannot map its data pages"));
    expect(lines).toEqual(expectedLines("not a ring of this protocol", 2 ** (lines.length - 1)));
    expect(2 ** (lines.length - 1)).toBeGreaterThan(10); // ~90,000 cycles each on xen: it was kept busy for longer than the watchdog, twice over
    expect(2 ** (lines.length - 1)).toBeLessThanOrEqual(times + 1);
    expect(domains[0].refused["GNT_MAP.ENOENT"]).toBe(1); // the last publish was taken: its forged data page ref, the only one
    expect(drv).toContain("blkback: domain 2 connected\n"); // its whole run (~2,000,000 cycles on xen) falls within the flood
    expect(domains[2].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(domains[2].console).toBe(runElf(io, { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk() }).console);
  });

  it("boots as fast under a flood of publications as with one: a publication replacing one still waiting raises no event", () => {
    /** The driver's clock when it starts serving, next to a client that publishes `times` + 1 times ~200 cycles apart. */
    const servedAt = (times: number): number => {
      let at = -1;
      const host: DomainHost = new DomainHost(
        [
          { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
          { name: "hostile", image: guest("flood", flood(times, 200)), uses: { block: "driver" } },
        ],
        {
          backend: hv,
          maxCycles: MAX_CYCLES,
          onOutput: (d, text) => {
            if (d === 0 && text.endsWith(" serves block requests\n")) at = host.machineOf(0).cycles;
          },
        },
      );
      const { domains } = host.run();
      expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
      // Its timer calibration was not cut short: four halts, each woken by a publication before a tick, fail it.
      expect(domains[0].console).not.toContain("selfcheck");
      expect(domains[0].refused["GNT_MAP.ENOENT"]).toBe(1); // the last publish was taken: its forged data page ref, the only one
      return at;
    };
    const quiet = servedAt(1); // both publications within the driver's boot: one control event
    expect(quiet).toBeGreaterThan(0);
    expect(servedAt(750)).toBe(quiet); // the flood goes on long after the driver's boot, which took the same one event
  });

  it.each([
    ["not a ring of this protocol", false],
    ["cannot map its data pages", true],
  ])("keeps no frame of a client it refused (%s): one that publishes bad rings over and over cannot exhaust the driver", (why, dataPage) => {
    const run = (times: number) => {
      const host = new DomainHost(
        [
          { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
          { name: "hostile", image: guest("badring", badRing(times, dataPage)), uses: { block: "driver" } },
        ],
        { backend: hv, maxCycles: MAX_CYCLES },
      );
      const { domains } = host.run();
      expect(domains[0].restarts).toEqual([]); // one driver instance throughout: its frames were never reset
      expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 }); // the driver let go of every page it mapped
      // Every publish was taken, its ring mapped (before the revoke: else "cannot map its ring", a GNT_MAP refused) and
      // refused — with a data page, after mapping page 0 and failing page 1's forged ref, each time; said for the 1st, 2nd, 4th.
      expect(refusalLines(domains[0].console, 1)).toEqual(expectedLines(why, times));
      expect(domains[0].refused["GNT_MAP.ENOENT"] ?? 0).toBe(dataPage ? times : 0);
      return host.machineOf(0).memory.read32(FREE_COUNT);
    };
    const once = run(1);
    expect(once).toBeGreaterThan(1000); // the allocator's count (the symbol is right)
    expect(run(6)).toBe(once);
  });

  it("refuses a client it has no memory for (its data pages' page table) and keeps nothing of it: the frames come back, the client can revoke its grants", () => {
    // No client can bring this about (refusals keep nothing; at most 4 clients of 3 frames; only the first data page
    // ever mapped needs a page-table frame), so the test takes the driver's frames away itself when it starts serving:
    // the count (mm.ts's stack of free frames) left at 2 — the ring's frame and data page 0's, none for the table.
    let atRefusal = -1;
    const host: DomainHost = new DomainHost(
      [
        { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
        { name: "hostile", image: guest("badring", badRing(1, true)), uses: { block: "driver" } },
      ],
      {
        backend: hv,
        maxCycles: MAX_CYCLES,
        onOutput: (d, text) => {
          const memory = host.machineOf(0).memory;
          if (d === 0 && text.endsWith(" serves block requests\n")) memory.write32(FREE_COUNT, 2);
          if (d === 0 && text.endsWith(": refused, out of memory\n")) atRefusal = memory.read32(FREE_COUNT);
        },
      },
    );
    const { domains } = host.run();
    expect(domains[0].console).toContain("blkback: domain 1: refused, out of memory\n");
    expect(atRefusal).toBe(2); // the ring's frame and the data page's, freed
    expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 }); // its GNT_REVOKEs of the ring and data page 0: 0, not EBUSY
    expect(domains[0].restarts).toEqual([]);
  });

  it("refuses a client that dies while it attaches it (cannot bind its event port), keeps nothing of it and goes on serving the other", () => {
    // Only a client gone between the driver's GNT_MAP of its last data page and its EVT_BIND gets this refusal (the
    // host checked the port at DEV_PUBLISH; the driver binds at most 4 of its 31): a gap of 2,147 cycles on xen, 6,947
    // on l4, 12,132 on hvm — two windows or more. The client, an io kernel, is stopped by the host in that GNT_MAP.
    // The other io kernel publishes first (domain 1 runs first in every window) and is attached first, so the data
    // pages' page table (the first mapPage's, kept for every client) exists before the dying client's attach.
    let connectedFree = -1;
    let refusedFree = -1;
    let maps = 0;
    const host: DomainHost = new DomainHost(
      [
        { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
        { name: "client", image: io, uses: { block: "driver" } },
        { name: "dying", image: io, uses: { block: "driver" } },
      ],
      {
        backend: hv,
        maxCycles: MAX_CYCLES,
        onOutput: (d, text) => {
          const memory = host.machineOf(0).memory;
          if (d === 0 && text === "blkback: domain 1 connected\n") connectedFree = memory.read32(FREE_COUNT);
          if (d === 0 && text === "blkback: domain 2: refused, cannot bind its event port\n") refusedFree = memory.read32(FREE_COUNT);
        },
      },
    );
    const call = host.services.call.bind(host.services);
    host.services.call = (self, op, a0, a1, a2, pc) => {
      const r = call(self, op, a0, a1, a2, pc);
      if (self === 0 && op === HC.GNT_MAP && a0 === 2 && ++maps === 3) host.machineOf(2).stop("monitor", "the test: gone while its server attaches it");
      return r;
    };
    const { domains } = host.run();
    expect(domains[0].console).toContain("blkback: domain 2: refused, cannot bind its event port\n");
    expect(connectedFree).toBeGreaterThan(1000);
    expect(refusedFree).toBe(connectedFree); // the ring's frame and both data pages' came back
    // It is gone: the host tore it down (its grants ended, the driver's mappings of them too, docs/driver-vms.md "When a guest ends").
    expect(host.services.grants[2].size).toBe(0);
    expect([...host.services.mappings[0].values()].filter((m) => m.granter === 2)).toEqual([]);
    expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(domains[1].console).toBe(runElf(io, { backend: hv, maxCycles: MAX_CYCLES, disk: kernelDisk() }).console);
  });
});

describe("the block back end's cost of a refusal under hvm", () => {
  it("a refused publication costs the driver a third of what it cost when every refusal printed its line: only the 1st, 2nd, 4th… say why", () => {
    /** The driver's executed cycles (idle excluded) and console over a run where a client publishes a bad ring `times` times. */
    const driverCycles = (times: number): { cycles: number; console: string } => {
      const host = new DomainHost(
        [
          { name: "driver", image: blkback, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
          { name: "hostile", image: guest("badring", badRing(times, false)), uses: { block: "driver" } },
        ],
        { backend: "hvm", maxCycles: MAX_CYCLES },
      );
      const { domains } = host.run();
      expect(domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
      return { cycles: domains[0].executedCycles, console: domains[0].console };
    };
    const [one, two, three] = [1, 2, 3].map(driverCycles);
    const said = two.cycles - one.cycles; // the 2nd refusal, its line printed (as every refusal's was): ~375,000 cycles, a VM exit per byte
    const counted = three.cycles - two.cycles; // the 3rd, counted only: the event interrupt, DEV_ACCEPT, GNT_MAP, GNT_UNMAP — ~97,000
    expect(counted).toBeGreaterThan(0);
    expect(counted * 3).toBeLessThan(said);
    expect(refusalLines(three.console, 1)).toEqual(["not a ring of this protocol #1", "not a ring of this protocol #2"]);
  });
});

