// The multi-guest host's own bookkeeping against a hostile guest
// (docs/driver-vms.md, "Domain device and hypercall ABI"): what a guest can
// make the host keep must be bounded by the ABI's limits, whatever numbers
// it writes to the domain device's ports. Real assembly guests on the real
// emulator, on xen, l4 and hvm (through the ports, as the bundled kernel does).
import { describe, expect, it } from "vitest";
import { HC } from "../../src/hypervisors/common/hypercalls.js";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { guest, prelude, printer } from "./guests.js";

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
});
