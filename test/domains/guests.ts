// Small real guests for the multi-guest host's tests, in G32 assembly:
// a server and a client that meet through DEV_PUBLISH/DEV_ACCEPT, share a
// page through a grant and notify each other through event channels, all
// through the domain device's ports (0x60-0x65), as the bundled kernel does;
// and the steps of the block protocol's client side, for guests that talk to
// the bundled kernel's blkback (docs/driver-vms.md, "Block protocol").
// Built annotated (so xen and l4 rewrite their in/out sites) by default.
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { HC } from "../../src/hypervisors/common/hypercalls.js";

const defines: Record<string, number> = {};
for (const [k, v] of Object.entries(HC)) defines[`HC_${k}`] = v;

/** Assembles (annotated unless told otherwise) one guest. */
export function guest(name: string, text: string, options: { annotate?: boolean } = {}): ElfImage {
  const src = options.annotate === false ? text : annotate(`${name}.s`, text).text;
  return assemble([{ file: `${name}.s`, text: src }], { defines });
}

const OPS = ["GNT_GRANT", "GNT_MAP", "GNT_UNMAP", "GNT_REVOKE", "EVT_ALLOC", "EVT_BIND", "EVT_SEND", "DEV_LOOKUP", "DEV_PUBLISH", "DEV_ACCEPT", "DEV_STATUS"];

/**
 * `domop` through xen's hypercalls instead of the ports (a3 = op picks the
 * `hcall`; a guest built with it runs on xen only, unannotated).
 */
const hcallDomop = `
domop:
${OPS.map((o) => `    li   t0, HC_${o}\n    beq  a3, t0, .Lhc_${o}`).join("\n")}
    li   a0, -38
    ret
${OPS.map((o) => `.Lhc_${o}:\n    hcall HC_${o}\n    ret`).join("\n")}
`;

/** The prelude with domop through hypercalls: `viaHcall(server)` etc. */
export function viaHcall(text: string): string {
  const start = text.indexOf("# domop:");
  const end = text.indexOf("# wait:");
  return text.slice(0, start) + hcallDomop + text.slice(end);
}

/** A macro library every guest starts with: `op` performs a domain op (ARGs in a0-a2, result in a0). */
export const prelude = `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
    j    main
# domop: a3 = op, a0..a2 = args -> a0 = result, a1/a2 = ARG0/ARG1 read back
domop:
    out  0x61, a0
    out  0x62, a1
    out  0x63, a2
    out  0x64, a3
    in   a0, 0x64
    in   a1, 0x61
    in   a2, 0x62
    ret
# wait: hlt until any of the event bits in a0 is pending; acknowledges them; clobbers t0, t1
wait:
    mv   t1, a0
.Lwait:
    in   t0, 0x65
    and  t0, t0, t1
    bnez t0, .Lgot
    hlt
    j    .Lwait
.Lgot:
    out  0x65, t0
    ret
# puts: print the NUL-terminated string at a0
puts:
    lbu  t0, 0(a0)
    beqz t0, .Lputs_end
    out  0x10, t0
    addi a0, a0, 1
    j    puts
.Lputs_end:
    ret
handler:
    mfcr t0, cause
    addi a0, t0, 100
    out  0xF0, a0
`;

/** Prints `text` n times then powers off with 0: a guest with nothing to do with the others. */
export function printer(label: string, n: number): string {
  return `${prelude}
main:
    li   s0, ${n}
.Lloop:
    la   a0, msg
    call puts
    addi s0, s0, -1
    bnez s0, .Lloop
    li   a0, 0
    out  0xF0, a0
    .data
msg: .asciz "${label}\\n"
`;
}

/**
 * The server of `block` (no disk: it answers one request by arithmetic):
 * waits for a client on its control port, accepts it, binds its event
 * port, maps its ring page at 0x40000, writes word 0 + 1 into word 1,
 * notifies, and waits for ever (a service: the run ends with its client).
 */
