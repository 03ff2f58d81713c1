// The para-virtualized lowering of the intrinsics (`previrt build|cc
// --paravirt xen`): the same keys as NATIVE_INTRINSICS (intrinsics.ts), but
// every privileged operation compiles straight to what the xen back end's
// in-place VMM would have done at a site — shared-info loads and stores
// and hypercalls — so the binary has no sensitive instruction and no site.
// It is the baseline the pre-virtualization papers compared against, and
// runs on xen only (the image carries PARAVIRT_MARKER; other back ends
// refuse it).
//
// Names `__xen_*` (shared-info addresses, hypercall numbers) are assembler
// defines supplied by the build from the xen ABI (src/hypervisors/xen/abi.ts).
// Sequences that need a scratch register take the result register the
// driver allocates (`returns: true`, result unused): guest registers survive
// an event, so a read-modify-write of the shared psr is safe without k0.
// Page-table writes are queued in the shared-info queue by a runtime routine
// (PARAVIRT_RUNTIME_ASM, with events masked while it runs) and applied with
// one mmu_update per full queue, or by the hypervisor before any TLB
// operation, root change or page fault.

import { CR_NAMES, PSR } from "../guest-isa/registers.js";
import { NATIVE_INTRINSICS, SMP_PORTS, type EmittedArg, type IntrinsicName, type IntrinsicSpec } from "./intrinsics.js";

import { PARAVIRT_MARKER } from "../guest-isa/paravirt.js";

export { PARAVIRT_MARKER };
export const PARAVIRT_RUNTIME_FILE = "<paravirt-xen>.s";

const reg = (a: EmittedArg | undefined): string => {
  if (!a || !("reg" in a)) throw new Error("intrinsic: expected a register argument");
  return a.reg;
};
const num = (a: EmittedArg | undefined): number => {
  if (!a || !("value" in a)) throw new Error("intrinsic: expected a constant argument");
  return a.value;
};
/** Branch over the next instruction when `r` is zero (no labels: the lines are pasted as they are). */
const skipIfZero = (r: string) => `beq ${r}, zero, . + 8`;
const scratch = (emit: (rd: string, args: readonly EmittedArg[]) => string[]): IntrinsicSpec => ({
  args: [],
  minArgs: 0,
  returns: true,
  emit: (a, rd) => emit(rd, a),
});
const hypercallOnly = (hc: string): IntrinsicSpec => ({ args: [], minArgs: 0, returns: false, argRegs: [], emit: () => [`hcall __xen_HC_${hc}`] });

const N = NATIVE_INTRINSICS;

export const PARAVIRT_XEN_INTRINSICS: Readonly<Record<IntrinsicName, IntrinsicSpec>> = {
  load32: N.load32,
  load16: N.load16,
  load8: N.load8,
  store32: N.store32,
  store16: N.store16,
  store8: N.store8,
  cli: scratch((rd) => [`lw ${rd}, __xen_VPSR(zero)`, `andi ${rd}, ${rd}, -2`, `sw ${rd}, __xen_VPSR(zero)`]),
  sti: scratch((rd) => [
    `lw ${rd}, __xen_VPSR(zero)`, `ori ${rd}, ${rd}, 1`, `sw ${rd}, __xen_VPSR(zero)`,
    `lw ${rd}, __xen_VPEND(zero)`, skipIfZero(rd), "hcall __xen_HC_EVENTS",
  ]),
  halt: { args: [], minArgs: 0, returns: false, emit: () => ["hcall __xen_HC_BLOCK"] },
  readPsr: { args: [], minArgs: 0, returns: true, emit: (_a, rd) => [`lw ${rd}, __xen_VPSR(zero)`] },
  writePsr: {
    args: [{ kind: "value" }],
    minArgs: 1,
    returns: true,
    // psr keeps only its defined bits (IE, SU, UF), as the hardware's wrpsr does.
    emit: (a, rd) => [`andi ${rd}, ${reg(a[0])}, ${PSR.IE | PSR.SU | PSR.UF_MASK}`, `sw ${rd}, __xen_VPSR(zero)`, `lw ${rd}, __xen_VPEND(zero)`, skipIfZero(rd), "hcall __xen_HC_EVENTS"],
  },
  readCr: { ...N.readCr, emit: (a, rd) => [`lw ${rd}, __xen_VCR+${4 * num(a[0])}(zero)`] },
  // The value goes to a0: ptbr and pgctl are hypercalls (which apply queued page-table updates first).
  writeCr: {
    ...N.writeCr,
    argRegs: ["a0"],
    emit: (a) => {
      const cr = CR_NAMES[num(a[0])];
      if (cr === "ptbr") return ["hcall __xen_HC_NEW_BASEPTR"];
      if (cr === "pgctl") return ["hcall __xen_HC_SET_PAGING"];
      return [`sw a0, __xen_VCR+${4 * num(a[0])}(zero)`];
    },
  },
  tlbFlush: hypercallOnly("TLB_FLUSH"),
  tlbInvalidate: { args: [{ kind: "value" }], minArgs: 1, returns: false, argRegs: ["a0"], emit: () => ["hcall __xen_HC_TLB_INVLPG"] },
  inPort: { ...N.inPort, argRegs: [], emit: (a) => [`addi a0, zero, ${num(a[0])}`, "hcall __xen_HC_PORT_READ"] },
  outPort: {
    ...N.outPort,
    argRegs: ["a1"],
    emit: (a) => (num(a[0]) === 0x10 ? ["mv a0, a1", "hcall __xen_HC_CONSOLE_WRITE"] : [`addi a0, zero, ${num(a[0])}`, "hcall __xen_HC_PORT_WRITE"]),
  },
  syscall: N.syscall,
  hypercall: N.hypercall,
  // Page-table writes: queued by the runtime routine; reads apply the queue first.
  writePte: { args: [{ kind: "value" }, { kind: "value" }], minArgs: 2, returns: false, argRegs: ["a0", "a1"], emit: () => ["call __pv_pte_queue"] },
  readPte: { args: [{ kind: "value" }], minArgs: 1, returns: true, argRegs: ["a0"], emit: () => ["call __pv_pte_read"] },
  mmioRead32: { args: [{ kind: "value" }], minArgs: 1, returns: true, argRegs: ["a0"], emit: () => ["lw a0, 0(a0)"] },
  mmioWrite32: { args: [{ kind: "value" }, { kind: "value" }], minArgs: 2, returns: false, argRegs: ["a0", "a1"], emit: () => ["sw a1, 0(a0)"] },
  addressOf: N.addressOf,
  asm: N.asm,
  // Multiprocessor: the atomics and spinlocks are unprivileged (the same code); the CPU ports go
  // through the port hypercalls like every other port.
  atomicSwap: N.atomicSwap,
  atomicAdd: N.atomicAdd,
  cpuPause: N.cpuPause,
  cpuId: { ...N.cpuId, argRegs: [], emit: () => [`addi a0, zero, ${SMP_PORTS.cpuId}`, "hcall __xen_HC_PORT_READ"] },
  cpuCount: { ...N.cpuCount, argRegs: [], emit: () => [`addi a0, zero, ${SMP_PORTS.cpuCount}`, "hcall __xen_HC_PORT_READ"] },
  startCpu: N.startCpu,
  sendIpi: { ...N.sendIpi, argRegs: ["a1"], emit: () => [`addi a0, zero, ${SMP_PORTS.ipi}`, "hcall __xen_HC_PORT_WRITE"] },
  spinLock: N.spinLock,
  spinUnlock: N.spinUnlock,
};

