// The nvdisk's queue bases are the queues' geometry, like QSIZE: written
// only while the device is disabled, ignored while it is enabled
// (src/machine/devices/nvdisk.ts; docs/machine.md "MMIO: the nvdisk"), as
// NVMe defines ASQ/ACQ only while CC.EN = 0. Before 2 Dec 2026 a driver (or
// a hostile guest) moving CQ_BASE with a request in flight got its completion
// written at the new address, and moving SQ_BASE mid-queue made the device
// read the next entries from elsewhere. A real annotated kernel moves both
// while enabled — CQ_BASE with a request in flight, SQ_BASE with one in
// flight and one more submitted behind it — then moves them while disabled;
// on bare metal, hvm (emulated and passed through) and passed-through xen and
// l4, under the interpreter and the JIT.
import { describe, expect } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { NVDISK_BASE, NVDISK_REG as R, NVDISK_STATUS } from "../../src/machine/devices/nvdisk.js";
import { bufferContents, mmioStore as store, onEveryConfig, readEntries, settle } from "./nvdisk-guest.js";

/**
 * Three pairs of queues: 0 set up first; 1 what the kernel moves the bases to while enabled (its entries
 * decoys, which must never run); 2 what it moves them to while disabled (then used).
 */
const SQ = [0x10000, 0x12000, 0x14000];
const CQ = [0x11000, 0x13000, 0x15000];
const BUF = (k: number) => 0x16000 + 0x200 * k;
const OUT = 0x18000;
/** The read requests: [submission queue, slot, sector, buffer, tag]. Queue 1's are decoys reading sector 7 into buffer 7. */
const ENTRIES = [
  [0, 0, 1, 1, 0x111], [0, 1, 2, 2, 0x222], [0, 2, 3, 3, 0x333],
  [1, 0, 7, 7, 0xbad0], [1, 1, 7, 7, 0xbad1], [1, 2, 7, 7, 0xbad2],
  [2, 0, 4, 4, 0x444],
] as const;

/** A load of the register at `off`, kept at `out`. */
const load = (off: number, out: number) => ["    .sensitive mmio", `    lw   t0, ${off}(s0)`, `    sw   t0, ${out}(zero)`].join("\n");
/** STATUS's busy bit (the pending bit stays set from earlier completions: nothing acknowledges them). */
const busy = (out: number) => ["    .sensitive mmio", `    lw   t0, ${R.STATUS}(s0)`, `    andi t0, t0, ${NVDISK_STATUS.BUSY}`, `    sw   t0, ${out}(zero)`].join("\n");
/** What the kernel keeps at OUT + 4k, in this order. */
const KEPT = ["busyA", "sqBaseA", "cqBaseA", "qsizeA", "cqTailA", "busyB", "sqBaseB", "cqTailB", "sqBaseC", "cqBaseC", "cqTailC"] as const;
const at = (name: (typeof KEPT)[number]) => OUT + 4 * KEPT.indexOf(name);

const source = `
    .text
    .global _start
_start:
    la   t0, fatal
    mtcr tvec, t0
    li   s0, ${NVDISK_BASE}
${readEntries(ENTRIES.map(([q, slot, sector, buf, tag]) => [SQ[q], slot, sector, BUF(buf), tag]))}
${store(R.SQ_BASE, SQ[0])}
${store(R.CQ_BASE, CQ[0])}
${store(R.QSIZE, 4)}
${store(R.CONTROL, 1)}
# A: one request, then the geometry rewritten while it is in flight (all three registers, one rule).
${store(R.SQ_TAIL, 1)}
${store(R.CQ_BASE, CQ[1])}
${store(R.QSIZE, 8)}
${busy(at("busyA"))}
${load(R.SQ_BASE, at("sqBaseA"))}
${load(R.CQ_BASE, at("cqBaseA"))}
${load(R.QSIZE, at("qsizeA"))}
${settle(".La", 1, at("cqTailA"))}
${store(R.CQ_HEAD, 1)}
# B: two more requests, SQ_BASE moved while the first of them is in flight and the second waits its turn.
${store(R.SQ_TAIL, 3)}
${store(R.SQ_BASE, SQ[1])}
${busy(at("busyB"))}
${load(R.SQ_BASE, at("sqBaseB"))}
${settle(".Lb", 3, at("cqTailB"))}
${store(R.CQ_HEAD, 3)}
# C: disabled, both bases moved (taken now), enabled again: the next request runs on the new queues.
${store(R.CONTROL, 0)}
${store(R.SQ_BASE, SQ[2])}
${store(R.CQ_BASE, CQ[2])}
${load(R.SQ_BASE, at("sqBaseC"))}
${load(R.CQ_BASE, at("cqBaseC"))}
${store(R.CONTROL, 1)}
${store(R.SQ_TAIL, 1)}
${settle(".Lc", 1, at("cqTailC"))}
    li   a0, 0
    out  0xF0, a0
fatal:
    li   a0, 77
    out  0xF0, a0
`;

const image = assemble([{ file: "queue-bases.s", text: annotate("queue-bases.s", source).text }]);

/** What the guest leaves: every completion queue's four slots, the buffers, what it kept, the device's counters. */
function observed(i32: Int32Array, nvdisk: { transfers: number; errors: number }) {
  const w = (pa: number) => i32[pa >>> 2];
  return {
    completions: CQ.map((cq) => [0, 1, 2, 3].map((k) => [w(cq + 8 * k), w(cq + 8 * k + 4)])),
    buffers: [1, 2, 3, 4, 7].map((k) => bufferContents(i32, BUF(k))),
    kept: Object.fromEntries(KEPT.map((name) => [name, w(at(name))])),
    transfers: nvdisk.transfers,
    errors: nvdisk.errors,
  };
}

const none = [0, 0];
const expected = {
  completions: [
    // A's request and both of B's complete in the first queue, each from its own entry, in order.
    [[0x111, 0], [0x222, 0], [0x333, 0], none],
    // Never written: the completion queue did not move under A's request.
    [none, none, none, none],
    // C's request, on the queues set up while disabled.
    [[0x444, 0], none, none, none],
  ],
  // Sectors 1-4 into their buffers; no decoy ran (buffer 7 untouched).
  buffers: ["sector 1", "sector 2", "sector 3", "sector 4", "untouched"],
  kept: {
    busyA: NVDISK_STATUS.BUSY, sqBaseA: SQ[0], cqBaseA: CQ[0], qsizeA: 4, cqTailA: 1,
    busyB: NVDISK_STATUS.BUSY, sqBaseB: SQ[0], cqTailB: 3,
    sqBaseC: SQ[2], cqBaseC: CQ[2], cqTailC: 1,
  },
  transfers: 4,
  errors: 0,
};

describe("nvdisk: the queue bases take writes only while the device is disabled", () => {
  onEveryConfig("moved while enabled, ignored; moved while disabled, used", image, (m) => {
    expect(observed(m.memory.i32, m.nvdisk!)).toEqual(expected);
  });
});
