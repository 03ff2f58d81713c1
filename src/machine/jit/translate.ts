// The block translator: guest code of one physical page → one JavaScript
// function, which V8 then compiles like any other code (or one WebAssembly
// function, wasm-blocks.ts).
//
// Consumes the instruction words of a page (a heap view, memory.ts), an
// entry offset, and the per-opcode cost table the interpreter charges
// (decode.ts costTable). Produces a `Translation`: the function, the range
// of words it was made from (the cache verifies them, cache.ts) and its size.
// The engine (engine.ts) calls it; nothing else does. Every function it
// compiles first runs its blocks on scratch state (warm.ts), so that V8
// compiles it with type feedback for all of them.
//
// Its parts, a file each: translation.ts (the exit codes, the function's
// signature, the Translation, the process-wide counters and switches;
// re-exported here), translate-emit.ts (per ISA-table mnemonic, how an
// instruction is emitted, or that only the interpreter runs it),
// translate-blocks.ts (block discovery: what a translation covers, the
// registers it uses), translate-generate.ts (the JavaScript code generator,
// self-loops, `loopFit`), translate-memo.ts (the functions compiled in the
// process, shared by every machine: `shared`, `covering`). Here: the entry
// points (`translate`, `translateFrom`) and compiling — WebAssembly where
// the tier takes the blocks, else JavaScript, warmed up.
//
// Why the results are the interpreter's, instruction for instruction:
// - Each instruction's effect is the interpreter's expression (cpu.ts; the
//   edge cases from semantics.ts), chosen by ISA-table row: `EMIT`
//   (translate-emit.ts) is a Record<Mnemonic, …>, so a new instruction is a
//   type error until it is translated or sent to the interpreter.
// - Cycles: every block first checks that its cost up to its LAST
//   instruction stays below `limit` (the next device event or the budget):
//   exactly the condition under which the interpreter, which stops as soon
//   as `cycles >= limit` after an instruction, would run the whole block.
//   Otherwise the block exits untouched (EXIT.LIMIT) and the interpreter
//   runs up to the limit. The block then adds its summed cost — exact, since
//   the engine runs translations only for an all-integer cost model. A
//   self-loop skips the check for the iterations `loopFit` proved to pass it
//   (translate-generate.ts).
// - Fetch: a translation runs only after the engine found the entry's page
//   in the TLB exactly as the interpreter's fetch does; everything it runs
//   is in that page, and nothing it does changes the TLB.
// - Loads and stores use the TLB's fast tags as the interpreter does; any
//   miss (TLB miss, misaligned, no permission, watched frame) exits *before*
//   the instruction (EXIT.STEP) with everything before it charged, and the
//   interpreter executes it on its slow path. A misaligned jalr target the
//   same way. Except (outside self-loops, JavaScript tier) an access to a
//   frame a protection domain checks, of a page the TLB holds, that the
//   domain allows: the translation does it (cpu.ts checkedAccess, the
//   interpreter's check with its counters), remembers nothing of the page,
//   adds the check's charge (a PLB miss) and makes the block's limit check
//   again: if the block's last instruction no longer fits, it exits before
//   the next one (EXIT.LIMIT) and the interpreter runs on to the limit.
//   The trace ring gets the same (from, to) pairs (a block that branches to
//   itself writes its back edges' pairs when it is left).
// - A store into a page that holds translations exits right after it
//   (EXIT.STORE): the engine starts a new epoch, so every block verifies its
//   words before it runs again (cache.ts). The check is made when the store
//   looks its page up; a call remembers only pages without translations.
// - System instructions that touch only the CPU — cli, mfcr, mtcr of any
//   control register but ptbr and pgctl, rdpsr — run inside the translation
//   when the machine asks no monitor exit for them (the `exits` argument,
//   the machine's exit mask) and, for the privileged ones, the CPU is in
//   supervisor mode; otherwise the translation exits before them (EXIT.STEP)
//   and the interpreter takes its slow path (the monitor exit, the
//   privileged-instruction fault). The interpreter returns to the machine
//   loop after each of them, but there the loop would find nothing to do:
//   the block's limit check already put them before the next event, they
//   raise no interrupt line, and cli only masks. sti and wrpsr (which may
//   unmask an interrupt or change the mode, and so the TLB tags in use) run
//   inside too but end the translation (EXIT.SYS): the machine loop then
//   looks at interrupts exactly where it would after the interpreter ran
//   them. Everything else in the trap, privileged and sensitive groups
//   (traps, hlt, iret, TLB operations, port I/O, ptbr/pgctl writes) stays
//   the interpreter's.