export const server = `${prelude}
main:
    li   a0, 1                  # control port 0
    call wait
    li   a0, 1                  # kind block
    li   a3, HC_DEV_ACCEPT
    call domop
    blt  a0, zero, fail
    mv   s0, a0                 # client
    mv   s1, a1                 # its ring ref
    mv   s2, a2                 # its event port
    mv   a0, s0
    mv   a1, s2
    li   a3, HC_EVT_BIND
    call domop
    blt  a0, zero, fail
    mv   t3, a0                 # my port
    mv   a0, s0
    mv   a1, s1
    li   a2, 0x40000
    li   a3, HC_GNT_MAP
    call domop
    bnez a0, fail
    li   t0, 0x40000
    lw   t1, 0(t0)
    addi t1, t1, 1
    sw   t1, 4(t0)
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
    bnez a0, fail
.Lidle:
    li   a0, -1
    call wait
    j    .Lidle
fail:
    li   a0, 99
    out  0xF0, a0
`;

/**
 * The client: looks up its block server, grants it page 0x30000 holding
 * 41, allocates an event port for it, publishes, waits for the answer,
 * and powers off with word 1 of the page (42 when everything worked).
 */
export const client = `${prelude}
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
    li   t0, 0x30000
    li   t1, 41
    sw   t1, 0(t0)
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
    la   a0, done
    call puts
    li   t0, 0x30000
    lw   a0, 4(t0)
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
    .data
done: .asciz "answered\\n"
`;

/** A server's first step: waits for its client (kind block) and accepts it: s0 the client's domid, s1 its ring ref, s2 its port. */
export const acceptClient = `    li   a0, 1
    call wait
    li   a0, 1
    li   a3, HC_DEV_ACCEPT
    call domop
    mv   s0, a0
    mv   s1, a1
    mv   s2, a2`;

/** After acceptClient: binds the client's port (its local end in t3); a0, a1 = the client's domid, its ring ref. */
export const bindClientPort = `    mv   a0, s0
    mv   a1, s2
    li   a3, HC_EVT_BIND
    call domop
    mv   t3, a0
    mv   a0, s0
    mv   a1, s1`;

/** Allocates an event port for domid 1 (in s2), publishes ring ref s1 with it (kind block), and waits for the peer's event on it. */
export const publishAndWait = `    li   a0, 1
    li   a3, HC_EVT_ALLOC
    call domop
    mv   s2, a0
    li   a0, 1
    mv   a1, s1
    mv   a2, s2
    li   a3, HC_DEV_PUBLISH
    call domop
    li   t0, 1
    sll  a0, t0, s2
    call wait`;

/**
 * The victim of the isolation test (domid 0): keeps a secret in page
 * 0x30000, grants it read-only to its peer (ref 0), grants page 0x31000
 * and revokes it at once (ref 1), allocates an event port for the peer,
 * publishes (kind block), waits for the peer's event, then prints whether
 * the secret is intact and counts to 3 (output that must not change
 * whatever the peer does).
 */
export const victim = `${prelude}
main:
    li   t0, 0x30000
    li   t1, 0x5EC2E700
    sw   t1, 0(t0)
    li   a0, 1
    li   a1, 0x30000
    li   a2, 1
    li   a3, HC_GNT_GRANT
    call domop
    mv   s1, a0                 # ref 0
    li   a0, 1
    li   a1, 0x31000
    li   a2, 0
    li   a3, HC_GNT_GRANT
    call domop
    li   a3, HC_GNT_REVOKE      # a0 = ref 1
    call domop
${publishAndWait}
    li   t0, 0x30000
    lw   t1, 0(t0)
    li   t2, 0x5EC2E700
    la   a0, intact
    beq  t1, t2, .Lsay
    la   a0, changed
.Lsay:
    call puts
    la   a0, count
    call puts
    li   a0, 0
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
    .data
intact: .asciz "victim: secret intact\\n"
changed: .asciz "victim: secret CHANGED\\n"
count: .asciz "1\\n2\\n3\\n"
`;

