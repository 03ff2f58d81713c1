// Monitor.refill (docs/speed-history.md "Eleventh round: the host's work"): the
// TLB refill's form of a monitor's translation — the frame and its
// permission bits as one number, no object per miss — must be exactly
// `translate`. Every kernel workload runs on every back end whose monitor
// has it (xen, l4, hvm, trap; xen para-virtualized too) with the MMU asking
// `refill` and asking `translate` (mmuOptions.refill): the result, console,
// every counter and the final registers agree; and so on a guest kernel
// that reads the in-place VMM's read-only text (the refill maps it) and then
// stores into it, without the VMM's protection domain: a page fault either
// way. Consumes the bundled kernel (cli/bundled-kernel.ts), the assembler
// and runElf.
import { afterEach, describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { buildKernel, kernelDisk, WORKLOADS } from "../../src/cli/bundled-kernel.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { runElf } from "../../src/hypervisors/index.js";
import { mmuOptions } from "../../src/machine/mmu/mmu.js";
import { released } from "../recycle.js";

const MAX_CYCLES = 400_000_000;

function observe(image: ElfImage, backend: string, refill: boolean) {
  mmuOptions.refill = refill;
  const out = runElf(image, { backend, maxCycles: MAX_CYCLES, disk: kernelDisk() });
  const seen = { result: out.result, console: out.console, stats: out.stats, regs: Array.from(out.machine.regs), pc: out.machine.pc, psr: out.machine.psr };
  released(out);
  return seen;
}

afterEach(() => {
  mmuOptions.refill = true;
});

describe("Monitor.refill = Monitor.translate", () => {
  it.each(WORKLOADS)("workload %s on xen, l4, hvm and trap, and para-virtualized on xen", (workload) => {
    const image = buildKernel({ workload }).image;
    const cases: [string, ElfImage][] = [...["xen", "l4", "hvm", "trap"].map((b): [string, ElfImage] => [b, image]), ["xen", buildKernel({ workload, paravirt: "xen" }).image]];
    for (const [backend, img] of cases) {
      const viaTranslate = observe(img, backend, false);
      // (trap's guest loses its interrupt state — the rdpsr/wrpsr hole — and says so: exit 1, with either.)
      if (backend !== "trap") expect(viaTranslate.result, backend).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(viaTranslate.stats.tlbMisses, backend).toBeGreaterThan(0);
      expect(observe(img, backend, true), backend).toEqual(viaTranslate);
    }
  });
});

// The guest kernel (virtual supervisor mode) loads a word of the VMM's text at the window's base (a refill
// from the window, not writable), stores to it (a page fault: the handler counts it and skips the store),
// and powers off with the number of faults.
const VMM_TEXT_STORE = `
    .text
    .global _start
_start:
    li   sp, 0x80000
    li   s1, 0
    la   t0, handler
    mtcr tvec, t0
    li   a1, 0xFFFE0000
    lw   t0, 0(a1)
    sw   t0, 0(a1)
    out  0xF0, s1
handler:
    addi s1, s1, 1
    mfcr t0, epc
    addi t0, t0, 4
    mtcr epc, t0
    iret
`;

describe("Monitor.refill = Monitor.translate on the window", () => {
  it.each(["xen", "l4"])("%s: a store into the VMM's text after a load from it faults, without the protection domain", (backend) => {
    const image = assemble([{ file: "vmm-text-store.s", text: VMM_TEXT_STORE }]);
    const run = (refill: boolean) => {
      mmuOptions.refill = refill;
      const out = runElf(image, { backend, protect: false, maxCycles: 1_000_000 });
      return { result: out.result, stats: out.stats, regs: Array.from(out.machine.regs) };
    };
    const viaTranslate = run(false);
    expect(viaTranslate.result).toEqual({ kind: "poweroff", exitCode: 1 });
    expect(run(true)).toEqual(viaTranslate);
  });
});
