// Random memory-supervisor kernels (docs/protection.md, "Guest-visible
// domains"), shared by test/protection/supervisor-differential.test.ts and
// the fuzz campaign `protection` (scripts/fuzz/protection.ts): paging on or
// off (one page mapped at two other virtual pages), DEFINEs of module code
// (and of ranges that cut kernel code or are empty), GRANTs naming real,
// absent and garbage domains, addresses in guest RAM, at the page tables, in
// the soft-layer window, unmapped or huge, sizes empty, negative, unaligned
// or 2 GiB, and bad permissions; between them word, halfword and byte loads
// and stores and atomics from the modules' code and the kernel's, a fault
// recorded and skipped by the handler.
//
// Consumes a source of floats in [0, 1) (the test's seeded generator, or a
// campaign's Rng); produces a kernel as operations (each a list of assembly
// lines, any subset of which is still a kernel: the shrinker's units) and
// the assembly source of the whole, which writes each operation's outcome to
// RESULTS in order. `wide` adds the campaign's further hostile GRANT targets
// (the guest's page directory and table, the whole window, the last word
// of the address space); without it the draws are the test's, so its seeds
// keep naming the kernels they were chosen for.

/** Where the kernel records each operation's outcome; the handler's last cause; the DEFINEs' answers. */
export const RESULTS = 0x18000;
export const LAST = 0x17ff0;
export const HANDLES = 0x17f00;
/** The page paging maps at two more virtual pages (0x300000, 0x301000), and a data area. */
export const SHARED = 0x200000;
export const DATA = 0x50000;
/** The page directory and the one page table of identityPaging below. */
const PD = 0x10000;
const PT = 0x11000;
/** The placeholder for the next result slot in an operation's lines (numbered when the source is made). */
const SLOT = "@RESULT";

export interface SupervisorKernel {
  paging: boolean;
  ops: string[][];
}

const ACCESSES = ["lw", "sw", "amo", "sb", "lbu", "sh"] as const;
/** One function per access kind, labelled `${prefix}_${kind}`: address in a1, value in a2, result in a0. */
const accessors = (prefix: string) => `
${prefix}_lw:
    lw   a0, 0(a1)
    jr   lr
${prefix}_sw:
    sw   a2, 0(a1)
    jr   lr
${prefix}_amo:
    amoswap a0, a2, 0(a1)
    jr   lr
${prefix}_sb:
    sb   a2, 1(a1)
    jr   lr
${prefix}_lbu:
    lbu  a0, 3(a1)
    jr   lr
${prefix}_sh:
    sh   a2, 2(a1)
    jr   lr`;

/**
 * Assembly: paging on over the first 4 MiB identity-mapped V|W|U (page
 * directory 0x10000, page table 0x11000), but for `remap`'s pages —
 * [virtual address, PTE] pairs. Clobbers t0–t2.
 */
export function identityPaging(remap: readonly (readonly [number, number])[] = []): string {
  return `
    li   t0, 0x10000            # page directory: PDE 0 -> the page table at 0x11000
    li   t1, 0x11001
    sw   t1, 0(t0)
    li   t0, 0x11000
    li   t1, 7
    li   t2, 1024
.Lidentity:
    sw   t1, 0(t0)
    addi t0, t0, 4
    addi t1, t1, 0x1000
    addi t2, t2, -1
    bnez t2, .Lidentity
${remap.map(([va, pte]) => `    li   t0, ${0x11000 + (va >>> 12) * 4}\n    li   t1, ${pte}\n    sw   t1, 0(t0)`).join("\n")}
    li   t0, 0x10000
    mtcr ptbr, t0
    li   t0, 1
    mtcr pgctl, t0`;
}

