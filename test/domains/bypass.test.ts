// VMM-bypass I/O (docs/driver-vms.md "VMM-bypass I/O"): the bundled
// kernel's `io` workload on the memory-mapped disk prints what it prints on
// the port disk, on bare metal and under xen, l4 and hvm, with the device
// emulated by the VMM or passed through; passed through, no request costs a
// hypercall or an exit (the counters), only the boot-time setup does. The
// same runs give identical results under the interpreter and the JIT, and
// a guest without the device runs exactly as before.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { IRQ } from "../../src/guest-isa/registers.js";
import { checkBypassAccess } from "../../src/hypervisors/common/bypass.js";
import { runElf, type RunElfOptions } from "../../src/hypervisors/index.js";
import { NVDISK_BASE, NVDISK_REG } from "../../src/machine/devices/nvdisk.js";
import { Machine } from "../../src/machine/machine.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { COUNT_AND_SKIP_HANDLER } from "../machine/nvdisk-guest.js";

const MAX_CYCLES = 400_000_000;
const kernels = new Map<number, ReturnType<typeof buildKernel>["image"]>();
const io = (scale = 1) => {
  if (!kernels.has(scale)) kernels.set(scale, buildKernel({ workload: "io", scale }).image);
  return kernels.get(scale)!;
};
/**
 * A run; its RAM then goes back for the next run (PhysicalMemory.recycle, as test/recycle.ts's released; that
 * file says why). What the tests read of the machine afterwards is its nvdisk (a device, not RAM).
 */
const run = (backend: string, o: Partial<RunElfOptions> = {}, scale = 1) => {
  const out = runElf(io(scale), { backend, maxCycles: MAX_CYCLES, disk: kernelDisk(scale), ...o });
  out.machine.memory.recycle();
  return { ...out, machine: { nvdisk: out.machine.nvdisk } };
};
const onNvdisk = (backend: string, passthrough = false, o: Partial<RunElfOptions> = {}, scale = 1) =>
  run(backend, { nvdisk: kernelDisk(scale), passthrough, ...o }, scale);

/** The counters that name the device path (site emulations, traps, direct accesses). */
const devicePath = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([k]) => /mmio|bypass/.test(k)));

describe("the io workload on the nvdisk", () => {
  const reference = run("bare");

  it.each([
    ["bare", false], ["xen", false], ["xen", true], ["l4", false], ["l4", true], ["hvm", false], ["hvm", true],
  ] as const)("%s (passthrough: %s) prints what bare prints on the port disk, exit 0, and used the nvdisk", (backend, passthrough) => {
    const out = onNvdisk(backend, passthrough);
    expect(out.console).toBe(reference.console);
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
    // With one CPU and nothing else to run, the kernel polls the completion queue in memory (nvdisk.ts):
    // bare metal takes no completion interrupt at all; under a hypervisor the line still reaches it
    // (interrupt routing stays with the VMM), at most once per transfer, and is never delivered to the guest.
    if (backend === "bare") expect(out.stats.interrupts[IRQ.NVDISK]).toBeUndefined();
    else expect(out.stats.interrupts[IRQ.NVDISK] ?? 0).toBeLessThanOrEqual(16);
    expect(out.stats.interrupts[IRQ.DISK]).toBeUndefined();
    expect(out.machine.nvdisk!.transfers).toBe(16);
  });

  it("the sectors land on the nvdisk's image, not the port disk's", () => {
    const disk = kernelDisk();
    const nvdisk = kernelDisk();
    run("xen", { disk, nvdisk, passthrough: true });
    expect(disk.every((b) => b === 0)).toBe(true);
    expect(nvdisk.some((b) => b !== 0)).toBe(true);
  });

  it("passed through on xen and l4: no request costs a hypercall or an exit — only the boot-time setup traps", () => {
    for (const backend of ["xen", "l4"]) {
      const one = onNvdisk(backend, true);
      const two = onNvdisk(backend, true, {}, 2);
      expect(one.machine.nvdisk!.transfers).toBe(16);
      expect(two.machine.nvdisk!.transfers).toBe(32);
      // Setup: the ID read and five setup writes, whatever the number of requests; 3 direct accesses per request
      // (the doorbell; at the completion, the acknowledgement and CQ_HEAD: completions are found in memory).
      expect(devicePath(one.stats.counts)).toEqual({ [`${backend}:bypass.setup`]: 6, [`${backend}:bypass.direct`]: 48 });
      expect(devicePath(two.stats.counts)).toEqual({ [`${backend}:bypass.setup`]: 6, [`${backend}:bypass.direct`]: 96 });
      // Emulated: every one of those accesses is a call into the VMM (a hypercall on xen, an IPC on l4).
      const emulated = onNvdisk(backend, false);
      expect(emulated.stats.counts[`${backend}:mmio.emulated`]).toBe(54);
      const siteCalls = (o: typeof one) => (o.stats.counts[`${backend}:emulate.mmio-load`] ?? 0) + (o.stats.counts[`${backend}:emulate.mmio-store`] ?? 0);
      expect(siteCalls(emulated)).toBe(54);
      expect(siteCalls(one)).toBe(0);
      expect(one.stats.cycles).toBeLessThan(emulated.stats.cycles);
    }
  });

  it("hvm exits on every device access, passed through only on the setup ones", () => {
    expect(onNvdisk("hvm", false).stats.counts["exit:mmio"]).toBe(54);
    const pt = onNvdisk("hvm", true);
    expect(pt.stats.counts["exit:mmio"]).toBe(6);
    expect(pt.stats.counts["bypass.direct"]).toBe(48);
  });

  it("is deterministic and engine-independent: the interpreter and the JIT give the same console, cycles and counters", () => {
    for (const [backend, passthrough] of [["bare", false], ["xen", true], ["xen", false]] as const) {
      const a = onNvdisk(backend, passthrough, { engine: "interp" });
      const b = onNvdisk(backend, passthrough, { engine: "jit", jitThreshold: 1 });
      expect(b.host.engine).toBe("jit");
      expect([b.console, b.result, b.stats]).toEqual([a.console, a.result, a.stats]);
    }
  });

  it("a kernel on a machine without the nvdisk uses the port disk (port 0x34 reads open bus)", () => {
    expect(reference.stats.interrupts[IRQ.DISK]).toBe(16);
    expect(reference.stats.interrupts[IRQ.NVDISK]).toBeUndefined();
    expect(reference.machine.nvdisk).toBeUndefined();
  });

  it("on two CPUs under xen, passed through, it prints the same (and waits for the completion interrupt: no polling)", () => {
    const out = run("xen", { nvdisk: kernelDisk(), passthrough: true, cpus: 2 });
    expect(out.console).toBe(reference.console);
    expect(out.stats.counts["xen:event.delivered"]).toBeGreaterThanOrEqual(16);
    expect(out.stats.interrupts[IRQ.NVDISK]).toBeGreaterThanOrEqual(16);
  });
});