import { blockKey, discover, registersOf, type Block } from "./translate-blocks.js";
import { translatable } from "./translate-emit.js";
import { generate } from "./translate-generate.js";
import { byPage, costTableKey, covering, remember, shared, SHARED_MAX } from "./translate-memo.js";
import { EXIT, translateOptions, translatorStats, type BlockFn, type Compiled, type Heap, type Translation } from "./translation.js";
import { warm } from "./warm.js";
import { roomOf, S_N, S_TR, S_USED, S_VA, wasmBlocks } from "./wasm-blocks.js";

export { EXIT, translateOptions, translatorStats, type BlockFn, type CpuState, type Heap, type Translation } from "./translation.js";
export { costTableKey } from "./translate-memo.js";
export { loopFit } from "./translate-generate.js";

/**
 * Translates the code at heap byte index `entry` (inside the page starting
 * at heap byte `page`). Returns null when the entry itself is an
 * instruction only the interpreter runs. `onlyKnown`: returns undefined
 * instead of compiling when the process has not compiled these blocks before
 * — unless it compiled a translation from the same page contents with a
 * block starting at the entry (returned, possibly with blocks not reachable
 * from the entry) or containing it (then it compiles the entry's block
 * alone, up to its end: `tail`): see `covering`.
 */
export function translate(heap: Heap, page: number, entry: number, cost: Float64Array, costKey: string, onlyKnown: true): Translation | null | undefined;
export function translate(heap: Heap, page: number, entry: number, cost: Float64Array, costKey?: string): Translation | null;
export function translate(heap: Heap, page: number, entry: number, cost: Float64Array, costKey = costTableKey(cost), onlyKnown = false): Translation | null | undefined {
  return translateFrom(heap, page, entry, cost, costKey, onlyKnown, false);
}

/**
 * `translate`; `tail`: only the block that starts at the entry, up to the
 * branch, jump or slow-path instruction that ends it, whose ways out all
 * leave the translation (EXIT.NEXT). For an entry inside a block compiled
 * before (`covering`: "inside"): where the interpreter's slices ended in the
 * middle of a loop, and where translated code resumes after an instruction
 * it left to the interpreter (a TLB miss: 16 per run of the load/store
 * loop). The whole code reachable from there, compiled anew, would run in
 * V8's bytecode interpreter until its own compile landed — in the bench's
 * second run of the load/store loop and of the sieve the first slice ended
 * inside the loop, and that run ran at a third of the speed of the next
 * ones. The tail is a few instructions, runs once per such entry, and hands
 * over at its end to the known translation, entered at a block start.
 */
function translateFrom(heap: Heap, page: number, entry: number, cost: Float64Array, costKey: string, onlyKnown: boolean, tail: boolean): Translation | null | undefined {
  const H = heap.heap32;
  // Functions generated with and without the WebAssembly tier are not each other's.
  if (translateOptions.wasm && !costKey.endsWith("|wasm")) costKey += translateOptions.wasmBlocks ? "|blocks|wasm" : "|wasm";
  if (!translatable(H[entry >> 2])) return null;
  const found = discover(H, page, entry - page, tail);
  const blocks = found.blocks;

  // ---- the same blocks translated before (by any machine of the process): reuse the function
  const key = `${costKey}|${blocks.map(blockKey).join(";")}`;
  const known = shared.get(key);
  if (known !== undefined) {
    remember(H, page, costKey, known, blocks);
    return made(page, blocks, found.total, known, false, tail);
  }
  if (onlyKnown) {
    const c = covering(H, page, entry - page, costKey);
    // Inside a block compiled before from this page: that block's tail alone.
    if (c === "inside") {
      translatorStats.tailsUsed++;
      return translateFrom(heap, page, entry, cost, costKey, false, true);
    }
    return c;
  }
  const c = compileNew(blocks, found.byStart, cost, tail);
  if (shared.size >= SHARED_MAX) {
    shared.clear();
    byPage.clear();
  }
  shared.set(key, c);
  remember(H, page, costKey, c, blocks);
  return made(page, blocks, found.total, c, true, tail);
}

/*
 * translateFrom's parts are functions of their own so that each stays small:
 * V8 optimizes a function once enough of its bytecode ran, and in one piece
 * the translator ran enough of it in a short run (a hundred calls) to have
 * it compiled — ~60 ms of a compiler thread in `mixed` at scale 24 under xen
 * (docs/speed-history.md "Twelfth round: short runs").
 */

