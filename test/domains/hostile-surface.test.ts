// The multi-guest host's own bookkeeping against a hostile guest
// (docs/driver-vms.md, "Domain device and hypercall ABI"): what a guest can
// make the host keep must be bounded by the ABI's limits, whatever numbers
// it writes to the domain device's ports (op numbers it does not know are
// counted under one name), and what it holds within those limits must not
// cost the host work per window unless it is in use (grants held, none
// mapped, are not walked by the coherence step). Real assembly guests on the
// real emulator, on xen, l4 and hvm (through the ports, as the bundled kernel does).
import { describe, expect, it } from "vitest";
import { HC, HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { MAX_GRANTS } from "../../src/hypervisors/domains/abi.js";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { guest, prelude, printer, spinThenOff } from "./guests.js";

const MAX_CYCLES = 200_000_000;

/** Writes `count` distinct op numbers, from `first` up, to the OP port (each ENOSYS), then powers off with 0 (or 99: an op was not refused). */
const unknownOps = (first: number, count: number): string => `${prelude}
main:
    li   s0, ${first}
    li   s1, ${count}
.Lnext:
    mv   a3, s0
    li   a0, 0
    li   a1, 0
    li   a2, 0
    call domop
    bge  a0, zero, fail
    addi s0, s0, 1
    addi s1, s1, -1
    bnez s1, .Lnext
    li   a0, 0
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * Grants its page 0x30000 read-only to domain 1 until the host says EAGAIN (MAX_GRANTS of them, none ever
 * mapped), then spins ~2 × 1,000,000 cycles and powers off with 0 (99: the refusal was not EAGAIN).
 */
const grantHog = `${prelude}
main:
    li   s0, 0
.Lgrant:
    li   a0, 1
    li   a1, 0x30000
    li   a2, 1
    li   a3, HC_GNT_GRANT
    call domop
    blt  a0, zero, .Lfull
    addi s0, s0, 1
    j    .Lgrant
.Lfull:
    li   t0, ${HC_ERROR.AGAIN}
    bne  a0, t0, fail
${spinThenOff(1_000_000)}`;

/** Prints "other", spins ~2 × 10,000,000 cycles (alive while the hostile guest holds its grants), and powers off with 0. */
const lingering = `${prelude}
main:
    la   a0, msg
    call puts
    li   t0, 10000000
.Lspin:
    addi t0, t0, -1
    bnez t0, .Lspin
    li   a0, 0
    out  0xF0, a0
    .data
msg: .asciz "other\\n"
`;

describe.each(["xen", "l4", "hvm"])("the host's bookkeeping against a hostile guest on %s", (hv) => {
  it("counts op numbers it does not know under one name: a guest cycling through them cannot grow the host's refusal counts without bound", () => {
    const count = 2000;
    const first = HC.DEV_STATUS + 1000; // well past the last op, each number written once
    const out = new DomainHost(
      [
        { name: "hostile", image: guest("unknown", unknownOps(first, count)) },
        { name: "other", image: guest("other", printer("other", 3)) },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    ).run();
    expect(out.domains[0].result).toEqual({ kind: "poweroff", exitCode: 0 }); // every one refused
    expect(out.domains[1].console).toBe("other\nother\nother\n");
    // One entry for all of them, in all and in the guest's own counts (--stats' per-guest line, --json).
    expect(out.refused).toEqual({ "UNKNOWN_OP.ENOSYS": count });
    expect(out.domains[0].refused).toEqual({ "UNKNOWN_OP.ENOSYS": count });
    expect(out.domains[1].refused).toEqual({});
  });

  it("does not walk the grants a guest holds, none mapped, after every domain's turn: its MAX_GRANTS cost the host nothing per window", () => {
    const host = new DomainHost(
      [
        { name: "hostile", image: guest("grants", grantHog) },
        { name: "other", image: guest("other", lingering) },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    );
    // How often the host walks the hostile guest's grant table (its values, or the table itself).
    const table = host.services.grants[0];
    let walks = 0;
    const values = table.values.bind(table);
    const entries = table[Symbol.iterator].bind(table);
    table.values = () => (walks++, values());
    table[Symbol.iterator] = () => (walks++, entries());
    // What it held, and the walks so far, when it ended (the host then tears it down: its grants end, walked once).
    let atEnd: { size: number; walks: number } | undefined;
    const tearDown = host.services.tearDown.bind(host.services);
    host.services.tearDown = (d) => {
      if (d === 0) atEnd = { size: table.size, walks };
      tearDown(d);
    };
    const out = host.run();
    expect(out.domains[0].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(atEnd?.size).toBe(MAX_GRANTS); // held to its end
    expect(table.size).toBe(0); // torn down then
    expect(out.cycles).toBeGreaterThan(2_000_000); // ~2,000 windows: ~4,000 turns, each followed by the coherence step
    // Nothing maps them, so nothing needs them walked: the coherence step walks the grants mapped, not the grants held.
    expect(atEnd?.walks).toBe(0);
    expect(out.domains[1].console).toBe("other\n");
    expect(out.domains[1].result).toEqual({ kind: "poweroff", exitCode: 0 });
  });
});
