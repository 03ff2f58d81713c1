// Block discovery: the guest code one translation covers.
//
// Consumes the instruction words of a page (heap32), the page's heap byte
// index and an entry offset in it. Produces the basic blocks (offset in the
// page, words, whether a branch or jump ends it) in address order and
// numbered, with their instruction count; the key the process's memo knows
// blocks by (`blockKey`, translate-memo.ts `shared`); and the registers the
// blocks read and write, which the generated code keeps in locals
// (`registersOf`). translate.ts calls it for every translation; the code
// generators (translate-generate.ts, wasm-blocks.ts) consume its blocks.
//
// What a translation covers. Starting at the entry, the basic blocks
// reachable by direct branches and jumps *inside the same page* (up to
// MAX_INSNS instructions), each a straight line ending at a branch or jump,
// at the page end, after sti or wrpsr, or just before an instruction only
// the interpreter runs (the trap, privileged and sensitive groups of the ISA
// table, and illegal words — the decoder's legality table, decode.ts; see
// translate-emit.ts `translatable`), and the return points of calls made
// from them.

import { BY_OPCODE, OP } from "../../guest-isa/isa-table.js";
import { BY_OP, translatable } from "./translate-emit.js";

/** Most instructions one translation covers (all its blocks): bounds compile time. */
export const MAX_INSNS = 64;

export interface Block {
  id: number;
  /** Byte offset of the first instruction in the page. */
  start: number;
  words: number[];
  /** Whether the last word is a branch/jump (else the block falls out: page end or a slow-path instruction next). */
  terminated: boolean;
}

export const blockKey = (b: Block) => `${b.start}:${b.words.join(",")}`;

/**
 * The basic blocks reachable from `entryOff` inside the page at heap byte
 * `page` (up to MAX_INSNS instructions; `tail`: the first block only), in
 * address order, numbered, and their instruction count.
 */
export function discover(H: Int32Array, page: number, entryOff: number, tail: boolean): { blocks: Block[]; byStart: Map<number, Block>; total: number } {
  const wordAt = (off: number) => H[(page + off) >> 2];
  const blocks: Block[] = [];
  const byStart = new Map<number, Block>();
  const queue: number[] = [entryOff];
  let total = 0;
  while (queue.length && total < MAX_INSNS && !(tail && blocks.length > 0)) {
    const start = queue.shift()!;
    if (byStart.has(start)) continue;
    const b: Block = { id: blocks.length, start, words: [], terminated: false };
    blocks.push(b);
    byStart.set(start, b);
    let off = start;
    while (off < 4096 && total < MAX_INSNS) {
      const w = wordAt(off);
      if (!translatable(w)) break;
      b.words.push(w);
      total++;
      off += 4;
      const k = BY_OP[w & 63]!.kind;
      if (k === "branch") {
        b.terminated = true;
        const t = off - 4 + ((w >> 14) << 2);
        if (t >= 0 && t < 4096) queue.push(t);
        if (off < 4096) queue.push(off);
        break;
      }
      if (k === "jal") {
        b.terminated = true;
        const t = off - 4 + ((w >> 10) << 2);
        if (t >= 0 && t < 4096) queue.push(t);
        // A call: where it returns is an entry too.
        if (((w >>> 6) & 15) !== 0 && off < 4096) queue.push(off);
        break;
      }
      if (k === "jalr" || k === "sysret") {
        b.terminated = true;
        break;
      }
    }
    if (b.words.length === 0) {
      // A branch target that is a slow-path instruction: no block, the engine steps it.
      blocks.pop();
      byStart.delete(start);
      continue;
    }
  }

  // ---- blocks in address order, so that a fall-through is a `case` falling into the next one.
  // (A block may run on into another block's start: its instructions are then translated twice.
  // Cutting it there instead made V8 deoptimize the translations over and over.)
  blocks.sort((x, y) => x.start - y.start);
  blocks.forEach((b, id) => (b.id = id));
  return { blocks, byStart, total };
}

/** The registers `blocks` read or write, and those they write (r0 in neither). */
export function registersOf(blocks: readonly Block[]): { used: Set<number>; written: Set<number> } {
  const used = new Set<number>();
  const written = new Set<number>();
  for (const b of blocks) {
    for (const w of b.words) {
      const e = BY_OP[w & 63]!;
      const a = (w >>> 6) & 15, rb = (w >>> 10) & 15, c = (w >>> 14) & 15;
      const op = w & 63;
      const rrr = BY_OPCODE[op]!.format === "rrr";
      if (e.kind === "pause") continue;
      if (op === OP.mfcr || op === OP.rdpsr) written.add(a);
      if (e.kind === "alu" || e.kind === "load" || e.kind === "amo" || e.kind === "jal" || e.kind === "jalr") written.add(a);
      if (e.kind === "store" || e.kind === "branch") used.add(a);
      if (e.kind !== "jal" && BY_OPCODE[op]!.format !== "lui") used.add(rb);
      if (rrr || e.kind === "amo") used.add(c);
    }
  }
  written.delete(0);
  used.delete(0);
  for (const r of written) used.add(r);
  return { used, written };
}
