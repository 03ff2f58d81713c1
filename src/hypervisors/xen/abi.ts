// The xen back end's guest ABI, for code built against it directly (the
// para-virtualized build, src/compiler/paravirt.ts): the shared-info page's
// symbols (as the in-place VMM's image places them: the same page serves
// pre- and para-virtualized guests) and the hypercall numbers.

import { HC } from "../common/hypercalls.js";
import { buildVmm, QUEUE_ENTRIES } from "../common/window.js";

/** Shared-info words a para-virtualized guest uses, by name. */
export const SHARED_INFO_SYMBOLS = ["VPSR", "VPEND", "VCR", "QCOUNT", "QUEUE"] as const;

/** Assembler defines for a para-virtualized guest: `__xen_VPSR`, …, `__xen_HC_MMU_UPDATE`, …, `__xen_QMAX`. */
export function xenGuestDefines(): Record<string, number> {
  const vmm = buildVmm("xen");
  const d: Record<string, number> = { __xen_QMAX: QUEUE_ENTRIES };
  for (const s of SHARED_INFO_SYMBOLS) d[`__xen_${s}`] = vmm.symbols[s] | 0;
  for (const [name, n] of Object.entries(HC)) d[`__xen_HC_${name}`] = n;
  return d;
}
