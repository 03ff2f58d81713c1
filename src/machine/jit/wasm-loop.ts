// The WebAssembly tier of the translator: a self-loop (a block that branches
// back to its own start, translate.ts) whose every instruction is one of the
// ALU operations, loads, stores or the closing branch below becomes a
// WebAssembly function, which the translation calls in place of its inner
// JavaScript loop.
//
// Consumes the loop's words (translate.ts `generate`). Produces the module's
// bytes (wasm-encode.ts) and a linker that instantiates the compiled module
// over a machine's memory (memory.ts: the buffer is a WebAssembly.Memory's).
//
// Why: a typed-array access in V8's optimized JavaScript checks the array's
// map, reloads its length and data pointer and checks the bound on every
// load and store of the generated code (docs/machine.md "Seventh round");
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

import { BY_OPCODE } from "../../guest-isa/isa-table.js";
import { SCRATCH, wasmHost, wasmMemoryOf } from "../memory.js";
import { PAGE_MASK, TAG_MASK } from "../mmu/tlb.js";
import { moduleOf, OPC, sleb, uleb, VOID } from "./wasm-encode.js";

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
 * Copies of the body in the loop (as translate.ts UNROLL): the back edge (V8's stack check,
 * the moves of its spilled values) once per two iterations. A module over MAX_MODULE_BYTES
 * with two is made with one.
 */
const UNROLL = 2;

const ALU_RRR: Record<string, number> = {
  add: OPC.i32_add, sub: OPC.i32_sub, and: OPC.i32_and, or: OPC.i32_or, xor: OPC.i32_xor,
  sll: OPC.i32_shl, srl: OPC.i32_shr_u, sra: OPC.i32_shr_s, slt: OPC.i32_lt_s, sltu: OPC.i32_lt_u, mul: OPC.i32_mul,
};
const ALU_IMM: Record<string, number> = {
  addi: OPC.i32_add, andi: OPC.i32_and, ori: OPC.i32_or, xori: OPC.i32_xor, slti: OPC.i32_lt_s, sltiu: OPC.i32_lt_u,
};
const SHIFT_IMM: Record<string, number> = { slli: OPC.i32_shl, srli: OPC.i32_shr_u, srai: OPC.i32_shr_s };
/** Loads and stores: the instruction and log2 of the size. */
const LOADS: Record<string, [number, number]> = {
  lw: [OPC.i32_load, 2], lh: [OPC.i32_load16_s, 1], lhu: [OPC.i32_load16_u, 1], lb: [OPC.i32_load8_s, 0], lbu: [OPC.i32_load8_u, 0],
};
const STORES: Record<string, [number, number]> = { sw: [OPC.i32_store, 2], sh: [OPC.i32_store16, 1], sb: [OPC.i32_store8, 0] };
const BRANCHES: Record<string, number> = {
  beq: OPC.i32_eq, bne: OPC.i32_ne, blt: OPC.i32_lt_s, bge: OPC.i32_ge_s, bltu: OPC.i32_lt_u, bgeu: OPC.i32_ge_u,
};