/** One hostile op: a3 = op, a0..a2 = args; the result must be \`expect\`, else power off with \`code\`. */
function hostileOp(code: number, op: string, args: [number, number, number], expect: number): string {
  return `
    li   a0, ${args[0]}
    li   a1, ${args[1]}
    li   a2, ${args[2]}
    li   a3, HC_${op}
    call domop
    li   t0, ${expect}
    li   t1, ${code}
    bne  a0, t0, bad`;
}

/**
 * The peer of the victim (domid 1, serving block to it). Benign: accepts,
 * binds, maps the read-only secret, notifies. Hostile: before that, every
 * way to reach the victim's memory through the host — forged, revoked and
 * foreign grant refs, domids and ports out of range, pages misaligned or
 * outside its RAM, a disk DMA outside its RAM; then it writes the
 * read-only mapped page, notifies, and stores to a frame beyond its RAM.
 * Each refusal is checked; a wrong answer powers off with its number.
 */
export function peer(hostile: boolean, E: Record<string, number>): string {
  const checks = [
    hostileOp(1, "GNT_MAP", [0, 77, 0x40000], E.NOENT), // forged ref
    hostileOp(2, "GNT_MAP", [0, 1, 0x40000], E.NOENT), // revoked ref
    hostileOp(3, "GNT_MAP", [5, 0, 0x40000], E.INVAL), // no such domain
    hostileOp(4, "GNT_MAP", [1, 0, 0x40000], E.INVAL), // itself
    hostileOp(5, "GNT_MAP", [-1, 0, 0x40000], E.INVAL),
    hostileOp(6, "GNT_MAP", [0, 0, 0x40004], E.FAULT), // misaligned page
    hostileOp(7, "GNT_MAP", [0, 0, 0x7fff000], E.FAULT), // outside its RAM
    hostileOp(8, "GNT_MAP", [0, 0, -4096], E.FAULT),
    hostileOp(9, "GNT_GRANT", [0, 0x10000000, 0], E.FAULT),
    hostileOp(10, "GNT_GRANT", [0, 0x40000, 2], E.INVAL),
    hostileOp(11, "GNT_REVOKE", [0, 0, 0], E.NOENT), // the victim's ref is not its own
    hostileOp(12, "EVT_SEND", [0, 0, 0], E.INVAL), // the control port
    hostileOp(13, "EVT_SEND", [40, 0, 0], E.INVAL),
    hostileOp(14, "EVT_SEND", [-3, 0, 0], E.INVAL),
    hostileOp(15, "EVT_SEND", [7, 0, 0], E.NOENT), // not bound
    hostileOp(16, "EVT_BIND", [0, 31, 0], E.NOENT), // not allocated for it
    hostileOp(17, "EVT_BIND", [9, 1, 0], E.INVAL),
    hostileOp(18, "DEV_LOOKUP", [1, 0, 0], E.NOENT), // it uses nothing
    hostileOp(19, "DEV_PUBLISH", [1, 0, 1], E.NOENT),
    hostileOp(20, "EVT_ALLOC", [1, 0, 0], E.INVAL),
    hostileOp(21, "DEV_STATUS", [99, 0, 0], E.NOENT),
  ];
  return `${prelude}
main:
${acceptClient}
${hostile ? checks.join("\n") : ""}
${hostile ? `
    # disk DMA outside its RAM: the disk answers DONE|ERROR and writes nothing
    li   t0, 0x7fff000
    out  0x31, t0
    out  0x30, zero
    li   t0, 1
    out  0x32, t0
.Ldisk:
    in   t0, 0x33
    andi t1, t0, 1
    beqz t1, .Ldisk_done
    hlt
    j    .Ldisk
.Ldisk_done:
    andi t0, t0, 4
    li   t1, 22
    beqz t0, bad
    out  0x33, zero` : ""}
${bindClientPort}
    li   a2, 0x40000
    li   a3, HC_GNT_MAP
    call domop
    li   t1, 23
    bnez a0, bad
    li   t0, 0x40000
    lw   t1, 0(t0)
${hostile ? `
    li   t1, 0xBAD
    sw   t1, 0(t0)              # a read-only mapped page: its own copy only
${hostileOp(24, "GNT_MAP", [0, 0, 0x41000], E.BUSY)}
${hostileOp(25, "GNT_UNMAP", [0x42000, 0, 0], E.NOENT)}` : ""}
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
${hostile ? `
    li   t0, 0x4001000          # a frame beyond its RAM (the victim's would be there if memory were shared)
    li   t1, 0xBAD
    sw   t1, 0(t0)` : ""}
.Lidle:
    li   a0, -1
    call wait
    j    .Lidle
bad:
    mv   a0, t1
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;
}

// ---- the block protocol's client side (docs/driver-vms.md, "Block protocol"), for guests that talk to blkback

/** The client's opening: its block server's domid into s0. */
export const lookupServer = `    li   a0, 1
    li   a3, HC_DEV_LOOKUP
    call domop
    blt  a0, zero, fail
    mv   s0, a0`;

/** Grants page `page` writable to the server (s0): the ref in a0. */
export const grant = (page: number): string => `    mv   a0, s0
    li   a1, ${page}
    li   a2, 0
    li   a3, HC_GNT_GRANT
    call domop
    blt  a0, zero, fail`;

/** A ring header of this protocol (magic, 16 slots, 2 data pages) in the ring page at t0. */
export const ringHeader = `    li   t1, 0x314b4c42
    sw   t1, 0(t0)
    li   t1, 16
    sw   t1, 4(t0)
    li   t1, 2
    sw   t1, 8(t0)`;

/** An event port for the server in a0 (as lookupServer leaves it) into s2. */
export const allocPort = `    li   a3, HC_EVT_ALLOC
    call domop
    blt  a0, zero, fail
    mv   s2, a0`;

/**
 * A ring of this protocol in page 0x30000 (t0 left at it): its data pages
 * 0x31000 and 0x32000 granted to the server (s0), their refs and the header
 * written; req_event 1.
 */
export const ringWithDataPages = `${grant(0x31000)}
    li   t0, 0x30000
    sw   a0, 16(t0)
${grant(0x32000)}
    li   t0, 0x30000
    sw   a0, 20(t0)
${ringHeader}
    li   t1, 1
    sw   t1, 72(t0)`;

/** Publishes the ring whose ref is in s1 with event port s2 (DEV_PUBLISH(block, s1, s2)). */
export const publish = `    li   a0, 1
    mv   a1, s1
    mv   a2, s2
    li   a3, HC_DEV_PUBLISH
    call domop
    bnez a0, fail`;

/** After lookupServer: page 0x30000 granted to the server (ref in s1), an event port for it (s2), published as the client's ring. */
export const publishRing = `${grant(0x30000)}
    mv   s1, a0
    mv   a0, s0
${allocPort}
${publish}`;

/** Spins ~2 × `iterations` cycles (t0). */
export const pause = (label: string, iterations: number): string => `    li   t0, ${iterations}
${label}:
    addi t0, t0, -1
    bnez t0, ${label}`;

/**
 * Cooperating guests that share many pages (the coherence step's cost:
 * test/domains/shared-window.test.ts). `sharer` (domid 0) grants `pages`
 * pages from `base` read-write to domid 1 (refs 0 up); `mapper` (domid 1)
 * maps ref i over its own page base + i × 4 KiB (again while the grant is
 * not there yet: ENOENT). With `marker`, the mapper then stores MARKER once
 * into word 0 of its last page, and the sharer waits until its own last page
 * holds it. Then each spins `spin` × 2 cycles and powers off with 0; a
 * refusal powers off with 99.
 */
export function sharer(pages: number, base: number, spin: number, marker: boolean): string {
  return `${prelude}
main:
    li   s0, 0
    li   s1, ${base}
.Lgrant:
    li   a0, 1
    mv   a1, s1
    li   a2, 0
    li   a3, HC_GNT_GRANT
    call domop
    bne  a0, s0, fail           # refs come in order: 0, 1, ...
    addi s0, s0, 1
    li   t0, 4096
    add  s1, s1, t0
    li   t0, ${pages}
    bne  s0, t0, .Lgrant
${marker ? `    li   t0, ${base + (pages - 1) * 4096}
    li   t1, ${MARKER}
.Lpoll:
    lw   t2, 0(t0)
    bne  t2, t1, .Lpoll` : ""}
${spinThenOff(spin)}`;
}

export function mapper(pages: number, base: number, spin: number, marker: boolean): string {
  return `${prelude}
main:
    li   s0, 0
    li   s1, ${base}
.Lmap:
    li   a0, 0
    mv   a1, s0
    mv   a2, s1
    li   a3, HC_GNT_MAP
    call domop
    li   t0, -2                 # ENOENT: not granted yet
    beq  a0, t0, .Lmap
    bnez a0, fail
    addi s0, s0, 1
    li   t0, 4096
    add  s1, s1, t0
    li   t0, ${pages}
    bne  s0, t0, .Lmap
${marker ? `    li   t0, ${base + (pages - 1) * 4096}
    li   t1, ${MARKER}
    sw   t1, 0(t0)` : ""}
${spinThenOff(spin)}`;
}

const MARKER = 0x600d;

/** Spins `spin` × 2 cycles and powers off with 0; `fail:` powers off with 99. */
export function spinThenOff(spin: number): string {
  return `    li   t0, ${spin}
.Lspin:
    addi t0, t0, -1
    bnez t0, .Lspin
    li   a0, 0
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;
}

