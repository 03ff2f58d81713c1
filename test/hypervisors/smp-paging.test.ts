// Page tables shared by several vCPUs (docs/vcpus.md): a page-table write
// on one vCPU reaches the hypervisor although another vCPU has moved to a
// different root meanwhile (the write protection is the guest's, with a
// claim per vCPU: one vCPU's new root releases only its own), and the
// other vCPU's next walk sees the new entry. The guest is plain assembly
// run on bare, hvm, trap, xen and l4 with 2 CPUs.
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";

// CPU 0 builds PD0 (entry 0 → PT: 0–4 MiB identity; entry 1 → PT1: VA → frame A)
// and PD1 (entry 0 → PT only), turns paging on with PD0, reads VA (A), starts
// CPU 1. CPU 1: PD0, reads VA (A), moves to PD1, says so (step 2). CPU 0:
// remaps VA to frame B in PT1 — the one page-table write after paging is
// on — invalidates, reads B, says so (step 3). CPU 1: back to PD0, reads VA:
// B. Exit 0, or the number of the failed check.
const PROGRAM = `
    .equ PD0, 0x10000
    .equ PD1, 0x11000
    .equ PT, 0x12000
    .equ PT1, 0x13000
    .equ FA, 0x20000
    .equ FB, 0x21000
    .equ VA, 0x400000
    .equ FLAG, 0x30000
    .text
    .global _start
_start:
    li   s1, PT
    li   t1, 0
.Lfill:
    slli t2, t1, 12
    ori  t2, t2, 7
    slli t3, t1, 2
    add  t3, t3, s1
    sw   t2, 0(t3)
    addi t1, t1, 1
    li   t4, 1024
    bne  t1, t4, .Lfill
    li   s0, PD0
    li   a1, PT1
    ori  t0, s1, 1
    sw   t0, 0(s0)
    ori  t0, a1, 1
    sw   t0, 4(s0)
    li   s2, PD1
    ori  t0, s1, 1
    sw   t0, 0(s2)
    li   t0, FA
    ori  t0, t0, 7
    sw   t0, 0(a1)
    li   t0, FA
    li   t1, 0xAAAA
    sw   t1, 0(t0)
    li   t0, FB
    li   t1, 0xBBBB
    sw   t1, 0(t0)
    mtcr ptbr, s0
    li   t0, 1
    mtcr pgctl, t0
    li   t2, VA
    lw   t0, 0(t2)
    li   t1, 0xAAAA
    li   a0, 1
    bne  t0, t1, .Lout
    la   t0, second
    out  0x43, t0
    li   t0, 1
    out  0x42, t0
    li   a2, FLAG
.Lw2:
    lw   t0, 0(a2)
    li   t1, 2
    bne  t0, t1, .Lw2
    li   t0, FB
    ori  t0, t0, 7
    sw   t0, 0(a1)              # the page-table write: VA → B
    tlbinv t2
    lw   t0, 0(t2)
    li   t1, 0xBBBB
    li   a0, 2
    bne  t0, t1, .Lout
    li   t0, 3
    sw   t0, 0(a2)
.Lw4:
    lw   t0, 0(a2)
    li   t1, 4
    bne  t0, t1, .Lw4
    lw   a0, 4(a2)
.Lout:
    out  0xF0, a0

second:
    li   a2, FLAG
    li   s0, PD0
    mtcr ptbr, s0
    li   t0, 1
    mtcr pgctl, t0
    li   t2, VA
    lw   t0, 0(t2)
    li   t1, 0xAAAA
    li   a0, 11
    bne  t0, t1, .Lfail
    li   s2, PD1
    mtcr ptbr, s2               # another root: this vCPU no longer walks PD0 or PT1
    li   t0, 2
    sw   t0, 0(a2)
.Lw3:
    lw   t0, 0(a2)
    li   t1, 3
    bne  t0, t1, .Lw3
    mtcr ptbr, s0               # back to PD0: the entry CPU 0 wrote
    lw   t0, 0(t2)
    li   t1, 0xBBBB
    li   a0, 12
    bne  t0, t1, .Lfail
    li   a0, 0
.Lfail:
    sw   a0, 4(a2)
    li   t0, 4
    sw   t0, 0(a2)
.Lpark:
    hlt
    j    .Lpark
`;

function run(backend: string) {
  const out = runElf(assemble([{ file: "smp-paging.s", text: PROGRAM }]), { backend, cpus: 2, maxCycles: 20_000_000 });
  return { result: out.result, counts: out.stats.counts };
}

describe("page tables shared by two vCPUs", () => {
  it("runs on bare: the guest's own checks", () => {
    expect(run("bare").result).toEqual({ kind: "poweroff", exitCode: 0 });
  });

  it.each([
    ["hvm", "exit:ptwrite"],
    ["trap", "trap:ptwrite"],
  ])("%s: the write on CPU 0 exits although CPU 1 moved to another root (its shadow still uses that page table), and CPU 1 sees it", (hv, counter) => {
    const r = run(hv);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.counts[counter]).toBe(1);
  });

  it("xen: the write on CPU 0 still traps (writable page tables: one unhook) after CPU 1's new root, and CPU 1 sees it", () => {
    const r = run("xen");
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.counts["xen:ptwr.unhook"]).toBe(1);
  });

  it("l4: the guest's own checks pass (page tables are plain task memory)", () => {
    expect(run("l4").result).toEqual({ kind: "poweroff", exitCode: 0 });
  });
});
