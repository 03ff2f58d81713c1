// No transitive sharing (docs/driver-vms.md, "Validation"): a page backed by
// another domain's grant is not shared on. GNT_GRANT refused it (EPERM) when
// the page was mapped first; but a domain could grant its page first and map
// a third domain's grant over it afterwards (the page was granted, not yet
// mapped, so not "shared"), and the grantee's GNT_MAP then succeeded: C's
// page reached B through A, copied by the host at every switch, though C
// granted it to A only. GNT_MAP now refuses a grant whose page the granter
// has since backed with a foreign grant (EPERM). Three guests on the real
// host; the ops are the services' (what the domain device and the
// hypercalls call), and the host's coherence step is run to show no byte of
// C's page reaches B.
import { describe, expect, it } from "vitest";
import { HC, HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { guest } from "./guests.js";

const SPIN = `    .text\n    .global _start\n_start:\n    addi t2, t2, 1\n    j    _start\n`;
const P = 0x10000; // A's page, granted to B
const Q = 0x20000; // C's page, granted to A
const R = 0x30000; // B's page, where it would map A's grant

/** Three spinning guests; A granted P to B, C granted Q (holding a marker) to A, A mapped C's grant over P. */
function setup(hv: string) {
  const img = guest("spin", SPIN);
  const host = new DomainHost(
    ["A", "B", "C"].map((name) => ({ name, image: img, ramSize: 1 << 20 })),
    { backend: hv, maxCycles: 20_000 },
  );
  const s = host.services;
  const toB = s.call(0, HC.GNT_GRANT, 1, P, 0);
  const toA = s.call(2, HC.GNT_GRANT, 0, Q, 0);
  expect([toB, toA].every((r) => r >= 0)).toBe(true);
  host.machineOf(2).memory.i32[Q >>> 2] = 0x5ec7e7; // C's secret, for A's eyes
  expect(s.call(0, HC.GNT_MAP, 2, toA, P)).toBe(0); // allowed: P is granted, not yet shared
  expect(host.machineOf(0).memory.i32[P >>> 2]).toBe(0x5ec7e7); // A maps it: A sees it
  return { host, s, toB };
}

describe("no transitive sharing", () => {
  it.each(["xen", "l4", "hvm"])("%s: A grants P to B, then maps C's grant over P: B's GNT_MAP of P is refused (EPERM) and C's bytes never reach B", (hv) => {
    const { host, s, toB } = setup(hv);
    expect(s.call(1, HC.GNT_MAP, 0, toB, R)).toBe(HC_ERROR.PERM);
    // The host's coherence step (after each guest's turn) copies it to no one else either.
    host.run();
    expect(host.machineOf(0).memory.i32[P >>> 2]).toBe(0x5ec7e7);
    expect(host.machineOf(1).memory.i32[R >>> 2]).toBe(0);
  });

  it("once A unmaps C's grant, P is A's own again and B may map it", () => {
    const { s, toB } = setup("xen");
    expect(s.call(0, HC.GNT_UNMAP, P, 0, 0)).toBe(0);
    expect(s.call(1, HC.GNT_MAP, 0, toB, R)).toBe(0);
  });
});
