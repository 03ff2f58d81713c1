// Small real guests for the multi-guest host's tests, in G32 assembly:
// a server and a client that meet through DEV_PUBLISH/DEV_ACCEPT, share a
// page through a grant and notify each other through event channels, all
// through the domain device's ports (0x60-0x65), as the bundled kernel does.
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
