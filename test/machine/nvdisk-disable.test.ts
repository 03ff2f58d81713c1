// What disabling the nvdisk does to a request under way
// (src/machine/devices/nvdisk.ts; docs/machine.md "MMIO: the nvdisk"): as
// clearing NVMe's CC.EN resets a controller, a disable drops the request in
// flight — no transfer into its buffer, no completion entry, no interrupt —
// so a driver that resets the device and enables it again with fresh queues
// gets only the completions of what it submits to them (before 2 Dec 2026 the
// old request completed into the new queue's first slot, with its stale tag,
// and moved its sector into the old buffer). A real annotated kernel on bare
// metal, hvm (emulated and passed through) and passed-through xen and l4,
// under the interpreter and the JIT; and a snapshot taken while the device is
// disabled after a drop restores and ends exactly as the uninterrupted run.
import { describe, expect, it } from "vitest";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { CAUSE, IRQ } from "../../src/guest-isa/registers.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { NVDISK_BASE, NVDISK_OP, NVDISK_REG as R, nvdiskStateProblem } from "../../src/machine/devices/nvdisk.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { bootGuest } from "../../src/migration/guest.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest } from "../../src/migration/snapshot.js";
import {
  NVDISK_CONFIGS as CONFIGS, NVDISK_TEST_MAX_CYCLES as MAX_CYCLES, NVDISK_TEST_RAM as RAM, bufferContents, mmioStore as mmio, nvdiskTestImage as disk,
  onEveryConfig, readEntries, settle,
} from "./nvdisk-guest.js";

/** Three pairs of queues (the first setup, and the fresh ones after each reset), four data buffers, results. */
const SQ = [0x10000, 0x12000, 0x14000];
const CQ = [0x11000, 0x13000, 0x15000];
const BUF = (k: number) => 0x16000 + 0x200 * k;
const OUT = 0x18000;
/** Scratch: the handler's interrupt count, and 1 while the device sits disabled after the second drop. */
const IRQS = OUT + 0x40;
const DISABLED = OUT + 0x44;
/** The requests: [submission queue, slot, sector, buffer, tag]; 1 and 3 are dropped, 2 and 4 complete. */
const REQUESTS = [[0, 0, 1, 1, 0x111], [1, 0, 2, 2, 0x222], [1, 1, 3, 3, 0x333], [2, 0, 4, 4, 0x444]] as const;

const source = `
    .text
    .global _start
_start:
    la   t0, handler
    mtcr tvec, t0
    li   s0, ${NVDISK_BASE}
${readEntries(REQUESTS.map(([q, slot, sector, buf, tag]) => [SQ[q], slot, sector, BUF(buf), tag]))}
${mmio(R.SQ_BASE, SQ[0])}
${mmio(R.CQ_BASE, CQ[0])}
${mmio(R.QSIZE, 4)}
${mmio(R.CONTROL, 3)}
    li   t0, 3
    wrpsr t0
# Request 1, then a reset before its completion: disabled, fresh queues, enabled; request 2.
${mmio(R.SQ_TAIL, 1)}
${mmio(R.CONTROL, 0)}
${mmio(R.SQ_BASE, SQ[1])}
${mmio(R.CQ_BASE, CQ[1])}
${mmio(R.CONTROL, 3)}
${mmio(R.SQ_TAIL, 1)}
${settle(".La", 1, OUT)}
${mmio(R.CQ_HEAD, 1)}
# Request 3, then the device left disabled for a while (where the test takes its snapshot); request 4 on fresh queues.
${mmio(R.SQ_TAIL, 2)}
${mmio(R.CONTROL, 0)}
    li   t0, 1
    sw   t0, ${DISABLED}(zero)
    li   t1, 200000
.Lidle:
    addi t1, t1, -1
    bnez t1, .Lidle
    sw   zero, ${DISABLED}(zero)
${mmio(R.SQ_BASE, SQ[2])}
${mmio(R.CQ_BASE, CQ[2])}
${mmio(R.CONTROL, 3)}
${mmio(R.SQ_TAIL, 1)}
${settle(".Lb", 1, OUT + 4)}
    li   a0, 0
    out  0xF0, a0
handler:
    mfcr t0, cause
    li   t1, ${CAUSE.INTERRUPT_BASE + IRQ.NVDISK}
    bne  t0, t1, .Lfatal
    .sensitive mmio
    sw   zero, ${R.STATUS}(s0)
    lw   t0, ${IRQS}(zero)
    addi t0, t0, 1
    sw   t0, ${IRQS}(zero)
    iret
.Lfatal:
    li   a0, 77
    out  0xF0, a0
`;

