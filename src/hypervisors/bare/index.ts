// `--hv bare`: the guest runs natively on the machine, in supervisor mode,
// with no monitor. Plain and annotated binaries both run: every site keeps
// its original instruction and the rewriter turns its padding into one jump
// over it, so an annotated kernel pays one instruction per site executed.

import type { Backend } from "../backend.js";

export const bare: Backend = {
  name: "bare",
  description: "bare metal: native execution, no monitor",
  // Spinlock sites (docs/design.md §3) run their native amoswap / store.
  target: { name: "bare", replacements: { lock: { strategy: "native" }, unlock: { strategy: "native" }, ticket: { strategy: "native" } } },
  // The machine's CPUs are the physical ones: as many as it has, and no --pcpus.
  maxCpus: 8,
};
