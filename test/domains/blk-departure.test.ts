// The block back end lets go of a client that has ended (docs/driver-vms.md,
// "When a guest ends", "Connect"): the host tears the client down and hands
// the driver a departure through DEV_ACCEPT (ring ref -1), and blkback frees
// the client's two data frames — at once, or, while the disk holds requests
// (a completion writes the client's ring and data pages), when a later
// client finds every slot taken once disk.ts holds none of the client's
// requests, even while other clients keep the disk busy — and gives its slot
// to the next client that finds every slot taken, freeing the ring frame it
// kept until then. Before, a slot was never given back: the 5th client ever
// was refused ("too many clients") for good, even with the first four gone.
// Small assembly clients (the host tests' prelude, the block protocol's
// ring) against the real `blkback` kernel, on xen, l4 and hvm.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { allocPort, guest, lookupServer, pause, prelude, publish, publishRing, ringWithDataPages } from "./guests.js";

const MAX_CYCLES = 400_000_000;
const blkback = buildKernel({ workload: "blkback" }).image;
/** Where the driver kernel keeps its count of free frames (mm.ts freeCount; the kernel is identity-mapped). */
const FREE_COUNT = blkback.symbols.find((s) => s.name === "freeCount")!.value;
/** What sector 0 of the driver's disk holds (the clients check their read). */
const SECTOR0 = 0x12345678;

/** The readers' ending: power off with 0 — or, from `.Lbad:`, 1; from `fail:`, 99. */
const verdict = `    li   a0, 0
    out  0xF0, a0
.Lbad:
    li   a0, 1
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0`;

/**
 * A client that waits ~2 × `delay` cycles, then connects with a correct
 * ring (two data pages granted) holding `requests` reads (sector i into slot
 * i), publishes, and waits for the first response. Then it powers off at
 * once — with 0 when that response is slot 0's, status 0, and its data is
 * sector 0's (else 1) — leaving any other request in the driver's disk.
 */
const reader = (delay: number, requests: number, again = false): string => `${prelude}
main:
${delay > 0 ? pause(".Ldelay", delay) : ""}
${lookupServer}
${ringWithDataPages}
${Array.from({ length: requests }, (_, i) => `    li   t1, ${i}
    sw   t1, ${128 + 16 * i}(t0)
    li   t1, 1
    sw   t1, ${132 + 16 * i}(t0)
    li   t1, ${i}
    sw   t1, ${136 + 16 * i}(t0)`).join("\n")}
    li   t1, ${requests}
    sw   t1, 64(t0)
${publishRing}
.Lresponse:
    li   t0, 1
    sll  a0, t0, s2
    call wait
    li   t0, 0x30000
    lw   t1, 68(t0)
    beqz t1, .Lresponse
    lw   t1, 512(t0)
    bnez t1, .Lbad
    lw   t1, 516(t0)
    bnez t1, .Lbad
    li   t0, 0x31000
    lw   t1, 0(t0)
    li   t2, ${SECTOR0}
    bne  t1, t2, .Lbad
${again ? `    mv   a0, s0
${allocPort}
${publish}
${pause(".Lagain", 200_000)}` : ""}
${verdict}`;

/** Runs the driver and clients of the given delays and requests; the outcome and the driver's free frames at the end. */
function run(hv: string, clients: readonly (readonly [delay: number, requests: number, again?: boolean])[], extra: readonly DomainSpec[] = []) {
  const disk = new Uint8Array(kernelDiskBytes());
  new DataView(disk.buffer).setInt32(0, SECTOR0, true);
  const specs: DomainSpec[] = [
    { name: "driver", image: blkback, role: "driver", serves: ["block"], disk },
    ...clients.map(([delay, requests, again], i): DomainSpec => ({ name: `c${i + 1}`, image: guest("reader", reader(delay, requests, again)), uses: { block: "driver" } })),
    ...extra,
  ];
  const host = new DomainHost(specs, { backend: hv, maxCycles: MAX_CYCLES });
  const out = host.run();
  return { out, free: host.machineOf(0).memory.read32(FREE_COUNT) };
}

