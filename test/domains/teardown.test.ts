// A domain that ends for good is torn down by the multi-guest host
// (docs/driver-vms.md, "When a guest ends"; host.ts `over`, services.ts
// `tearDown`), as a hypervisor destroys a dead domain: its mappings of a
// peer's grants end, so the peer can revoke the grant (GNT_REVOKE: 0, where
// it answered EBUSY for good); a peer's event port bound to it goes back to
// unbound, so the peer's EVT_SEND is refused (ENOENT) instead of "succeeding"
// into nothing; a publication it left waiting at a server is dropped, so the
// server's DEV_ACCEPT does not hand it a client that is gone. Whether it
// powered off, crashed, or was a driver that crashed after its last allowed
// restart. Real assembly guests (the host tests' prelude, through the
// domain device's ports) on the real emulator, on xen, l4 and hvm.
import { describe, expect, it } from "vitest";
import { HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { acceptClient, bindClientPort, guest, prelude } from "./guests.js";

const MAX_CYCLES = 100_000_000;

/** Spins ~2 × `iterations` cycles (t0). */
const spin = (label: string, iterations: number): string => `    li   t0, ${iterations}
${label}:
    addi t0, t0, -1
    bnez t0, ${label}`;

type Ending = "powers off" | "crashes" | "stays down";

/** How the peer ends: powers off with 0, or crashes (a load far above its RAM with no trap vector). */
const end = (how: Ending): string =>
  how === "powers off"
    ? `    li   a0, 0
    out  0xF0, a0`
    : `    mtcr tvec, zero
    li   t0, 0x7ffff000
    lw   t1, 0(t0)
    li   a0, 0
    out  0xF0, a0`;

/**
 * The client (domid 0, uses block from the peer): grants its page 0x30000
 * writable to its server, allocates an event port for it, publishes, and
 * waits for the server's event (it has mapped the page). Then: GNT_REVOKE
 * while the server lives (must be EBUSY, else bit 4); EVT_SEND on its port
 * until the host refuses it with ENOENT — the server is gone — at most 1,000
 * times ~10,000 cycles apart (never refused: bit 1); then GNT_REVOKE again
 * (not 0: bit 2). Powers off with the bits: 0 when all went as it should.
 */
const owner = `${prelude}
main:
    li   a0, 1
    li   a3, HC_DEV_LOOKUP
    call domop
    blt  a0, zero, fail
    mv   s0, a0
    li   a1, 0x30000
    li   a2, 0
    li   a3, HC_GNT_GRANT
    call domop
    blt  a0, zero, fail
    mv   s1, a0
    mv   a0, s0
    li   a3, HC_EVT_ALLOC
    call domop
    blt  a0, zero, fail
    mv   s2, a0
    li   a0, 1
    mv   a1, s1
    mv   a2, s2
    li   a3, HC_DEV_PUBLISH
    call domop
    bnez a0, fail
    li   t0, 1
    sll  a0, t0, s2
    call wait
    li   s0, 0                  # the verdict bits (the server's domid is needed no more)
    mv   a0, s1
    li   a3, HC_GNT_REVOKE
    call domop
    li   t0, ${HC_ERROR.BUSY}
    beq  a0, t0, .Lbusy
    ori  s0, s0, 4
.Lbusy:
    li   t4, 1000
.Lsend:
    mv   a0, s2
    li   a3, HC_EVT_SEND
    call domop
    li   t0, ${HC_ERROR.NOENT}
    beq  a0, t0, .Lgone
    bnez a0, fail
    addi t4, t4, -1
    beqz t4, .Lnever
${spin(".Lpause", 5000)}
    j    .Lsend
.Lnever:
    ori  s0, s0, 1
.Lgone:
    mv   a0, s1
    li   a3, HC_GNT_REVOKE
    call domop
    beqz a0, .Lrevoked
    ori  s0, s0, 2
.Lrevoked:
    mv   a0, s0
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

/** The server (domid 1): accepts its client, binds its port, maps its page at 0x40000, notifies it, lives ~200,000 cycles more and ends `how`. */
const mapper = (how: Ending): string => `${prelude}
main:
${acceptClient}
${bindClientPort}
    li   a2, 0x40000
    li   a3, HC_GNT_MAP
    call domop
    bnez a0, fail
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
    bnez a0, fail
${spin(".Llive", 100000)}
${end(how)}
fail:
    li   a0, 99
    out  0xF0, a0
`;

/** A client (domid 0, uses block from domid 1) that grants its page 0x30000 to its server, publishes it with a fresh port, and ends `how` at once. */
const publisher = (how: Ending): string => `${prelude}
main:
    li   a0, 1
    li   a3, HC_DEV_LOOKUP
    call domop
    blt  a0, zero, fail
    mv   s0, a0
    li   a1, 0x30000
    li   a2, 0
    li   a3, HC_GNT_GRANT
    call domop
    blt  a0, zero, fail
    mv   s1, a0
    mv   a0, s0
    li   a3, HC_EVT_ALLOC
    call domop
    blt  a0, zero, fail
    mv   s2, a0
    li   a0, 1
    mv   a1, s1
    mv   a2, s2
    li   a3, HC_DEV_PUBLISH
    call domop
    bnez a0, fail
${end(how)}
fail:
    li   a0, 99
    out  0xF0, a0
`;

/** A server (domid 1) that lets its client's publication wait ~2,000,000 cycles, then accepts: powers off with 0 for EAGAIN (nobody waits), 1 when handed a client. */
const lateServer = `${prelude}
main:
${spin(".Llet", 1000000)}
    li   a0, 1
    li   a3, HC_DEV_ACCEPT
    call domop
    li   t0, ${HC_ERROR.AGAIN}
    li   a1, 1
    bne  a0, t0, .Lsay
    li   a1, 0
.Lsay:
    mv   a0, a1
    out  0xF0, a0
`;

/** Keeps the run going (~10,000,000 cycles) while the service above decides: the run ends with the guests that are not services. */
const lingerer = `${prelude}
main:
${spin(".Lspin", 5000000)}
    li   a0, 0
    out  0xF0, a0
`;

/** The server's spec: a plain service, or a driver allowed no restart (it stays down). */
const serverSpec = (name: string, text: string, how: Ending): DomainSpec => ({
  name,
  image: guest(name, text),
  serves: ["block"],
  ...(how === "stays down" ? { role: "driver" as const } : {}),
});

const ENDINGS: Ending[] = ["powers off", "crashes", "stays down"];

describe.each(["xen", "l4", "hvm"])("a guest that ends is torn down on %s", (hv) => {
  it.each(ENDINGS)("a server that mapped its client's page and %s: the client's EVT_SEND to it is refused, its GNT_REVOKE succeeds", (how) => {
    const out = new DomainHost(
      [
        { name: "owner", image: guest("owner", owner), uses: { block: "mapper" } },
        serverSpec("mapper", mapper(how), how),
      ],
      { backend: hv, maxCycles: MAX_CYCLES, maxRestarts: 0 },
    ).run();
    const [client, server] = out.domains;
    if (how === "powers off") expect(server.result).toEqual({ kind: "poweroff", exitCode: 0 });
    else expect(server.result).toMatchObject({ kind: "stopped" });
    expect(server.staysDown).toBe(how === "stays down");
    expect(server.generation).toBe(0);
    expect(client.result).toEqual({ kind: "poweroff", exitCode: 0 });
    // Refused exactly once each: the revoke while the page was mapped, the first send after the server was gone.
    expect(client.refused).toEqual({ "GNT_REVOKE.EBUSY": 1, "EVT_SEND.ENOENT": 1 });
  });

  it.each(ENDINGS.slice(0, 2))("a client that published and %s before its server accepted: the server's DEV_ACCEPT finds nobody waiting", (how) => {
    const out = new DomainHost(
      [
        { name: "publisher", image: guest("publisher", publisher(how)), uses: { block: "server" } },
        { name: "server", image: guest("server", lateServer), serves: ["block"] },
        { name: "lingerer", image: guest("lingerer", lingerer) },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    ).run();
    const [client, server, other] = out.domains;
    if (how === "powers off") expect(client.result).toEqual({ kind: "poweroff", exitCode: 0 });
    else expect(client.result).toMatchObject({ kind: "stopped" });
    expect(client.refused).toEqual({});
    expect(server.result).toEqual({ kind: "poweroff", exitCode: 0 }); // EAGAIN (1: handed the dead client)
    expect(server.refused).toEqual({ "DEV_ACCEPT.EAGAIN": 1 });
    expect(other.result).toEqual({ kind: "poweroff", exitCode: 0 });
  });
});