/** The Translation of `blocks` (page at heap byte `page`, `total` instructions) run by `c`. */
function made(page: number, blocks: readonly Block[], total: number, c: Compiled, fresh: boolean, tail: boolean): Translation {
  const at = new Int32Array(total);
  const words = new Int32Array(total);
  let k = 0;
  for (const b of blocks) {
    for (let i = 0; i < b.words.length; i++, k++) {
      at[k] = (page + b.start) / 4 + i;
      words[k] = b.words[i];
    }
  }
  const starts = blocks.map((b) => b.start);
  return { fn: c.fn, at, words, insns: total, blocks: blocks.length, starts, codeBytes: c.codeBytes, fresh, tail: tail || c.tail };
}

/** A new function for `blocks`: WebAssembly where the tier takes them (not a tail), else JavaScript, warmed. */
function compileNew(blocks: readonly Block[], byStart: ReadonlyMap<number, Block>, cost: Float64Array, tail: boolean): Compiled {
  const { used, written } = registersOf(blocks);
  // Not a tail (a few instructions run once per return into a loop: a module's compile would not pay).
  const wasm = translateOptions.wasm && translateOptions.wasmBlocks && !tail ? wasmTranslation(blocks, byStart, used, written, cost) : undefined;
  const c = wasm ?? generate(blocks, byStart, used, written, cost);
  c.tail = tail;
  // The WebAssembly function is compiled code from its first call; its JavaScript wrapper is small.
  if (translateOptions.warm && !tail && wasm === undefined) warmUp(c.fn, blocks, cost);
  if (tail) translatorStats.tails++;
  return c;
}

/**
 * Type feedback for every block before V8 compiles the function (warm.ts),
 * with a cycle limit of twice the costliest block. Only cycles bound a
 * warm-up's loops, so a translation with an instruction that costs less
 * than a cycle (no cost model the machine accepts has one today) is not
 * warmed.
 */
function warmUp(fn: BlockFn, blocks: readonly Block[], cost: Float64Array): void {
  let most = 0;
  for (const b of blocks) {
    let sum = 0;
    for (const w of b.words) {
      if (!(cost[w & 63] >= 1)) return;
      sum += cost[w & 63];
    }
    if (sum > most) most = sum;
  }
  warm(fn, blocks.length, most);
  translatorStats.warmed++;
}

/**
 * The translation of `blocks` as one WebAssembly function (wasm-blocks.ts)
 * behind a small JavaScript wrapper with the BlockFn signature, or undefined
 * when the tier does not compile it. The wrapper passes R (`roomOf`: the
 * cycles left before `limit`, as a whole count) and takes back the cycles and
 * instructions charged, the trace index and the exit's row. Over a memory
 * that is no WebAssembly.Memory's, or at a cycle count that is no safe
 * integer, it calls the JavaScript translation instead (generated at its
 * first such call, without WebAssembly loops: none could run there).
 */
function wasmTranslation(blocks: readonly Block[], byStart: ReadonlyMap<number, Block>, used: ReadonlySet<number>, written: ReadonlySet<number>, cost: Float64Array): Compiled | undefined {
  const wb = wasmBlocks(blocks, cost);
  if (wb === undefined) return undefined;
  let js: BlockFn | undefined;
  const JS = (): BlockFn => (js ??= generate(blocks, byStart, used, written, cost, false).fn);
  const src = `return function block(cpu, vb, tagR, tagW, ADD, T, limit, H, U16, U8, CP, block, EM) { "use strict";
const w = WL(H, CP);
if (w !== null) {
  const cyc = +cpu.cycles;
  const R = roomOf(cyc, limit);
  if (R >= 0) {
    let o = w(block, R, vb, tagR, tagW, ADD, T, cpu.traceIdx, CP.byteOffset) | 0;
    cpu.cycles = cyc + H[${S_USED}]; cpu.instret = cpu.instret + H[${S_N}]; cpu.traceIdx = H[${S_TR}];
    if (o < 0) { cpu.pc = H[${S_VA}]; return ${EXIT.NEXT}; }
    o <<= 1; cpu.pc = (vb + WT[o]) | 0; return WT[o + 1];
  }
}
return JS()(cpu, vb, tagR, tagW, ADD, T, limit, H, U16, U8, CP, block, EM);
};`;
  const fn = (new Function("WL", "WT", "roomOf", "JS", src) as (...a: unknown[]) => BlockFn)(wb.linker, wb.exits, roomOf, JS);
  translatorStats.wasmBlocks++;
  translatorStats.generated++;
  return { fn, codeBytes: src.length, tail: false };
}