/** ~2,000,000 cycles between clients: the one before has connected, been answered and powered off (hvm's boot included). */
const GAP = 1_000_000;

/** Every client powered off with 0, each was connected, none refused, the driver never restarted. */
function expectAllServed(out: ReturnType<typeof run>["out"]): void {
  const drv = out.domains[0];
  for (const c of out.domains.slice(1)) expect(c.result, c.name).toEqual({ kind: "poweroff", exitCode: 0 });
  for (let d = 1; d < out.domains.length; d++) expect(drv.console).toContain(`blkback: domain ${d} connected\n`);
  expect(drv.console).not.toContain("refused");
  expect(drv.restarts).toEqual([]);
}

/**
 * The driver's free frames at the end, against one client's run: that client
 * (the last, the run ends with it) still holds its three; three more slots are
 * FREE, each keeping its ring frame until it is taken again.
 */
const KEPT = 3;

/**
 * A client that waits ~2 × `delay` cycles, connects with no request and
 * polls its port's pending bit for ~20,000 turns: any event there is not its
 * own (exit 70 + the port), else 0.
 */
const idle = (delay: number): string => `${prelude}
main:
${pause(".Ldelay", delay)}
${lookupServer}
${ringWithDataPages}
${publishRing}
    li   t2, 20000
.Lpoll:
    in   t0, 0x65
    li   t1, 1
    sll  t1, t1, s2
    and  t0, t0, t1
    bnez t0, .Lspurious
    addi t2, t2, -1
    bnez t2, .Lpoll
    li   a0, 0
    out  0xF0, a0
.Lspurious:
    mv   a0, s2
    addi a0, a0, 70
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;
/** Delays of the idle client that land its connection while c1's requests are still in the disk (per back end: the boot and the disk differ). */
const IDLE_DELAYS: Record<string, number[]> = { xen: [300_000, 600_000], l4: [300_000, 600_000], hvm: [800_000, 1_000_000] };

/**
 * A client that keeps the driver's disk busy: connects with reads in slots
 * 0 and 1 (sectors 0 and 1), and each time a response comes (status 0, else
 * it powers off with 1) queues that slot's read again and notifies, `refills`
 * times. Then, with `drain`, it takes the responses still due and powers
 * off with 0 (no request of its in the disk); without, it powers off at once
 * (one still there).
 */
const busy = (refills: number, drain: boolean): string => `${prelude}
main:
${lookupServer}
${ringWithDataPages}
${[0, 1].map((i) => `    li   t1, ${i}
    sw   t1, ${128 + 16 * i}(t0)
    sw   t1, ${136 + 16 * i}(t0)
    li   t1, 1
    sw   t1, ${132 + 16 * i}(t0)`).join("\n")}
    li   t1, 2
    sw   t1, 64(t0)
${publishRing}
    li   s1, 0                  # responses taken (wait keeps s1, t2-t4; domop t0-t4)
    li   t4, 2                  # requests queued
    li   t3, ${refills}         # refills left
.Lloop:
    li   t0, 0x30000
    lw   t1, 68(t0)
    bne  t1, s1, .Ltake
    li   t0, 1
    sll  a0, t0, s2
    call wait
    j    .Lloop
.Ltake:
    andi t2, s1, 15
    slli t2, t2, 3
    add  t2, t2, t0
    lw   a1, 512(t2)            # its slot
    lw   a2, 516(t2)
    bnez a2, .Lbad
    addi s1, s1, 1
    beqz t3, .Lstop
    addi t3, t3, -1
    andi t2, t4, 15
    slli t2, t2, 4
    add  t2, t2, t0
    sw   a1, 128(t2)
    li   t1, 1
    sw   t1, 132(t2)
    sw   a1, 136(t2)
    addi t4, t4, 1
    sw   t4, 64(t0)
    mv   a0, s2
    li   a3, HC_EVT_SEND
    call domop
    bnez a0, fail
    j    .Lloop
