// A cross-guest grant is checked against the granting code's protection
// domain when it is made (GNT_GRANT) — not again when the grantee maps it or
// when the host copies the page later (docs/protection.md, "Limits";
// docs/driver-vms.md, "Isolation"). A protection change inside the granting
// guest afterwards does not end the sharing: as in Xen, a grant is a
// capability the grantee holds, and ending it is the granter's act
// (GNT_REVOKE, refused while the page is mapped). This pins that model: a
// module that may read a page grants it to the peer; the kernel then hides
// the page from the module and writes its secret there; the peer still maps
// the page and reads the secret — unless the kernel revokes the module's
// grant first, which it may (grants are the guest's, whichever domain made
// them; it then publishes a harmless page of its own). Real guests on the real emulator; interpreter = JIT.
import { describe, expect, it } from "vitest";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { guest, MODULE_GRANT_PORTS, pageForModule, prelude, publishAndWait, secretReader, supervisorGrantPage } from "./guests.js";

/** The granter: the module (read permission on 0x30000) grants the page; the kernel hides it from the module, writes its secret, and publishes the grant — or revokes it and publishes a harmless page. */
const granter = (revoke: boolean) => `${prelude}
main:
${pageForModule(0x30000, 0, 1)}
    mv   s2, t3                 # the module's domain
    call modGrant
    blt  a0, zero, fail
    mv   s1, a0                 # its grant ref
    # the kernel hides the page from the module (the supervisor's GRANT, permission 0)
${supervisorGrantPage("s2", 0x30000, 0)}
    in   t0, 0x54
    bnez t0, fail
    li   t0, 0x30000            # and keeps its secret there from now on
    li   t1, 0x5EC2E700
    sw   t1, 0(t0)
${
  revoke
    ? `    mv   a0, s1                 # the granter's act: the module's grant ends
    li   a3, HC_GNT_REVOKE
    call domop
    bnez a0, fail
    li   a0, 1                  # and the kernel publishes a harmless page of its own instead
    li   a1, 0x31000
    li   a2, 1
    li   a3, HC_GNT_GRANT
    call domop
    blt  a0, zero, fail
    mv   s1, a0`
    : ""
}
${publishAndWait}
    li   a0, 0
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
# the module: GNT_GRANT(peer 1, 0x30000, read-only) through the domain device's ports, itself
modBegin:
modGrant:${MODULE_GRANT_PORTS}
modEnd:
`;

function run(backend: string, revoke: boolean) {
  const specs = () => [
    { name: "granter", image: guest("granter", granter(revoke)), uses: { block: "peer" } },
    { name: "peer", image: guest("peer", secretReader), serves: ["block" as const], disk: new Uint8Array(4096) },
  ];
  const [i, j] = (["interp", "jit"] as const).map((engine) => new DomainHost(specs(), { backend, engine, maxCycles: 20_000_000 }).run());
  expect(j.domains.map((d) => [d.console, d.result])).toEqual(i.domains.map((d) => [d.console, d.result]));
  return i;
}

describe("a grant outlives a protection change inside the granting guest", () => {
  for (const hv of ["xen", "l4", "hvm"]) {
    it(`${hv}: the module's grant, made while it could read the page, still shares it after the kernel hid the page from the module`, () => {
      const out = run(hv, false);
      expect(out.domains[0].result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(out.domains[1].console).toBe("peer: the secret\n");
      expect(out.ops.GNT_GRANT).toBe(1);
      expect(out.ops.GNT_MAP).toBe(1);
    });

    it(`${hv}: the kernel ends it by revoking the grant (the guest's, whichever of its domains made it)`, () => {
      const out = run(hv, true);
      expect(out.domains[0].result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(out.domains[1].console).toBe("peer: no secret\n");
      expect([out.ops.GNT_GRANT, out.ops.GNT_REVOKE, out.ops.GNT_MAP]).toEqual([2, 1, 1]);
    });
  }
});
