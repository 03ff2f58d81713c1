// The WebAssembly tier for whole translations: every block of a translation
// (translate.ts) in one WebAssembly function — a dispatch loop over the
// blocks, with the limit check, the charges, the trace pairs and the exits
// of the JavaScript translation — when every instruction in it is one this
// tier compiles (ALU operations but mulhu/div/divu/rem/remu, loads,
// stores, branches, jal, jalr) and at least one loads or stores.
//
// Consumes the translation's blocks (offsets in the page, words, whether
// each ends in a branch or jump) and the cost table. Produces the module's
// bytes (wasm-encode.ts), a linker that instantiates it over a machine's
// memory (wasm-loop.ts `linkerOf`), and its exit table; translate.ts wraps
// it in a small JavaScript function with the BlockFn signature.
//
// Why: compute's hot code is multi-block loops (the sieve's outer loop, the
// hash's rounds) around self-loops. With only the self-loops in WebAssembly,
// the JavaScript around them is a 9–14 KB function per translation, which
// V8 runs in its bytecode interpreter until TurboFan has compiled it —
// 40–180 ms per function in the background on this machine — and a fresh
// `compute` run spent its first ~200 ms of translated code at 250–800 MIPS
// instead of 2,000–2,800. A WebAssembly function runs compiled code from its
// first call (Liftoff, then TurboFan in the background).
//
// Why the results are the interpreter's: the function is the JavaScript
// translation block for block, instruction for instruction.
// - Cycles: the JavaScript checks `cyc + X < limit` at each block start (X:
//   the block's cost but its last instruction). The wrapper passes R, the
//   number of cycles u (whole, from 0) for which `cyc + u < limit` holds at
//   the call's cycle count (`roomOf`, on the same float expressions; the
//   wrapper runs the JavaScript translation when cyc is no safe integer), and
//   the function counts the cycles it charged in an int32 `used`: its check
//   `used + X < R` is the same condition. Each cost is a whole number (the
//   engine runs translations only for an all-integer cost model) and at most
//   MAX_COST, so the sums are exact int32s.
// - A self-loop (a block branching to itself) runs K = ⌊(R − 1 − used − X) / c⌋ + 1
//   iterations without a check — exactly the iterations whose checks pass,
//   as translate-generate.ts `loopFit` proves in JavaScript — counting them in lk;
//   its pending iterations are charged and their trace pairs written at its
//   check and on every exit (the JavaScript's `settle`), so the ring is the
//   same: k writes of one pair.
// - Loads and stores: the same fast-tag compares with the same remembered
//   pages as the JavaScript (wasm-ops.ts `access`, shared with wasm-loop.ts),
//   the code-page test on a store's look-up, an exit before a miss (STEP,
//   the block's executed part charged) and after a store into a code page
//   (STORE).
// - Exits return a row of the exit table (pc as an offset from the page's
//   virtual base, the exit code), or -1 after a jalr (pc in the scratch
//   words); the cycles and instructions charged, the trace index and a
//   jalr's target are left in the scratch words (memory.ts SCRATCH), the
//   registers written in heap32[1..15].
//
// Parameters: block, R, vb, tagR, tagW, ADD, T (heap32 indexes of the TLB's
// arrays and the trace ring), tr (the trace index), CP (byte index of the
// code-page marks).

import { TRACE_PAIRS } from "../cpu.js";
import { SCRATCH } from "../memory.js";
import { TAG_INVALID } from "../mmu/tlb.js";
import { moduleOf, OPC, uleb } from "./wasm-encode.js";
import { linkerOf, type Linker } from "./wasm-loop.js";
import { access, alu, branchTaken, BRANCHES, byteIndexes, isAccess, isAlu, loadRegisters, mnemonic, registersOf, storeRegisters, WasmCode, type AccessLocals } from "./wasm-ops.js";

/** A block of a translation, as translate-blocks.ts discovers it. */
export interface WasmBlock {
  /** Byte offset of its first instruction in the page. */
  start: number;
  words: readonly number[];
  /** Ends at a branch or jump (else it runs on to the next word: a page end, a slow-path instruction, the size bound). */
  terminated: boolean;
}

/** The compiled function of a translation: its linker, and its exit table (pairs: pc offset from the page base, exit code). */
export interface WasmBlocks {
  linker: Linker;
  exits: Int32Array;
}