/** Draws a kernel. `r` gives floats in [0, 1). */
export function supervisorKernel(r: () => number, options: { wide?: boolean } = {}): SupervisorKernel {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const paging = r() < 0.6;
  const address = () => pick([0x300000, 0x301000, SHARED, SHARED + 0xffc, SHARED + 0x1000, DATA + 4 * Math.floor(r() * 64), DATA + 0x1000, RESULTS, LAST, 0x7fff0, 0x3ff000, 0x400000, 0x1000, 0x1ffc]);
  const grantTarget = () => {
    if (options.wide && r() < 0.25) return pick([PD, PT, PT + 0xffc, 0xffc00000, 0xfffe0000, 0xfffe1000, 0xfffff000, 0xfffffffc, 0xffdff000]);
    return r() < 0.9 ? address() : pick([0xfffe0000, 0xfffff000, 0x7ffff000, 0xfffffffc]);
  };
  const ops: string[][] = [];
  const count = 30 + Math.floor(r() * 40);
  for (let i = 0; i < count; i++) {
    const k = r();
    const lines: string[] = [];
    const record = (reg: string) => lines.push(`    sw   ${reg}, ${SLOT}(zero)`);
    if (k < 0.2) {
      const m = Math.floor(r() * 3);
      const [a, b] = r() < 0.8 ? [`mod${m}`, `mod${m}End`] : pick([["_start", "mod0"], ["mod0", "mod2End"], ["handler", "handlerEnd"], ["mod1", "mod1"]]);
      lines.push(`    la   t0, ${a}`, "    out  0x50, t0", `    la   t0, ${b}`, "    out  0x51, t0", "    li   t0, 1", "    out  0x54, t0", "    in   t0, 0x54", `    sw   t0, ${HANDLES + 4 * m}(zero)`);
      // The answer as its sign: the ids differ where a monitor has a domain of its own.
      lines.push(`    blt  t0, zero, .Ldef${i}`, "    li   t0, 1", `.Ldef${i}:`);
      record("t0");
    } else if (k < 0.55) {
      // A handle the kernel may no longer read (an earlier GRANT took domain 0's read of its page away: the
      // load faults and is skipped) is -1, not what t0 held — a DEFINE's answer as its sign, 1, which names
      // the VMM's domain on xen and l4 and the first module's elsewhere.
      const domain = r() < 0.7 ? ["    li   t0, -1", `    lw   t0, ${HANDLES + 4 * Math.floor(r() * 3)}(zero)`] : [`    li   t0, ${pick([0, 0, 99, -1, 0x7fffffff])}`];
      const va = grantTarget();
      const bytes = pick([4, 8, 4096, 8192, 4092, 0x10000, 0, -4, 3, 0x7ffffffc, 12]);
      lines.push(...domain, "    out  0x50, t0", `    li   t0, ${va | 0}`, "    out  0x51, t0", `    li   t0, ${bytes}`, "    out  0x52, t0", `    li   t0, ${pick([0, 1, 2, 3, 0, 1, 5])}`, "    out  0x53, t0", "    li   t0, 2", "    out  0x54, t0", "    in   t0, 0x54");
      record("t0");
    } else {
      const fn = `${pick(["mod0", "mod1", "mod2", "body"])}_${pick(ACCESSES)}`;
      const va = address();
      lines.push(`    li   a1, ${va}`, `    li   a2, ${Math.floor(r() * 1000)}`, "    li   a0, -7", `    jal  lr, ${fn}`);
      record("a0");
      lines.push(`    lw   t0, ${LAST}(zero)`, `    sw   zero, ${LAST}(zero)`);
      record("t0");
    }
    ops.push(lines);
  }
  return { paging, ops };
}

/** The kernel's assembly source (unannotated): each operation's outcomes in the next words of RESULTS. */
export function supervisorKernelSource(k: SupervisorKernel): string {
  let n = 0;
  const body = k.ops.flat().map((l) => (l.includes(SLOT) ? l.replace(SLOT, String(RESULTS + 4 * n++)) : l));
  // 0x300000 and 0x301000 -> SHARED.
  const pagingOn = identityPaging([[0x300000, SHARED | 7], [0x301000, SHARED | 7]]);
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
${k.paging ? pagingOn : ""}
${body.join("\n")}
    li   a0, 0
    out  0xF0, a0
${accessors("body")}
${[0, 1, 2].map((m) => `mod${m}:${accessors(`mod${m}`)}\nmod${m}End:\n    nop`).join("\n")}
handler:
    mfcr t3, cause
    sw   t3, ${LAST}(zero)
    mfcr t3, epc
    addi t3, t3, 4
    mtcr epc, t3
    iret
handlerEnd:
    nop
`;
}
