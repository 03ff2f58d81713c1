// G32 assembly: the in-place VMM's core (shared by xen and l4), as a module exporting its text so the
// package (and any bundle) carries it and nothing reads it from disk at run
// time. common/window.ts assembles it. The text below is the one source:
// edit the assembly in place (String.raw: backslashes stay as written).
export const VMM_CORE_SOURCE = String.raw`# The in-place VMM's core, shared by the xen and l4 back ends (docs/design.md §3).
# Guest code: assembled by previrt's own assembler at load time, linked at
# the top of the soft-layer window (.text at 0xFFFE0000, .data on the next
# page) and copied into monitor-reserved frames. Every address below is in
# the top 128 KiB, so a site reaches any of it with one 'lw/sw rX, SYM(zero)'
# or 'jalr k0, SYM(zero)' (sign-extended 18-bit offsets), and an entry
# returns with 'jr k0'. The VMM never touches the guest's stack: the words it
# needs live in SAVE below.
#
# Rules every entry keeps (docs/in-place-vmm.md):
#  - k0 holds the return address on entry; guest registers are preserved
#    (spilled to SAVE and restored) unless the site's original instruction
#    writes them;
#  - a call to the VMM is the last instruction of a site's template, so the
#    site continues at k0 when the entry returns;
#  - the monitor never delivers an event while pc is inside the window or
#    inside a site: it finishes the path first (so k0 is never live across
#    an event).
#
# HC_* (the hypercall numbers of common/hypercalls.ts) and QMAX (entries in
# the page-table update queue) are defined by the loader (window.ts), so
# there is one table.

    .text
    .global _start
_start:
# EVENT: the event callback the monitor registers for a pre-virtualized
# guest. The monitor has already done the virtual trap entry (VCR epc, epsr,
# cause, badva; VPSR: SU=1, IE=0); all that is left is the guest's own trap
# vector.
    .global EVENT
EVENT:
    lw   k0, VCR(zero)           # tvec
    jalr zero, 0(k0)

# DELIVER: an sti/wrpsr site found events held back (VPEND) after its psr
# write. VPEND = 2: the event is an upcall the monitor has already taken off
# its line (VUPCALL = its cause; the multi-guest host's edge-triggered event
# line): if the site enabled interrupts, the virtual trap entry is done here,
# in place, with no call — epc is where the site continues (the template's
# next word; after a stub, the site's own next word, which the stub saved:
# never inside the window, where k0 would be live). Otherwise (VPEND = 1: a
# line held, real IE off) the monitor re-enables delivery and the event
# rides on the return of EVENTS (at the site's continuation).
    .global DELIVER
DELIVER:
    sw   k0, DELIVER_K0(zero)
    lw   k0, VPEND(zero)
    addi k0, k0, -2
    bnez k0, .Ldeliver_call
    lw   k0, VPSR(zero)
    andi k0, k0, 1               # IE: a wrpsr may have left it off
    beqz k0, .Ldeliver_back
    lw   k0, VUPCALL(zero)
    sw   k0, VCR+12(zero)        # cause
    sw   zero, VUPCALL(zero)
    sw   zero, VPEND(zero)
    lw   k0, VPSR(zero)
    sw   k0, VCR+8(zero)         # epsr: SU and IE, as the site left them
    andi k0, k0, -2
    sw   k0, VPSR(zero)          # IE off
    lw   k0, DELIVER_K0(zero)
    bge  k0, zero, .Ldeliver_epc # a stub lives in the window, at the top of the address space (negative)
    lw   k0, STUB_SAVE(zero)
.Ldeliver_epc:
    sw   k0, VCR+4(zero)         # epc
    lw   k0, VCR(zero)           # tvec
    jalr zero, 0(k0)
.Ldeliver_call:
    lw   k0, DELIVER_K0(zero)
    hcall HC_EVENTS
    jalr zero, 0(k0)
.Ldeliver_back:
    lw   k0, DELIVER_K0(zero)
    jalr zero, 0(k0)

# EMULATE: a "call" site (hlt, in, out, tlbflush, tlbinv, mtcr ptbr/pgctl,
# pte-load, mmio-*). The monitor finds the site from k0, emulates its
# original instruction with the guest's registers, and we return past it.
# EMULATE_RETURN: where a vCPU stands once the site's work is done and only
# the return past it is left (migration resumes it after the site elsewhere).
    .global EMULATE
EMULATE:
    hcall HC_EMULATE
    .global EMULATE_RETURN
EMULATE_RETURN:
    jalr zero, 0(k0)

# IRET: return from a trap. A return to supervisor mode with no event held
# is done here without a hypercall; a return to user mode needs the monitor
# (it switches the virtual mode and applies queued page-table updates).
    .global IRET
IRET:
    lw   k0, VCR+8(zero)         # epsr
    andi k0, k0, 2               # SU
    beqz k0, .Liret_slow
    lw   k0, VPEND(zero)
    bnez k0, .Liret_slow
    lw   k0, VCR+8(zero)
    sw   k0, VPSR(zero)
    lw   k0, VCR+4(zero)         # epc
    jalr zero, 0(k0)
.Liret_slow:
    hcall HC_IRET                # the monitor sets pc = epc

# (Page-table writes need no entry: pre-virtualized sites write page tables
# in place — xen's writable page tables, l4's task memory. The update queue
# below is a para-virtualized guest's, applied by its own MMU_UPDATE.)

# The shared-info page: the virtual CPU, read and written by inline sites,
# by the code above and by the monitor (which validates what it reads).
    .data
    .global VPSR, VPEND, VUPCALL, DELIVER_K0, VCR, QCOUNT, QUEUE, SAVE, STUB_SAVE
VPSR:      .word 2               # the guest's psr: IE, SU (a mirror: the monitor's is authoritative), UF
VPEND:     .word 0               # 1 while the monitor holds an event back (virtual IE was 0); 2: only an upcall, VUPCALL
VUPCALL:   .word 0               # the cause of an upcall taken off its line, for DELIVER to deliver in place (0: none)
DELIVER_K0: .word 0              # DELIVER's return address while it works
VCR:       .space 32             # virtual tvec, epc, epsr, cause, badva, ptbr*, scratch, pgctl* (*mirrors)
QCOUNT:    .word 0               # queued page-table updates (a para-virtualized guest's); QUEUE follows at once (wedge-state.ts limits the two as one range)
QUEUE:     .space 8 * QMAX       # (virtual address, value) pairs
SAVE:      .space 64             # the vCPU's save area (never the guest stack)
STUB_SAVE: .word 0               # an out-of-line stub's return address
# Lock-holder preemption cures (common/spinlock-cures.ts, --spinlocks pv|delayed):
    .global SPINS, WAITERS, CRIT, OWED
SPINS:     .word 0               # pv: failed attempts since this vCPU last took a lock or slept
WAITERS:   .word 0               # pv: vCPUs asleep in the hypervisor on a lock (written by the monitor)
CRIT:      .word 0               # delayed: locks this vCPU holds (raised by lock sites, lowered by unlock)
OWED:      .word 0               # delayed: the scheduler postponed a preemption: yield at unlock
`;
