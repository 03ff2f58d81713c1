// Guest-visible protection domains (docs/protection.md, "Mondrix"): the
// memory supervisor's ports from real guest code (definitions and grants, and
// what it refuses), the Mondrix kernel variant isolating its disk driver
// (same result with protection on and off, in the interpreter and the JIT),
// and a short fault-injection smoke run (the long campaign is
// scripts/inject-campaign.sh).
import { describe, expect, it } from "vitest";
import { buildMondrixKernel, injectOnce, goldenRun, MONDRIX_DISK_BYTES, runCampaign } from "../../src/cli/inject/fault-injection.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { runElf } from "../../src/hypervisors/index.js";
import { SUPERVISOR_ERROR } from "../../src/machine/protection/supervisor.js";

// Results land in words at RESULTS: define, overlap, outside memory, not yours, module's own call, then the cause of the module's store.
const RESULTS = 0x30000;
const SUPERVISOR_GUEST = `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
    li   s0, ${RESULTS}
    la   a0, module
    la   a1, module_end
    out  0x50, a0
    out  0x51, a1
    li   t0, 1
    out  0x54, t0                # DEFINE the module's domain
    in   s1, 0x54
    sw   s1, 0(s0)
    addi a0, a0, 4
    out  0x50, a0
    out  0x54, t0                # DEFINE again over part of it: overlap
    in   t1, 0x54
    sw   t1, 4(s0)
    out  0x50, s1                # GRANT the module ...
    li   t1, 0x3FFF000           # ... a page reaching past the top of 64 MiB
    out  0x51, t1
    li   t1, 0x2000
    out  0x52, t1
    li   t1, 1
    out  0x53, t1
    li   t0, 2
    out  0x54, t0
    in   t1, 0x54
    sw   t1, 8(s0)
    li   t1, 7                   # GRANT on a domain that does not exist
    out  0x50, t1
    li   t1, 0x20000
    out  0x51, t1
    li   t1, 16
    out  0x52, t1
    out  0x54, t0
    in   t1, 0x54
    sw   t1, 12(s0)
    out  0x50, s1                # GRANT the module read-only access to the results page (accepted)
    out  0x51, s0
    li   t1, 4096
    out  0x52, t1
    li   t1, 1
    out  0x53, t1
    out  0x54, t0
    in   t1, 0x54
    sw   t1, 16(s0)
    call module
    li   a0, 0
    out  0xF0, a0
handler:
    mfcr t0, cause
    sw   t0, 28(s0)              # (the kernel's own store: allowed)
    mfcr t0, epc
    addi t0, t0, 4
    mtcr epc, t0
    iret

module:                          # the module's code: its own supervisor call is refused ...
    out  0x50, zero
    li   t1, 0x20000
    out  0x51, t1
    li   t1, 16
    out  0x52, t1
    li   t1, 3
    out  0x53, t1
    li   t1, 2
    out  0x54, t1
    in   t1, 0x54
    li   t2, 0x20000
    sw   t1, 0(t2)               # (not a restricted page: the module may write it)
    sw   t1, 24(s0)              # ... and it may not write the kernel's results: cause 10
    ret
module_end:
`;

describe("the memory supervisor's ports", () => {
  for (const engine of ["interp", "jit"] as const) {
    it(`define, grant, and every refusal, from real guest code (${engine})`, () => {
      const out = runElf(assemble([{ file: "supervisor.s", text: SUPERVISOR_GUEST }]), { backend: "bare", maxCycles: 1_000_000, engine });
      expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
      const r = (i: number) => out.machine.memory.i32[(RESULTS >> 2) + i];
      expect(r(0)).toBe(1); // the module's domain
      expect(r(1)).toBe(SUPERVISOR_ERROR.OVERLAP);
      expect(r(2)).toBe(SUPERVISOR_ERROR.OUTSIDE_MEMORY);
      expect(r(3)).toBe(SUPERVISOR_ERROR.NOT_YOURS);
      expect(r(4)).toBe(0);
      expect(out.machine.memory.i32[0x20000 >> 2]).toBe(SUPERVISOR_ERROR.WRONG_DOMAIN); // the module's own call
      expect(r(6)).toBe(0); // its store never happened ...
      expect(r(7)).toBe(CAUSE.PROTECTION_FAULT); // ... it was a protection fault
      expect(out.stats.exceptions["protection-fault"]).toBe(1);
    });
  }

  it("with protection off the same calls succeed and nothing is enforced", () => {
    const out = runElf(assemble([{ file: "supervisor.s", text: SUPERVISOR_GUEST }]), { backend: "bare", maxCycles: 1_000_000, protect: false });
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(out.machine.memory.i32[(RESULTS >> 2) + 7]).toBe(0);
    expect(out.stats.exceptions["protection-fault"]).toBeUndefined();
  });
});

describe("the Mondrix kernel variant (fixtures/mondrix)", () => {
  const image = buildMondrixKernel();
  const go = (protect: boolean, engine: "interp" | "jit" = "interp") =>
    runElf(image, { backend: "bare", protect, engine, jitThreshold: 1, disk: new Uint8Array(MONDRIX_DISK_BYTES), maxCycles: 100_000_000 });

  it("passes its self-check with its driver isolated and without, the same in the interpreter and the JIT", () => {
    const on = go(true);
    const off = go(false);
    for (const out of [on, off]) {
      expect(out.console).toBe("selfcheck: ok\n");
      expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
    }
    expect(on.stats.counts["protection.checks"]).toBeGreaterThan(10_000);
    expect(off.stats.counts["protection.checks"]).toBeUndefined();
    expect(on.machine.protection.domainCount).toBe(2);
    expect(go(true, "jit").stats).toEqual(on.stats);
  });

  it("fault injection: same seed, same run; with protection no silent corruption, and some faults caught", () => {
    const golden = goldenRun(image, true);
    expect(injectOnce(image, golden, 4, true)).toEqual(injectOnce(image, golden, 4, true));
    const c = runCampaign({ runs: 9, firstSeed: 1, arms: [true, false] });
    expect(c.arms.on.total.silent).toBe(0);
    expect(c.arms.on.total.protection).toBeGreaterThan(0);
    expect(c.arms.off.total.protection).toBe(0);
    const sum = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
    expect(sum(c.arms.on.total)).toBe(9);
    expect(sum(c.arms.off.total)).toBe(9);
  });
});
