// The soft-layer window (DESIGN.md §3) as the xen and l4 back ends build it:
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
// The VMM is G32 assembly (common/vmm-core.s + the back end's vmm.s),
// assembled here by previrt's own assembler at `textBase` WINDOW_BACKED on
// first use and cached; its symbols are the rewriter's window symbols.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assemble } from "../../guest-isa/assembler/index.js";
import { SHF_ALLOC, SHF_WRITE, SHT_NOBITS, type ElfImage } from "../../guest-isa/elf-types.js";
import type { WindowLayout } from "../../rewriter/index.js";
import { HC } from "./hypercalls.js";

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

/** Finds a VMM source next to the module (src/) or, when running from dist/, in the package's src/. */
function readVmmSource(rel: string): { file: string; text: string } {
  const here = new URL(`../${rel}`, import.meta.url);
  const fromDist = new URL(`../../../../src/hypervisors/${rel}`, import.meta.url);
  for (const u of [here, fromDist]) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return { file: `src/hypervisors/${rel}`, text: readFileSync(p, "utf8") };
  }
  throw new Error(`in-place VMM source src/hypervisors/${rel} not found`);
}

/** Assembles (once per process) the in-place VMM of a back end: common/vmm-core.s + BACKEND/vmm.s. */
export function buildVmm(backend: string): VmmImage {
  let v = cache.get(backend);
  if (v) return v;
  const defines: Record<string, number> = { QMAX: QUEUE_ENTRIES };
  for (const [name, n] of Object.entries(HC)) defines[`HC_${name}`] = n;
  const image = assemble([readVmmSource("common/vmm-core.s"), readVmmSource(`${backend}/vmm.s`)], { textBase: WINDOW_BACKED, defines });
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
