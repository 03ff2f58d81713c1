// The nvdisk's error completions take the device's latency, as its requests
// do (src/machine/devices/nvdisk.ts; docs/machine.md "MMIO: the nvdisk"):
// a submission entry the device cannot read (the submission queue runs past
// the end of RAM) completes DISK_LATENCY_CYCLES after its doorbell, at the
// same cycle as a readable entry with a bad op — it used to complete at
// once, so a guest could tell in no time whether an address was RAM. Real
// guest code on the real machine, under the interpreter and the JIT, and
// from a saved and restored device while the failing request is in flight.
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { DISK_LATENCY_CYCLES, memoryDisk } from "../../src/machine/devices/disk.js";
import { NVDISK_BASE, NVDISK_ERR, nvdiskStateProblem } from "../../src/machine/devices/nvdisk.js";
import { loadImage } from "../../src/machine/loader.js";
import { Machine, type Engine } from "../../src/machine/machine.js";

const RAM = 1024 * 1024;
const CQ = 0x9000;
const OUT = 0xc000;

/** Queue size 4 at `sq`, one entry submitted; OUT = cycles from the doorbell until CQ_TAIL moved. */
const guest = (sq: number) => `
    .text
    .global _start
_start:
    li   s0, ${NVDISK_BASE}
    li   s1, ${NVDISK_BASE + 0x1000}
    li   t0, ${sq}
    sw   t0, 8(s0)
    li   t0, ${CQ}
    sw   t0, 12(s0)
    li   t0, 4
    sw   t0, 16(s0)
    li   t0, 1
    sw   t0, 20(s0)
    in   s2, 0x22               # the cycle counter at the doorbell
    sw   t0, 0(s1)
.Lwait:
    lw   t0, 8(s1)
    beqz t0, .Lwait
    in   t0, 0x22
    sub  t0, t0, s2
    li   t1, ${OUT}
    sw   t0, 0(t1)
    out  0xF0, zero
`;

function machine(sq: number, engine: Engine) {
  const m = new Machine({ ramSize: RAM, engine, jitThreshold: 1, nvdisk: memoryDisk(new Uint8Array(8 * 512)) });
  loadImage(m, assemble([{ file: "nv.s", text: guest(sq) }]));
  return m;
}

/** The run's ending, the cycles the guest measured and the completion entry (tag, status). */
function run(sq: number, engine: Engine) {
  const m = machine(sq, engine);
  const result = m.run(10_000_000);
  const w = (pa: number) => m.memory.i32[pa >>> 2];
  return { result, elapsed: w(OUT), completion: [w(CQ), w(CQ + 4)], errors: m.nvdisk!.errors };
}

describe("nvdisk: an error completion takes the device's latency", () => {
  for (const engine of ["interp", "jit"] as const) {
    it(`${engine}: an entry the device cannot read completes when a bad op does, DISK_LATENCY_CYCLES after the doorbell`, () => {
      const unreadable = run(RAM - 8, engine); // the entry's 16 bytes run past the end of RAM
      const badOp = run(0x8000, engine); // zeros: op 0
      expect(unreadable.result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(unreadable.completion).toEqual([-1, NVDISK_ERR.ENTRY]);
      expect(badOp.completion).toEqual([0, NVDISK_ERR.REQUEST]);
      expect([unreadable.errors, badOp.errors]).toEqual([1, 1]);
      expect(unreadable.elapsed).toBeGreaterThanOrEqual(DISK_LATENCY_CYCLES);
      expect(unreadable.elapsed).toBe(badOp.elapsed);
    });
  }

  it("a saved device with the failing request in flight is a valid state, and completes it as the original does", () => {
    const original = run(RAM - 8, "interp");
    const m = machine(RAM - 8, "interp");
    expect(m.runUntil(DISK_LATENCY_CYCLES / 2)).toBe(false); // past the doorbell, before the completion
    const saved = m.nvdisk!.saveState();
    expect(saved.op).toBe(NVDISK_ERR.ENTRY);
    expect(nvdiskStateProblem(saved)).toBeUndefined();
    expect(nvdiskStateProblem({ ...saved, op: NVDISK_ERR.DMA })).toBe("op");
    m.nvdisk!.restoreState(JSON.parse(JSON.stringify(saved)));
    expect(m.run(10_000_000)).toEqual(original.result);
    expect(m.memory.i32.slice(CQ >>> 2, (CQ >>> 2) + 2)).toEqual(Int32Array.from(original.completion));
    expect(m.memory.i32[OUT >>> 2]).toBe(original.elapsed);
  });
});
