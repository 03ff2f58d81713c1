// Para-virtualized images (`previrt build --paravirt xen`): the facts shared
// by the compiler, which makes them, and the back ends, which run or refuse
// them. A para-virtualized image calls hypercalls and uses the hypervisor's
// shared-info page directly, has no sites, and is marked with an absolute
// symbol.

import type { ElfImage } from "./elf-types.js";

/** The absolute symbol that marks an image para-virtualized for xen. */
export const PARAVIRT_MARKER = "__previrt_paravirt_xen";

/**
 * What the compiler needs to para-virtualize for a hypervisor: its name and
 * its guest ABI as assembler symbols (shared-info addresses, hypercall
 * numbers: `__xen_VPSR`, `__xen_HC_IRET`, …). The hypervisor provides it
 * (src/hypervisors/paravirt.ts); the compiler only reads it.
 */
export interface ParavirtTarget {
  readonly hypervisor: string;
  readonly abi: Readonly<Record<string, number>>;
}

export function isParavirtImage(image: ElfImage): boolean {
  return image.symbols.some((s) => s.name === PARAVIRT_MARKER);
}
