// Para-virtualized images (`previrt build --paravirt xen`): the compiler marks
// them with the absolute symbol PARAVIRT_MARKER; they call hypercalls and use
// the shared-info page directly, have no sites, and run on xen only.

import type { ElfImage } from "../guest-isa/elf-types.js";

export const PARAVIRT_MARKER = "__previrt_paravirt_xen";

export function isParavirtImage(image: ElfImage): boolean {
  return image.symbols.some((s) => s.name === PARAVIRT_MARKER);
}
