// The in-place VMM's protection domain on xen and l4 (docs/protection.md):
// ordinary kernel code that reads or writes the VMM's shared state gets a
// protection fault (cause 10) delivered to its trap handler; with
// --no-protect the same store goes through; bare metal has no VMM (and no
// window). The bundled kernel, whose rewritten sites use that state all the
// time, prints the same and ends the same on every back end with the domain
// on and off; only xen and l4 check anything.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { backends, runElf } from "../../src/hypervisors/index.js";

/** Kernel code: a trap handler that powers off with 100 + cause, then `body`, then power off with 0. */
const kernel = (body: string) => `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
${body}
    li   a0, 0
    out  0xF0, a0
handler:
    mfcr t0, cause
    addi a0, t0, 100
    out  0xF0, a0
`;

const run = (body: string, backend: string, protect = true) =>
  runElf(assemble([{ file: "vmm-domain.s", text: kernel(body) }]), { backend, maxCycles: 5_000_000, protect });

const STORE = `
    li   a1, 0xFFFE1000         # the shared-info page: the virtual psr
    li   t1, 0x7
    sw   t1, 0(a1)`;
const LOAD = `
    li   a1, 0xFFFE1000
    lw   t1, 0(a1)`;

describe("the in-place VMM's domain", () => {
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: kernel code storing to or loading from the shared state gets cause 10; --no-protect lets the store through`, () => {
      for (const body of [STORE, LOAD]) {
        const out = run(body, hv);
        expect(out.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
        expect(out.stats.exceptions["protection-fault"]).toBe(1);
        expect(run(body, hv, false).result).toEqual({ kind: "poweroff", exitCode: 0 });
      }
    });
  }

  it("bare: no VMM, no domain: the window is no memory at all (bus error), protection or not", () => {
    for (const protect of [true, false]) expect(run(STORE, "bare", protect).result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.BUS_ERROR });
  });
});

describe("the bundled kernel with the VMM's domain on and off", () => {
  const image = buildKernel({ workload: "mixed" }).image;
  const go = (backend: string, protect: boolean) => runElf(image, { backend, protect, maxCycles: 400_000_000, disk: kernelDisk() });
  for (const hv of backends.keys()) {
    it(`${hv}: the same console and ending${hv === "xen" || hv === "l4" ? "; the rewritten sites' accesses are checked" : "; nothing checked, identical counters"}`, () => {
      const on = go(hv, true);
      const off = go(hv, false);
      expect(on.console).toBe(off.console);
      expect(on.result).toEqual(off.result);
      if (hv === "xen" || hv === "l4") {
        expect(on.result).toEqual({ kind: "poweroff", exitCode: 0 });
        expect(on.stats.counts["protection.checks"]).toBeGreaterThan(1000);
        expect(on.stats.exceptions["protection-fault"]).toBeUndefined();
        expect(on.stats.cycles).toBeGreaterThanOrEqual(off.stats.cycles);
      } else {
        expect(on.stats).toEqual(off.stats);
      }
    });
  }
});
