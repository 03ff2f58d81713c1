// Inline monitor ranges (docs/protection.md "Guest-visible domains"): the
// in-place VMM's rewritten sites sit in the guest's text; a domain the guest
// defines over its own code may enclose them whole. The sites stay the
// VMM's for loads and stores (domainOf), perform the enclosing domain's
// instructions (callerDomain: the memory supervisor's caller), and nothing
// else about the VMM's code can be taken: not part of a site, not the
// window, not a site another guest domain encloses already. A guest domain
// starts with domain 0's limits beyond guest memory (the monitor's).
// Consumes protection.ts alone.
import { describe, expect, it } from "vitest";
import { KERNEL_DOMAIN, PERM, Protection, ProtectionError } from "../../src/machine/protection/protection.js";

const GUEST_LIMIT = 1 << 20;
const host = { memorySize: 2 << 20, guestLimit: GUEST_LIMIT, framesChanged: () => {}, chargeRefs: () => {} };

/** A VMM with two sites (0x1000–0x1008, 0x1020–0x1028) and a window, its page beyond guest memory closed to domain 0. */
function withVmm(): { p: Protection; vmm: number } {
  const p = new Protection(host);
  const vmm = p.defineDomain("vmm", [
    { start: 0x1000, end: 0x1008, inline: true },
    { start: 0x1020, end: 0x1028, inline: true },
    { start: 0xfffe0000, end: 0xffff0000 },
  ]);
  p.grant(KERNEL_DOMAIN, GUEST_LIMIT + 0x1000, 4096, PERM.NONE);
  p.grant(KERNEL_DOMAIN, GUEST_LIMIT + 0x2000, 8, PERM.R);
  return { p, vmm };
}

describe("inline monitor ranges", () => {
  it("a guest domain encloses sites: they stay the VMM's for memory, and perform the guest domain's instructions", () => {
    const { p, vmm } = withVmm();
    expect(p.callerDomain(0x1004)).toBe(KERNEL_DOMAIN); // no guest domain around it yet
    const g = p.defineDomain("guest-2", [{ start: 0xff0, end: 0x1030 }], "guest");
    for (const pc of [0xff0, 0xffc, 0x1008, 0x101c, 0x1028, 0x102c]) {
      expect(p.domainOf(pc)).toBe(g);
      expect(p.callerDomain(pc)).toBe(g);
    }
    for (const pc of [0x1000, 0x1004, 0x1020, 0x1024]) {
      expect(p.domainOf(pc)).toBe(vmm);
      expect(p.callerDomain(pc)).toBe(g);
    }
    expect(p.domainOf(0x1030)).toBe(KERNEL_DOMAIN);
    expect(p.callerDomain(0xfffe0000)).toBe(vmm); // the window is the VMM's own code
  });

  it("refused: part of a site, the window, a site another guest domain encloses, and any of it for a monitor's domain", () => {
    const { p } = withVmm();
    const guest = (start: number, end: number) => () => p.defineDomain("g", [{ start, end }], "guest");
    expect(guest(0x1004, 0x1010)).toThrow(ProtectionError);
    expect(guest(0xff8, 0x1004)).toThrow(ProtectionError);
    expect(guest(0xfffd0000, 0xffff8000)).toThrow(ProtectionError);
    expect(() => p.defineDomain("m", [{ start: 0xf00, end: 0x1010 }])).toThrow(ProtectionError);
    p.defineDomain("g1", [{ start: 0xf00, end: 0x1010 }], "guest");
    expect(guest(0x1000, 0x1008)).toThrow(ProtectionError); // inside g1's hole: g1's already
    expect(guest(0x1010, 0x1020)).not.toThrow(); // between the sites: free
  });

  it("a guest domain starts with domain 0's limits beyond guest memory, none of its limits inside", () => {
    const { p } = withVmm();
    p.grant(KERNEL_DOMAIN, 0x4000, 4096, PERM.R); // the guest's own grant to domain 0: not inherited
    const g = p.defineDomain("guest-2", [{ start: 0x8000, end: 0x9000 }], "guest");
    expect(p.permission(g, GUEST_LIMIT + 0x1000)).toBe(PERM.NONE);
    expect(p.permission(g, GUEST_LIMIT + 0x1ffc)).toBe(PERM.NONE);
    expect(p.permission(g, GUEST_LIMIT + 0x2000)).toBe(PERM.R);
    expect(p.permission(g, GUEST_LIMIT + 0x2004)).toBe(PERM.R);
    expect(p.permission(g, GUEST_LIMIT + 0x2008)).toBe(PERM.RW);
    expect(p.permission(g, 0x4000)).toBe(PERM.RW);
    const m = p.defineDomain("monitor-2", [{ start: 0xa000, end: 0xb000 }]);
    expect(p.permission(m, GUEST_LIMIT + 0x1000)).toBe(PERM.RW); // the monitor's own domains are its business
  });
});
