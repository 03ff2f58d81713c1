// The nvdisk's registers from a guest user process (docs/driver-vms.md
// "VMM-bypass I/O"): bare metal refuses a user-mode access to a device
// register (a bus error), so a kernel that maps the register window into a
// process with the user bit still keeps the device — and its DMA into any
// guest RAM, the kernel's included — to itself. Every back end must do the
// same, whoever performs the access:
// - trap runs the guest kernel in real user mode, so the machine cannot
//   tell its processes from it: the monitor refuses by the virtual mode
//   (before: a process read the ID and set SQ_BASE);
// - xen and l4 with the device emulated perform an mmio site's access in
//   their device model, also when a process runs the site (before: the
//   same);
// - hvm, and xen and l4 passed through, refused it natively already.
// The kernel's own access (virtual supervisor mode) reaches the device on
// every back end. Interpreter = JIT.
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { CAUSE, REG } from "../../src/guest-isa/registers.js";
import { runElf } from "../../src/hypervisors/index.js";
import { NVDISK_BASE, NVDISK_ID, NVDISK_REG } from "../../src/machine/devices/nvdisk.js";
import { identityPaging } from "../protection/guest-snippets.js";

/** The last page of the first 4 MiB: mapped to the nvdisk's setup page, user-accessible. */
const REGS_VA = 0x3ff000;

/** `site`: the process's accesses are `.sensitive mmio` sites (an annotated program's device accesses). */
const guest = (site: boolean) => {
  const mmio = site ? "    .sensitive mmio\n" : "";
  return `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
    # paging on; the last page of 4 MiB: the nvdisk's setup registers, V|W|U
${identityPaging([[REGS_VA, NVDISK_BASE | 7]])}
    li   t0, ${REGS_VA}
    .sensitive mmio
    lw   s1, ${NVDISK_REG.ID}(t0)   # the kernel's own access: the device's ID
    la   t0, user
    mtcr epc, t0
    mtcr epsr, zero             # user mode, interrupts off
    iret
user:
    li   t0, ${REGS_VA}
${mmio}    lw   a1, ${NVDISK_REG.ID}(t0)
    li   t1, 0x8000
${mmio}    sw   t1, ${NVDISK_REG.SQ_BASE}(t0)
    li   a0, 7
    syscall                     # reached only if the device let the process in
handler:
    mfcr s2, badva
    mfcr t0, cause
    addi a0, t0, 100
    out  0xF0, a0
`;
};

const RUNS = [
  ["bare", false], ["hvm", false], ["hvm", true], ["trap", false], ["xen", false], ["xen", true], ["l4", false], ["l4", true],
] as const;

describe("a guest user process cannot reach the nvdisk's registers", () => {
  for (const site of [false, true]) {
    const image = assemble([{ file: "user.s", text: annotate("user.s", guest(site)).text }]);
    it.each(RUNS)(`%s (passthrough: %s)${site ? ", through mmio sites" : ""}: a bus error at the process's first access; the kernel's own access works`, (backend, passthrough) => {
      const [a, b] = (["interp", "jit"] as const).map((engine) =>
        runElf(image, { backend, engine, jitThreshold: 1, maxCycles: 20_000_000, nvdisk: new Uint8Array(4096), passthrough }),
      );
      expect([b.console, b.result, b.stats]).toEqual([a.console, a.result, a.stats]);
      expect(a.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.BUS_ERROR });
      const regs = a.machine.regs;
      expect(regs[REG.s1] >>> 0).toBe(NVDISK_ID);
      expect(regs[REG.a1]).toBe(0); // the process read nothing
      expect(regs[REG.s2] >>> 0).toBe(REGS_VA + NVDISK_REG.ID);
      expect(a.machine.nvdisk!.saveState().sqBase).toBe(0);
    });
  }
});
