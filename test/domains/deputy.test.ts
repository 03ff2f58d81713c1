// The multi-guest host as a confused deputy (docs/protection.md, "What the
// VMM checks on a caller's behalf"; docs/driver-vms.md "Isolation"): a grant
// shares a page as the calling code's protection domain inside its guest may
// reach it. The granter's kernel hides its secret page from a module (a
// domain it defines through the memory supervisor, with no permission on
// the page); the module grants that page to the peer itself (its own `out`s
// to the domain device, or its own `hcall`). Refused (PERM) — else the peer
// maps it and reads the secret. The kernel then grants a harmless page from
// its own code, so the peer's map goes through either way. Likewise a
// mapping: the peer's module maps the granted page over a page of the peer
// it may only read — refused (PERM), else the host overwrites that page for
// it. Real guests on the real emulator; interpreter = JIT; --no-protect
// shows each hole.
import { describe, expect, it } from "vitest";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { acceptClient, bindClientPort, guest, MODULE_GRANT_PORTS, pageForModule, prelude, publishAndWait, SAY_AND_IDLE, secretReader, viaHcall } from "./guests.js";

/** The module's GNT_GRANT(peer 1, the secret page, read-only): through the domain device's ports (guests.ts), or xen's hypercall. */
const MODULE_HCALL = `
    li   a0, 1
    li   a1, 0x30000
    li   a2, 1
    hcall HC_GNT_GRANT
    ret`;

/** No grant of its own (the kernel grants the harmless page). */
const MODULE_NONE = `
    li   a0, -1
    ret`;

/** The granter: its secret at 0x30000, hidden from the module; prints what the module's grant got; publishes a ring to the peer. */
const granter = (module: string) => `${prelude}
main:
${pageForModule(0x30000, 0x5ec2e700, 0)}
    call modGrant
    mv   s1, a0
    la   a0, granted
    bge  s1, zero, .Lsay
    li   a0, 1                  # refused: the kernel grants a harmless page itself
    li   a1, 0x31000
    li   a2, 1
    li   a3, HC_GNT_GRANT
    call domop
    mv   s1, a0
    la   a0, refused
.Lsay:
    call puts
${publishAndWait}
    li   a0, 0
    out  0xF0, a0
modBegin:
modGrant:${module}
modEnd:
    .data
granted: .asciz "granted\\n"
refused: .asciz "refused\\n"
`;

/** A server's start: waits for its client, accepts it (s0 client, s1 ring ref, s2 its port), binds the port (t3); a0, a1 = client, ref. */
const ACCEPT = `
${acceptClient}
${bindClientPort}`;

/**
 * The peer whose module maps the published page itself, over the peer's page
 * 0x50000 (word 0 = 0x1234), which its kernel lets the module only read.
 * Prints whether the page is intact.
 */
const mappingPeer = `${prelude}
main:
${pageForModule(0x50000, 0x1234, 1)}
${ACCEPT}
    call modMap
    li   t0, 0x50000
    lw   t1, 0(t0)
    li   t2, 0x1234
    la   a0, intact
    beq  t1, t2, .Lsay
    la   a0, overwritten
${SAY_AND_IDLE}
# the module: GNT_MAP(granter, ref, 0x50000) through the domain device's ports, itself
modBegin:
modMap:
    out  0x61, a0
    out  0x62, a1
    li   t0, 0x50000
    out  0x63, t0
    li   t0, HC_GNT_MAP
    out  0x64, t0
    in   a0, 0x64
    ret
modEnd:
    .data
intact: .asciz "peer: page intact\\n"
overwritten: .asciz "peer: page overwritten\\n"
`;

/**
 * The granter's kernel grants the harmless page itself, through the ports —
 * but calls the module between its ARG writes and its call; the module
 * points ARG1 at the secret page. Prints "granted".
 */
const meddledGranter = granter(MODULE_NONE).replace(
  "    call modGrant\n",
  `    li   t0, 1
    out  0x61, t0
    li   t0, 0x31000
    out  0x62, t0
    li   t0, 1
    out  0x63, t0
    call modMeddle
    li   t0, HC_GNT_GRANT
    out  0x64, t0
    in   a0, 0x64
`,
).replace(
  "modGrant:",
  `modMeddle:
    li   t0, 0x30000
    out  0x62, t0
    ret
modGrant:`,
);

type Variant = "ports" | "hcall" | "mapping" | "meddling";

function specs(variant: Variant): DomainSpec[] {
  const hcall = variant === "hcall";
  const mapping = variant === "mapping";
  const source = variant === "meddling" ? meddledGranter : granter(mapping ? MODULE_NONE : MODULE_GRANT_PORTS);
  const g = hcall ? guest("granter", viaHcall(granter(MODULE_HCALL)), { annotate: false }) : guest("granter", source);
  const p = hcall ? guest("peer", viaHcall(secretReader), { annotate: false }) : guest("peer", mapping ? mappingPeer : secretReader);
  return [
    { name: "granter", image: g, uses: { block: "peer" } },
    { name: "peer", image: p, serves: ["block"], disk: new Uint8Array(4096) },
  ];
}

function run(variant: Variant, backend: string, protect: boolean) {
  const [i, j] = (["interp", "jit"] as const).map((engine) => new DomainHost(specs(variant), { backend, protect, engine, maxCycles: 20_000_000 }).run());
  expect(j.domains.map((d) => [d.console, d.result])).toEqual(i.domains.map((d) => [d.console, d.result]));
  expect(j.exitCode).toBe(i.exitCode);
  return i;
}

describe("a module's grant of a page hidden from it", () => {
  const cases = [
    ["xen", false],
    ["l4", false],
    ["hvm", false],
    ["xen", true],
  ] as const;
  for (const [hv, hcall] of cases) {
    it(`${hv}${hcall ? " (hypercalls)" : ""}: refused (EPERM), the peer never sees the secret (--no-protect: it does)`, () => {
      const on = run(hcall ? "hcall" : "ports", hv, true);
      expect(on.domains.map((d) => d.console)).toEqual(["refused\n", "peer: no secret\n"]);
      expect(on.exitCode).toBe(0);
      expect(on.refused["GNT_GRANT.EPERM"]).toBe(1);
      const off = run(hcall ? "hcall" : "ports", hv, false);
      expect(off.domains.map((d) => d.console)).toEqual(["granted\n", "peer: the secret\n"]);
    });
  }
});

describe("a module's mapping over a page it may only read", () => {
  for (const hv of ["xen", "l4", "hvm"]) {
    it(`${hv}: refused (EPERM), the page keeps its contents (--no-protect: the host overwrites it)`, () => {
      const on = run("mapping", hv, true);
      expect(on.domains[1].console).toBe("peer: page intact\n");
      expect(on.exitCode).toBe(0);
      expect(on.refused["GNT_MAP.EPERM"]).toBe(1);
      expect(run("mapping", hv, false).domains[1].console).toBe("peer: page overwritten\n");
    });
  }
});

describe("a module's write to the domain device's argument registers", () => {
  for (const hv of ["xen", "l4", "hvm"]) {
    it(`${hv}: is its own: the kernel's call between its writes grants the page the kernel named (--no-protect: the module's)`, () => {
      const on = run("meddling", hv, true);
      expect(on.domains.map((d) => d.console)).toEqual(["granted\n", "peer: no secret\n"]);
      expect(on.exitCode).toBe(0);
      expect(run("meddling", hv, false).domains.map((d) => d.console)).toEqual(["granted\n", "peer: the secret\n"]);
    });
  }
});
