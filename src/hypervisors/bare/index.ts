// `--hv bare`: the guest runs natively on the machine, in supervisor mode,
// with no monitor. Plain and annotated binaries both run: an annotated
// site's original instruction executes natively and its padding is skipped
// once the load-time rewriter (a later issue) has turned it into a jump.
// Until then the padding executes as it was assembled.

import type { ElfImage } from "../../guest-isa/elf-types.js";
import type { Backend } from "../index.js";

export const bare: Backend = {
  name: "bare",
  description: "bare metal: native execution, no monitor",
  prepare(image: ElfImage): ElfImage {
    // The load-time rewriter will plug in here (issue: rewriter): rewrite each
    // site for bare metal (padding → one jump over it). Today: unchanged.
    return image;
  },
};
