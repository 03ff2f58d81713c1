// One sharing per page (docs/driver-vms.md, "Validation").
//
// No transitive sharing: a page backed by
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
//
// One sharing per granter page: a page granted to two domains and mapped by
// both had three copies the host made coherent one pair at a time, so the
// second grantee's stale copy overwrote the first one's writes at its next
// switch (the granter saw B's store vanish). GNT_MAP now refuses a grant
// whose page is already mapped through another grant (EBUSY). Real guests
// (the worked example's lib.s and three small ones), interpreter and JIT.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
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
  host.machineOf(2).memory.write32(Q, 0x5ec7e7); // C's secret, for A's eyes
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

const lib = readFileSync(new URL("../../fixtures/guests/domains/lib.s", import.meta.url), "utf8");
const withLib = (name: string, text: string) => assemble([{ file: "lib.s", text: lib }, { file: `${name}.s`, text }]);

/** A grants one page to B (kind 1) and to C (kind 2), waits, and prints the page's words 0 and 1. */
const GRANTER = `    .text
    .global _start
_start:
    li   s2, 1
.Lk:
    mv   a0, s2                 # the server of kind k is domid k
    la   a1, page
    li   a2, 0
    li   a3, 18                 # GNT_GRANT
    call domop
    mv   s1, a0
    mv   a0, s2
    li   a3, 22                 # EVT_ALLOC
    call domop
    mv   a2, a0
    mv   a0, s2
    mv   a1, s1
    li   a3, 26                 # DEV_PUBLISH(kind, ref, port)
    call domop
    addi s2, s2, 1
    slti t0, s2, 3
    bnez t0, .Lk
    li   s0, 200000
.Lw:
    addi s0, s0, -1
    bnez s0, .Lw
    la   t3, page
    lw   a0, 0(t3)
    call puthex
    call putnl
    la   t3, page
    lw   a0, 4(t3)
    call puthex
    call putnl
    out  0xF0, zero
    .bss
    .align 4096
page: .space 4096
`;
/** Server of kind k: accepts, maps the page, prints GNT_MAP's result, stores a word of its own (word k-1), spins. */
const grantee = (k: number) => `    .text
    .global _start
_start:
    li   a0, ${k}
    li   a3, 27                 # DEV_ACCEPT
    call domop
    blt  a0, zero, _start
    la   a2, page
    li   a3, 19                 # GNT_MAP(client, ref, my page)
    call domop
    call puthex
    call putnl
    li   s0, 1000
.Ld:
    addi s0, s0, -1
    bnez s0, .Ld
    la   t3, page
    li   t0, ${0x1000 + k}
    sw   t0, ${4 * (k - 1)}(t3)
.Ls:
    j    .Ls
    .bss
    .align 4096
page: .space 4096
`;

describe("one sharing per granter page", () => {
  it.each(["xen", "l4", "hvm"])("%s: a page granted to two, the second GNT_MAP is refused (EBUSY) and the first grantee's store reaches the granter (interpreter = JIT)", (hv) => {
    const specs = () => [
      { name: "A", image: withLib("a", GRANTER), uses: { block: "B", nvdisk: "C" } as const, ramSize: 1 << 20 },
      { name: "B", image: withLib("b", grantee(1)), serves: ["block" as const], ramSize: 1 << 20 },
      { name: "C", image: withLib("c", grantee(2)), serves: ["nvdisk" as const], ramSize: 1 << 20 },
    ];
    const run = (engine: "interp" | "jit") => new DomainHost(specs(), { backend: hv, engine, maxCycles: 10_000_000 }).run();
    const [interp, jit] = [run("interp"), run("jit")];
    expect(jit.domains.map((d) => d.console)).toEqual(interp.domains.map((d) => d.console));
    expect(jit.domains[0].result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(jit.domains[1].console).toBe("00000000\n");
    expect(jit.domains[2].console).toBe("fffffff0\n"); // EBUSY
    expect(jit.domains[0].console).toBe("00001001\n00000000\n"); // B's store; C's stayed in C's own page
  });
});
