// The two-level page walk of docs/design.md §2, as a pure function over physical
// memory: the MMU uses it on a TLB miss, and monitors use it to walk a
// guest's page tables under a virtual ptbr (shadow paging).
//
//    31        22 21        12 11           0
//   +------------+------------+--------------+
//   |  PD index  |  PT index  | page offset  |      virtual address
//   +------------+------------+--------------+
//   PDE: frame[31:12] of the page table, bit 0 V
//   PTE: frame[31:12] of the page, bit 0 V, bit 1 W, bit 2 U
//
// The low 12 bits of ptbr are ignored. A PDE, PTE or frame at or above
// `memory.guestLimit` is a bus error (cause 9) with badva = va — except a
// frame of the device window (memory.isDevice: MMIO) named by a PTE; an entry
// without V is a page fault of the access's kind (4/5/6). Permissions are
// returned, not checked: the caller checks U/W for its access.

import { CAUSE } from "../../guest-isa/registers.js";
import type { PhysicalMemory } from "../memory.js";
import { ACCESS, Fault, type Access } from "../monitor.js";

export const PTE_V = 1;
export const PTE_W = 2;
export const PTE_U = 4;
const PAGE_MASK = 0xfffff000 | 0;

export interface PageWalk {
  /** Physical base of the page. */
  frame: number;
  /** The PTE's V/W/U bits. */
  perm: number;
  /** Physical addresses of the PDE and PTE used (for write-watching page tables). */
  pdeAddr: number;
  pteAddr: number;
}

export function pageFaultCause(access: Access): number {
  return access === ACCESS.FETCH ? CAUSE.PAGE_FAULT_FETCH : access === ACCESS.LOAD ? CAUSE.PAGE_FAULT_LOAD : CAUSE.PAGE_FAULT_STORE;
}

export function walkPageTable(memory: PhysicalMemory, ptbr: number, va: number, access: Access): PageWalk | Fault {
  return walkPageTableInto(memory, ptbr, va, access, { frame: 0, perm: 0, pdeAddr: 0, pteAddr: 0 });
}

/**
 * walkPageTable, its result written into `out` (returned) instead of a new
 * object: for a monitor's TLB refill, which runs at every miss (1.7 M times
 * in a `mixed` run under xen) and reads the result before the next walk.
 */
export function walkPageTableInto(memory: PhysicalMemory, ptbr: number, va: number, access: Access, out: PageWalk): PageWalk | Fault {
  const limit = memory.guestLimit;
  const pdeAddr = ((ptbr & PAGE_MASK) >>> 0) + (va >>> 22) * 4;
  if (pdeAddr + 4 > limit) return new Fault(CAUSE.BUS_ERROR, va);
  const pde = memory.i32[pdeAddr >>> 2];
  if ((pde & PTE_V) === 0) return new Fault(pageFaultCause(access), va);
  const pteAddr = ((pde & PAGE_MASK) >>> 0) + ((va >>> 12) & 0x3ff) * 4;
  if (pteAddr + 4 > limit) return new Fault(CAUSE.BUS_ERROR, va);
  const pte = memory.i32[pteAddr >>> 2];
  if ((pte & PTE_V) === 0) return new Fault(pageFaultCause(access), va);
  const frame = (pte & PAGE_MASK) >>> 0;
  // A device frame (the MMIO window above RAM) is a valid target: the machine's slow path reaches the device.
  if (frame + 4096 > limit && !memory.isDevice(frame)) return new Fault(CAUSE.BUS_ERROR, va);
  out.frame = frame;
  out.perm = pte & (PTE_V | PTE_W | PTE_U);
  out.pdeAddr = pdeAddr;
  out.pteAddr = pteAddr;
  return out;
}