.Lstop:
${drain ? "    bne  s1, t4, .Lloop" : ""}
${verdict}`;

describe.each(["xen", "l4", "hvm"])("the block back end lets go of a client that ended on %s", (hv) => {
  it("serves ten clients one after the other with its four slots: the frames it keeps do not grow with the clients", () => {
    const one = run(hv, [[0, 1]]);
    expect(one.out.domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(one.free).toBeGreaterThan(1000); // the allocator's count (the symbol is right)
    const six = run(hv, Array.from({ length: 6 }, (_, i) => [i * GAP, 1] as const));
    expectAllServed(six.out);
    expect(six.free).toBe(one.free - KEPT);
    const ten = run(hv, Array.from({ length: 10 }, (_, i) => [i * GAP, 1] as const));
    expectAllServed(ten.out);
    expect(ten.free).toBe(six.free);
  });

  it("frees the frames of clients that ended with a request still in its disk once the disk is idle: a 5th and 6th client are served", () => {
    const one = run(hv, [[0, 1]]);
    // Four clients end with their second read still in the driver's disk (its completion writes their ring and data page).
    const { out, free } = run(hv, [[0, 2], [0, 2], [0, 2], [0, 2], [4 * GAP, 1], [5 * GAP, 1]]);
    expectAllServed(out);
    expect(free).toBe(one.free - KEPT);
  });

  it("hears of a client that published twice (its second port refused) when it ends: a 5th client is served", () => {
    // Each of four publishes again with a new port after its answer (refused: published twice), then ends.
    const { out } = run(hv, [...Array.from({ length: 4 }, (_, i) => [i * GAP, 1, true] as const), [4 * GAP + 500_000, 1]]);
    for (const c of out.domains.slice(1)) expect(c.result, c.name).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(out.domains[0].console).toContain("blkback: domain 5 connected\n");
    expect(out.domains[0].console).not.toContain("too many clients");
  });

  it("gives a departed client's slot to a 5th client while the other clients keep the disk busy (its request done or not when it left)", () => {
    // c1 leaves after 10 refills (all its reads answered, or one still due); c2-c4 keep two reads each in the disk
    // until long after c5 (~10,000,000 cycles in) has connected, been answered and powered off: the disk is never idle.
    for (const drain of [true, false]) {
      const { out } = run(hv, [], [
        { name: "c1", image: guest("busy1", busy(10, drain)), uses: { block: "driver" } },
        ...[2, 3, 4].map((i): DomainSpec => ({ name: `c${i}`, image: guest("busy", busy(80, true)), uses: { block: "driver" } })),
        { name: "c5", image: guest("reader", reader(5_000_000, 1)), uses: { block: "driver" } },
      ]);
      const [, c1, c2, c3, c4, c5] = out.domains;
      expect(out.domains[0].console, `drain ${drain}`).not.toContain("refused");
      expect(out.domains[0].console).toContain("blkback: domain 5 connected\n");
      expect(c5.result, `c5, drain ${drain}`).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(c5.cycles).toBeGreaterThan(c1.cycles);
      for (const c of [c1, c2, c3, c4]) expect(c.result, c.name).toEqual({ kind: "poweroff", exitCode: 0 });
      for (const c of [c2, c3, c4]) expect(c.lastSend, `${c.name} still queued reads after c5 ended`).toBeGreaterThan(c5.cycles);
    }
  });

  it("sends the completions of a departed client's requests to nobody: a client bound to its old port gets no event", () => {
    // c1 leaves 7 reads in the disk; c2 connects meanwhile (the driver binds it to the lowest free port: c1's).
    for (const delay of IDLE_DELAYS[hv]) {
      const { out } = run(hv, [[0, 8]], [{ name: "c2", image: guest("idle", idle(delay)), uses: { block: "driver" } }]);
      expect(out.domains[1].result, `c1 (${delay})`).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(out.domains[2].result, `c2 connected after ${delay}`).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(out.domains[0].console).toContain("blkback: domain 2 connected\n");
    }
  });
});