/** Exit codes (translation.ts EXIT): the ones the function returns. */
const NEXT = 0, LIMIT = 1, STEP = 2, STORE = 3;

/** Most cycles one instruction may cost here: block sums (≤ 64 instructions) then stay far inside an int32. */
const MAX_COST = 1 << 16;
/** The largest R the wrapper passes (its calls are bounded far below: engine.ts CALL_SPAN). */
export const ROOM_CAP = 1 << 30;
/** Copies of a self-loop's body in its inner loop (as translate-generate.ts UNROLL). */
const UNROLL = 2;
/** Modules over this size are not compiled (a translation is at most 64 instructions: none reaches it). */
const MAX_MODULE_BYTES = 64 * 1024;

/**
 * Whether this tier compiles the translation of `blocks` under `cost`: every
 * word one it compiles, every cost a whole number up to MAX_COST (a
 * self-loop's at least 1), and at least one load or store (an ALU-only loop
 * ran faster as V8's JavaScript: docs/speed-history.md "Eighth round:
 * WebAssembly loops").
 */
export function wasmBlocksSupported(blocks: readonly WasmBlock[], cost: Float64Array): boolean {
  let memory = false;
  for (const b of blocks) {
    let sum = 0;
    for (let k = 0; k < b.words.length; k++) {
      const w = b.words[k];
      const m = mnemonic(w);
      if (m === undefined) return false;
      const c = cost[w & 63];
      if (!(Number.isInteger(c) && c >= 0 && c <= MAX_COST)) return false;
      sum += c;
      if (isAccess(m)) memory = true;
      else if (!(isAlu(m) || m in BRANCHES || m === "jal" || m === "jalr")) return false;
      // Branches and jumps end a block (translate-blocks.ts).
      if ((m in BRANCHES || m === "jal" || m === "jalr") && k !== b.words.length - 1) return false;
    }
    if (selfLoop(b) && sum < 1) return false;
  }
  return memory;
}

/** Whether the block's last word branches or jumps back to its first. */
function selfLoop(b: WasmBlock): boolean {
  if (!b.terminated) return false;
  const k = b.words.length - 1;
  const w = b.words[k];
  const m = mnemonic(w)!;
  const off = b.start + 4 * k;
  if (m in BRANCHES) return off + ((w >> 14) << 2) === b.start;
  if (m === "jal") return off + ((w >> 10) << 2) === b.start;
  return false;
}

/**
 * R for a call at cycle count `cyc` with limit `limit`: the number of whole
 * u ≥ 0 with `cyc + u < limit` (they are 0 … R − 1: cyc + u grows with u),
 * at most ROOM_CAP; -1 where that is not provable on exact sums (cyc no safe
 * integer), and the wrapper runs the JavaScript translation instead.
 */
export function roomOf(cyc: number, limit: number): number {
  if (!(cyc < limit)) return 0;
  if (!Number.isSafeInteger(cyc) || cyc > 2 ** 52) return -1;
  let r = limit - cyc;
  r = r >= ROOM_CAP ? ROOM_CAP : Math.ceil(r);
  while (r > 0 && !(cyc + (r - 1) < limit)) r--;
  while (r < ROOM_CAP && cyc + r < limit) r++;
  return r;
}

// Locals: the 9 parameters, then r1..r15, then the temporaries.
const P_L = 0, P_R = 1, P_VB = 2, P_TAGR = 3, P_TAGW = 4, P_ADD = 5, P_T = 6, P_TR = 7, P_CP = 8;
const PARAMS = 9;
const R_ = (r: number) => PARAMS - 1 + r;
let next = PARAMS + 15;
const L_VA = next++, L_S = next++, L_P = next++, L_M = next++, L_USED = next++, L_N = next++, L_LK = next++, L_K = next++, L_E = next++;
const L_PR = next++, L_AR = next++, L_PW = next++, L_AW = next++, L_PF = next++, L_PT = next++, L_PC = next++, L_PM = next++;
const L_CODE = next++, L_J = next++, L_Z = next++;
const LOCALS = next - PARAMS;

/** Scratch words the function leaves for the wrapper: cycles and instructions charged, the trace index, a jalr's target. */
export const S_USED = SCRATCH, S_N = SCRATCH + 1, S_TR = SCRATCH + 2, S_VA = SCRATCH + 3;

