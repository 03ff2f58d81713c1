// The memory supervisor's GRANT names virtual addresses (docs/protection.md,
// "Guest-visible domains"): it must protect the frame the guest's own page
// tables map there, on every back end. A kernel with paging on maps virtual
// 0x300000 to physical 0x200000, takes every word of it from a module's
// domain, and calls the module, which stores there: a protection fault
// (the handler powers off with 100 + cause) on bare, hvm, trap, xen and l4,
// in the interpreter and the JIT. Under a shadow pager (hvm, trap) the
// real ptbr and pgctl are the monitor's, not the guest's: translated
// through them, the GRANT protected physical 0x300000 — a frame the guest
// never named — and the module's store went through.
//
// And a GRANT over a range whose pages a guest mapped all to one frame (2^19
// of them in one call) makes one grant per distinct physical range, not one
// per page: each is a PLB flush and a TLB refresh, and the call cost the
// host most of a second.
//
// And the tables the guest's grants make are bounded (host memory): a
// kernel that defines three domains and gives each a leaf in every frame
// gets one leaf per frame of guest memory, all domains together, and then
// TABLES_FULL (−6) — not 4× its RAM in leaves with 63 domains.
import { describe, expect, it, vi } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { CAUSE, REG } from "../../src/guest-isa/registers.js";
import { runElf } from "../../src/hypervisors/index.js";
import { PERM, Protection } from "../../src/machine/protection/protection.js";
import { MAX_LEAVES_PER_FRAME, SUPERVISOR_CALL, SUPERVISOR_ERROR, SUPERVISOR_PORT, SupervisorDevice } from "../../src/machine/protection/supervisor.js";
import { identityPaging } from "./guest-snippets.js";

const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;
const VA = 0x300000;
const PA = 0x200000;

const KERNEL = `
    .text
    .global _start
_start:
    li   sp, 0x80000
    la   t0, handler
    mtcr tvec, t0
    # paging on, virtual ${VA} -> physical ${PA}
${identityPaging([[VA, PA | 7]])}
    la   t0, mod                # DEFINE the module's domain
    out  0x50, t0
    la   t0, modEnd
    out  0x51, t0
    li   t0, 1
    out  0x54, t0
    in   s1, 0x54
    out  0x50, s1               # GRANT it no access to the page at virtual ${VA}
    li   t0, ${VA}
    out  0x51, t0
    li   t0, 4096
    out  0x52, t0
    out  0x53, zero
    li   t0, 2
    out  0x54, t0
    in   s2, 0x54
    bnez s2, .Lrefused
    jal  lr, mod
    li   a0, 7                  # the module's store went through
    out  0xF0, a0
.Lrefused:
    addi a0, s2, 60
    out  0xF0, a0
mod:
    li   t0, ${VA}
    li   t1, 0x55
    sw   t1, 0(t0)
    jr   lr
modEnd:
    nop
handler:
    mfcr t0, cause
    addi a0, t0, 100
    out  0xF0, a0
`;

const image = assemble([{ file: "kernel.s", text: annotate("kernel.s", KERNEL).text }]);

