// The one way a monitor reaches guest memory on the guest's behalf: Xen's
// copy_from_guest / copy_to_guest. Every hypercall argument that names guest
// memory (xen's mmu_update and multicall arrays, the page-table entry an
// update writes, a site's original load or store, the instruction word a
// trapped privileged instruction is read from) goes through here, so each
// access is checked as the access it really is:
//
// - a read is translated as a read, a write as a write, a fetch as a fetch,
//   with the permissions the guest itself would have in its current virtual
//   mode (its own page tables, or the identity map up to guest RAM's end
//   with paging off; the soft-layer window's read-only parts are never
//   written);
// - addresses are aligned to the access size, and a range never wraps
//   around 2^32;
// - a write into a frame the hypervisor write-protects (a page table xen
//   validates, a shadowed one under trap) is refused, unless it is the
//   guest's own store being emulated, which then takes the same path as a
//   direct store by the guest (the monitor validates it);
// - every data access names the protection domain it is made for
//   (`caller`, the first parameter, so that no call can leave it out:
//   Protection.callerDomain of the hypercall's or the site's pc); a read
//   must be one that domain may make, a write likewise — checked as the CPU
//   checks its own load or store (Protection.allowsFor: counted and charged,
//   on a frame some domain restricts), so the monitor never reads or writes
//   for a domain what the domain could not itself (docs/protection.md,
//   "What the VMM checks on a caller's behalf"). A refusal is the
//   protection fault the domain's own access would take.
//
// Consumes a `GuestView` (the monitor's translation of a guest address for
// an access, and its handling of protected frames) and the machine's
// physical memory. Produces values, or the Fault the guest would have taken
// (never an exception): the caller turns it into a hypercall's error result
// or reflects it to the guest.

import { CAUSE } from "../../guest-isa/registers.js";
import type { Machine } from "../../machine/machine.js";
import { ACCESS, Fault, type Access } from "../../machine/monitor.js";

export type AccessSize = 1 | 2 | 4;

/** What the accessor needs from a monitor. */
export interface GuestView {
  /** Whether the guest is in (virtual) user mode now: the default permissions of an access. */
  readonly guestIsUser: boolean;
  /**
   * The physical address the guest reaches at `va` for `access`, with the
   * permissions of its user (`asUser`) or supervisor mode (alignment already
   * checked), or the fault it would take. Only guest RAM or the window's
   * backing frames, never beyond.
   */
  guestPhysical(va: number, access: Access, size: AccessSize, asUser: boolean): number | Fault;
}

/** A refused access that is not the guest's fault to take: a write the hypervisor does not let through (page-table frame). */
function protectedFault(va: number): Fault {
  return new Fault(CAUSE.PAGE_FAULT_STORE, va);
}

export class GuestMemory {
  constructor(
    private readonly machine: Machine,
    private readonly view: GuestView,
  ) {}

  /** Whether [va, va + bytes) is a range of the 32-bit address space (no wrap-around), `va` aligned to `align`. */
  static validRange(va: number, bytes: number, align: number): boolean {
    const start = va >>> 0;
    return Number.isInteger(bytes) && bytes >= 0 && start % align === 0 && start + bytes <= 0x1_0000_0000;
  }

  /**
   * The physical address of one data access for protection domain `caller`,
   * checked as that access (alignment, translation, permissions of the
   * guest's current mode, or of its user or supervisor mode when `asUser` is
   * given, and the domain's permission).
   */
  physical(caller: number, va: number, access: typeof ACCESS.LOAD | typeof ACCESS.STORE, size: AccessSize, asUser = this.view.guestIsUser): number | Fault {
    const pa = this.translated(va, access, size, asUser);
    if (pa instanceof Fault) return pa;
    if (!this.machine.protection.allowsFor(caller, pa, access === ACCESS.STORE)) return new Fault(CAUSE.PROTECTION_FAULT, va);
    return pa;
  }

  /** Alignment, the guest's translation and the bound of physical memory, for any access. */
  private translated(va: number, access: Access, size: AccessSize, asUser: boolean): number | Fault {
    if ((va & (size - 1)) !== 0) return new Fault(CAUSE.MISALIGNED, va);
    const pa = this.view.guestPhysical(va, access, size, asUser);
    if (pa instanceof Fault) return pa;
    // A monitor's translation that leaves physical memory would be a bug: refuse it rather than touch the host.
    if (!this.machine.memory.contains(pa, size)) return new Fault(CAUSE.BUS_ERROR, va);
    return pa;
  }

