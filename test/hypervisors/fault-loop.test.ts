// Issue 12 item 10: a guest whose trap handler returns straight into the
// faulting instruction is stopped as a fault loop, with the same diagnosis,
// on every back end — including trap, xen and l4, where the virtual CPU
// reflects the fault itself (common/virtual-cpu.ts) and used to bypass the
// machine's loop detector. Real guests (annotated, assembled) on the real
// emulator.
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { backends, runElf } from "../../src/hypervisors/index.js";
import { FAULT_LOOP_LIMIT } from "../../src/machine/machine.js";

const BACKENDS = [...backends.keys()];

function build(text: string) {
  return assemble([{ file: "loop.s", text: annotate("loop.s", text).text }]);
}

/** The kernel faults (misaligned load) and its handler irets straight back to it. */
const KERNEL_LOOP = `
    .text
    .global _start
_start:
    la   t0, handler
    mtcr tvec, t0
    li   t1, 2
    lw   a0, 0(t1)              # misaligned: faults forever
    li   a0, 0
    out  0xF0, a0
handler:
    iret
`;

/** The same from a user process: a load from a page the kernel never mapped, retried forever. */
const USER_LOOP = `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
    la   t0, user
    mtcr epc, t0
    mtcr epsr, zero             # user mode
    iret
user:
    li   t1, 0x7FFFF000         # beyond RAM: a bus error
    lw   a0, 0(t1)
    syscall
handler:
    mfcr t2, cause
    li   t3, 7
    beq  t2, t3, .Lexit
    iret
.Lexit:
    out  0xF0, zero
`;

describe("a handler that returns into the faulting instruction", () => {
  for (const [what, text, cause] of [["in the kernel", KERNEL_LOOP, "misaligned"], ["in a user process", USER_LOOP, "bus-error"]] as const) {
    it(`${what}: every back end stops it as a fault loop with the same message`, () => {
      const image = build(text);
      for (const backend of BACKENDS) {
        const out = runElf(image, { backend, maxCycles: 20_000_000 });
        const r = out.result;
        expect(r.kind, backend).toBe("stopped");
        if (r.kind !== "stopped") continue;
        expect(r.reason, backend).toBe("fault-loop");
        expect(r.message, backend).toBe(`the same ${cause} ${FAULT_LOOP_LIMIT} times in a row without progress`);
        expect(r.exitCode, backend).toBe(125);
        expect(r.diagnosis, backend).toMatch(new RegExp(`cause +\\d+ \\(${cause}\\)`));
        expect(r.diagnosis, backend).toMatch(/<-- faulted here/);
        // Stopped by the detector, long before the budget: FAULT_LOOP_LIMIT round trips.
        expect(out.stats.cycles, backend).toBeLessThan(5_000_000);
      }
    });
  }

  it("a handler that makes progress is not a loop (the detector counts only repeats of one fault)", () => {
    // The fault alternates between two addresses: never the same fault twice in a row.
    const image = build(`
    .text
    .global _start
_start:
    la   t0, handler
    mtcr tvec, t0
    li   s0, 600
.Lagain:
    li   t1, 2
    lw   a0, 0(t1)
    li   t1, 6
    lw   a0, 0(t1)
    addi s0, s0, -1
    bnez s0, .Lagain
    out  0xF0, zero
handler:
    mfcr t4, epc
    addi t4, t4, 4
    mtcr epc, t4
    iret
`);
    for (const backend of BACKENDS) expect(runElf(image, { backend, maxCycles: 50_000_000 }).result, backend).toEqual({ kind: "poweroff", exitCode: 0 });
  });
});
