// The hypercall interface of the xen back end (and, as IPC labels, of l4):
// `hcall N` with arguments in a0–a3 and the result in a0. The in-place VMM
// uses these numbers (common/vmm-core.s.ts repeats the ones it calls), and so
// does the para-virtualized build (src/compiler's paravirt intrinsics).
// docs/xen.md is the table for people.

export const HC = {
  /** a0 = byte: write it to the console. */
  CONSOLE_WRITE: 0,
  /** a0 = address of the event callback (0: the in-place VMM's EVENT entry, which jumps to the virtual tvec). */
  SET_CALLBACKS: 1,
  /** a0 = virtual address of (address, value) pairs, a1 = count (≤ MAX_BATCH): apply them; a0 ← number applied. On the shared queue (a0 = QUEUE, a1 = QCOUNT) it also empties the queue. */
  MMU_UPDATE: 2,
  /** a0 = physical address of the new page directory (applies queued updates first; flushes the TLB). */
  NEW_BASEPTR: 3,
  /** a0 = new pgctl (paging on/off). */
  SET_PAGING: 4,
  /** Flush the whole TLB (applies queued updates first). */
  TLB_FLUSH: 5,
  /** a0 = virtual address: invalidate its translation (applies queued updates first). */
  TLB_INVLPG: 6,
  /** a0 = timer period in cycles (0 = off). */
  SET_TIMER: 7,
  /** Block the vCPU until an event is pending (hlt). */
  BLOCK: 8,
  /** Return from the event callback: psr ← VCR.epsr, pc ← VCR.epc; held events are then delivered. */
  IRET: 9,
  /** a0 = exit code: power the domain off. */
  SHUTDOWN: 10,
  /** a0 = virtual address of {op, a0, a1, a2} entries, a1 = count (≤ MAX_MULTICALL): one hypercall for all; each entry's a0 slot ← its result. */
  MULTICALL: 11,
  /** The guest unmasked events while some were held: re-enable delivery. */
  EVENTS: 12,
  /** In-place VMM only: emulate the original instruction of the site that called (k0 = its return address). */
  EMULATE: 13,
  /** a0 = port: a0 ← the device's value. */
  PORT_READ: 14,
  /** a0 = port, a1 = value. */
  PORT_WRITE: 15,
  /** Give up the CPU (a no-op: the --pcpus scheduler hands physical CPUs over at slice ends and when a vCPU blocks). */
  YIELD: 16,
  /** a0 = vCPU number, a1 = entry: start that vCPU there (virtual supervisor mode, IE=0, paging off, registers zero) → 0; EINVAL (no such vCPU, misaligned entry), EEXIST (already up). Xen's VCPUOP_initialise + VCPUOP_up. */
  VCPU_UP: 17,
  // Inter-domain services of the multi-guest host (docs/driver-vms.md); the
  // domain device's port op N (ports 0x60-0x65) does the same as `hcall N`.
  /** a0 = remote domid, a1 = guest-physical page of mine, a2 = 1 read-only / 0 writable → grant ref. */
  GNT_GRANT: 18,
  /** a0 = granting domid, a1 = grant ref, a2 = guest-physical page of mine to back with it → 0. */
  GNT_MAP: 19,
  /** a0 = my guest-physical page previously mapped → 0 (no longer shared). */
  GNT_UNMAP: 20,
  /** a0 = grant ref → 0; EBUSY while mapped. */
  GNT_REVOKE: 21,
  /** a0 = remote domid → a new unbound local event port (1..31). */
  EVT_ALLOC: 22,
  /** a0 = remote domid, a1 = remote port → local port bound to it. */
  EVT_BIND: 23,
  /** a0 = local port → 0: the peer's port becomes pending. */
  EVT_SEND: 24,
  /** a0 = device kind → domid serving it to me; ENOENT. */
  DEV_LOOKUP: 25,
  /** a0 = kind, a1 = ring grant ref, a2 = my event port → 0; raises the server's control port 0. */
  DEV_PUBLISH: 26,
  /**
   * a0 = kind → client domid, a1 ← its ring grant ref, a2 ← its event port; EAGAIN when none waits.
   * A departure (a client I accepted and bound a port to has ended): a1 ← -1, a2 ← my port that was bound to it, free again.
   */
  DEV_ACCEPT: 27,
  /** a0 = kind → the serving domain's generation (+1 per restart). */
  DEV_STATUS: 28,
} as const;

export type HypercallName = keyof typeof HC;

/**
 * The inter-domain services (HC.GNT_GRANT … HC.DEV_STATUS) as a back end's
 * monitor reaches them: set on the monitor by the multi-guest host
 * (src/hypervisors/domains) for the domain it runs; absent in a
 * single-guest run, where those hypercalls are ENOSYS. `call` returns the
 * result (a0); an op's second and third values are left in out[0], out[1]
 * (a1, a2 after the hypercall; ports 0x61/0x62 for the port interface).
 */
export interface DomainCalls {
  call(op: number, a0: number, a1: number, a2: number): number;
  readonly out: Int32Array;
  /** The monitor delivered the domain's event line (an upcall): the device lowers it (docs/driver-vms.md, DOM_FEATURES). */
  upcall?(): void;
}
export const HYPERCALL_NAMES: ReadonlyMap<number, HypercallName> = new Map(Object.entries(HC).map(([k, v]) => [v, k as HypercallName]));

/**
 * Error results (a0), Xen's errno values negated: a hypercall refuses a
 * hostile argument with one of these and changes nothing else.
 */
export const HC_ERROR = {
  /** An address the call cannot access as it needs to (unmapped, outside guest RAM, the window's read-only parts, a validated page table, misaligned, wrapping around 2^32). */
  FAULT: -14,
  /** A bad value: a count out of range, a port above 0xFFFF, a misaligned callback, a page directory outside guest RAM. */
  INVAL: -22,
  /** The vCPU is already up (VCPU_UP). */
  EXIST: -17,
  /** Not permitted: a read-only grant mapped by its grantee is written, an op on a grant that is not the caller's. */
  PERM: -1,
  /** No such object: no domain serves this device kind, no such grant ref or event port. */
  NOENT: -2,
  /** Nothing to do yet: no client waits (DEV_ACCEPT), no free event port. */
  AGAIN: -11,
  /** Busy: a grant still mapped is revoked. */
  BUSY: -16,
  /** No such hypercall (inside a multicall: a top-level unknown number is an illegal instruction). */
  NOSYS: -38,
} as const;

/** Largest mmu_update batch a hypercall accepts. */
export const MAX_BATCH = 64;
/** Largest multicall. */
export const MAX_MULTICALL = 16;
