// The loader: copies an ElfImage into physical memory and sets the reset
// state. Each SHF_ALLOC section goes to physical memory at its `addr`
// (SHT_NOBITS sections are zeroed); non-allocated sections (".softlayer",
// the symbol table) are not loaded. Addresses are physical: paging is off at
// reset. A section outside guest RAM is a UserError (a bad binary, not a
// guest fault) naming the binary's file when the caller gives it, as the ELF
// reader's and the rewriter's errors do.

import { UserError } from "../guest-isa/diagnostics.js";
import { SHF_ALLOC, SHT_NOBITS, type ElfImage } from "../guest-isa/elf-types.js";
import { checkImageLayout } from "../guest-isa/image-check.js";
import type { Machine } from "./machine.js";

export function loadImage(machine: Machine, image: ElfImage, file?: string): void {
  // Alignment, bounds, code placement, entry alignment: the rules shared with the ELF reader and the rewriter.
  checkImageLayout(image);
  const mem = machine.memory;
  for (const s of image.sections) {
    if ((s.flags & SHF_ALLOC) === 0) continue;
    const size = s.type === SHT_NOBITS ? s.size : s.data.length;
    if (s.addr < 0 || s.addr + size > mem.guestLimit) {
      throw new UserError(
        `${file ? `${file}: ` : ""}section ${s.name} at 0x${(s.addr >>> 0).toString(16)} (${size} bytes) does not fit in ${mem.guestLimit} bytes of guest RAM`,
      );
    }
    if (s.type === SHT_NOBITS) {
      mem.u8.fill(0, s.addr, s.addr + size);
      if (size > 0) mem.markWritten(s.addr, size);
    } else mem.writeBytes(s.addr, s.data);
  }
  machine.reset(image.entry);
}