/** Lines of `asm("…")` in a para-virtualized build: the trap-return and halt instructions become hypercalls. */
export function paravirtAsmLine(line: string): string {
  const m = /^(\s*)(iret|hlt)(\s*(?:#.*)?)$/.exec(line);
  if (!m) return line;
  return `${m[1]}hcall __xen_HC_${m[2] === "iret" ? "IRET" : "BLOCK"}${m[3]}`;
}

/** Guest code every para-virtualized xen build links: the page-table queue and the marker. */
export const PARAVIRT_RUNTIME_ASM = `# previrt para-virtualized runtime for xen: the page-table update queue in the
# shared-info page (applied with one mmu_update per full queue; the hypervisor
# applies it too before TLB operations, root changes and page faults).
    .global ${PARAVIRT_MARKER}
    .equ ${PARAVIRT_MARKER}, 1
    .text
# __pv_pte_queue(a0 = address, a1 = value), with events masked (an event
# handler that applied the queue half-way through would lose or repeat an entry)
    .global __pv_pte_queue
__pv_pte_queue:
    lw   t2, __xen_VPSR(zero)
    andi t0, t2, -2
    sw   t0, __xen_VPSR(zero)
    lw   t0, __xen_QCOUNT(zero)
    slli t1, t0, 3
    sw   a0, __xen_QUEUE(t1)
    sw   a1, __xen_QUEUE+4(t1)
    addi t0, t0, 1
    sw   t0, __xen_QCOUNT(zero)
    addi t0, t0, -__xen_QMAX
    bnez t0, .Lpv_queued
    mv   t3, lr
    call __pv_pte_flush
    mv   lr, t3
.Lpv_queued:
    sw   t2, __xen_VPSR(zero)
    lw   t0, __xen_VPEND(zero)
    beqz t0, .Lpv_unmasked
    hcall __xen_HC_EVENTS
.Lpv_unmasked:
    ret
# __pv_pte_flush(): one mmu_update for the queued entries
    .global __pv_pte_flush
__pv_pte_flush:
    lw   a1, __xen_QCOUNT(zero)
    beqz a1, .Lpv_flushed
    addi a0, zero, __xen_QUEUE
    hcall __xen_HC_MMU_UPDATE     # on the shared queue it also empties it (QCOUNT = 0), atomically
.Lpv_flushed:
    ret
# __pv_pte_read(a0 = address): the entry, once queued updates are applied
    .global __pv_pte_read
__pv_pte_read:
    lw   t0, __xen_QCOUNT(zero)
    beqz t0, .Lpv_read
    mv   t2, a0
    mv   t3, lr
    call __pv_pte_flush
    mv   lr, t3
    mv   a0, t2
.Lpv_read:
    lw   a0, 0(a0)
    ret
# (the queue routines end here: the hypervisor applies no vCPU's queue while its pc is in them)
    .global __pv_pte_end
__pv_pte_end:
`;

/** What a para-virtualized file ends with: the hypervisor ABI's symbols (and, in the first file, the runtime). */
export function paravirtEpilogue(abi: Readonly<Record<string, number>>, withRuntime: boolean): string {
  const equs = Object.entries(abi).map(([k, v]) => `    .equ ${k}, ${v}`);
  return `\n# xen ABI (src/hypervisors/xen/abi.ts)\n${equs.join("\n")}\n${withRuntime ? PARAVIRT_RUNTIME_ASM : ""}`;
}

/** The start-up for a para-virtualized program: powers off with the SHUTDOWN hypercall. */
export function paravirtStartup(startup: string, abi: Readonly<Record<string, number>>): string {
  return startup.replace(/^(\s*)out 0xF0, a0(.*)$/m, `$1hcall ${abi.__xen_HC_SHUTDOWN}$2`);
}
