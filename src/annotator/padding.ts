// The padding table: how long a site of each kind is, in instruction words
// (the original instruction plus padding `nop`s). The annotator reads it to
// size every site; nothing else decides a site's length.
//
// docs/design.md §3: a site's length is the longest *inline* replacement any
// registered back end has for that kind (Linux's alternatives size a slot by
// its longest replacement), at least one word. The lengths below are that
// maximum over the registered back ends (bare, hvm, trap: none; xen and l4:
// src/hypervisors/common/wedge-replacements.ts), each with the sequence that
// sets it; test/hypervisors/padding.test.ts recomputes the maximum from the
// registry and fails when this table differs — so it is derived, never
// hand-tuned. A back end added later whose replacement does not fit is still
// correct: the slot becomes one `jalr k0, off(zero)` into a stub.
//
// The sequences use the in-place VMM's window (docs/in-place-vmm.md): VPSR =
// the virtual psr word, VPEND = events held, VCR+4n = virtual control
// register n, `k0` is free
// scratch at every site; a call into the VMM is one `jalr k0, -off(zero)`.

import { SITE_KIND_NAMES, SITE_KINDS } from "../guest-isa/softlayer.js";

export interface PaddingRow {
  /** Site length in words, ≥ 1 (the original instruction's own word). */
  readonly words: number;
  /** The longest inline replacement (and the back ends having it) that sets this length. */
  readonly plan: string;
}

/** Site lengths by kind name: every site kind of softlayer.ts has a row (checked below). */
export const PLANNED_SITE_WORDS: Readonly<Record<string, PaddingRow>> = {
  cli: { words: 3, plan: "xen, l4: lw k0, VPSR(zero); andi k0, k0, -2; sw k0, VPSR(zero) — clear IE in the shared virtual psr" },
  sti: { words: 6, plan: "xen, l4: lw k0, VPSR(zero); ori k0, k0, 1; sw k0, VPSR(zero); lw k0, VPEND(zero); beqz k0, +8; jalr k0, DELIVER(zero) — set IE, then deliver held events" },
  hlt: { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — the BLOCK path" },
  iret: { words: 1, plan: "xen, l4: jalr k0, IRET(zero) (call) — kernel-to-kernel returns done in the VMM" },
  tlbflush: { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — applies the page-table queue, flushes" },
  tlbinv: { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — applies the page-table queue, invalidates" },
  mfcr: { words: 1, plan: "xen, l4: lw rd, VCR+4n(zero) — every virtual control register is a word in the window" },
  mtcr: { words: 1, plan: "xen, l4: sw rs, VCR+4n(zero); ptbr and pgctl: jalr k0, EMULATE(zero) (call)" },
  in: { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — the device model" },
  out: { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — the device model" },
  rdpsr: { words: 1, plan: "xen, l4: lw rd, VPSR(zero)" },
  wrpsr: { words: 6, plan: "xen, l4: sw rs, VPSR(zero); andi k0, rs, 0xff03; sw k0, VPSR(zero); lw k0, VPEND(zero); beqz k0, +8; jalr k0, DELIVER(zero) — only IE, SU and UF are kept" },
  "pte-load": { words: 1, plan: "xen, l4: native — xen's writable page tables and l4's task memory let page-table entries be read in place" },
  "pte-store": { words: 1, plan: "xen, l4: native — xen's writable page tables (the first write to a live page table unhooks it) and l4's task memory let entries be written in place" },
  "mmio-load": { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — the device model" },
  "mmio-store": { words: 1, plan: "xen, l4: jalr k0, EMULATE(zero) (call) — the device model" },
  lock: { words: 1, plan: "every back end: native — the amoswap that tries to take a spinlock (unprivileged)" },
  unlock: { words: 1, plan: "every back end: native — the store that releases a spinlock (unprivileged)" },
  ticket: { words: 1, plan: "every back end: native — the amoadd that takes a ticket lock's ticket (unprivileged); xen, l4 with --spinlocks pv or delayed: a stub" },
};

/** Site length in words by kind number. */
const WORDS_BY_KIND: ReadonlyMap<number, number> = (() => {
  const m = new Map<number, number>();
  for (const [kind, name] of SITE_KIND_NAMES) {
    const row = PLANNED_SITE_WORDS[name];
    if (!row) throw new Error(`padding table: no row for site kind '${name}'`);
    if (!Number.isInteger(row.words) || row.words < 1) throw new Error(`padding table: '${name}' must be at least 1 word`);
    m.set(kind, row.words);
  }
  for (const name of Object.keys(PLANNED_SITE_WORDS)) {
    if (!SITE_KINDS.has(name)) throw new Error(`padding table: '${name}' is not a site kind`);
  }
  return m;
})();

/** Site length in words (≥ 1) for a site kind number. */
export function siteWords(kind: number): number {
  const w = WORDS_BY_KIND.get(kind);
  if (w === undefined) throw new Error(`siteWords: unknown site kind ${kind}`);
  return w;
}

/** Site length in bytes. */
export function siteLength(kind: number): number {
  return siteWords(kind) * 4;
}
