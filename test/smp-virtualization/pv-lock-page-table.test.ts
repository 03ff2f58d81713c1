// The pv cure's monitor half takes a free lock for the waiter with a write of
// its own (common/spinlock-cures.ts, EMULATE): a copy_to_guest, which may
// not write a frame the hypervisor write-protects — a page table xen has
// validated (GuestMemory.write's rule). A lock word in such a frame is left
// alone like any word the monitor may not write (`pv.badLock`), and the
// guest's loop retries: its own amoswap then takes xen's path (the page
// table unhooked, as for any guest store to it). Before, the take wrote the
// word past the write-protection, unseen by xen's page-table handling.
//
// The guest (2 CPUs, assembly, annotated): lock r is the page-table entry of
// an unused virtual page, in the live page table. CPU 1 takes it, lets CPU 0
// want it, releases it and makes xen write-protect the table again (a load
// from a page it has not touched: a walk through the table); CPU 0's delay moves the end of its turn
// across the pv lock stub (as fixtures/programs/smp/late-release.ts does), so
// some releases land between its last failed attempt and the hypercall,
// where the monitor finds the word free — in a write-protected frame.
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { prepareGuest } from "../../src/hypervisors/index.js";
import { buildMachine } from "../../src/machine/run-image.js";
import { identityPaging } from "../protection/guest-snippets.js";

const ROUNDS = 128;
/** Delays 0…SPREAD-1 iterations: more than a turn. */
const SPREAD = 64;
/** The page table identityPaging builds (the first 4 MiB), and its entries for the unused pages from 2 MiB on: the locks. */
const PAGE_TABLE = 0x11000;
const LOCKS = PAGE_TABLE + 512 * 4;
/** go, ready, done: the round's number plus one. */
const FLAGS = 0x20000;

const lockLoop = (p: string) => `
.L${p}_lock:
    li   t0, 1
    .sensitive lock
    amoswap t0, t0, 0(a0)
    beqz t0, .L${p}_got
    pause
    j    .L${p}_lock
.L${p}_got:`;

const waitFlag = (p: string, offset: number) => `
.L${p}:
    lw   t1, ${offset}(s2)
    beq  t1, t2, .L${p}_seen
    pause
    j    .L${p}
.L${p}_seen:`;

const KERNEL = `
    .text
    .global _start
_start:
${identityPaging(Array.from({ length: ROUNDS }, (_, r) => [(512 + r) * 4096, 0] as const))}
    la   t0, holder
    out  0x43, t0
    li   t0, 1
    out  0x42, t0
    li   s0, 0
    li   s1, ${ROUNDS}
    li   s2, ${FLAGS}
.Lw_round:
    addi t2, s0, 1
${waitFlag("w_go", 0)}
    andi t3, s0, ${SPREAD - 1}
.Lw_delay:
    beqz t3, .Lw_delayed
    addi t3, t3, -1
    j    .Lw_delay
.Lw_delayed:
    sw   t2, 4(s2)              # ready
    slli a0, s0, 2
    li   t0, ${LOCKS}
    add  a0, a0, t0
${lockLoop("w")}
    .sensitive unlock
    sw   zero, 0(a0)
    sw   t2, 8(s2)              # done
    addi s0, s0, 1
    blt  s0, s1, .Lw_round
    li   a0, 0
    out  0xF0, a0

holder:
    li   t0, 0x10000
    mtcr ptbr, t0
    li   t0, 1
    mtcr pgctl, t0
    li   s0, 0
    li   s1, ${ROUNDS}
    li   s2, ${FLAGS}
.Lh_round:
    slli a0, s0, 2
    li   t0, ${LOCKS}
    add  a0, a0, t0
${lockLoop("h")}
    addi t2, s0, 1
    sw   t2, 0(s2)              # go
${waitFlag("h_ready", 4)}
    .sensitive unlock
    sw   zero, 0(a0)
    slli t1, s0, 12             # a page not touched before (1 MiB + r pages): its TLB miss walks through the
    li   t3, 0x100000           # page table, and xen write-protects it again
    add  t1, t1, t3
    lw   t1, 0(t1)
${waitFlag("h_done", 8)}
    addi s0, s0, 1
    blt  s0, s1, .Lh_round
.Lh_halt:
    hlt
    j    .Lh_halt
`;

const image = assemble([{ file: "pt-locks.s", text: annotate("pt-locks.s", KERNEL).text }]);

describe("the pv cure's take of a free lock in a write-protected page table", () => {
  for (const backend of ["xen", "l4"]) {
    for (const engine of ["interp", "jit"] as const) {
      it(`${backend}, ${engine}: no write lands in the page table while the hypervisor write-protects it; the rounds complete`, () => {
        for (const quantum of [200, 331]) {
          const what = `${backend} ${engine} --quantum ${quantum}`;
          const { rewrite, runOptions } = prepareGuest(image, { backend, engine, spinlocks: "pv", cpus: 2, quantum });
          const { machine } = buildMachine(rewrite.image, runOptions(rewrite));
          // Every write through the memory API (a monitor's; xen's own page-table writes unprotect the frame first).
          let unseen = 0;
          const mem = machine.memory;
          const write32 = mem.write32.bind(mem);
          mem.write32 = (pa: number, value: number) => {
            if (pa >>> 12 === PAGE_TABLE >>> 12 && machine.mmu.monitorWatched[pa >>> 12] === 1) unseen++;
            write32(pa, value);
          };
          const result = machine.run(20_000_000);
          expect(result, what).toEqual({ kind: "poweroff", exitCode: 0 });
          expect(unseen, what).toBe(0);
          const counts = machine.stats().counts;
          expect(counts[`${backend}:pv.block`] ?? 0, what).toBeGreaterThan(0); // the waiter went through the hypervisor
          // On xen the interleaving was reached: the monitor found a free lock in a write-protected page table.
          if (backend === "xen") expect(counts["xen:pv.badLock"] ?? 0, what).toBeGreaterThan(0);
        }
      });
    }
  }
});
