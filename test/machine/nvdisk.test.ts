// The memory-mapped disk (src/machine/devices/nvdisk.ts, docs/machine.md
// "MMIO: the nvdisk"): real guest code on the real machine drives the
// register window — queues, doorbell, completions by DMA after the port
// disk's latency, line 5, acknowledge — and every bad request ends in an
// error completion or a bus error, never a host exception. The same guests
// run under the interpreter and the JIT with identical results.
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { CAUSE, IRQ } from "../../src/guest-isa/registers.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";
import { DISK_LATENCY_CYCLES, memoryDisk } from "../../src/machine/devices/disk.js";
import { NVDISK_BASE, NVDISK_ERR, NVDISK_ID } from "../../src/machine/devices/nvdisk.js";
import { loadImage } from "../../src/machine/loader.js";
import { Machine, type Engine } from "../../src/machine/machine.js";
import type { Monitor } from "../../src/machine/monitor.js";

const RAM = 1024 * 1024;
/** Guest memory the tests use: queues, data buffers, and results the guest stores for the test to read. */
const SQ = 0x8000;
const CQ = 0x9000;
const BUF = 0xa000;
const OUT = 0xc000;

/**
 * Assembly prologue: the setup registers, then `body`. t6..: s0 = window
 * base, s1 = doorbell page. Queue size 4, interrupts enabled when `irq`.
 */
function guest(body: string, opts: { irq?: boolean; qsize?: number } = {}): string {
  return `
    .text
    .global _start
_start:
    la   sp, 0x7000
    la   t4, handler
    mtcr tvec, t4
    li   s0, ${NVDISK_BASE}
    li   s1, ${NVDISK_BASE + 0x1000}
    li   t0, ${SQ}
    sw   t0, 8(s0)
    li   t0, ${CQ}
    sw   t0, 12(s0)
    li   t0, ${opts.qsize ?? 4}
    sw   t0, 16(s0)
    li   t0, ${opts.irq ? 3 : 1}
    sw   t0, 20(s0)
${body}
handler:
    mfcr t0, cause
    li   t1, ${OUT + 0x100}
    sw   t0, 0(t1)
    mfcr t0, badva
    sw   t0, 4(t1)
    li   t0, 0x80
    mfcr t2, cause
    bltu t2, t0, .Lfatal
    lw   t0, 8(t1)          # interrupts taken so far
    addi t0, t0, 1
    sw   t0, 8(t1)
    sw   zero, 12(s1)       # acknowledge: lowers line 5
    iret
.Lfatal:
    li   t0, 77
    out  0xF0, t0
`;
}

/** Submits entry `slot` (op, sector, data address, tag) from registers, rings the doorbell with `slot + 1`. */
const submit = (slot: number, op: number, sector: number, dma: number, tag: number) => `
    li   t0, ${SQ + 16 * slot}
    li   t1, ${op}
    sw   t1, 0(t0)
    li   t1, ${sector}
    sw   t1, 4(t0)
    li   t1, ${dma}
    sw   t1, 8(t0)
    li   t1, ${tag}
    sw   t1, 12(t0)
    li   t1, ${slot + 1}
    sw   t1, 0(s1)
`;

/** Polls CQ_TAIL until it reaches `n`. */
let labels = 0;
const waitTail = (n: number) => {
  const l = `.Lwait${labels++}`;
  return `
${l}:
    lw   t0, 8(s1)
    li   t1, ${n}
    bne  t0, t1, ${l}
`;
};

function machineFor(text: string, engine: Engine, image?: Uint8Array, monitor?: Monitor) {
  const disk = image ?? new Uint8Array(8 * 512);
  const m = new Machine({ ramSize: RAM, engine, jitThreshold: 1, nvdisk: memoryDisk(disk) });
  if (monitor) m.attach(monitor);
  loadImage(m, assemble([{ file: "nv.s", text }]));
  return { m, disk };
}

function runBoth(text: string, image?: () => Uint8Array) {
  const runs = (["interp", "jit"] as const).map((engine) => {
    const { m, disk } = machineFor(text, engine, image?.());
    const result = m.run(50_000_000);
    return { result, regs: Array.from(m.regs), stats: m.stats(), mem: Array.from(m.memory.i32.subarray(0x8000 >> 2, 0xd000 >> 2)), disk: Array.from(disk), m };
  });
  const strip = ({ m: _m, ...rest }: (typeof runs)[number]) => rest;
  expect(strip(runs[1])).toEqual(strip(runs[0]));
  expect(runs[1].m.engine).toBe("jit");
  return runs[0];
}

