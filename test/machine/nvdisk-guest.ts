// Shared pieces of the nvdisk tests whose guest is a hand-written annotated
// kernel run on every back end that can reach the device
// (nvdisk-disable.test.ts, nvdisk-queue-bases.test.ts, and test/domains'
// bypass tests): the disk image, the assembly for register accesses,
// submission entries and the wait for completions, a handler that counts and
// skips faults, the name of what a data buffer holds, and one test per
// configuration and engine. Consumes the device's register layout
// (src/machine/devices/nvdisk.ts); produces assembly text and vitest cases.
import { expect, it } from "vitest";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { runElf } from "../../src/hypervisors/index.js";
import { NVDISK_OP, NVDISK_REG as R } from "../../src/machine/devices/nvdisk.js";
import type { Machine } from "../../src/machine/machine.js";

export const NVDISK_TEST_RAM = 1024 * 1024;
export const NVDISK_TEST_MAX_CYCLES = 50_000_000;
export const NVDISK_TEST_SECTORS = 8;

/** The image: every sector different, no byte zero (so a buffer read into is never "untouched"). */
export const nvdiskTestImage = () => Uint8Array.from({ length: NVDISK_TEST_SECTORS * 512 }, (_, i) => ((i * 7 + (i >>> 9)) & 0xff) | 1);

/** A store of `value` to the register at `off` (s0 holds the window's base), as an `.sensitive mmio` site. */
export const mmioStore = (off: number, value: number) => [`    li   t0, ${value}`, "    .sensitive mmio", `    sw   t0, ${off}(s0)`].join("\n");

/** Stores writing read requests [queue base, slot, sector, buffer address, tag] into their submission queues. */
export const readEntries = (entries: readonly (readonly [number, number, number, number, number])[]) =>
  entries.flatMap(([sq, slot, sector, buf, tag]) => [NVDISK_OP.READ, sector, buf, tag].map((v, w) => `    li   t0, ${v}\n    sw   t0, ${sq + 16 * slot + 4 * w}(zero)`)).join("\n");

/**
 * The trap handler of a guest that counts refused accesses: each fault (a bus
 * error from a monitor's check) adds 1 to s2 and resumes after the faulting
 * instruction; the guest then exits with s2.
 */
export const COUNT_AND_SKIP_HANDLER = `handler:
    addi s2, s2, 1
    mfcr t3, epc
    addi t3, t3, 4
    mtcr epc, t3
    iret`;

/** Polls CQ_TAIL until it reads `tail`, then spins well past three of the device's latencies and stores CQ_TAIL at `out`. */
export const settle = (label: string, tail: number, out: number) => `
${label}:
    .sensitive mmio
    lw   t0, ${R.CQ_TAIL}(s0)
    li   t1, ${tail}
    bne  t0, t1, ${label}
    li   t1, 200000
${label}s:
    addi t1, t1, -1
    bnez t1, ${label}s
    .sensitive mmio
    lw   t0, ${R.CQ_TAIL}(s0)
    sw   t0, ${out}(zero)`;

/** A 512-byte buffer's contents, named: untouched (zeros), a sector of the image, or something else. */
export function bufferContents(i32: Int32Array, pa: number): string {
  const b = new Uint8Array(i32.buffer, i32.byteOffset + pa, 512);
  if (b.every((x) => x === 0)) return "untouched";
  const image = nvdiskTestImage();
  for (let s = 0; s < NVDISK_TEST_SECTORS; s++) if (Buffer.compare(b, image.subarray(512 * s, 512 * s + 512)) === 0) return `sector ${s}`;
  return "other";
}

/** Bare metal, hvm (emulated and passed through), xen and l4 passed through. */
export const NVDISK_CONFIGS = [["bare", false], ["hvm", false], ["hvm", true], ["xen", true], ["l4", true]] as const;

/** One test per configuration and engine (the JIT at threshold 1): the kernel powers off with 0, then `check` reads its machine. */
export function onEveryConfig(title: string, image: ElfImage, check: (m: Machine) => void): void {
  for (const [backend, passthrough] of NVDISK_CONFIGS) {
    for (const engine of ["interp", "jit"] as const) {
      it(`${backend}${passthrough ? " (passed through)" : ""}, ${engine}: ${title}`, () => {
        const out = runElf(image, { backend, passthrough, ramSize: NVDISK_TEST_RAM, maxCycles: NVDISK_TEST_MAX_CYCLES, nvdisk: nvdiskTestImage(), engine, jitThreshold: 1 });
        expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
        check(out.machine);
        out.machine.memory.recycle();
      });
    }
  }
}
