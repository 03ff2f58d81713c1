// Units of the `guests` campaign's `selfmod` family (scripts/fuzz/guests.ts):
// what the JIT's invalidation must survive (docs/machine.md "Invalidation"),
// each unit a self-contained, position-independent group of instruction
// words the shrinker can drop:
//   - rewrite-next: a loop whose store rewrites the instruction right after
//     it, in the same block (toggled each pass, set once, or one byte of it);
//   - call-other: a function written into another page, called, and one of
//     its words rewritten between calls;
//   - loop-body: a loop whose first instruction is rewritten, every few
//     passes, by a store in another block of the same loop;
//   - dma: a function written and called, then new code written elsewhere,
//     sent to the disk and read back by DMA over the function (or over the
//     tail of the program's own code pages), and called again;
//   - remap: paging on, two physical pages holding the same code but for one
//     word, a virtual page mapped to the first and called; its first
//     instruction remaps the virtual page to the second (then `tlbinv`,
//     `tlbflush`, a `ptbr` write, or nothing: the stale translation
//     stays, as in the interpreter) and the code after it runs;
//   - for the smp campaign (selfmodSmpUnit): a function at one address that
//     every CPU drawing it writes, calls and rewrites, while the others do.
// The guest runs with the hostile page tables (paged inputs) whose own pages
// are mapped too, so that the guest can edit them, and with a small disk.
//
// Consumes an Rng; produces instruction words (assembled here from text with
// pc-relative labels only, so a unit works wherever it lands).

import { assemble } from "../../../src/guest-isa/assembler/index.js";
import { encodeInstruction } from "../../../src/guest-isa/encoding.js";
import { randomGuestBody } from "./guests.js";
import type { Rng } from "./rng.js";

/** Pages the units write code into: inside the identity-mapped first 256 KiB, above the hcalls' data (0x20000). */
const FN_PAGES = [0x30000, 0x31000, 0x32000, 0x33000];
const DMA_SOURCE = 0x38000;
/** The smp campaign's shared function. */
const SHARED_FN = 0x30000;
/** DMA destinations: a function page, or the tail of the program's first and second code pages (hostile: it may be running code). */
const DMA_DEST = [0x34000, 0x34000, 0x1e00, 0x2e00];
/** The remap unit's two physical pages and the virtual pages it maps onto them (the low page table's entries 0x200–0x203). */
const REMAP_A = 0x3a000, REMAP_B = 0x3b000;
const REMAP_VA = [0x200000, 0x201000, 0x202000, 0x203000];
export const SELFMOD_DISK_SECTORS = 8;
/** Disk latency of the family's runs (the default 50,000 cycles would spend most of --max-cycles waiting). */
export const SELFMOD_DISK_LATENCY = 2000;

