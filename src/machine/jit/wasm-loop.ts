// The WebAssembly tier of the translator: a self-loop (a block that branches
// back to its own start, translate-generate.ts) whose every instruction is one of the
// ALU operations, loads, stores or the closing branch below becomes a
// WebAssembly function, which the translation calls in place of its inner
// JavaScript loop.
//
// Consumes the loop's words (translate-generate.ts `generate`). Produces the module's
// bytes (its instructions from wasm-ops.ts, the module from wasm-encode.ts)
// and a linker that instantiates the compiled module over a machine's
// memory (memory.ts: the buffer is a WebAssembly.Memory's).
//
// Why: a typed-array access in V8's optimized JavaScript checks the array's
// map, reloads its length and data pointer and checks the bound on every
// load and store of the generated code (docs/machine.md "The WebAssembly tiers");
// a WebAssembly load over a memory with guard pages is one instruction.
//
// The function does what the JavaScript inner loop does, in the same order:
// up to K iterations (loopFit's count: the cycle limit needs no check inside),
// each the body and then `one iteration more; if (!cond) stop (E); if K ran,
// stop`. Loads and stores make the same TLB fast-tag look-ups with the same
// remembered pages (pr/ar, pw/aw) and the same code-page test on a store's
// look-up (codePages, in the buffer after RAM). Any way out of the body — a
// tag miss (before the instruction), a store into a code page (after it) —
// returns a code for it (`stepCode`, `storeCode`), which the caller maps to
// the row of its exit table the JavaScript would have taken there. It
// returns 0 when K iterations ran, 1 when the branch was not taken. It
// starts from the registers it reads or writes in heap32[1..15] and leaves
// those it wrote there, and the iterations run and the remembered pages in
// the scratch words (memory.ts SCRATCH). The caller reloads them and goes on
// exactly as after its own inner loop: the cycles, instructions and trace
// pairs are charged by the same JavaScript either way.
//
// Parameters: K, tagR, tagW, ADD (heap32 indexes of the TLB's arrays), pr,
// ar, pw, aw, CP (byte index of the code-page marks).

import { SCRATCH, wasmHost, wasmMemoryOf } from "../memory.js";
import { moduleOf, OPC } from "./wasm-encode.js";
import { access, alu, branchTaken, BRANCHES, byteIndexes, isAccess, isAlu, loadRegisters, mnemonic, registersOf, storeRegisters, WasmCode, type AccessLocals } from "./wasm-ops.js";

/** A compiled loop, instantiated over one memory. */
export type LoopFn = (K: number, tagR: number, tagW: number, add: number, pr: number, ar: number, pw: number, aw: number, cp: number) => number;

/** Host-side counts, for tests and benchmarks: modules compiled, and entries into a loop that ran as WebAssembly. */
export const wasmStats = { modules: 0, instances: 0, entries: 0 };

/**
 * Modules bigger than this are not compiled: browsers compile synchronously
 * on the main thread only up to 4 KB (larger ones stay JavaScript).
 */
const MAX_MODULE_BYTES = 4096;

/**
 * Copies of the body in the loop (as translate-generate.ts UNROLL): the back edge (V8's stack check,
 * the moves of its spilled values) once per two iterations. A module over MAX_MODULE_BYTES
 * with two is made with one.
 */
const UNROLL = 2;

/**
 * Whether every word of the self-loop `words` (its last one the branch back
 * to its start, or a jal back that links no register) is one this tier compiles.
 */
export function wasmLoopSupported(words: readonly number[]): boolean {
  for (let k = 0; k < words.length; k++) {
    const m = mnemonic(words[k]);
    if (m === undefined) return false;
    if (k === words.length - 1) {
      if (!(m in BRANCHES) && !(m === "jal" && ((words[k] >>> 6) & 15) === 0)) return false;
    } else if (!(isAlu(m) || isAccess(m))) return false;
  }
  return true;
}

/**
 * The registers (r1–r15) a supported self-loop reads or writes (`touched`),
 * and those it writes: its function loads the first from heap32[r] and
 * stores the second back, so the translation stores the first before the
 * call and reloads the second after it.
 */
export function loopRegisters(words: readonly number[]): { touched: number[]; written: number[] } {
  return registersOf(words);
}

/** What a compiled loop returns: 0, K iterations ran; 1, the branch was not taken; else the way out of the body. */
export const stepCode = (k: number): number => 2 + 2 * k;
export const storeCode = (k: number): number => 3 + 2 * k;

// Locals: the 9 parameters, then r1..r15, then the temporaries.
const P_K = 0, P_TAGR = 1, P_TAGW = 2, P_ADD = 3, P_PR = 4, P_AR = 5, P_PW = 6, P_AW = 7, P_CP = 8;
const PARAMS = 9;
const R = (r: number) => PARAMS - 1 + r;
const L_VA = PARAMS + 15, L_S = L_VA + 1, L_P = L_VA + 2, L_LK = L_VA + 3, L_ST = L_VA + 4, L_M = L_VA + 5;
const LOCALS = 21;

/**
 * The module of the self-loop `words`. Its codes for the ways out of the
 * body: `stepCode(k)` for a tag miss at instruction k (before it),
 * `storeCode(k)` for a store at k into a code page (after it); the caller
 * maps them to its exit rows, so that one module serves every translation
 * of the loop (`loopLinker`). Undefined when the loop is not supported or
 * too big.
 */
