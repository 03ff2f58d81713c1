// The host's crash injection (domains/host.ts injectCrash) patches the frame
// the guest is executing: the one the CPU fetches the pc from (Mmu.probeFetch:
// the TLB's entry, else the guest's own page tables), and the same for the
// guest's trap vector. A kernel that runs a user process at a virtual address
// that is not identity-mapped (0x300000 → the frame at 0x1000) and its trap
// vector through another remapped page: a wild store injected into the
// process must fault at the process's pc on every back end, in both engines,
// and a hang must loop it there. Under hvm and trap the real paging registers
// are the shadow pager's (pgctl 0), so a translation through them patched
// physical 0x300000, a frame the guest never runs, and the process finished
// unharmed. Through the library (prepareGuest, buildMachine, injectCrash) on
// every back end, and through the multi-guest host on hvm. And a driver
// blocked in xen's or l4's in-place VMM gets the crash in the VMM's code (a
// mapping only the TLB has; the guest's page tables never map the window),
// which the monitor diagnoses, instead of when it next runs its own code.
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { encodeInstruction } from "../../src/guest-isa/encoding.js";
import { REG } from "../../src/guest-isa/registers.js";
import { runRestartCampaign } from "../../src/cli/drivers/restart-campaign.js";
import { DomainHost, injectCrash, type CrashInjection } from "../../src/hypervisors/domains/host.js";
import { backends, prepareGuest } from "../../src/hypervisors/index.js";
import { buildMachine } from "../../src/machine/run-image.js";
import type { Engine } from "../../src/machine/machine.js";
import { identityPaging } from "../protection/guest-snippets.js";

/** The process's code: linked first (physical 0x1000), run at USER_VA. The trap vector's page: physical 0x2000 at VECTOR_VA. */
const USER_PA = 0x1000;
const USER_VA = 0x300000;
const VECTOR_PA = 0x2000;
const VECTOR_VA = 0x301000;
const INJECT_AT = 100_000;

// The process counts to 100,000 (two instructions a turn, ~200,000 cycles) and makes a syscall: exit 0. A fault
// from the injected `sw t0, 0(t0)` (badva = t0) at a pc in the process's loop exits with its cause; anything
// else exits 99. Only the process's and the vector's pages are remapped; the kernel runs identity-mapped.
const KERNEL = `
    .text
    .global _start
user:
    li   s1, 100000
.Lcount:
    addi s0, s0, 1
    blt  s0, s1, .Lcount
    syscall
    .align 4096
vector:
    la   t4, handler
    jr   t4
    .align 4096
_start:
    li   sp, 0x80000
${identityPaging([
  [USER_VA, USER_PA | 7],
  [VECTOR_VA, VECTOR_PA | 7],
])}
    li   t0, ${VECTOR_VA}
    mtcr tvec, t0
    li   t0, ${USER_VA}
    mtcr epc, t0
    mtcr epsr, zero             # user mode
    li   t0, 0
    iret
handler:
    mfcr t2, cause
    li   t3, 7
    beq  t2, t3, .Ldone
    mfcr t3, badva
    bne  t3, t0, .Lbad
    mfcr t3, epc
    li   t4, ${USER_VA}
    sub  t3, t3, t4
    li   t4, 16
    bgeu t3, t4, .Lbad
    out  0xF0, t2
.Lbad:
    li   a0, 99
    out  0xF0, a0
.Ldone:
    li   a0, 0
    out  0xF0, a0
`;

const image = assemble([{ file: "inject.s", text: annotate("inject.s", KERNEL).text }]);
const symbol = (name: string) => image.symbols.find((s) => s.name === name)!.value;
const LOOP = encodeInstruction("beq", { a: 0, b: 0, imm: 0 });
const WILD = encodeInstruction("sw", { a: REG.t0, b: REG.t0, imm: 0 });

/** The library's way: a machine for `backend`, run to INJECT_AT, the crash injected, run on. */
function injected(backend: string, engine: Engine, kind: CrashInjection["kind"]) {
  const { rewrite, runOptions } = prepareGuest(image, { backend, engine });
  const { machine } = buildMachine(rewrite.image, runOptions(rewrite));
  expect(machine.runUntil(INJECT_AT)).toBe(false);
  const pc = machine.pc;
  expect(pc - USER_VA).toBeGreaterThanOrEqual(4); // in the process's loop
  expect(pc - USER_VA).toBeLessThan(12);
  expect(injectCrash(machine, { domain: "guest", at: INJECT_AT, kind, seed: 5 })).toBe(true);
  const result = machine.run(2_000_000);
  return { machine, pc, result };
}

/** The physical words of [pa, pa + bytes). */
const words = (m: { memory: { read32(pa: number): number } }, pa: number, bytes: number) =>
  Array.from({ length: bytes / 4 }, (_, i) => m.memory.read32(pa + 4 * i) | 0);

describe("crash injection patches the frame the guest executes", () => {
  it("the layout the test relies on", () => {
    expect(symbol("user")).toBe(USER_PA);
    expect(symbol("vector")).toBe(VECTOR_PA);
  });

  for (const backend of backends.keys()) {
    for (const engine of ["interp", "jit"] as const) {
      it(`${backend}, ${engine}: a wild store faults at the process's pc (store fault, badva = t0)`, () => {
        const { machine, pc, result } = injected(backend, engine, "wild-store");
        expect(result).toEqual({ kind: "poweroff", exitCode: 6 });
        expect(words(machine, USER_PA + (pc - USER_VA), 4)).toEqual([WILD]);
        expect(words(machine, USER_VA, 16)).toEqual([0, 0, 0, 0]); // the identity frame at the virtual address: untouched
      });

      it(`${backend}, ${engine}: a hang loops the process at its pc, and the trap vector's frame too`, () => {
        const { machine, pc, result } = injected(backend, engine, "hang");
        expect(result.kind).toBe("stopped");
        expect(result.kind === "stopped" && result.reason).toBe("max-cycles");
        expect(machine.pc).toBe(pc);
        expect(words(machine, USER_PA + (pc - USER_VA), 4)).toEqual([LOOP]);
        expect(words(machine, VECTOR_PA, 4)).toEqual([LOOP]);
        expect(words(machine, USER_VA, 0x2000).some((w) => w !== 0)).toBe(false);
      });
    }
  }

  it("hvm, through the multi-guest host: the injected wild store ends the guest with the store fault", () => {
    const at = INJECT_AT;
    const out = new DomainHost([{ name: "guest", image }], { backend: "hvm", maxCycles: 2_000_000, crashes: [{ domain: "guest", at, kind: "wild-store", seed: 5 }] }).run();
    expect(out.domains[0].result).toEqual({ kind: "poweroff", exitCode: 6 });
  });

  // `previrt drivers`' runs (docs/driver-vms.md, "Driver restart under load") whose wild store found the driver
  // blocked in the VMM: xen's seed 2, l4's seed 8.
  it.each([
    ["xen", 2],
    ["l4", 8],
  ])("%s: a wild store into a driver blocked in the in-place VMM lands in the VMM's code; the client completes", (backend, seed) => {
    const { runs } = runRestartCampaign({ backend, runs: 1, firstSeed: seed, kind: "wild-store" });
    expect(runs[0].reason).toMatch(/^the in-place VMM faulted \(page-fault-store at 0xfffe[0-9a-f]{4}\): the guest corrupted its soft-layer window$/);
    expect(runs[0]).toMatchObject({ completed: true, selfCheck: true, sameOutput: true, restarts: 1, lost: 0 });
  });
});
