// What the `domains` fuzz campaign (scripts/fuzz/domains.ts,
// docs/reliability.md) taught, as fixed inputs on the real host: a hostile
// driver that crashes is restarted and its client — the campaign's
// reference guest — is told through its control port, which raises its event
// line although it never enables interrupts. On xen and l4 the monitor takes
// that interrupt and holds it (a charged entry: the reference's cycles may
// then differ from its run beside a benign peer), so the campaign compares
// cycles only when no event reached the reference; its console, ending and
// RAM must match whatever happened (seed 1, input 35 of the first version
// of the campaign). Also: inputs of every back end with the nvdisk passed
// through, whose requests run, are accepted.
import { describe, expect, it } from "vitest";
import { IRQ } from "../../src/guest-isa/registers.js";
import { auxOf, configOf, domainsCampaign, runDomainsInput, type DomainsConfig, type DomainsUnit } from "../../scripts/fuzz/domains.js";
import { runInput } from "../../scripts/fuzz/campaign.js";

const LIMITS = { maxCycles: 200_000 };
const base: DomainsConfig = { backend: "xen", reference: "fixture", hostileFirst: true, role: "driver", annotated: false, nvdisk: "none", cpus: 1 };
const input = (c: DomainsConfig, units: DomainsUnit[]) => ({ base: "test", units, aux: auxOf(c) });
/** Waits until the reference has granted and published (its first rounds), then powers off with 3: a crash for a driver. */
/** The campaign's benign peer: acknowledges its events, does nothing else. */
const benign: DomainsUnit[] = [{ lines: [".Lack:", "in   t0, 0x65", "out  0x65, t0", "hlt", "j    .Lack"] }];
const crash: DomainsUnit[] = [{ lines: ["li   t0, 20000", ".Ld%:", "addi t0, t0, -1", "bnez t0, .Ld%"] }, { lines: ["li   t0, 3", "out  0xF0, t0"] }];

describe("a crashing hostile driver beside its client", () => {
  it.each(["xen", "l4", "hvm"] as const)("%s: restarted, the client notified; the client's console and ending unchanged, and the campaign accepts it", (backend) => {
    const c = { ...base, backend };
    expect(configOf(auxOf(c))).toEqual(c);
    const calm = runDomainsInput(input(c, benign), 20_000_000).out;
    const { out } = runDomainsInput(input(c, crash), 20_000_000);
    const ref = out.domains.find((d) => d.name === "ref")!;
    const hostile = out.domains.find((d) => d.name === "hostile")!;
    expect(hostile.restarts.length).toBeGreaterThanOrEqual(1);
    expect(hostile.restarts[0].reason).toBe("powered off with code 3");
    const calmRef = calm.domains.find((d) => d.name === "ref")!;
    expect(calm.domains.find((d) => d.name === "hostile")!.restarts).toEqual([]);
    expect(calmRef.stats.interrupts[IRQ.EVENT]).toBeUndefined();
    // The control port, raised by the restart: xen and l4 take the interrupt and hold it; on hvm the
    // guest's own IE is off, so the line stays raised and nothing is taken.
    if (backend === "hvm") expect(ref.stats.interrupts[IRQ.EVENT]).toBeUndefined();
    else expect(ref.stats.interrupts[IRQ.EVENT]).toBeGreaterThanOrEqual(1);
    // Why the campaign compares cycles only without events: the held interrupt is a charged monitor entry
    // (the first version of the campaign reported this as a wrong result); hvm's guest never takes it.
    if (backend === "hvm") expect(ref.stats.cycles).toBe(calmRef.stats.cycles);
    else expect(ref.stats.cycles).toBeGreaterThan(calmRef.stats.cycles);
    expect([ref.console, ref.result]).toEqual([calmRef.console, calmRef.result]);
    expect(ref.console).toMatch(/round 9\nround :\nround ;\nsecret intact\n$/);
    expect(runInput(domainsCampaign, input(c, crash), LIMITS)).toEqual({ class: "accepted", message: "" });
  });
});

describe("the nvdisk passed through to a hostile guest", () => {
  it.each(["xen", "l4", "hvm"] as const)("%s: requests with DMA aimed at the monitor's memory and past RAM are refused or fail; the campaign accepts", (backend) => {
    const c: DomainsConfig = { ...base, backend, role: "server", nvdisk: "passthrough" };
    const NV = 0xf0000000 | 0;
    const mmio = (off: number, v: number) => [`li   t2, ${NV + off}`, `li   t0, ${v}`, "sw   t0, 0(t2)"];
    // Queues at 0x50000/0x50800, 16 entries; three reads: into RAM, into the reserved top, past RAM.
    const lines = [...mmio(0x10, 16), ...mmio(0x08, 0x50000), ...mmio(0x0c, 0x50800), ...mmio(0x14, 3)];
    [0x52000, 0xfe000, 0x100000].forEach((dma, k) => lines.push(`li   t2, ${0x50000 + 16 * k}`, "li   t0, 1", "sw   t0, 0(t2)", "li   t0, 1", "sw   t0, 4(t2)", `li   t0, ${dma}`, "sw   t0, 8(t2)", `li   t0, ${k}`, "sw   t0, 12(t2)"));
    lines.push(...mmio(0x1000, 3), "li   t0, 100000", ".Lw%:", "addi t0, t0, -1", "bnez t0, .Lw%");
    const { host, out } = runDomainsInput(input(c, [{ lines }]), 20_000_000);
    const nv = host.machineOf(out.domains.find((d) => d.name === "hostile")!.id).nvdisk!;
    // Only the reads into its own RAM: on hvm 0xfe000 is guest RAM too (hvm reserves no top of RAM).
    expect(nv.transfers).toBe(backend === "hvm" ? 2 : 1);
    expect(nv.errors).toBe(backend === "hvm" ? 1 : 2);
    expect(runInput(domainsCampaign, input(c, [{ lines }]), LIMITS)).toEqual({ class: "accepted", message: "" });
  });
});
