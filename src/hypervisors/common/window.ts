// The soft-layer window (docs/design.md §3) as the xen and l4 back ends build it:
// virtual 0xFFC00000–0xFFFFFFFF belongs to the in-place VMM; its top 128 KiB
// (WINDOW_BACKED…) are backed by monitor-reserved physical frames, the rest
// is unmapped. The monitor answers TLB misses there itself (the guest never
// maps the window), only while the virtual CPU is in supervisor mode.
//
//   0xFFFE0000  VMM .text (entries)          read-only for the guest
//   next page   VMM .data: the shared-info page (VPSR, VPEND, VCR[8],
//               page-table update queue, save area, STUB_SAVE)   writable
//   0xFFFF0000  out-of-line stubs (the rewriter's)                read-only
//   0xFFFFF000  unused (unmapped)
//
// The VMM is G32 assembly (common/vmm-core.s.ts + the back end's vmm.s.ts,
// modules exporting the text, so nothing is read from disk), assembled here
// by previrt's own assembler at `textBase` WINDOW_BACKED on first use and
// cached; its symbols are the rewriter's window symbols.

import { assemble } from "../../guest-isa/assembler/index.js";
import { SHF_ALLOC, SHF_WRITE, SHT_NOBITS, type ElfImage } from "../../guest-isa/elf-types.js";
import type { WindowLayout } from "../../rewriter/index.js";
import { L4_VMM_SOURCE } from "../l4/vmm.s.js";
import { XEN_VMM_SOURCE } from "../xen/vmm.s.js";
import { HC } from "./hypercalls.js";
import { VMM_CORE_SOURCE } from "./vmm-core.s.js";

export const WINDOW_BASE = 0xffc00000;
/** First backed window address: everything from here reaches with a sign-extended 18-bit offset from zero. */
export const WINDOW_BACKED = 0xfffe0000;
export const WINDOW_BACKED_BYTES = 0x20000;
export const STUB_BASE = 0xffff0000;
export const STUB_LIMIT = 0xfffff000;
/** Entries in the in-place VMM's page-table update queue. */
export const QUEUE_ENTRIES = 32;

/** The assembled in-place VMM of one back end. */
export interface VmmImage {
  readonly image: ElfImage;
  /** Every symbol of the VMM (entries and shared-info words) by name. */
  readonly symbols: Readonly<Record<string, number>>;
  /** Per backed window page (index (va - WINDOW_BACKED) >> 12): 1 = guest-writable data. */
  readonly writablePages: Uint8Array;
  readonly layout: WindowLayout;
}

const cache = new Map<string, VmmImage>();

/** The VMM sources, by path under src/hypervisors (the name assembler diagnostics give). */
const VMM_SOURCES: Readonly<Record<string, string>> = {
  "common/vmm-core.s.ts": VMM_CORE_SOURCE,
  "xen/vmm.s.ts": XEN_VMM_SOURCE,
  "l4/vmm.s.ts": L4_VMM_SOURCE,
};

/** One VMM source as the assembler takes it; a back end without one is a bug in the registry. */
function readVmmSource(rel: string): { file: string; text: string } {
  const text = VMM_SOURCES[rel];
  if (text === undefined) throw new Error(`no in-place VMM source src/hypervisors/${rel}`);
  return { file: `src/hypervisors/${rel}`, text };
}

/** Assembles (once per process) the in-place VMM of a back end: common/vmm-core.s.ts + BACKEND/vmm.s.ts. */
export function buildVmm(backend: string): VmmImage {
  let v = cache.get(backend);
  if (v) return v;
  const defines: Record<string, number> = { QMAX: QUEUE_ENTRIES };
  for (const [name, n] of Object.entries(HC)) defines[`HC_${name}`] = n;
  const image = assemble([readVmmSource("common/vmm-core.s.ts"), readVmmSource(`${backend}/vmm.s.ts`)], { textBase: WINDOW_BACKED, defines });
  const symbols: Record<string, number> = {};
  for (const s of image.symbols) if (s.name && !s.name.startsWith(".")) symbols[s.name] = s.value >>> 0;
  const writablePages = new Uint8Array(WINDOW_BACKED_BYTES >>> 12);
  for (const s of image.sections) {
    if ((s.flags & SHF_ALLOC) === 0) continue;
    const end = s.addr + (s.type === SHT_NOBITS ? s.size : s.data.length);
    if (s.addr < WINDOW_BACKED || end > STUB_BASE) throw new Error(`in-place VMM for ${backend}: section ${s.name} does not fit below the stub area`);
    if (s.flags & SHF_WRITE) for (let a = s.addr; a < end; a += 0x1000) writablePages[(a - WINDOW_BACKED) >>> 12] = 1;
  }
  v = {
    image,
    symbols,
    writablePages,
    layout: { symbols, stubBase: STUB_BASE, stubLimit: STUB_LIMIT, stubSaveSymbol: "STUB_SAVE" },
  };
  cache.set(backend, v);
  return v;
}

export function inWindow(va: number): boolean {
  return va >>> 0 >= WINDOW_BASE;
}