describe("the hypervisor's check of the setup registers", () => {
  it("refuses a queue base outside guest RAM or unaligned, lets the rest through", () => {
    const m = new Machine({ ramSize: 1 << 20, nvdisk: memoryDisk(new Uint8Array(512)) });
    m.reserveTop(64 * 1024); // a monitor's part: not guest RAM
    const sq = NVDISK_BASE + NVDISK_REG.SQ_BASE;
    const cq = NVDISK_BASE + NVDISK_REG.CQ_BASE;
    expect(checkBypassAccess(m, sq, true, 0x8000, true)).toBe(true);
    expect(checkBypassAccess(m, sq, true, (1 << 20) - 32 * 1024, true)).toBe(false); // the monitor's reserved top
    expect(checkBypassAccess(m, cq, true, 0x8002, true)).toBe(false);
    expect(checkBypassAccess(m, cq, true, -4096, false)).toBe(false);
    expect(checkBypassAccess(m, cq, false, -4096, false)).toBe(true); // a read names nothing
    expect(checkBypassAccess(m, NVDISK_BASE + NVDISK_REG.CONTROL, true, 3, true)).toBe(true);
    expect(m.stats().counts["bypass.refused"]).toBe(3);
    // Enabled, the device ignores a queue base (a live queue keeps its geometry): the write names nothing, and
    // the hypervisor passes it on to be ignored, as bare metal does, instead of refusing it.
    m.mmioWrite(NVDISK_BASE + NVDISK_REG.CONTROL, 1);
    expect(checkBypassAccess(m, sq, true, (1 << 20) - 32 * 1024, true)).toBe(true);
    expect(checkBypassAccess(m, cq, true, 0x8002, false)).toBe(true);
    expect(m.stats().counts["bypass.refused"]).toBe(3);
  });
});