/**
 * The module of the translation of `blocks` (in address order; the function
 * is entered at the block given by its first parameter) and its exit table,
 * or undefined when the tier does not compile it.
 */
export function blocksModule(blocks: readonly WasmBlock[], cost: Float64Array): { bytes: Uint8Array; exits: Int32Array } | undefined {
  if (blocks.length === 0 || !wasmBlocksSupported(blocks, cost)) return undefined;
  const byStart = new Map<number, number>();
  blocks.forEach((b, i) => byStart.set(b.start, i));
  const x = new WasmCode(R_(1), "wasm-blocks");
  const { c, get, set, i32, mem, open, end, br, brIf } = x;
  const L: AccessLocals = { va: L_VA, s: L_S, p: L_P, m: L_M, tagR: P_TAGR, tagW: P_TAGW, add: P_ADD, cp: P_CP, pr: L_PR, ar: L_AR, pw: L_PW, aw: L_AW };
  const addTo = (l: number, n: number) => { if (n !== 0) { get(l); i32(n); c.push(OPC.i32_add); set(l); } };

  // The exit table: rows of (pc offset from the page's virtual base, exit code).
  const rows: number[] = [];
  const rowOf = new Map<string, number>();
  const row = (off: number, code: number) => {
    const key = `${off},${code}`;
    let r = rowOf.get(key);
    if (r === undefined) {
      r = rows.length >> 1;
      rowOf.set(key, r);
      rows.push(off, code);
    }
    return r;
  };
  /** Leaves through the epilogue with the block's executed part (c cycles, k instructions) charged. */
  const exit = (off: number, code: number, cy = 0, k = 0) => {
    addTo(L_USED, cy);
    addTo(L_N, k);
    i32(row(off, code)); set(L_CODE);
    br("exit");
  };
  /** Writes the trace pair (from, to), both on the stack's top as values computed by the callbacks. */
  const pair = (from: () => void, to: () => void) => {
    get(P_T); get(P_TR); c.push(OPC.i32_add); i32(2); c.push(OPC.i32_shl); from(); mem(OPC.i32_store, 2);
    get(P_T); get(P_TR); c.push(OPC.i32_add); i32(2); c.push(OPC.i32_shl); to(); mem(OPC.i32_store, 2, 4);
    get(P_TR); i32(2); c.push(OPC.i32_add); i32(TRACE_PAIRS * 2 - 1); c.push(OPC.i32_and); set(P_TR);
  };
  const pcAt = (off: number) => () => { get(P_VB); i32(off); c.push(OPC.i32_add); };
  /** Charges lk pending iterations (lc cycles, lm instructions each) and writes lk − `less` pairs (lf, lt): the JavaScript's settle. */
  const settle = (lc: () => void, lm: () => void, lf: () => void, lt: () => void, less: () => void) => {
    get(L_USED); get(L_LK); lc(); c.push(OPC.i32_mul); c.push(OPC.i32_add); set(L_USED);
    get(L_N); get(L_LK); lm(); c.push(OPC.i32_mul); c.push(OPC.i32_add); set(L_N);
    get(L_LK); less(); c.push(OPC.i32_sub); set(L_LK);
    // min(lk, TRACE_PAIRS) pairs from tr (k writes of one pair leave the last min(k, 32) slots holding it), then tr + 2k.
    get(L_LK); i32(TRACE_PAIRS); get(L_LK); i32(TRACE_PAIRS); c.push(OPC.i32_lt_s); c.push(0x1b /* select */); set(L_J);
    get(P_TR); set(L_Z);
    open(OPC.block, "pairs-done");
    open(OPC.loop, "pairs");
    get(L_J); c.push(OPC.i32_eqz); brIf("pairs-done");
    get(P_T); get(L_Z); c.push(OPC.i32_add); i32(2); c.push(OPC.i32_shl); lf(); mem(OPC.i32_store, 2);
    get(P_T); get(L_Z); c.push(OPC.i32_add); i32(2); c.push(OPC.i32_shl); lt(); mem(OPC.i32_store, 2, 4);
    get(L_Z); i32(2); c.push(OPC.i32_add); i32(TRACE_PAIRS * 2 - 1); c.push(OPC.i32_and); set(L_Z);
    get(L_J); i32(1); c.push(OPC.i32_sub); set(L_J);
    br("pairs");
    end();
    end();
    get(P_TR); get(L_LK); i32(TRACE_PAIRS - 1); c.push(OPC.i32_and); i32(1); c.push(OPC.i32_shl); c.push(OPC.i32_add); i32(TRACE_PAIRS * 2 - 1); c.push(OPC.i32_and); set(P_TR);
    i32(0); set(L_LK);
  };
  /** Control to the block at offset t of the page: the next one (fall through, `fall`), another (the dispatch loop), or out (NEXT). */
  const goTo = (t: number, fall: number) => {
    const id = t >= 0 && t < 4096 ? byStart.get(t) : undefined;
    if (id === undefined) return exit(t, NEXT);
    if (id === fall) return;
    i32(id); set(P_L); br("dispatch");
  };

  // Registers: every one the translation reads or writes, from heap32[r]; those written go back on every exit.
  const { touched, written } = registersOf(blocks.flatMap((b) => b.words));
  loadRegisters(x, touched);
  byteIndexes(x, [P_TAGR, P_TAGW, P_ADD]);
  i32(TAG_INVALID); set(L_PR);
  i32(TAG_INVALID); set(L_PW);

  open(OPC.block, "exit");
  open(OPC.loop, "dispatch");
  // One block per case, innermost first: br_table to the end of block i starts case i.
  for (let i = blocks.length - 1; i >= 0; i--) open(OPC.block, `case${i}`);
  get(P_L);
  c.push(0x0e /* br_table */);
  uleb(blocks.length - 1, c);
  for (let i = 0; i < blocks.length - 1; i++) uleb(i, c);
  uleb(blocks.length - 1, c);

  for (let id = 0; id < blocks.length; id++) {
    end(); // case<id>: its code follows
    const b = blocks[id];
    const m = b.words.length;
    const before = [0];
    for (const w of b.words) before.push(before[before.length - 1] + cost[w & 63]);
    const loop = selfLoop(b);
    /** An instruction that is no branch or jump (the block's body). */
    const body = (k: number) => {
      const w = b.words[k];
      const off = b.start + 4 * k;
      if (isAccess(mnemonic(w)!)) access(x, L, w, () => exit(off, STEP, before[k], k), () => exit(off + 4, STORE, before[k + 1], k + 1));
      else alu(x, w);
    };

    if (loop) {
      // A self-loop: as translate-generate.ts's JavaScript (see `generate`): K unchecked iterations counted in lk.
      const kLast = m - 1;
      const w = b.words[kLast];
      const mn = mnemonic(w)!;
      const offLast = b.start + 4 * kLast;
      const cost1 = before[m], X = before[m - 1];
      const lf = pcAt(offLast), lt = pcAt(b.start);
      open(OPC.block, `left${id}`);
      open(OPC.loop, `top${id}`);
      // The iterations since the last check; after the last one (E), without its back edge's pair.
      settle(() => i32(cost1), () => i32(m), lf, lt, () => get(L_E));
      get(L_E); brIf(`left${id}`);
      get(L_USED); i32(X); c.push(OPC.i32_add); get(P_R); c.push(OPC.i32_ge_s);
      open(OPC.if, "limit"); exit(b.start, LIMIT); end();
      // K = ⌊(R − 1 − used − X) / c⌋ + 1: the iterations whose checks pass (used + i·c + X < R for i < K).
      get(P_R); i32(1 + X); c.push(OPC.i32_sub); get(L_USED); c.push(OPC.i32_sub); i32(cost1); c.push(0x6e /* i32.div_u */); i32(1); c.push(OPC.i32_add); set(L_K);
      // Exits from the body settle lk iterations of this loop (the epilogue).
      i32(cost1); set(L_PC); i32(m); set(L_PM);
      get(P_VB); i32(offLast); c.push(OPC.i32_add); set(L_PF);
      get(P_VB); i32(b.start); c.push(OPC.i32_add); set(L_PT);
      open(OPC.loop, `in${id}`);
      for (let u = 1; u <= UNROLL; u++) {
        for (let k = 0; k < kLast; k++) body(k);
        if (mn === "jal" && ((w >>> 6) & 15) !== 0) { get(P_VB); i32(offLast + 4); c.push(OPC.i32_add); set(R_((w >>> 6) & 15)); }
        get(L_LK); i32(1); c.push(OPC.i32_add); set(L_LK);
        if (mn in BRANCHES) {
          branchTaken(x, w); c.push(OPC.i32_eqz);
          open(OPC.if, "not-taken"); i32(1); set(L_E); br(`top${id}`); end();
        }
        get(L_LK); get(L_K); c.push(OPC.i32_ge_u); brIf(`top${id}`);
      }
      br(`in${id}`);
      end(); // in
      end(); // top
      end(); // left
      // Left by the branch not taken: lk settled at the top (nothing pending), E back to 0.
      i32(0); set(L_E);
      goTo(offLast + 4, id + 1);
      continue;
    }

    get(L_USED); i32(before[m - 1]); c.push(OPC.i32_add); get(P_R); c.push(OPC.i32_ge_s);
    open(OPC.if, "limit"); exit(b.start, LIMIT); end();
    for (let k = 0; k < m; k++) {
      const w = b.words[k];
      const mn = mnemonic(w)!;
      const a = (w >>> 6) & 15, rb = (w >>> 10) & 15;
      const off = b.start + 4 * k;
      if (mn in BRANCHES) {
        const t = off + ((w >> 14) << 2);
        addTo(L_USED, before[m]); addTo(L_N, m);
        branchTaken(x, w);
        open(OPC.if, "taken");
        pair(pcAt(off), pcAt(t));
        // The taken side never falls through (the next block is reached through the dispatch loop).
        goTo(t, -1);
        end();
        goTo(off + 4, id + 1);
      } else if (mn === "jal") {
        const t = off + ((w >> 10) << 2);
        if (a !== 0) { get(P_VB); i32(off + 4); c.push(OPC.i32_add); set(R_(a)); }
        addTo(L_USED, before[m]); addTo(L_N, m);
        pair(pcAt(off), pcAt(t));
        goTo(t, id + 1);
      } else if (mn === "jalr") {
        x.reg(rb); i32(w >> 14); c.push(OPC.i32_add); set(L_VA);
        get(L_VA); i32(3); c.push(OPC.i32_and);
        open(OPC.if, "misaligned"); exit(off, STEP, before[k], k); end();
        addTo(L_USED, before[m]); addTo(L_N, m);
        if (a !== 0) { get(P_VB); i32(off + 4); c.push(OPC.i32_add); set(R_(a)); }
        pair(pcAt(off), () => get(L_VA));
        i32(-1); set(L_CODE);
        br("exit");
      } else {
        body(k);
        if (k === m - 1) {
          addTo(L_USED, before[m]); addTo(L_N, m);
          goTo(off + 4, id + 1);
        }
      }
    }
  }
  br("dispatch"); // not reached: every block's code ends in a jump
  end(); // dispatch
  end(); // exit
  // The epilogue: pending iterations of a self-loop left from its body, the registers written, the scratch words.
  settle(() => get(L_PC), () => get(L_PM), () => get(L_PF), () => get(L_PT), () => i32(0));
  storeRegisters(x, written);
  i32(0); get(L_USED); mem(OPC.i32_store, 2, 4 * S_USED);
  i32(0); get(L_N); mem(OPC.i32_store, 2, 4 * S_N);
  i32(0); get(P_TR); mem(OPC.i32_store, 2, 4 * S_TR);
  i32(0); get(L_VA); mem(OPC.i32_store, 2, 4 * S_VA);
  get(L_CODE);
  if (!x.balanced()) throw new Error("jit: wasm-blocks: unbalanced labels");
  const bytes = moduleOf(PARAMS, LOCALS, c);
  return bytes.length <= MAX_MODULE_BYTES ? { bytes, exits: Int32Array.from(rows) } : undefined;
}

/** Host-side counts, for tests and benchmarks: modules compiled, instances, and calls that ran a translation as WebAssembly. */
export const wasmBlocksStats = { modules: 0, instances: 0, entries: 0 };

/**
 * Compiles the translation of `blocks` (synchronously), or undefined when
 * the tier does not take it or the host refuses the module. Not cached
 * here: translate-memo.ts shares compiled translations by the same key.
 */
export function wasmBlocks(blocks: readonly WasmBlock[], cost: Float64Array): WasmBlocks | undefined {
  const m = blocksModule(blocks, cost);
  if (m === undefined) return undefined;
  const linker = linkerOf(m.bytes, wasmBlocksStats);
  if (linker === undefined) return undefined;
  return { linker, exits: m.exits };
}