describe("GRANT protects the frame the guest's own page tables map", () => {
  it.each(BACKENDS)("%s: the module's store through its mapping is a protection fault, in both engines", (backend) => {
    const [a, b] = (["interp", "jit"] as const).map((engine) => runElf(image, { backend, engine, jitThreshold: 1, maxCycles: 20_000_000 }));
    expect([b.console, b.result, b.stats]).toEqual([a.console, a.result, a.stats]);
    expect(a.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
    const { memory, protection } = a.machine;
    expect(memory.i32[PA >>> 2]).toBe(0);
    // The module's domain (the guest's only one): the mapped frame is closed to it, the frame at the virtual address's number is not.
    const mod = [...Array(protection.domainCount).keys()].filter((d) => protection.domainOwner(d) === "guest");
    expect(mod).toHaveLength(1);
    expect(protection.permission(mod[0], PA)).toBe(PERM.NONE);
    expect(protection.permission(mod[0], VA)).toBe(PERM.RW);
  });
});

describe("GRANT over many virtual pages", () => {
  const MEMORY = 1 << 20;
  /** A supervisor over a real protection unit, whose guest maps virtual pages by `map` (page → physical page); grant calls counted. */
  const supervisor = (map: (page: number) => number) => {
    const protection = new Protection({ memorySize: MEMORY, guestLimit: MEMORY, framesChanged: () => {}, chargeRefs: () => {} });
    const grant = vi.spyOn(protection, "grant");
    const device = new SupervisorDevice({ protection, ioPc: 0, guestLimit: MEMORY, translator: () => (va) => map(va >>> 12) * 4096 + (va & 0xfff) });
    const call = (va: number, bytes: number, perm: number) => {
      [0, va, bytes, perm].forEach((v, i) => device.write(SUPERVISOR_PORT.ARG0 + i, v));
      device.write(SUPERVISOR_PORT.CALL, SUPERVISOR_CALL.GRANT);
      return device.read(SUPERVISOR_PORT.CALL);
    };
    return { protection, grant, call };
  };

  it("every page of 2 GiB on one frame: one grant, the frame's permission set", () => {
    const s = supervisor(() => 0x20);
    expect(s.call(0x4000_0000, 0x7fff_f000, PERM.R)).toBe(0);
    expect(s.grant).toHaveBeenCalledTimes(1);
    expect(s.protection.permission(0, 0x20000)).toBe(PERM.R);
    expect(s.protection.permission(0, 0x20ffc)).toBe(PERM.R);
    expect(s.protection.permission(0, 0x21000)).toBe(PERM.RW);
  });

  it("contiguous pages: one grant; a partial first and last page keep their bounds", () => {
    const s = supervisor((page) => page & 0xff);
    expect(s.call(0x1010, 0x3000, PERM.NONE)).toBe(0);
    expect(s.grant).toHaveBeenCalledTimes(1);
    expect(s.grant.mock.calls[0].slice(0, 4)).toEqual([0, 0x1010, 0x3000, PERM.NONE]);
    expect([0x100c, 0x1010, 0x400c, 0x4010].map((pa) => s.protection.permission(0, pa))).toEqual([PERM.RW, PERM.NONE, PERM.NONE, PERM.RW]);
  });
});

describe("the guest's permission tables are bounded", () => {
  const DOMAINS = 3;
  // For each of three domains (over bytes of a table), a 4-byte grant at the start of every frame until
  // -3 (outside memory): each would be a leaf. s1 counts the grants made, s2 those refused TABLES_FULL.
  const LEAVES = `
    .text
    .global _start
_start:
    li   sp, 0x8000
    li   s0, 0
    li   s1, 0
    li   s2, 0
.Ldomain:
    la   t0, codes
    slli t1, s0, 3
    add  t0, t0, t1
    out  0x50, t0
    addi t0, t0, 8
    out  0x51, t0
    li   t0, 1
    out  0x54, t0
    in   a3, 0x54
    li   t4, 0
.Lframe:
    out  0x50, a3
    out  0x51, t4
    li   t0, 4
    out  0x52, t0
    out  0x53, zero
    li   t0, 2
    out  0x54, t0
    in   t0, 0x54
    li   t1, ${SUPERVISOR_ERROR.OUTSIDE_MEMORY}
    beq  t0, t1, .Lnext
    li   t1, ${SUPERVISOR_ERROR.TABLES_FULL}
    bne  t0, t1, .Lmade
    addi s2, s2, 1
    j    .Lstep
.Lmade:
    bnez t0, .Lfail
    addi s1, s1, 1
.Lstep:
    li   t0, 0x1000
    add  t4, t4, t0
    j    .Lframe
.Lnext:
    addi s0, s0, 1
    li   t0, ${DOMAINS}
    bne  s0, t0, .Ldomain
    li   a0, 0
    out  0xF0, a0
.Lfail:
    li   a0, 1
    out  0xF0, a0
    .align 8
codes:
    .space ${8 * DOMAINS}
`;
  const leaves = assemble([{ file: "leaves.s", text: annotate("leaves.s", LEAVES).text }]);

  it.each(BACKENDS)("%s: one leaf per frame of guest memory, then TABLES_FULL", (backend) => {
    const out = runElf(leaves, { backend, ramSize: 1 << 20, maxCycles: 50_000_000 });
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
    const frames = out.machine.memory.guestLimit / 4096;
    const budget = MAX_LEAVES_PER_FRAME * frames;
    expect(out.machine.protection.mixedFrames()).toBe(budget);
    expect(out.machine.regs[REG.s1]).toBe(budget);
    expect(out.machine.regs[REG.s2]).toBe(DOMAINS * frames - budget);
  });
});
