// VMM-bypass I/O for the memory-mapped disk (docs/driver-vms.md "VMM-bypass
// I/O"; the device: src/machine/devices/nvdisk.ts): what a back end does
// with the guest's `.sensitive mmio` sites and its native accesses to the
// device's register window, chosen at load time (`--passthrough`).
//
// Consumes the back end's choice and the guest's register accesses.
// Produces replacement-table rows for the two mmio site kinds (data for the
// rewriter, as spinlock-cures.ts does for the lock sites), the check a
// hypervisor applies to the setup registers it keeps to itself, and the
// one-line refusal of a passthrough a back end cannot do (one that can says
// so: Backend.passthrough).
//
//   emulated (default)  xen, l4: every mmio site calls the VMM (EMULATE: a
//                       hypercall on xen, an IPC on l4), whose device model
//                       performs the access on the device. hvm: the sites
//                       stay native and every access to the window exits
//                       (an EPT-violation-style VM exit) and is performed by
//                       the VMM. The guest never touches the device itself.
//   passthrough         xen, l4: the mmio sites stay native. The device's
//                       per-request page (doorbell, completion indexes,
//                       status/acknowledge) is mapped into the guest kernel
//                       and reached with no VMM involvement; the setup page
//                       (queue bases, size, enable) still traps to the
//                       hypervisor, which checks the guest memory it names;
//                       completion interrupts are routed through the
//                       hypervisor as every interrupt is (injected as events).
//                       hvm: no exit on the per-request page (the VMM maps it
//                       in the guest's EPT), setup accesses exit.

import { UserError } from "../../guest-isa/diagnostics.js";
import type { Machine } from "../../machine/machine.js";
import { NVDISK_BASE, NVDISK_CQ_ENTRY, NVDISK_DOORBELL_PAGE, NVDISK_REG, NVDISK_SQ_ENTRY } from "../../machine/devices/nvdisk.js";
import type { ReplacementTable } from "../../rewriter/index.js";
import type { Backend } from "../backend.js";

/** The rows a passthrough adds to a wedge back end's replacement table: the mmio sites run their native load/store. */
export const BYPASS_REPLACEMENTS: ReplacementTable = {
  "mmio-load": { strategy: "native" },
  "mmio-store": { strategy: "native" },
};

/** Whether physical `pa` is one of the device's setup registers (its first page), which a hypervisor keeps to itself. */
export function isSetupRegister(pa: number): boolean {
  return (pa >>> 0) - NVDISK_BASE < NVDISK_DOORBELL_PAGE;
}

/**
 * The hypervisor's check of a guest's register access before it reaches the
 * device: a queue base must name guest RAM (the hypervisor would program the
 * IOMMU with it; the device checks every DMA again). False: refused, a bus
 * error for the guest, counted `bypass.refused`. A write the device ignores
 * (a queue base while the device is enabled: NvdiskDevice.ignoresWrite) names
 * nothing and is passed on, to be ignored as on bare metal: the monitor
 * checks the access the device actually performs.
 */
export function checkBypassAccess(m: Machine, pa: number, store: boolean, value: number, _passthrough: boolean): boolean {
  if (!store) return true;
  const off = (pa >>> 0) - NVDISK_BASE;
  if (m.nvdisk?.ignoresWrite(off)) return true;
  const entry = off === NVDISK_REG.SQ_BASE ? NVDISK_SQ_ENTRY : off === NVDISK_REG.CQ_BASE ? NVDISK_CQ_ENTRY : 0;
  if (entry !== 0 && ((value >>> 0) % 4 !== 0 || (value >>> 0) + entry > m.memory.guestLimit)) {
    m.count("bypass.refused");
    return false;
  }
  return true;
}

/**
 * `--passthrough` for a back end: a UserError when it cannot (Backend.passthrough),
 * or when there is no nvdisk to pass through. The back ends that can are the
 * registry's to list (`previrt run --help`): this module loads none.
 */
export function checkPassthrough(backend: Pick<Backend, "name" | "createMonitor" | "passthrough">, passthrough: boolean | undefined, hasNvdisk: boolean): boolean {
  if (!passthrough) return false;
  if (!hasNvdisk) throw new UserError("--passthrough needs --nvdisk (the device to pass through)");
  if (!backend.passthrough) {
    const why = backend.createMonitor ? "it offers none: previrt run --help names the back ends that do" : "bare metal has no hypervisor to bypass";
    throw new UserError(`--hv ${backend.name} cannot pass a device through (${why})`);
  }
  return true;
}
