// The in-place VMM's protection domain on xen and l4 (docs/protection.md,
// docs/design.md §9): the VMM lives in the guest's address space, so without
// this the guest kernel's own code could read and write the VMM's state.
//
// Consumes the machine (its protection unit), the physical base of the
// backed soft-layer window, where the shared-info pages lie, and the rewriter's report of the
// rewritten sites (rewriter/protected-ranges.ts). Produces one domain, "vmm",
// whose code is the window (VMM text and the rewriter's stubs) and every
// rewritten site in the kernel's text (inline ranges: a guest domain may
// enclose them, and their emulated port I/O is the enclosing domain's,
// Protection.callerDomain); and restricts the kernel domain (all
// other code) to no access at all to the window's frames. A site performs
// the guest's instruction, and so does the stub it jumps to (whose first
// word saves the site's return address in STUB_SAVE): their loads and
// stores to guest memory — a lock template's amoswap, an unlock's store —
// are judged for the site's caller, not with the VMM's rights
// (Protection.accessDomain; the stubs' range names its site through
// `stubSite`). Called from
// the xen and l4 monitors' attach (wedge-state.ts) unless `--no-protect`.
//
// A para-virtualized image (no sites: its own code reads and writes its
// vCPU's shared-info page, as a Xen PV kernel does by design) keeps access to the
// VMM's writable pages; the VMM's text and stubs stay the VMM's alone. Its
// page-table queue (QCOUNT, QUEUE) is domain 0's alone: the monitor applies
// the queued updates as domain 0's (wedge-paging.ts applyQueue), so a domain
// the guest defines gets no access to those words — else a module would
// have the monitor write, for it, words only domain 0 may write.

import type { Machine } from "../../machine/machine.js";
import { KERNEL_DOMAIN, PERM } from "../../machine/protection/protection.js";
import { vmmSiteRanges, type RewriteResult } from "../../rewriter/index.js";
import { STUB_BASE, STUB_LIMIT, WINDOW_BACKED, WINDOW_BACKED_BYTES } from "./window.js";

/** The window pages holding the shared-info pages of every vCPU (vCPU k's copy follows vCPU k-1's). */
export interface SharedInfoPages {
  first: number;
  count: number;
}

/** Physical [start, end) of each vCPU's page-table queue (QCOUNT and QUEUE). */
export type QueueWords = readonly (readonly [number, number])[];

/** Sets up the VMM's domain; returns its id. */
export function protectVmm(
  machine: Machine,
  windowPa: number,
  rewrite: RewriteResult,
  paravirt: boolean,
  sharedInfo: SharedInfoPages,
  queues: QueueWords,
  stubSite: () => number,
): number {
  const p = machine.protection;
  const window = { start: WINDOW_BACKED, end: STUB_LIMIT };
  // Stubs are inside the window's range already; sites are in the kernel's text, inline: a
  // domain the guest defines over its own code may enclose them (they perform its instructions).
  const sites = vmmSiteRanges(rewrite)
    .filter((r) => r.end <= window.start || r.start >= window.end)
    .map((r) => ({ ...r, inline: true }));
  const core = { start: WINDOW_BACKED, end: STUB_BASE };
  const stubs = { start: STUB_BASE, end: STUB_LIMIT, performs: stubSite };
  const id = p.defineDomain("vmm", [core, stubs, ...sites], "monitor");
  const pages = WINDOW_BACKED_BYTES >>> 12;
  for (let i = 0; i < pages; i++) {
    if (paravirt && i >= sharedInfo.first && i < sharedInfo.first + sharedInfo.count) continue;
    p.grant(KERNEL_DOMAIN, windowPa + i * 4096, 4096, PERM.NONE);
  }
  if (paravirt) for (const [start, end] of queues) p.limitGuestDomains(start, end - start, PERM.NONE);
  return id;
}