export interface SelfmodLayout {
  /** The page directory and the low page table (VA 0–4 MiB). */
  pd: number;
  ptLow: number;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const enc = (m: string, f: { a?: number; b?: number; c?: number; imm?: number } = {}) => encodeInstruction(m, f) >>> 0;

function words(lines: readonly string[]): number[] {
  const image = assemble([{ file: "selfmod.s", text: ["    .text", "    .global _start", "_start:", ...lines, ""].join("\n") }]);
  const text = image.sections[0];
  const view = new DataView(text.data.buffer, text.data.byteOffset, text.data.length);
  return Array.from({ length: text.data.length >>> 2 }, (_, i) => view.getUint32(4 * i, true));
}

/**
 * An instruction word to rewrite: ALU operations on a0 (what they leave
 * differs), a console write, a jump over the next instruction, or (rarely)
 * any random instruction.
 */
function target(r: Rng): number {
  return r.weighted<() => number>([
    [6, () => enc("addi", { a: 1, b: 1, imm: r.range(-100, 100) })],
    [3, () => enc("xori", { a: 1, b: 1, imm: r.int(256) })],
    [2, () => enc("slli", { a: 1, b: 1, imm: r.range(1, 5) })],
    [2, () => enc("out", { b: 1, imm: 0x10 })],
    [2, () => enc("jal", { a: 0, imm: 8 })],
    [1, () => randomGuestBody(() => r.float(), 1)[0] >>> 0],
  ])();
}
const passes = (r: Rng) => r.pick([1, 2, 3, 10, 100, 600]); // 600: past the default engine's threshold (512)

/** The store of rewrite-next and loop-body: toggle the word (lw, xor, sw), store a fixed word, or toggle one byte. */
function rewrite(r: Rng, at: string, w1: number, w2: number): { setup: string[]; store: string[] } {
  return r.weighted<() => { setup: string[]; store: string[] }>([
    [5, () => ({ setup: [`    li   t3, ${hex(w1 ^ w2)}`], store: [`    lw   t1, ${at}(lr)`, "    xor  t1, t1, t3", `    sw   t1, ${at}(lr)`] })],
    [2, () => ({ setup: [`    li   t1, ${hex(w2)}`], store: [`    sw   t1, ${at}(lr)`] })],
    [2, () => {
      const b = r.int(4);
      return { setup: [`    li   t3, ${r.range(1, 255)}`], store: [`    lbu  t1, ${at}+${b}(lr)`, "    xor  t1, t1, t3", `    sb   t1, ${at}+${b}(lr)`] };
    }],
    [1, () => {
      const h = 2 * r.int(2);
      return { setup: [`    li   t3, ${r.range(1, 0xffff)}`], store: [`    lhu  t1, ${at}+${h}(lr)`, "    xor  t1, t1, t3", `    sh   t1, ${at}+${h}(lr)`] };
    }],
  ])();
}

function rewriteNext(r: Rng): number[] {
  const w1 = target(r), w2 = target(r);
  const { setup, store } = rewrite(r, ".Lt-.Lh", w1, w2);
  return words([
    "    jal  lr, .Lh", ".Lh:", // lr: this unit's address, wherever it is
    `    li   t2, ${passes(r)}`, ...setup,
    ".Ll:", ...store,
    `.Lt: .word ${hex(w1)}`,
    "    addi a0, a0, 7",
    "    addi t2, t2, -1", "    bnez t2, .Ll",
  ]);
}

function loopBody(r: Rng): number[] {
  const w1 = target(r), w2 = target(r);
  const { setup, store } = rewrite(r, ".Lt-.Lh", w1, w2);
  const every = r.pick([0, 1, 3, 7]);
  return words([
    "    jal  lr, .Lh", ".Lh:",
    `    li   t2, ${passes(r)}`, ...setup,
    `.Lt: .word ${hex(w1)}`,
    "    addi a0, a0, 7",
    `    andi t4, t2, ${every}`, "    bnez t4, .Ls", // the store in a block of its own, taken every (every+1)th pass
    ...store,
    ".Ls:", "    addi t2, t2, -1", "    bnez t2, .Lt",
  ]);
}

/** Stores `ws` at t0 + 0, 4, … (t1 as scratch). */
const storeWords = (ws: readonly number[], base = "t0") => ws.flatMap((w, i) => [`    li   t1, ${hex(w)}`, `    sw   t1, ${4 * i}(${base})`]);
/** A return, twice: a target word that jumps over the next instruction still returns. */
const RET = enc("jalr", { a: 0, b: 15, imm: 0 });
const RETS = [RET, RET];

/** `shared`: the function at one address every caller uses (the smp campaign: one CPU rewrites what another runs), two words long. */
function callOther(r: Rng, shared = false): number[] {
  const body = Array.from({ length: shared ? 2 : r.range(1, 4) }, () => target(r));
  const j = r.int(body.length);
  const w2 = target(r);
  return words([
    `    li   t0, ${hex(shared ? SHARED_FN : r.pick(FN_PAGES) + 4 * r.pick([0, 0, 16, 1016]))}`, // 1016: the function crosses into the next page
    ...storeWords([...body, ...RETS]),
    `    li   t2, ${passes(r)}`, `    li   t3, ${hex(body[j] ^ w2)}`,
    ".Ll:", "    jalr lr, 0(t0)",
    `    lw   t1, ${4 * j}(t0)`, "    xor  t1, t1, t3", `    sw   t1, ${4 * j}(t0)`,
    "    addi t2, t2, -1", "    bnez t2, .Ll",
  ]);
}

/** Waits for the disk (DONE or ERROR), then acknowledges. */
const diskWait = (label: string) => [`${label}:`, "    in   t1, 0x33", "    andi t1, t1, 6", `    beqz t1, ${label}`, "    out  0x33, zero"];

function dma(r: Rng): number[] {
  const dest = r.pick(DMA_DEST);
  const sector = r.pick([0, 1, SELFMOD_DISK_SECTORS - 1, SELFMOD_DISK_SECTORS]); // the last: past the disk (an error; the code stays)
  const before = [target(r), ...RETS], after = [target(r), target(r), ...RETS];
  return words([
    `    li   t0, ${hex(dest)}`, ...storeWords(before),
    `    li   t2, ${r.range(1, 3)}`, ".Lc:", "    jalr lr, 0(t0)", "    addi t2, t2, -1", "    bnez t2, .Lc", // translated, at threshold 1
    `    li   t0, ${hex(DMA_SOURCE)}`, ...storeWords(after),
    `    li   t1, ${sector}`, "    out  0x30, t1", "    out  0x31, t0", "    li   t1, 2", "    out  0x32, t1", ...diskWait(".Lw"),
    `    li   t0, ${hex(dest)}`, `    li   t1, ${sector}`, "    out  0x30, t1", "    out  0x31, t0", "    li   t1, 1", "    out  0x32, t1", ...diskWait(".Lr"),
    "    jalr lr, 0(t0)",
  ]);
}

function remap(r: Rng, layout: SelfmodLayout): number[] {
  const va = r.pick(REMAP_VA);
  const pte = layout.ptLow + 4 * ((va >>> 12) & 1023);
  const invalidate = r.pick([["    tlbinv t4"], ["    tlbflush"], ["    mtcr ptbr, t3"], ["    addi zero, zero, 0"]]);
  // The page's code at offset 0: remap (t1 into the entry at t0), invalidate or not, one word that differs, return.
  const page = (w: number) => words(["    sw   t1, 0(t0)", ...invalidate, `    .word ${hex(w)}`, "    jalr zero, 0(lr)", "    jalr zero, 0(lr)"]);
  const wa = target(r);
  let wb = target(r);
  if (wb === wa) wb = enc("addi", { a: 1, b: 1, imm: 1000 });
  return words([
    `    li   t3, ${hex(layout.pd)}`, "    mtcr ptbr, t3", "    li   t0, 1", "    mtcr pgctl, t0",
    `    li   t0, ${hex(REMAP_A)}`, ...storeWords(page(wa)),
    `    li   t0, ${hex(REMAP_B)}`, ...storeWords(page(wb)),
    `    li   t0, ${hex(pte)}`, `    li   t4, ${hex(va)}`, `    li   t2, ${passes(r)}`,
    ".Ll:", `    li   t1, ${hex(REMAP_A | 3)}`, "    sw   t1, 0(t0)", ...(r.chance(0.7) ? ["    tlbinv t4"] : []),
    `    li   t1, ${hex((r.chance(0.8) ? REMAP_B : REMAP_A) | 3)}`,
    "    jalr lr, 0(t4)",
    "    addi t2, t2, -1", "    bnez t2, .Ll",
  ]);
}

type UnitMaker = (r: Rng, layout: SelfmodLayout) => number[];
export type SelfmodKind = "rewrite-next" | "call-other" | "loop-body" | "dma" | "remap" | "random";
/** The unit kinds (tests run each alone), and their weights in the family. */
export const SELFMOD_KINDS: Readonly<Record<SelfmodKind, readonly [number, UnitMaker]>> = {
  "rewrite-next": [4, rewriteNext],
  "call-other": [3, (r) => callOther(r)],
  "loop-body": [3, loopBody],
  dma: [2, dma],
  remap: [3, remap],
  random: [1, (r: Rng) => randomGuestBody(() => r.float(), r.range(5, 30))],
};
const WEIGHTED = Object.values(SELFMOD_KINDS).map(([w, make]) => [w, make] as const);

/** One unit of the family. */
export function selfmodUnit(r: Rng, layout: SelfmodLayout): number[] {
  return r.weighted(WEIGHTED)(r, layout);
}

/**
 * A unit for one CPU of a multiprocessor guest (the smp campaign): mostly the
 * shared function, called and rewritten by every CPU that draws it, so that
 * one CPU's stores change the code another runs; also the single-CPU kinds
 * that need neither the disk nor the page tables.
 */
export function selfmodSmpUnit(r: Rng): number[] {
  return r.weighted<() => number[]>([
    [5, () => callOther(r, true)],
    [2, () => rewriteNext(r)],
    [2, () => loopBody(r)],
    [1, () => randomGuestBody(() => r.float(), r.range(5, 20))],
  ])();
}