const word = (r: { mem: number[] }, pa: number) => r.mem[(pa - 0x8000) >> 2];

describe("nvdisk: queues, doorbell, completions", () => {
  it("reads the ID and size, writes a sector and reads it back through the queues (polling CQ_TAIL)", () => {
    const image = () => {
      const d = new Uint8Array(8 * 512);
      d.fill(0x5a, 3 * 512, 4 * 512);
      return d;
    };
    const r = runBoth(guest(`
    lw   t0, 0(s0)
    li   t1, ${OUT}
    sw   t0, 0(t1)
    lw   t0, 4(s0)
    sw   t0, 4(t1)
    # fill BUF with 0x11223344, write it to sector 5, read sector 3 into BUF + 512
    li   t0, ${BUF}
    li   t1, 0x11223344
    li   t2, ${BUF + 512}
.L2:
    sw   t1, 0(t0)
    addi t0, t0, 4
    bne  t0, t2, .L2
${submit(0, 2, 5, BUF, 41)}
${submit(1, 1, 3, BUF + 512, 42)}
${waitTail(2)}
    li   t1, ${OUT}
    in   t0, 0x22
    sw   t0, 8(t1)
    lw   t0, 12(s1)
    sw   t0, 12(t1)
    sw   zero, 12(s1)
    lw   t0, 12(s1)
    sw   t0, 16(t1)
    out  0xF0, zero
`), image);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(word(r, OUT) >>> 0).toBe(NVDISK_ID);
    expect(word(r, OUT + 4)).toBe(8);
    // Completions in order: tag, status 0.
    expect([word(r, CQ), word(r, CQ + 4), word(r, CQ + 8), word(r, CQ + 12)]).toEqual([41, 0, 42, 0]);
    expect(r.disk.slice(5 * 512, 5 * 512 + 4)).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(word(r, BUF + 512)).toBe(0x5a5a5a5a);
    // One request at a time, each DISK_LATENCY_CYCLES after it starts: the second completes 2 latencies after the doorbell.
    expect(word(r, OUT + 8)).toBeGreaterThan(2 * DISK_LATENCY_CYCLES);
    expect(word(r, OUT + 8)).toBeLessThan(2 * DISK_LATENCY_CYCLES + 20_000);
    expect(word(r, OUT + 12) & 1).toBe(1); // pending until acknowledged
    expect(word(r, OUT + 16) & 1).toBe(0);
  });

  it("completes DISK_LATENCY_CYCLES after the doorbell and raises line 5; hlt waits for it", () => {
    const r = runBoth(guest(`
${submit(0, 1, 0, BUF, 7)}
    in   s2, 0x22
    sti
.L3:
    li   t1, ${OUT + 0x100}
    lw   t0, 8(t1)
    bne  t0, zero, .L4
    hlt
    j    .L3
.L4:
    in   t0, 0x22
    sub  t0, t0, s2
    li   t1, ${OUT}
    sw   t0, 0(t1)
    out  0xF0, zero
`, { irq: true }));
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(word(r, OUT + 0x100)).toBe(CAUSE.INTERRUPT_BASE + IRQ.NVDISK);
    expect(r.stats.interrupts[IRQ.NVDISK]).toBe(1);
    const waited = word(r, OUT);
    expect(waited).toBeGreaterThanOrEqual(DISK_LATENCY_CYCLES - 10);
    expect(waited).toBeLessThanOrEqual(DISK_LATENCY_CYCLES + 2_000);
    expect(r.stats.counts.idleCycles).toBeGreaterThan(DISK_LATENCY_CYCLES / 2);
  });

  it("bad requests get error completions: unknown op, sector beyond the image, data outside RAM, unaligned data", () => {
    const r = runBoth(guest(`
${submit(0, 9, 0, BUF, 1)}
${submit(1, 1, 8, BUF, 2)}
${submit(2, 1, 0, RAM - 256, 3)}
${waitTail(3)}
    sw   t0, 4(s1)            # consumed all three: CQ_HEAD = 3
${submit(3, 2, 0, 0xfffffe00, 4)}
${waitTail(0)}
    out  0xF0, zero
`));
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect([word(r, CQ), word(r, CQ + 4)]).toEqual([1, NVDISK_ERR.REQUEST]);
    expect([word(r, CQ + 8), word(r, CQ + 12)]).toEqual([2, NVDISK_ERR.REQUEST]);
    expect([word(r, CQ + 16), word(r, CQ + 20)]).toEqual([3, NVDISK_ERR.DMA]);
    expect([word(r, CQ + 24), word(r, CQ + 28)]).toEqual([4, NVDISK_ERR.DMA]);
    expect(r.disk.every((b) => b === 0)).toBe(true);
  });

  it("a submission queue outside RAM gives an error completion; a completion queue outside RAM halts the device", () => {
    const r = runBoth(guest(`
    sw   zero, 20(s0)        # disable, move the SQ off the end of RAM, enable
    li   t0, ${RAM - 16}
    sw   t0, 8(s0)
    li   t0, 1
    sw   t0, 20(s0)
    li   t0, 2
    sw   t0, 0(s1)           # two entries: the first is the last 16 bytes of RAM, the second beyond
${waitTail(2)}
    li   t1, ${OUT}
    sw   zero, 20(s0)
    li   t0, ${SQ}
    sw   t0, 8(s0)
    li   t0, 0x7ffff000
    sw   t0, 12(s0)          # completion queue beyond RAM
    li   t0, 1
    sw   t0, 20(s0)
${submit(0, 1, 0, BUF, 9)}
.L5:
    lw   t0, 12(s1)
    andi t0, t0, 4
    beq  t0, zero, .L5
    lw   t0, 12(s1)
    li   t1, ${OUT}
    sw   t0, 0(t1)
    out  0xF0, zero
`));
    expect([r.result, word(r, OUT + 0x100), word(r, OUT + 0x104)]).toEqual([{ kind: "poweroff", exitCode: 0 }, 0, 0]);
    // The in-RAM entry was zeros (op 0: a bad request, tag 0); the other could not be read (tag -1).
    expect([word(r, CQ), word(r, CQ + 4), word(r, CQ + 8), word(r, CQ + 12)]).toEqual([0, NVDISK_ERR.REQUEST, -1, NVDISK_ERR.ENTRY]);
    expect(word(r, OUT) & 4).toBe(4); // halted
  });

  it("holds a request back while the completion queue is full, starts it when CQ_HEAD moves", () => {
    // Queue size 4: at most 3 completions unconsumed. The fourth request waits for CQ_HEAD.
    const r = runBoth(guest(`
${submit(0, 1, 0, BUF, 1)}
${submit(1, 1, 1, BUF, 2)}
${submit(2, 1, 2, BUF, 3)}
${waitTail(3)}
${submit(3, 1, 3, BUF, 4)}
    in   s2, 0x22
.L6:
    in   t0, 0x22
    sub  t0, t0, s2
    li   t1, ${3 * DISK_LATENCY_CYCLES}
    bltu t0, t1, .L6
    lw   t0, 8(s1)
    li   t1, ${OUT}
    sw   t0, 0(t1)
    li   t0, 3
    sw   t0, 4(s1)
${waitTail(0)}
    out  0xF0, zero
`));
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(word(r, OUT)).toBe(3);
    expect([word(r, CQ), word(r, CQ + 8), word(r, CQ + 16), word(r, CQ + 24)]).toEqual([1, 2, 3, 4]);
  });
});