export function loopModule(words: readonly number[], copies = UNROLL): Uint8Array | undefined {
  if (!wasmLoopSupported(words)) return undefined;
  const x = new WasmCode(R(1), "wasm-loop");
  const { c, get, set, i32, mem, open, end, br, brIf } = x;
  const { touched, written } = loopRegisters(words);
  // Every register the loop reads or writes: one it only writes is stored back on every way out, also
  // on one before its first write (a tag miss in a call's first iteration), so it must start as itself.
  loadRegisters(x, touched);
  byteIndexes(x, [P_TAGR, P_TAGW, P_ADD]);
  get(P_K); set(L_LK);
  open(OPC.block, "done");
  open(OPC.loop, "loop");
  const leave = (code: number) => { i32(code); set(L_ST); br("done"); };
  const L: AccessLocals = { va: L_VA, s: L_S, p: L_P, m: L_M, tagR: P_TAGR, tagW: P_TAGW, add: P_ADD, cp: P_CP, pr: P_PR, ar: P_AR, pw: P_PW, aw: P_AW };
  const iteration = (last: boolean) => {
    for (let k = 0; k < words.length; k++) {
      const w = words[k];
      const m = mnemonic(w)!;
      if (k === words.length - 1) {
        // The iterations left (K counted down: one value fewer kept across the loop than lk and K).
        get(L_LK); i32(1); c.push(OPC.i32_sub); set(L_LK);
        if (m !== "jal") {
          // Not taken: the last iteration (E).
          branchTaken(x, w); c.push(OPC.i32_eqz);
          open(OPC.if, "not-taken"); leave(1); end();
        }
        get(L_LK); c.push(OPC.i32_eqz); brIf("done");
        if (last) br("loop");
        break;
      }
      if (isAccess(m)) access(x, L, w, () => leave(stepCode(k)), () => leave(storeCode(k)));
      else alu(x, w);
    }
  };
  // UNROLL copies of the body, each followed by its iteration's checks (as translate-generate.ts's JavaScript).
  for (let u = 1; u <= copies; u++) iteration(u === copies);
  end(); // loop
  end(); // done
  storeRegisters(x, written);
  // Iterations run: K minus those left.
  i32(0); get(P_K); get(L_LK); c.push(OPC.i32_sub); mem(OPC.i32_store, 2, 4 * SCRATCH);
  [P_PR, P_AR, P_PW, P_AW].forEach((l, i) => { i32(0); get(l); mem(OPC.i32_store, 2, 4 * (SCRATCH + 1 + i)); });
  get(L_ST);
  if (!x.balanced()) throw new Error("jit: wasm-loop: unbalanced labels");
  const bytes = moduleOf(PARAMS, LOCALS, c);
  if (bytes.length <= MAX_MODULE_BYTES) return bytes;
  return copies > 1 ? loopModule(words, 1) : undefined;
}

/**
 * Linkers by the loop's words (the module depends on nothing else), for the
 * process: a loop translated again — another entry, a tail, another machine
 * — reuses the module V8 has compiled and tiered up, and its instances.
 * null: not supported, too big, or refused.
 */
const linkers = new Map<string, Linker | null>();
const LINKERS_MAX = 20_000;

/** The linker of the self-loop `words` (compiled at its first request), or undefined when it stays JavaScript. */
export function loopLinker(words: readonly number[]): Linker | undefined {
  const key = words.join(",");
  let l = linkers.get(key);
  if (l === undefined) {
    const bytes = loopModule(words);
    l = (bytes && linkerOf(bytes)) ?? null;
    if (linkers.size >= LINKERS_MAX) linkers.clear();
    linkers.set(key, l);
  }
  return l ?? undefined;
}

/** Instantiates a compiled loop over the memory of a heap (or null: the heap is no WebAssembly.Memory's). */
export type Linker = (H: Int32Array, CP: Uint8Array) => LoopFn | null;

/**
 * Compiles `bytes` (synchronously: the modules are small) and returns its
 * linker, or undefined when the host has no WebAssembly or refuses the
 * module. The linker instantiates the module once per memory and remembers
 * the last one, so the translation's call asks it once per call. `stats`:
 * where it counts its module, instances and entries (wasm-blocks.ts has its own).
 */
export function linkerOf(bytes: Uint8Array, stats: typeof wasmStats = wasmStats): Linker | undefined {
  const W = wasmHost;
  if (W === undefined) return undefined;
  let module: object;
  try {
    module = new W.Module(bytes);
  } catch {
    return undefined;
  }
  stats.modules++;
  const byBuffer = new WeakMap<ArrayBufferLike, LoopFn | null>();
  let lastBuffer: ArrayBufferLike | undefined;
  let lastFn: LoopFn | null = null;
  return (H, CP) => {
    const buffer = H.buffer;
    if (buffer !== lastBuffer) {
      let fn = byBuffer.get(buffer);
      if (fn === undefined) {
        const m = wasmMemoryOf(buffer);
        fn = m !== undefined && CP.buffer === buffer ? (new W.Instance(module, { e: { m } }).exports.f as LoopFn) : null;
        if (fn !== null) stats.instances++;
        byBuffer.set(buffer, fn);
      }
      lastBuffer = buffer;
      lastFn = fn;
    }
    if (lastFn !== null) stats.entries++;
    return lastFn;
  };
}