/**
 * A kernel's start: \`word\` into the first word of its page \`page\`, a
 * domain for the module [modBegin, modEnd) (the memory supervisor's
 * DEFINE; its number left in t3), and permission \`perm\` (0 none, 1 read)
 * for it on that page.
 */
export const pageForModule = (page: number, word: number, perm: number) => `
    li   t0, ${page}
    li   t1, ${word}
    sw   t1, 0(t0)
    la   t0, modBegin
    out  0x50, t0
    la   t0, modEnd
    out  0x51, t0
    li   t0, 1
    out  0x54, t0
    in   t3, 0x54
${supervisorGrantPage("t3", page, perm)}`;

/** The memory supervisor's GRANT (ports 0x50–0x54) of permission `perm` on the page at `page` to the domain in register `dom`; clobbers t0. */
export const supervisorGrantPage = (dom: string, page: number, perm: number) => `    out  0x50, ${dom}
    li   t0, ${page}
    out  0x51, t0
    li   t0, 4096
    out  0x52, t0
    li   t0, ${perm}
    out  0x53, t0
    li   t0, 2
    out  0x54, t0`;

/** A module's GNT_GRANT(peer 1, page 0x30000, read-only) through the domain device's ports, itself (a0: the result). */
export const MODULE_GRANT_PORTS = `
    li   t0, 1
    out  0x61, t0
    li   t0, 0x30000
    out  0x62, t0
    li   t0, 1
    out  0x63, t0
    li   t0, HC_GNT_GRANT
    out  0x64, t0
    in   a0, 0x64
    ret`;

/** A server's end: prints the string at a0 (at .Lsay), notifies its client on port t3, and idles. */
export const SAY_AND_IDLE = `
.Lsay:
    call puts
    mv   a0, t3
    li   a3, HC_EVT_SEND
    call domop
.Lidle:
    li   a0, -1
    call wait
    j    .Lidle`;

/** A server that accepts its client, maps the published page at 0x40000, says whether it holds the secret 0x5EC2E700, notifies. */
export const secretReader = `${prelude}
main:
${acceptClient}
${bindClientPort}
    li   a2, 0x40000
    li   a3, HC_GNT_MAP
    call domop
    li   t0, 0x40000
    lw   t1, 0(t0)
    li   t2, 0x5EC2E700
    la   a0, hidden
    bne  t1, t2, .Lsay
    la   a0, seen
${SAY_AND_IDLE}
    .data
seen: .asciz "peer: the secret\\n"
hidden: .asciz "peer: no secret\\n"
`;
