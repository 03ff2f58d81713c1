// Issue 18, isolation: a hostile guest tries every way to reach another
// guest's memory through the multi-guest host — forged, revoked and foreign
// grant refs, domids and event ports out of range, pages misaligned or
// outside its RAM, a read-only grant written, its disk's DMA aimed outside
// its RAM, a store to a frame beyond its RAM — beside a victim. Each
// attempt is refused (checked inside the hostile guest, which powers off
// with the number of the first wrong answer), and the victim prints exactly
// what it prints beside a benign peer. Real guests on the real emulator,
// xen and l4 (through the domain device's ports) and xen's hypercalls.
import { describe, expect, it } from "vitest";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { guest, peer, victim } from "./guests.js";

const V = guest("victim", victim);
const benign = guest("benign", peer(false, HC_ERROR));
const hostile = guest("hostile", peer(true, HC_ERROR));

function pair(other: ReturnType<typeof guest>): DomainSpec[] {
  return [
    { name: "victim", image: V, uses: { block: "peer" } },
    { name: "peer", image: other, serves: ["block"], disk: new Uint8Array(4096) },
  ];
}

describe("a hostile guest beside a victim", () => {
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: every attempt is refused and the victim's output is unchanged`, () => {
      const calm = new DomainHost(pair(benign), { backend: hv, maxCycles: 20_000_000 }).run();
      expect(calm.domains[0].console).toBe("victim: secret intact\n1\n2\n3\n");
      expect(calm.exitCode).toBe(0);
      const out = new DomainHost(pair(hostile), { backend: hv, maxCycles: 20_000_000 }).run();
      // The hostile guest got through every check and died on its store beyond its RAM (its own fault, delivered to it).
      const h = out.domains[1];
      expect(h.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.BUS_ERROR });
      // The victim: same console, same exit; its secret untouched by the read-only mapping's write.
      expect(out.domains[0].console).toBe(calm.domains[0].console);
      expect(out.domains[0].result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(out.exitCode).toBe(0);
      expect(out.readOnlyWrites).toBe(1);
      // Every refusal was counted by op and error.
      const refused = Object.values(out.refused).reduce((a, b) => a + b, 0);
      expect(refused).toBe(23);
      expect(out.refused["GNT_MAP.ENOENT"]).toBe(2);
      expect(calm.refused).toEqual({});
      // …and by guest: every one was the hostile guest's (--stats' per-guest line, --json's domains[].refused).
      expect(out.domains[1].refused).toEqual(out.refused);
      expect(out.domains[0].refused).toEqual({});
    });
  }
});
