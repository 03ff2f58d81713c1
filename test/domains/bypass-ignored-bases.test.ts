// The monitors' check of a queue base (checkBypassAccess, src/hypervisors/
// common/bypass.ts) against the device's own rule (NvdiskDevice.ignoresWrite,
// src/machine/devices/nvdisk.ts): a misaligned or out-of-RAM SQ_BASE/CQ_BASE
// written while the device is enabled is ignored by the device, so every back
// end — bare, hvm, xen and l4, emulated and passed through, both engines —
// passes it on and ends the guest exactly as bare metal does, the request
// completing at the original bases. The same bad bases written while the
// device is disabled (it would take them) are still refused by every monitor:
// a bus error for the guest, `bypass.refused` counted; bare metal takes them.
// Consumes the shared guest pieces of test/machine/nvdisk-guest.ts; the
// hostile-guest case in bypass.test.ts checks the VMM's reserved top.
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";
import { NVDISK_BASE, NVDISK_REG as R } from "../../src/machine/devices/nvdisk.js";
import { bufferContents, COUNT_AND_SKIP_HANDLER, mmioStore as store, NVDISK_TEST_MAX_CYCLES, NVDISK_TEST_RAM, nvdiskTestImage, readEntries, settle } from "../machine/nvdisk-guest.js";

const SQ = 0x10000;
const CQ = 0x11000;
const BUF = 0x16000;
const OUT = 0x18000;
/** Past guest RAM on every back end (xen's and l4's guest limit is below it). */
const BEYOND = NVDISK_TEST_RAM;
/** The bad bases: misaligned, then beyond guest RAM; each to both registers. */
const BAD = [[R.SQ_BASE, SQ + 2], [R.CQ_BASE, CQ + 2], [R.SQ_BASE, BEYOND], [R.CQ_BASE, BEYOND]] as const;
const bad = BAD.map(([off, value]) => store(off, value)).join("\n");

/** `enabled`: the bad bases come after CONTROL.ENABLE (ignored by the device); otherwise before the good ones. */
const source = (enabled: boolean) => `
    .text
    .global _start
_start:
    la   t0, handler
    mtcr tvec, t0
    li   s0, ${NVDISK_BASE}
    li   s2, 0
${readEntries([[SQ, 0, 3, BUF, 0x333]])}
${enabled ? "" : bad}
${store(R.SQ_BASE, SQ)}
${store(R.CQ_BASE, CQ)}
${store(R.QSIZE, 4)}
${store(R.CONTROL, 1)}
${enabled ? bad : ""}
${store(R.SQ_TAIL, 1)}
${settle(".Lw", 1, OUT)}
    .sensitive mmio
    lw   t0, ${R.SQ_BASE}(s0)
    sw   t0, ${OUT + 4}(zero)
    .sensitive mmio
    lw   t0, ${R.CQ_BASE}(s0)
    sw   t0, ${OUT + 8}(zero)
    out  0xF0, s2            # the exit status: how many accesses were refused (bus errors)
${COUNT_AND_SKIP_HANDLER}
`;
const build = (enabled: boolean) => assemble([{ file: "bases.s", text: annotate("bases.s", source(enabled)).text }]);

const CONFIGS = [["bare", false], ["hvm", false], ["hvm", true], ["xen", false], ["xen", true], ["l4", false], ["l4", true]] as const;

/** A run on one configuration and engine: what the guest ends with, and the refusals counted. */
function ending(enabled: boolean, backend: string, passthrough: boolean, engine: "interp" | "jit") {
  const out = runElf(build(enabled), { backend, passthrough, ramSize: NVDISK_TEST_RAM, maxCycles: NVDISK_TEST_MAX_CYCLES, nvdisk: nvdiskTestImage(), engine, jitThreshold: 1 });
  const i32 = out.machine.memory.i32;
  const seen = {
    result: out.result,
    console: out.console,
    completion: [i32[CQ >>> 2], i32[(CQ + 4) >>> 2]],
    cqTail: i32[OUT >>> 2],
    buffer: bufferContents(i32, BUF),
    bases: [i32[(OUT + 4) >>> 2], i32[(OUT + 8) >>> 2]],
    refused: out.stats.counts["bypass.refused"] ?? 0,
  };
  out.machine.memory.recycle();
  return seen;
}

describe("a queue base the nvdisk ignores (written while enabled) is passed on by every monitor", () => {
  for (const engine of ["interp", "jit"] as const) {
    for (const [backend, passthrough] of CONFIGS) {
      it(`${backend}${passthrough ? " (passed through)" : ""}, ${engine}: ends as bare metal, the request completing at the original bases`, () => {
        expect(ending(true, backend, passthrough, engine)).toEqual({
          result: { kind: "poweroff", exitCode: 0 },
          console: ending(true, "bare", false, engine).console,
          completion: [0x333, 0],
          cqTail: 1,
          buffer: "sector 3",
          bases: [SQ, CQ],
          refused: 0,
        });
      });
    }
  }
});

describe("a bad queue base the nvdisk would take (written while disabled) is still refused by the monitors", () => {
  for (const [backend, passthrough] of CONFIGS) {
    it(`${backend}${passthrough ? " (passed through)" : ""}: ${backend === "bare" ? "taken (then overwritten)" : "four bus errors, bypass.refused 4"}`, () => {
      const n = backend === "bare" ? 0 : BAD.length;
      const seen = ending(false, backend, passthrough, "interp");
      expect([seen.result, seen.refused, seen.completion, seen.bases]).toEqual([{ kind: "poweroff", exitCode: n }, n, [0x333, 0], [SQ, CQ]]);
    });
  }
});