const mnemonic = (w: number): string | undefined => BY_OPCODE[w & 63]?.mnemonic;

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
    } else if (!(m in ALU_RRR || m in ALU_IMM || m in SHIFT_IMM || m === "lui" || m in LOADS || m in STORES)) return false;
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
  const read = new Set<number>();
  const written = new Set<number>();
  for (const w of words) {
    const m = mnemonic(w)!;
    const a = (w >>> 6) & 15, b = (w >>> 10) & 15, c = (w >>> 14) & 15;
    if (m in STORES || m in BRANCHES) read.add(a);
    else if (m !== "jal") written.add(a);
    if (m !== "lui" && m !== "jal") read.add(b);
    if (m in ALU_RRR) read.add(c);
  }
  read.delete(0);
  written.delete(0);
  return { touched: [...new Set([...read, ...written])], written: [...written] };
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
  const c: number[] = [];
  const get = (l: number) => { c.push(OPC.local_get); uleb(l, c); };
  const set = (l: number) => { c.push(OPC.local_set); uleb(l, c); };
  const tee = (l: number) => { c.push(OPC.local_tee); uleb(l, c); };
  const i32 = (n: number) => { c.push(OPC.i32_const); sleb(n, c); };
  const mem = (op: number, align: number, offset = 0) => { c.push(op, align); uleb(offset, c); };
  const reg = (r: number) => (r === 0 ? i32(0) : get(R(r)));
  const { touched, written } = loopRegisters(words);
  // Every register the loop reads or writes: one it only writes is stored back on every way out, also
  // on one before its first write (a tag miss in a call's first iteration), so it must start as itself.
  for (const r of touched) { i32(0); mem(OPC.i32_load, 2, 4 * r); set(R(r)); }
  // The TLB's arrays as byte indexes.
  for (const l of [P_TAGR, P_TAGW, P_ADD]) { get(l); i32(2); c.push(OPC.i32_shl); set(l); }
  get(P_K); set(L_LK);
  // depth: labels between here and $done (the loop's own label, the ifs around an exit).
  c.push(OPC.block, VOID, OPC.loop, VOID);
  const leave = (code: number, depth: number) => { i32(code); set(L_ST); c.push(OPC.br); uleb(depth, c); };
  // s = ((va >>> 12) & 1023) << 2; then the compare of the masked address (L_M) with the tag at `tag`.
  const lookUp = (tag: number) => {
    get(L_VA); i32(12); c.push(OPC.i32_shr_u); i32(1023); c.push(OPC.i32_and); i32(2); c.push(OPC.i32_shl); set(L_S);
    get(L_M); get(tag); get(L_S); c.push(OPC.i32_add); mem(OPC.i32_load, 2); c.push(OPC.i32_ne);
  };
  const addend = () => { get(P_ADD); get(L_S); c.push(OPC.i32_add); mem(OPC.i32_load, 2); };
  const iteration = (last: boolean) => {
    for (let k = 0; k < words.length; k++) {
      const w = words[k];
      const m = mnemonic(w)!;
      const a = (w >>> 6) & 15, b = (w >>> 10) & 15, cc = (w >>> 14) & 15;
      const imm = w >> 14;
      if (k === words.length - 1) {
        // The iterations left (K counted down: one value fewer kept across the loop than lk and K).
        get(L_LK); i32(1); c.push(OPC.i32_sub); set(L_LK);
        if (m !== "jal") {
          // Not taken: the last iteration (E).
          reg(a); reg(b); c.push(BRANCHES[m], OPC.i32_eqz, OPC.if, VOID);
          leave(1, 2);
          c.push(OPC.end);
        }
        get(L_LK); c.push(OPC.i32_eqz, OPC.br_if); uleb(1, c);
        if (last) { c.push(OPC.br); uleb(0, c); }
        break;
      }
      if (m in LOADS || m in STORES) {
        const [op, lg] = (LOADS[m] ?? STORES[m])!;
        const load = m in LOADS;
        reg(b); i32(imm); c.push(OPC.i32_add); set(L_VA);
        get(L_VA); i32(TAG_MASK[(1 << lg) as 1 | 2 | 4]); c.push(OPC.i32_and); tee(L_M); get(load ? P_PR : P_PW); c.push(OPC.i32_ne, OPC.if, VOID);
        lookUp(load ? P_TAGR : P_TAGW);
        c.push(OPC.if, VOID); leave(stepCode(k), 3); c.push(OPC.end);
        if (load) {
          get(L_VA); i32(PAGE_MASK); c.push(OPC.i32_and); set(P_PR);
          addend(); set(P_AR);
        } else {
          get(L_VA); addend(); c.push(OPC.i32_add); set(L_P);
          get(P_CP); get(L_P); i32(12); c.push(OPC.i32_shr_u); c.push(OPC.i32_add); mem(OPC.i32_load8_u, 0);
          c.push(OPC.if, VOID);
          get(L_P); reg(a); mem(op, lg);
          leave(storeCode(k), 3);
          c.push(OPC.end);
          get(L_VA); i32(PAGE_MASK); c.push(OPC.i32_and); set(P_PW);
          addend(); set(P_AW);
        }
        c.push(OPC.end);
        if (load) {
          // A load into r0 makes its look-up (it may exit, it sets pr) and nothing else.
          if (a !== 0) { get(L_VA); get(P_AR); c.push(OPC.i32_add); mem(op, lg); set(R(a)); }
        } else {
          get(L_VA); get(P_AW); c.push(OPC.i32_add); reg(a); mem(op, lg);
        }
        continue;
      }
      if (a === 0) continue; // an ALU result to r0: no effect
      if (m in ALU_RRR) { reg(b); reg(cc); c.push(ALU_RRR[m]); }
      else if (m in ALU_IMM) { reg(b); i32(imm); c.push(ALU_IMM[m]); }
      else if (m in SHIFT_IMM) { reg(b); i32((w >>> 14) & 31); c.push(SHIFT_IMM[m]); }
      else i32(w & PAGE_MASK); // lui
      set(R(a));
    }
  };
  // UNROLL copies of the body, each followed by its iteration's checks (as translate.ts's JavaScript).
  for (let u = 1; u <= copies; u++) iteration(u === copies);
  c.push(OPC.end, OPC.end);
  for (const r of written) { i32(0); get(R(r)); mem(OPC.i32_store, 2, 4 * r); }
  // Iterations run: K minus those left.
  i32(0); get(P_K); get(L_LK); c.push(OPC.i32_sub); mem(OPC.i32_store, 2, 4 * SCRATCH);
  [P_PR, P_AR, P_PW, P_AW].forEach((l, i) => { i32(0); get(l); mem(OPC.i32_store, 2, 4 * (SCRATCH + 1 + i)); });
  get(L_ST);
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
