// A domain that ends for good is torn down by the multi-guest host
// (docs/driver-vms.md, "When a guest ends"; host.ts `over`, services.ts
// `tearDown`), as a hypervisor destroys a dead domain: its mappings of a
// peer's grants end, so the peer can revoke the grant (GNT_REVOKE: 0, where
// it answered EBUSY for good); a peer's event port bound to it goes back to
// unbound, so the peer's EVT_SEND is refused (ENOENT) instead of "succeeding"
// into nothing; a publication it left waiting at a server is dropped, so the
// server's DEV_ACCEPT does not hand it a client that is gone. Whether it
// powered off, crashed, or was a driver that crashed after its last allowed
// restart. A server that had accepted it and bound a port to it is told:
// DEV_ACCEPT hands it a departure (ring ref -1, its port, free again) —
// free indeed: a client-driver restarted before the server took it cannot
// bind that port (it did, and the departure named a port bound). Real
// assembly guests (the host tests' prelude, through the domain device's
// ports) on the real emulator, on xen, l4 and hvm.
import { describe, expect, it } from "vitest";
import { HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { acceptClient, bindClientPort, guest, lookupServer, pause, prelude, publishRing } from "./guests.js";

const MAX_CYCLES = 100_000_000;

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
${lookupServer}
${publishRing}
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
${pause(".Lpause", 5000)}
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

/** A server's first steps: accepts its client (s0), binds its port (its own end in t3), maps its page at 0x40000, and notifies it. */
const serveClient = `${acceptClient}
${bindClientPort}
    li   a2, 0x40000
    li   a3, HC_GNT_MAP
    call domop
    bnez a0, fail
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
    bnez a0, fail`;

/** The server (domid 1): accepts its client, binds its port, maps its page at 0x40000, notifies it, lives ~200,000 cycles more and ends `how`. */
const mapper = (how: Ending): string => `${prelude}
main:
${serveClient}
${pause(".Llive", 100000)}
${end(how)}
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * A client (domid 0, uses block from domid 1) that grants its page 0x30000
 * to its server, publishes it with a fresh port, and ends `how` — at once,
 * or once the server has notified it (`served`).
 */
const publisher = (how: Ending, served = false): string => `${prelude}
main:
${lookupServer}
${publishRing}
${served ? `    li   t0, 1
    sll  a0, t0, s2
    call wait` : ""}
${end(how)}
fail:
    li   a0, 99
    out  0xF0, a0
`;

/** A server (domid 1) that lets its client's publication wait ~2,000,000 cycles, then accepts: powers off with 0 for EAGAIN (nobody waits), 1 when handed a client. */
const lateServer = `${prelude}
main:
${pause(".Llet", 1000000)}
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
${pause(".Lspin", 5000000)}
    li   a0, 0
    out  0xF0, a0
`;

/**
 * A server (domid 1) told of its client's end: accepts it, binds its port
 * (t3), maps its page, notifies it (it ends then `how`), and waits for its
 * control port. DEV_ACCEPT must then hand it the departure — the client's
 * domid (else bit 1), ring ref -1 (else 2), its own port that was bound to
 * the client (else 4) — and that port must be free again: the next
 * EVT_ALLOC, for domid 2, returns it (else 8). Powers off with the bits.
 */
const toldServer = `${prelude}
main:
${serveClient}
    li   a0, 1
    call wait
    li   a0, 1
    li   a3, HC_DEV_ACCEPT
    call domop
    li   t4, 0
    beq  a0, s0, .Lwho
    ori  t4, t4, 1
.Lwho:
    li   t0, -1
    beq  a1, t0, .Lring
    ori  t4, t4, 2
.Lring:
    beq  a2, t3, .Lport
    ori  t4, t4, 4
.Lport:
    li   a0, 2
    li   a3, HC_EVT_ALLOC
    call domop
    beq  a0, t3, .Lfree
    ori  t4, t4, 8
.Lfree:
    mv   a0, t4
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * A client that is a driver (domid 0, restarted when it crashes): first
 * tries to bind its server's port 1 — the port the server binds to it, in
 * its first life not yet bound (ENOENT) — and prints "b" when that worked,
 * else "n"; then publishes and waits for the server's event, and crashes (a
 * power-off with 7: the host restarts it, with the server's departure still
 * waiting).
 */
const rebinder = `${prelude}
main:
    li   a0, 1
    li   a1, 1
    li   a3, HC_EVT_BIND
    call domop
    li   t0, 110
    blt  a0, zero, .Lsay
    li   t0, 98
.Lsay:
    out  0x10, t0
${lookupServer}
${publishRing}
    li   t0, 1
    sll  a0, t0, s2
    call wait
    li   a0, 7
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * Its server (domid 1): accepts it, binds its port (t3, port 1), notifies it
 * (it crashes), lets ~2,000,000 cycles pass (its restarted instance runs),
 * and takes the departure: its port must be free then, as DEV_ACCEPT says —
 * EVT_SEND on it refused. Prints "0", or "1" when the send went through (the
 * port was bound still), "2" when what it took was not the departure on t3;
 * then waits for ever (powering off would end the client's service: its
 * control port raised, never taken — the watchdog would restart it again
 * and again).
 */
const slowToldServer = `${prelude}
main:
${acceptClient}
${bindClientPort}
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
${pause(".Llet", 1000000)}
    li   a0, 1
    li   a3, HC_DEV_ACCEPT
    call domop
    li   t0, -1
    bne  a1, t0, .Lnot
    bne  a2, t3, .Lnot
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
    li   t0, 48
    blt  a0, zero, .Lsay
    li   t0, 49
    j    .Lsay
.Lnot:
    li   t0, 50
.Lsay:
    out  0x10, t0
    li   a0, 0
    call wait
fail:
    li   a0, 99
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

  it.each(ENDINGS.slice(0, 2))("a client the server had accepted and bound a port to %s: the server's DEV_ACCEPT hands it the departure, and its port is free again", (how) => {
    const out = new DomainHost(
      [
        { name: "client", image: guest("client", publisher(how, true)), uses: { block: "server" } },
        { name: "server", image: guest("server", toldServer), serves: ["block"] },
        { name: "lingerer", image: guest("lingerer", lingerer) },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    ).run();
    const [client, server] = out.domains;
    expect(client.result).toMatchObject({ kind: how === "powers off" ? "poweroff" : "stopped" });
    expect(server.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(server.refused).toEqual({});
  });

  it("a client-driver restarted before its server took its departure cannot bind the server's port that was bound to it: the departure says that port is free, and it is", () => {
    const out = new DomainHost(
      [
        { name: "client", image: guest("rebinder", rebinder), role: "driver", uses: { block: "server" } },
        { name: "server", image: guest("server", slowToldServer), serves: ["block"] },
        { name: "lingerer", image: guest("lingerer", lingerer) },
      ],
      { backend: hv, maxCycles: MAX_CYCLES },
    ).run();
    const [client, server] = out.domains;
    expect(client.console).toBe("nn"); // its second life's EVT_BIND of the server's port 1 refused, as its first's
    expect(server.console).toBe("0"); // the departure it took named port 1, and port 1 was free: its EVT_SEND refused
    // Once: before, the server's send reached its second life on the port it had bound, pending for ever (the watchdog).
    expect(client.restarts.map((r) => r.reason)).toEqual(["powered off with code 7"]);
  });
});
