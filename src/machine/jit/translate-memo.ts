// The process-wide memo of compiled translations: every function the
// translator compiled, by what it was made from, for every machine of the
// process.
//
// Consumes compiled functions (translate.ts `compileNew`) with the blocks
// they were made from (translate-blocks.ts) and their page's words.
// Produces, for translate.ts: the function compiled before for the same
// blocks and cost table (`shared`), and one compiled from a page with the
// same contents with a block starting at an entry, or containing it
// (`covering`). A function's code depends only on the cost table and its
// blocks' offsets and words — machine state, the heap and the page's
// virtual base come in as arguments — so reusing it cannot change a result.
// `costTableKey` puts the cost table in the keys.

import type { Block } from "./translate-blocks.js";
import type { Compiled, Translation } from "./translation.js";

/** The cost table as a key: translations embed its figures. */
export function costTableKey(cost: Float64Array): string {
  return Array.from(cost).join(",");
}

/** A compiled translation and the blocks (offset in the page, words) it was made from. */
interface Made {
  c: Compiled;
  blocks: readonly { start: number; words: readonly number[] }[];
}

/**
 * The compiled translations made from each page's contents (cost table and
 * a hash of the page's words → translations), for `covering`. Emptied with
 * `shared`.
 */
export const byPage = new Map<string, Made[]>();

/** FNV-1a over the 1,024 words of the page at heap byte `page`. */
function pageKey(H: Int32Array, page: number, costKey: string): string {
  let h = 0x811c9dc5 | 0;
  for (let i = page >> 2, end = i + 1024; i < end; i++) h = Math.imul(h ^ H[i], 16777619);
  return `${costKey}|${h}`;
}

export function remember(H: Int32Array, page: number, costKey: string, c: Compiled, blocks: readonly Block[]): void {
  const key = pageKey(H, page, costKey);
  let list = byPage.get(key);
  if (list === undefined) byPage.set(key, (list = []));
  if (!list.some((m) => m.c === c)) list.push({ c, blocks: blocks.map((b) => ({ start: b.start, words: b.words })) });
}

/**
 * A translation compiled before from a page with these contents, one of
 * whose blocks starts at `off` and whose words are all in memory now: the
 * entry is reused at once. The engine probes a page that was hot before in
 * the process at the first entries it reaches (cache.ts); the exact blocks
 * reachable from such an entry — the key of `shared` — are rarely the ones
 * of the first run's entry, so without this a second run of the sieve
 * interpreted 64 slices (254,000 instructions) before one landed on it,
 * and compiled — and warmed up — a second function for the same code. The
 * function's code depends only on its blocks' offsets and words and the
 * cost table (the key), so entering it at another of its blocks is what it
 * was made for (the cache registers every block start as an entry).
 * "inside": no such translation, but `off` lies inside a block of one (the
 * interpreter's slices of a loop whose cost divides the slice length end at
 * the same instruction every time, never at a block start): the code was hot
 * before, so `translate` does not wait: it compiles the block's tail from the
 * entry (`translateFrom`), which hands over to the known translation.
 */
export function covering(H: Int32Array, page: number, off: number, costKey: string): Translation | undefined | "inside" {
  const list = byPage.get(pageKey(H, page, costKey));
  if (list === undefined) return undefined;
  let inside = false;
  for (const m of list) {
    if (m.blocks.some((b) => off > b.start && off < b.start + 4 * b.words.length)) inside = true;
    if (!m.blocks.some((b) => b.start === off)) continue;
    let total = 0;
    for (const b of m.blocks) total += b.words.length;
    const at = new Int32Array(total);
    const words = new Int32Array(total);
    let k = 0;
    let same = true;
    for (const b of m.blocks) {
      for (let i = 0; i < b.words.length; i++, k++) {
        at[k] = ((page + b.start) >> 2) + i;
        words[k] = b.words[i];
        if (H[at[k]] !== words[k]) same = false;
      }
    }
    if (!same) continue;
    return { fn: m.c.fn, at, words, insns: total, blocks: m.blocks.length, starts: m.blocks.map((b) => b.start), codeBytes: m.c.codeBytes, fresh: false, tail: m.c.tail };
  }
  return inside ? "inside" : undefined;
}

/**
 * Compiled functions by what they were made from (cost table, entry offset,
 * the blocks' offsets and words), shared by every machine in the process:
 * the same guest code at the same page offsets (the same kernel run again,
 * by tests, `matrix`, `bench`) reuses the function V8 has already optimized
 * instead of generating and warming up a new one. The code depends only on
 * that key (machine state, the heap and the page's virtual base come in as
 * arguments), so sharing cannot change a result. Bounded: emptied when it
 * reaches SHARED_MAX entries.
 */
export const shared = new Map<string, Compiled>();
export const SHARED_MAX = 20_000;
