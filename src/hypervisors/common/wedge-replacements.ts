// The site replacements of the pre-virtualized back ends (xen, l4): data for
// the rewriter (src/rewriter/replacements.ts), written against the in-place
// VMM's window symbols (common/vmm-core.s.ts). Each inline template obeys two
// rules the monitor relies on (docs/in-place-vmm.md):
//  - its first instruction accesses the window, so in virtual user mode
//    (where the window faults) the monitor runs the site's original
//    instruction instead; a fault at a later word means the guest resumed
//    past that instruction (its handler skipped a privileged instruction,
//    as bare-metal kernels do), and the monitor continues after the site;
//  - a call into the VMM returns to k0, the template's next word: the site's
//    code continues there (the call is the template's last word).
//
// Virtual psr: one word VPSR (IE, SU, UF) — rdpsr is one load, cli a
// read-modify-write; enabling interrupts also checks VPEND (events held back
// by the monitor) and calls DELIVER when there are any.

import { CR, PSR } from "../../guest-isa/registers.js";
import type { Replacement, ReplacementTable } from "../../rewriter/index.js";

/** The psr bits a write keeps (IE, SU, UF): the rest read as zero. */
const PSR_DEFINED = PSR.IE | PSR.SU | PSR.UF_MASK;

const inline = (...code: string[]): Replacement => ({ strategy: "inline", code });
const call = (entry: string): Replacement => ({ strategy: "call", entry });
const NATIVE: Replacement = { strategy: "native" };

/** What both wedge back ends do with the instruction sites. */
export const INSTRUCTION_REPLACEMENTS: ReplacementTable = {
  cli: inline("lw k0, VPSR(zero)", "andi k0, k0, -2", "sw k0, VPSR(zero)"),
  sti: inline("lw k0, VPSR(zero)", "ori k0, k0, 1", "sw k0, VPSR(zero)", "lw k0, VPEND(zero)", "beqz k0, .Ldone", "jalr k0, DELIVER(zero)", ".Ldone:"),
  rdpsr: inline("lw {A}, VPSR(zero)"),
  // psr keeps only its defined bits (IE, SU, UF), as the hardware's wrpsr does. The raw store comes first so the
  // template's first word is its window access (rule 1 above); no event can land between the two stores.
  wrpsr: inline("sw {B}, VPSR(zero)", `andi k0, {B}, ${PSR_DEFINED}`, "sw k0, VPSR(zero)", "lw k0, VPEND(zero)", "beqz k0, .Ldone", "jalr k0, DELIVER(zero)", ".Ldone:"),
  mfcr: inline("lw {A}, VCR+4*{IMM}(zero)"),
  // Most control registers are plain words of the virtual CPU; ptbr and pgctl change the address space.
  mtcr: { strategy: "inline", code: ["sw {B}, VCR+4*{IMM}(zero)"], byImm: { [CR.ptbr]: call("EMULATE"), [CR.pgctl]: call("EMULATE") } },
  iret: call("IRET"),
  hlt: call("EMULATE"),
  tlbflush: call("EMULATE"),
  tlbinv: call("EMULATE"),
  in: call("EMULATE"),
  out: call("EMULATE"),
  "mmio-load": call("EMULATE"),
  "mmio-store": call("EMULATE"),
};

/**
 * Sites both wedge back ends leave native. Page-table accesses: why, for
 * each, is said at its table below. The spinlock sites (docs/design.md §3):
 * the native amoswap / store, the `--spinlocks native` cure; another cure
 * replaces these rows at load time (spinlock-cures.ts, through
 * wedge-targets.ts).
 */
const NATIVE_ON_WEDGES: ReplacementTable = {
  "pte-store": NATIVE,
  "pte-load": NATIVE,
  lock: NATIVE,
  unlock: NATIVE,
  ticket: NATIVE,
};

/**
 * xen: page-table accesses run natively too — Xen's writable page tables
 * (xen-monitor.ts): the first store into a live page table traps and unhooks
 * it, the rest land directly, so a page-table write is visible to every
 * later load at once (a queued one would not be), and the page table is
 * revalidated before the next walk through it. The VMM's update queue and
 * mmu_update serve para-virtualized guests.
 */
export const XEN_REPLACEMENTS: ReplacementTable = { ...INSTRUCTION_REPLACEMENTS, ...NATIVE_ON_WEDGES };

/** l4: the guest's page tables are its own memory, read by the monitor when the task faults: page-table accesses stay native. */
export const L4_REPLACEMENTS: ReplacementTable = { ...INSTRUCTION_REPLACEMENTS, ...NATIVE_ON_WEDGES };
