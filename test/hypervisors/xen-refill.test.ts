// The xen monitor's host shortcuts (docs/speed-history.md "Eleventh round: the
// host's work"): noteFill's memo of page tables whose refill effects are in
// place, and the one-vCPU release of every claim at a root change; and the
// drop of the TLB before a flushing root change releases them ("Thirteenth
// round": writePagingCr, common to xen and l4). They
// must change nothing a guest or a user can see: every kernel workload
// (pre-virtualized and para-virtualized, one vCPU and two, under the
// interpreter and the JIT) runs under xen with the shortcuts on and off,
// and the result, console, every counter and the final registers agree —
// and so do the monitor's own write-protection bookkeeping (its snapshot
// part), which a stale memo would leave different. Two small guests take
// the paths the kernel never takes: a root written again with its own value
// (the memo must forget, or the refills after it claim nothing), and a
// refill by one vCPU through page tables another vCPU just refilled through
// (the memo is the other vCPU's: its claims are not this one's). Consumes
// the bundled kernel (cli/bundled-kernel.ts), the assembler and runElf.
import { afterEach, describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { buildKernel, kernelDisk, WORKLOADS, type Workload } from "../../src/cli/bundled-kernel.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { runElf } from "../../src/hypervisors/index.js";
import { xenHostOptions } from "../../src/hypervisors/xen/xen-monitor.js";
import { wedgeHostOptions } from "../../src/hypervisors/common/wedge-monitor.js";
import { released } from "../recycle.js";

const MAX_CYCLES = 400_000_000;

function observe(image: ElfImage, cpus: number, engine: "interp" | "jit", shortcuts: boolean) {
  xenHostOptions.shortcuts = shortcuts;
  wedgeHostOptions.dropBeforeRootChange = shortcuts;
  const out = runElf(image, { backend: "xen", cpus, engine, maxCycles: MAX_CYCLES, disk: kernelDisk() });
  const monitor = out.machine.monitor as unknown as { saveExact(): Record<string, unknown> };
  const seen = {
    result: out.result,
    console: out.console,
    stats: out.stats,
    regs: Array.from(out.machine.regs),
    pc: out.machine.pc,
    // The write-protected frames (with their vCPUs), the directories, the unhooked page tables.
    monitor: monitor.saveExact(),
  };
  released(out); // saveExact copies: nothing above is a view of the machine's RAM
  return seen;
}

afterEach(() => {
  xenHostOptions.shortcuts = true;
  wedgeHostOptions.dropBeforeRootChange = true;
});

describe("xen's refill shortcuts change no result", () => {
  const builds: [string, (w: Workload) => ElfImage][] = [
    ["pre-virtualized", (w) => buildKernel({ workload: w }).image],
    ["para-virtualized", (w) => buildKernel({ workload: w, paravirt: "xen" }).image],
  ];
  for (const [kind, build] of builds) {
    it.each(WORKLOADS)(`${kind} workload %s: shortcuts on = off, 1 and 2 vCPUs`, (workload) => {
      const image = build(workload);
      for (const cpus of [1, 2]) {
        const engine = cpus === 1 ? "jit" : "interp";
        const long = observe(image, cpus, engine, false);
        // (The para-virtualized io and pagetable workloads fail on 2 vCPUs at main 014e635 too — a user
        // page fault: a bug of their own, reported with this round. They are compared all the same.)
        if (cpus === 1) expect(long.result, `${workload} cpus ${cpus}`).toEqual({ kind: "poweroff", exitCode: 0 });
        const short = observe(image, cpus, engine, true);
        expect(short, `${workload} cpus ${cpus}`).toEqual(long);
      }
    });
  }

  it("the workloads take the paths the shortcuts replace", () => {
    const out = runElf(buildKernel({ workload: "pagetable" }).image, { backend: "xen", maxCycles: MAX_CYCLES, disk: kernelDisk() });
    const counts = out.stats.counts;
    // Page tables unhooked and revalidated (the memo must forget), and many refills between root changes.
    expect(counts["xen:ptwr.unhook"] ?? 0).toBeGreaterThan(0);
    expect(counts["xen:ptwr.rehook"] ?? 0).toBeGreaterThan(0);
    expect(out.stats.tlbMisses).toBeGreaterThan(10 * (counts["xen:emulate.mtcr"] ?? 0));
  });
});

// Shared by the two guests: PT maps 0–4 MiB to itself (the code), PT1 maps VA → FA and VA2 → FB; PD0 → PT, PT1;
// PD1 → PT only. a1 = PT1, s0 = PD0, s2 = PD1.
const TABLES = `
    .equ PD0, 0x10000
    .equ PD1, 0x11000
    .equ PT, 0x12000
    .equ PT1, 0x13000
    .equ FA, 0x20000
    .equ FB, 0x21000
    .equ VA, 0x400000
    .equ VA2, 0x401000
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
    li   t0, FB
    ori  t0, t0, 7
    sw   t0, 4(a1)
    mtcr ptbr, s0
    li   t0, 1
    mtcr pgctl, t0
`;

// One vCPU: refills through PD0 and PT1, the same root written again (every claim released, the TLB
// flushed), refills through them again — which must claim them again: the write into PT1 traps (an
// unhook) and the one into PD0 is emulated.
const SAME_ROOT = `${TABLES}
    li   t2, VA
    lw   t0, 0(t2)
    mtcr ptbr, s0
    lw   t0, 0(t2)
    li   t0, FB
    ori  t0, t0, 7
    sw   t0, 8(a1)
    sw   t0, 12(s0)
    li   a0, 0
    out  0xF0, a0
`;

// Two vCPUs: CPU 1 takes PD0 as its root; CPU 0 then refills through PD0 and PT1 (VA2), CPU 1 too —
// claiming them for itself; CPU 0 moves to PD1 (releasing its claims only); CPU 1 writes into PT1,
// which it still walks: the write must trap (one unhook).
const OTHER_VCPU = `${TABLES}
    li   a2, FLAG
    la   t0, second
    out  0x43, t0
    li   t0, 1
    out  0x42, t0
.Lw1:
    lw   t0, 0(a2)
    li   t1, 1
    bne  t0, t1, .Lw1
    li   t2, VA2
    lw   t0, 0(t2)
    li   t0, 2
    sw   t0, 0(a2)
.Lw3:
    lw   t0, 0(a2)
    li   t1, 3
    bne  t0, t1, .Lw3
    mtcr ptbr, s2
    li   t0, 4
    sw   t0, 0(a2)
.Lw5:
    lw   t0, 0(a2)
    li   t1, 5
    bne  t0, t1, .Lw5
    li   a0, 0
    out  0xF0, a0

second:
    li   a2, FLAG
    li   s0, PD0
    li   a1, PT1
    mtcr ptbr, s0
    li   t0, 1
    mtcr pgctl, t0
    sw   t0, 0(a2)
.Lw2:
    lw   t0, 0(a2)
    li   t1, 2
    bne  t0, t1, .Lw2
    li   t2, VA2
    lw   t0, 0(t2)
    li   t0, 3
    sw   t0, 0(a2)
.Lw4:
    lw   t0, 0(a2)
    li   t1, 4
    bne  t0, t1, .Lw4
    li   t0, FA
    ori  t0, t0, 7
    sw   t0, 8(a1)
    li   t0, 5
    sw   t0, 0(a2)
.Lpark:
    hlt
    j    .Lpark
`;

describe("xen's refill shortcuts on the paths the kernel does not take", () => {
  const runGuest = (text: string, cpus: number, shortcuts: boolean) => {
    xenHostOptions.shortcuts = shortcuts;
    const out = runElf(assemble([{ file: "guest.s", text }]), { backend: "xen", cpus, maxCycles: 20_000_000 });
    const seen = { result: out.result, stats: out.stats, monitor: (out.machine.monitor as unknown as { saveExact(): Record<string, unknown> }).saveExact() };
    released(out);
    return seen;
  };

  it("the same root written again: the refills after it claim the page tables again", () => {
    const long = runGuest(SAME_ROOT, 1, false);
    expect(long.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(long.stats.counts["xen:ptwr.unhook"]).toBe(1);
    expect(long.stats.counts["xen:ptwrite.emulated"]).toBe(1);
    expect(runGuest(SAME_ROOT, 1, true)).toEqual(long);
  });

  it("a refill by one vCPU right after another's through the same page tables claims them for it", () => {
    const long = runGuest(OTHER_VCPU, 2, false);
    expect(long.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(long.stats.counts["xen:ptwr.unhook"]).toBe(1);
    expect(runGuest(OTHER_VCPU, 2, true)).toEqual(long);
  });
});