  /** copy_from_guest of one value for `caller` (unsigned for sizes 1 and 2, as `lbu`/`lhu`; signed 32-bit for 4). */
  read(caller: number, va: number, size: AccessSize, asUser = this.view.guestIsUser): number | Fault {
    const pa = this.physical(caller, va, ACCESS.LOAD, size, asUser);
    if (pa instanceof Fault) return pa;
    const mem = this.machine.memory;
    return size === 4 ? mem.i32[pa >>> 2] : size === 2 ? mem.u16[pa >>> 1] : mem.u8[pa];
  }

  /**
   * The instruction word at `va` as a fetch in supervisor mode reaches it (a
   * trapped or rewritten instruction's, which the CPU has just fetched): no
   * domain's permission is asked, as there is no execute permission.
   */
  fetchWord(va: number): number | Fault {
    const pa = this.translated(va, ACCESS.FETCH, 4, false);
    return pa instanceof Fault ? pa : this.machine.memory.i32[pa >>> 2];
  }

  /**
   * copy_from_guest of `count` words at `va` into `out` (from index 0).
   * The whole range must be aligned and must not wrap; each word is
   * translated on its own (the range may cross pages). The first refused
   * word's Fault, or undefined when all were read.
   */
  readWords(caller: number, va: number, count: number, out: Int32Array, asUser = this.view.guestIsUser): Fault | undefined {
    if (count > out.length || !GuestMemory.validRange(va, 4 * count, 4)) return new Fault(CAUSE.MISALIGNED, va);
    for (let i = 0; i < count; i++) {
      const v = this.read(caller, (va + 4 * i) | 0, 4, asUser);
      if (v instanceof Fault) return v;
      out[i] = v;
    }
    return undefined;
  }

  /**
   * copy_to_guest of one value, checked as a write with the guest's own
   * permissions. A write-protected frame (a page table the hypervisor
   * validates) is refused — unless `asGuestStore`: the guest's own store
   * being emulated, which goes where a direct store would (the machine's
   * store slow path, then the monitor's `onWatchedStore`). Undefined when
   * written, else the Fault.
   */
  write(caller: number, va: number, value: number, size: AccessSize, asGuestStore = false, asUser = this.view.guestIsUser): Fault | undefined {
    const pa = this.physical(caller, va, ACCESS.STORE, size, asUser);
    if (pa instanceof Fault) return pa;
    const m = this.machine;
    const frame = pa >>> 12;
    const v = size === 4 ? value : size === 2 ? value & 0xffff : value & 0xff;
    if (m.watched[frame] === 1) {
      if (!asGuestStore && !this.monitorMayWrite(pa)) return protectedFault(va);
      // The guest's own store takes the machine's store slow path, as a direct
      // store would: the dirty log first (live migration), then the monitor.
      if (asGuestStore) {
        m.watchedStore(pa, v, size, va, m.pc);
        return undefined;
      }
      // A monitor write into a frame only the dirty log protects: written
      // below through the memory API, which logs it.
    }
    // Through the memory API, so decoded-code caches and the dirty log see it.
    const mem = m.memory;
    if (size === 4) mem.write32(pa, v);
    else if (size === 2) mem.write16(pa, v);
    else mem.write8(pa, v);
    return undefined;
  }

  /**
   * Whether a write of `size` at `va` for `caller`'s domain would be let through now (checked before a
   * call whose result goes there): as `write` decides, a frame a monitor write-protects is refused, one
   * only the dirty log or a host's write tracking protects is not.
   */
  canWrite(caller: number, va: number, size: AccessSize): boolean {
    const pa = this.physical(caller, va, ACCESS.STORE, size);
    return !(pa instanceof Fault) && this.monitorMayWrite(pa);
  }

  /**
   * Whether the monitor may write physical `pa` itself (a write of its own, not the guest's store being
   * emulated): not in a frame a monitor write-protects (a page table xen validates, a shadowed one under
   * trap), where only the guest's own store goes, by the hypervisor's path; in one only the dirty log or a
   * host's write tracking protects, yes (the memory API records it).
   */
  monitorMayWrite(pa: number): boolean {
    return this.machine.mmu.monitorWatched[pa >>> 12] !== 1;
  }
}