describe("a hostile guest with the nvdisk", () => {
  // Paging off, (virtual) supervisor mode; every register access a .sensitive mmio site. It points the queues and
  // a transfer at the hypervisor's reserved top of RAM (the in-place VMM's window; on hvm, past RAM): each attempt must be refused
  // (a bus error the guest's handler counts and skips) or end in an error completion, the window untouched.
  const RAM = 1 << 20;
  const TOP = RAM - 4096; // inside the monitor's reserved part of RAM, above guestLimit
  const hostile = (top: number) => `
    .text
    .global _start
_start:
    la   t4, handler
    mtcr tvec, t4
    li   s0, ${NVDISK_BASE}
    li   s1, ${NVDISK_BASE + 0x1000}
    li   s2, 0
    li   t0, ${top}
    .sensitive mmio
    sw   t0, 8(s0)           # SQ_BASE into the VMM's memory: refused
    .sensitive mmio
    sw   t0, 12(s0)          # CQ_BASE too
    li   t0, 0x8000
    .sensitive mmio
    sw   t0, 8(s0)
    li   t0, 0x9000
    .sensitive mmio
    sw   t0, 12(s0)
    li   t0, 4
    .sensitive mmio
    sw   t0, 16(s0)
    li   t0, 1
    .sensitive mmio
    sw   t0, 20(s0)
    li   t0, ${top}
    .sensitive mmio
    sw   t0, 8(s0)           # the queue bases again, now that the device is enabled: the device ignores
    .sensitive mmio
    sw   t0, 12(s0)          # them (a live queue keeps its geometry), so the hypervisor lets them through
    li   t0, 0x8000          # a read of sector 0 into the VMM's memory
    li   t1, 1
    sw   t1, 0(t0)
    sw   zero, 4(t0)
    li   t1, ${top}
    sw   t1, 8(t0)
    li   t1, 5
    sw   t1, 12(t0)
    li   t1, 1
    .sensitive mmio
    sw   t1, 0(s1)
.Lwait:
    .sensitive mmio
    lw   t0, 8(s1)
    beq  t0, zero, .Lwait
    .sensitive mmio
    lh   t0, 8(s1)           # a halfword access: a bus error
    out  0xF0, s2
${COUNT_AND_SKIP_HANDLER}
`;
  const build = (top: number) => assemble([{ file: "hostile.s", text: annotate("hostile.s", hostile(top)).text }]);
  const image = new Uint8Array(4 * 512).fill(0xee);

  it.each([["xen", true], ["xen", false], ["l4", true], ["l4", false], ["hvm", true], ["hvm", false]] as const)("%s (passthrough: %s): refused or an error completion, the VMM's memory unchanged", (backend, passthrough) => {
    // hvm reserves no memory of its own: there the target is just past guest RAM.
    const top = backend === "hvm" ? RAM : TOP;
    const out = runElf(build(top), { backend, ramSize: RAM, maxCycles: 10_000_000, nvdisk: image.slice(), passthrough });
    const mem = out.machine.memory;
    expect(mem.guestLimit).toBeLessThanOrEqual(top);
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 3 }); // two queue bases, one halfword access
    expect([mem.i32[0x9000 >> 2], mem.i32[0x9004 >> 2]]).toEqual([5, -2]); // tag 5: the data address is not guest RAM
    if (top < RAM) expect(Array.from(mem.u8.subarray(top, top + 512)).includes(0xee)).toBe(false);
    expect(out.machine.nvdisk!.transfers).toBe(0);
    expect(out.stats.counts["bypass.refused"]).toBe(2);
    expect(out.stats.counts["nvdisk.errors"]).toBe(1); // the refused transfer, in --stats
  });
});

describe("previrt run --nvdisk [--passthrough]", () => {
  const dir = mkdtempSync(join(tmpdir(), "previrt-nvdisk-"));
  const elf = join(dir, "io.elf");
  writeFileSync(elf, writeElf(io()));
  const img = join(dir, "nv.img");

  it("runs the kernel on the nvdisk image (written in place), passed through on xen", async () => {
    writeFileSync(img, kernelDisk());
    const out = bufferIO();
    expect(await main(["run", elf, "--hv", "xen", "--nvdisk", img, "--passthrough"], out)).toBe(0);
    expect(out.stdout).toBe(run("bare").console);
    expect(readFileSync(img).some((b) => b !== 0)).toBe(true);
  });

  it.each([
    [["--hv", "xen", "--passthrough"], "previrt: error: --passthrough needs --nvdisk (the device to pass through)\n"],
    [["--hv", "bare", "--nvdisk", "IMG", "--passthrough"], "previrt: error: --hv bare cannot pass a device through (bare metal has no hypervisor to bypass)\n"],
    [["--hv", "trap", "--nvdisk", "IMG", "--passthrough"], "previrt: error: --hv trap cannot pass a device through (it offers none: previrt run --help names the back ends that do)\n"],
  ])("refuses %j in one line", async (args, message) => {
    writeFileSync(img, kernelDisk());
    const out = bufferIO();
    expect(await main(["run", elf, ...args.map((a) => (a === "IMG" ? img : a))], out)).toBe(1);
    expect(out.stderr).toBe(message);
  });
});
