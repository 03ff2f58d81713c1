// The padding table: how long a site of each kind is, in instruction words
// (the original instruction plus padding `nop`s). The annotator reads it to
// size every site; nothing else decides a site's length.
//
// DESIGN.md §3: a site's length is the longest *inline* replacement any
// registered back end has for that kind (Linux's alternatives size a slot by
// its longest replacement). The back ends and their per-kind replacement
// tables arrive with the rewriter (issue 6); until then this table holds the
// PLANNED lengths, each with the sequence it was planned for. When back ends
// register, `siteWords(kind)` becomes max over their inline lengths (≥ 1) and
// a test asserts the table equals that maximum. Never hand-tune a length for
// one mnemonic anywhere else.
//
// The plans assume the in-place VMM's layout (DESIGN.md §3): the virtual CPU
// lives in the soft-layer window at the top of memory, so `lw/sw rX,
// -off(zero)` reaches a virtual register in ONE instruction (sign-extended
// 18-bit offsets cover 0xFFFE0000–0xFFFFFFFF); `k0` is free scratch at every
// site; a call into the VMM is one `jalr k0, -off(zero)` and the VMM returns
// with `jr k0`. VIE = virtual IE word (0/1), VPSR = virtual psr, VPEND = 1
// when a virtual interrupt is pending, VCR+4n = virtual control register n.

import { SITE_KIND_NAMES, SITE_KINDS } from "../guest-isa/softlayer.js";

export interface PaddingRow {
  /** Site length in words, ≥ 1 (the original instruction's own word). */
  readonly words: number;
  /** The planned longest inline replacement this length was sized for. */
  readonly plan: string;
}

/** Planned site lengths by kind name: every site kind of softlayer.ts has a row (checked below). */
export const PLANNED_SITE_WORDS: Readonly<Record<string, PaddingRow>> = {
  cli: { words: 1, plan: "sw zero, VIE(zero)" },
  sti: {
    words: 5,
    plan: "addi k0, zero, 1; sw k0, VIE(zero); lw k0, VPEND(zero); beqz k0, +8; jalr k0, STI(zero)",
  },
  hlt: { words: 1, plan: "jalr k0, HLT(zero) — the VMM blocks the vCPU" },
  iret: { words: 1, plan: "jalr k0, IRET(zero) — restores virtual psr/epc, delivers pending interrupts" },
  tlbflush: { words: 1, plan: "jalr k0, TLBFLUSH(zero) — a (batched) hypercall or shadow flush" },
  tlbinv: { words: 1, plan: "jalr k0, TLBINV(zero) — the VMM reads rs from the site's stub" },
  mfcr: { words: 1, plan: "lw rd, VCR+4n(zero) — every virtual control register is a word in the window" },
  mtcr: { words: 2, plan: "sw rs, VCR+4n(zero); jalr k0, CR(zero) — ptbr and pgctl also call the VMM; others need only the store" },
  in: { words: 1, plan: "jalr k0, IN(zero) — device model in the VMM" },
  out: { words: 1, plan: "jalr k0, OUT(zero) — device model in the VMM" },
  rdpsr: { words: 3, plan: "lw rd, VPSR(zero); lw k0, VIE(zero); or rd, rd, k0" },
  wrpsr: {
    words: 6,
    plan: "andi k0, rs, 1; sw k0, VIE(zero); sw rs, VPSR(zero); lw k0, VPEND(zero); beqz k0, +8; jalr k0, WRPSR(zero)",
  },
  "pte-load": { words: 2, plan: "lw rd, off(rs1); jalr k0, PTE_READ(zero) — shadow back ends translate the entry read" },
  "pte-store": {
    words: 6,
    plan:
      "queue (address, value) for a batched mmu_update: lw k0, QTAIL(zero); sw rs1, 0(k0); sw rs2, 4(k0); addi k0, k0, 8; " +
      "sw k0, QTAIL(zero); + 1 word to fold a non-zero offset into the entry (the queue is flushed at the VMM's next exit); shadow back ends: one call",
  },
  "mmio-load": { words: 2, plan: "lw rd, off(rs1) on a mapped register, or jalr k0, MMIO_READ(zero) — room for either plus fix-up" },
  "mmio-store": { words: 2, plan: "sw rs2, off(rs1) on a mapped register, or jalr k0, MMIO_WRITE(zero) — room for either plus fix-up" },
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