describe("nvdisk: the machine's MMIO rules", () => {
  const once = (body: string, engine: Engine = "interp") => {
    const { m } = machineFor(guest(body), engine);
    return { result: m.run(5_000_000), m };
  };

  it("a halfword or byte access, an atomic, or a fetch from the window is a bus error at the instruction", () => {
    for (const insn of ["lh t0, 0(s0)", "lbu t0, 0(s0)", "sb t0, 0(s1)", "sh t0, 0(s1)", "amoswap t0, t0, 0(s1)", "jalr zero, 0(s0)"]) {
      for (const engine of ["interp", "jit"] as const) {
        const { m } = once(`${insn}\n    out 0xF0, zero\n`, engine);
        expect(m.memory.i32[(OUT + 0x100) >> 2], insn).toBe(CAUSE.BUS_ERROR);
      }
    }
  });

  it("a user-mode access on bare metal is a bus error; an unused register reads 0", () => {
    const { m } = once(`
    lw   t0, 0x40(s0)
    li   t1, ${OUT}
    sw   t0, 0(t1)
    la   t0, user
    mtcr epc, t0
    mtcr epsr, zero
    iret
user:
    lw   t0, 0(s0)
`);
    expect(m.memory.i32[OUT >> 2]).toBe(0);
    expect(m.memory.i32[(OUT + 0x100) >> 2]).toBe(CAUSE.BUS_ERROR);
    expect(m.memory.i32[(OUT + 0x104) >> 2] >>> 0).toBe(NVDISK_BASE);
  });

  it("each access counts as a device access and is charged deviceAccess", () => {
    const c = defaultCostModel();
    const a = new Machine({ ramSize: RAM, nvdisk: memoryDisk(new Uint8Array(512)) });
    loadImage(a, assemble([{ file: "a.s", text: `.text\n.global _start\n_start:\n li s0, ${NVDISK_BASE}\n lw t0, 0(s0)\n lw t0, 4(s0)\n out 0xF0, zero\n` }]));
    a.run();
    const s = a.stats();
    expect(s.deviceAccesses).toBe(3);
    expect(s.events.deviceAccess).toBe(3);
    expect(s.cycles).toBe(2 * c.alu + 2 * c.load + c.system + 3 * c.deviceAccess);
  });

  it("without an nvdisk the window is a bus error and port 0x34 reads open bus (-1)", () => {
    const m = new Machine({ ramSize: RAM });
    loadImage(m, assemble([{ file: "b.s", text: `.text\n.global _start\n_start:\n la t4, h\n mtcr tvec, t4\n in a0, 0x34\n li s0, ${NVDISK_BASE}\n lw t0, 0(s0)\n out 0xF0, zero\nh:\n mfcr t0, cause\n out 0xF0, t0\n` }]));
    expect(m.run()).toEqual({ kind: "poweroff", exitCode: CAUSE.BUS_ERROR });
    expect(m.regs[1]).toBe(-1);
    const n = new Machine({ ramSize: RAM, nvdisk: memoryDisk(new Uint8Array(512)) });
    loadImage(n, assemble([{ file: "c.s", text: `.text\n.global _start\n_start:\n in a0, 0x34\n out 0xF0, zero\n` }]));
    n.run();
    expect(n.regs[1] >>> 0).toBe(NVDISK_ID);
  });

  it("reaches the window through the guest's page tables (paging on), with no fast TLB tag", () => {
    // PD at 0x20000, one page table at 0x21000 mapping VA 0x400000 → the setup page, 0x401000 → the doorbell page; code identity.
    const { m } = machineFor(`
    .text
    .global _start
_start:
    li   t0, 0x20000
    li   t1, 0x21001
    sw   t1, 4(t0)          # PDE 1 → page table (covers 0x400000–0x7FFFFF)
    li   t1, 0x22001
    sw   t1, 0(t0)          # PDE 0 → identity table for the code and data
    li   t2, 0x22000
    li   t3, 0
    li   t4, 0x3
.L7:
    or   t1, t3, t4
    sw   t1, 0(t2)
    addi t2, t2, 4
    li   t1, 0x1000
    add  t3, t3, t1
    li   t1, 0x100000
    bltu t3, t1, .L7
    li   t2, 0x21000
    li   t1, ${NVDISK_BASE + 3}
    sw   t1, 0(t2)
    li   t1, ${NVDISK_BASE + 0x1000 + 3}
    sw   t1, 4(t2)
    mtcr ptbr, t0
    li   t0, 1
    mtcr pgctl, t0
    li   s0, 0x400000
    lw   a0, 0(s0)
    lw   a1, 0(s0)
    li   t0, ${OUT}
    sw   a0, 0(t0)
    out  0xF0, zero
`, "interp");
    expect(m.run(5_000_000)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(m.memory.i32[OUT >> 2] >>> 0).toBe(NVDISK_ID);
    expect(m.stats().deviceAccesses).toBe(3);
    const slot = (0x400000 >>> 12) & 1023;
    expect(m.mmu.tlb.page[slot]).toBe(0x400000);
    expect(m.mmu.tlb.tagReadSup[slot]).not.toBe(0x400000); // no fast tag: every access takes the slow path
  });
});