const image = assemble([{ file: "disable.s", text: annotate("disable.s", source).text }]);
const elf = writeElf(image);

/** What the guest leaves: the completion queues' first slots, the buffers, CQ_TAIL after each phase, its interrupts. */
function observed(i32: Int32Array, nvdisk: { transfers: number; errors: number }) {
  const w = (pa: number) => i32[pa >>> 2];
  return {
    completions: CQ.map((cq) => [w(cq), w(cq + 4), w(cq + 8), w(cq + 12)]),
    buffers: [1, 2, 3, 4].map((k) => bufferContents(i32, BUF(k))),
    cqTails: [w(OUT), w(OUT + 4)],
    interrupts: w(IRQS),
    transfers: nvdisk.transfers,
    errors: nvdisk.errors,
  };
}

const expected = {
  // Queue 0 got request 1, queue 1 requests 2 and 3: only 2 and 4 complete, each in its own queue's first slot.
  completions: [[0, 0, 0, 0], [0x222, 0, 0, 0], [0x444, 0, 0, 0]],
  buffers: ["untouched", "sector 2", "untouched", "sector 4"],
  cqTails: [1, 1],
  interrupts: 2,
  transfers: 2,
  errors: 0,
};

describe("nvdisk: a disable drops the request in flight", () => {
  onEveryConfig("the dropped requests never complete, the next ones complete with their own tags", image, (m) => {
    expect(observed(m.memory.i32, m.nvdisk!)).toEqual(expected);
  });

  it.each(CONFIGS)("%s (passthrough: %s): a snapshot while disabled after a drop restores and ends as the uninterrupted run", (backend, passthrough) => {
    const boot = () => bootGuest(elf, readElf(elf), backend, { nvdisk: memoryDisk(disk()), passthrough, ramSize: RAM });
    const ref = boot();
    const refResult = ref.finish(MAX_CYCLES);
    const refStats = ref.machine.stats();
    const refSeen = observed(ref.machine.memory.i32, ref.machine.nvdisk!);
    expect(refSeen).toEqual(expected);
    ref.machine.memory.recycle();

    const g = boot();
    let n = 0;
    for (; n < MAX_CYCLES && g.machine.memory.i32[DISABLED >>> 2] === 0; n += 20_000) expect(runToSafePoint(g, n).reached).toBe(true);
    const snap = captureSnapshot(g);
    g.machine.memory.recycle();
    expect(snap.machine.nvdisk!.control & 1).toBe(0);
    expect(snap.machine.nvdisk!.op).toBe(0); // request 3 was dropped, not left to complete later
    // The check a snapshot's device state must pass takes this state and refuses a request in flight on it.
    expect(nvdiskStateProblem(snap.machine.nvdisk)).toBeUndefined();
    expect(nvdiskStateProblem({ ...snap.machine.nvdisk!, op: NVDISK_OP.READ, completesAt: n + 1 })).toBe("op");
    const { guest } = restoreGuest(parseSnapshot(encodeSnapshot(snap, nodeZlib), "s.snap", nodeZlib), backend);
    expect(guest.finish(MAX_CYCLES)).toEqual(refResult);
    expect(guest.machine.stats()).toEqual(refStats);
    expect(observed(guest.machine.memory.i32, guest.machine.nvdisk!)).toEqual(refSeen);
    guest.machine.memory.recycle();
  });
});
