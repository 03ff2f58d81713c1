// A snapshot of a disabled nvdisk whose queue size a driver shrank
// (src/machine/devices/nvdisk.ts; docs/migration.md): QSIZE takes a write
// only while the device is disabled and leaves the queue indices as they
// were — the enable that follows resets them — so a driver that ran a queue
// of 8 to index 5, disabled the device and wrote QSIZE 2 leaves it with
// SQ/CQ indices 5 ≥ QSIZE until it enables it again. The snapshot check
// must accept that state (the device produced it) and the resume end
// exactly as the uninterrupted run. Found by the nvdisk fuzz campaign's
// snapshot oracle (seed 2503, input 494: "malformed snapshot:
// machine.nvdisk.sqHead"). A real annotated kernel on bare metal and hvm with
// the device passed through, under the interpreter and the JIT.
import { describe, expect, it } from "vitest";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { NVDISK_BASE, NVDISK_REG as R } from "../../src/machine/devices/nvdisk.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { bootGuest, type Guest } from "../../src/migration/guest.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest } from "../../src/migration/snapshot.js";
import { mmioStore as mmio } from "../machine/nvdisk-guest.js";

const RAM = 1024 * 1024;
const MAX_CYCLES = 20_000_000;
const SQ = 0x10000, CQ = 0x11000, BUF = 0x12000, OUT = 0x18000;
/** Five reads of sectors 0-4 into five buffers, through a queue of 8; then disabled, QSIZE 2, a long spin; the indices read back. */
const source = `
    .text
    .global _start
_start:
    li   sp, 0x80000
    li   s0, ${NVDISK_BASE | 0}
${mmio(R.SQ_BASE, SQ)}
${mmio(R.CQ_BASE, CQ)}
${mmio(R.QSIZE, 8)}
${mmio(R.CONTROL, 1)}
${[0, 1, 2, 3, 4].map((k) => [1, k, BUF + 512 * k, 0x100 + k].map((v, w) => `    li   t0, ${v}\n    sw   t0, ${SQ + 16 * k + 4 * w}(zero)`).join("\n")).join("\n")}
${mmio(R.SQ_TAIL, 5)}
.Lwait:
    .sensitive mmio
    lw   t0, ${R.CQ_TAIL}(s0)
    li   t1, 5
    bne  t0, t1, .Lwait
${mmio(R.CQ_HEAD, 5)}
${mmio(R.CONTROL, 0)}
${mmio(R.QSIZE, 2)}
    li   t1, 100000
.Lspin:
    addi t1, t1, -1
    bnez t1, .Lspin
${[R.QSIZE, R.CQ_HEAD, R.CQ_TAIL, R.CONTROL].map((off, k) => `    .sensitive mmio\n    lw   t0, ${off}(s0)\n    sw   t0, ${OUT + 4 * k}(zero)`).join("\n")}
    li   a0, 0
    out  0xF0, a0
`;
const image = assemble([{ file: "qsize.s", text: annotate("qsize.s", source).text }]);
const elf = writeElf(image);
const disk = () => Uint8Array.from({ length: 8 * 512 }, (_, i) => (i * 7 + (i >>> 9)) & 0xff);

const CONFIGS = [["bare", false], ["hvm", true]] as const;
const ENGINES = [{ engine: "interp" }, { engine: "jit", jitThreshold: 1 }] as const;

describe("a snapshot of a disabled nvdisk with a shrunk queue size", () => {
  it.each(CONFIGS.flatMap(([hv, passthrough]) => ENGINES.map((e) => [hv, passthrough, e] as const)))("%s (passthrough: %s), %o: accepted, and resumed as the uninterrupted run", (hv, passthrough, engine) => {
    const boot = (): Guest => bootGuest(elf, readElf(elf), hv, { ramSize: RAM, nvdisk: memoryDisk(disk()), passthrough, ...engine });
    const ref = boot();
    const refResult = ref.finish(MAX_CYCLES);
    expect(refResult).toEqual({ kind: "poweroff", exitCode: 0 });
    // The guest saw what it left: QSIZE 2, the old indices, disabled.
    expect(Array.from(ref.machine.memory.i32.subarray(OUT >>> 2, (OUT >>> 2) + 4))).toEqual([2, 5, 5, 0]);

    const g = boot();
    let n = 0;
    do expect(runToSafePoint(g, (n += 2000), MAX_CYCLES).reached).toBe(true);
    while (g.machine.nvdisk!.saveState().qsize !== 2);
    expect(g.machine.nvdisk!.saveState()).toMatchObject({ control: 0, qsize: 2, sqHead: 5, cqHead: 5 });
    const snap = parseSnapshot(encodeSnapshot(captureSnapshot(g), nodeZlib), "q.snap", nodeZlib);
    const { guest } = restoreGuest(snap, hv, engine);
    expect(guest.finish(MAX_CYCLES)).toEqual(refResult);
    expect(guest.machine.stats()).toEqual(ref.machine.stats());
    expect(Buffer.compare(Buffer.from(guest.machine.memory.u8), Buffer.from(ref.machine.memory.u8))).toBe(0);
    for (const x of [ref, g, guest]) x.machine.memory.recycle();
  });
});
