// The G32 → WebAssembly instruction code of the two WebAssembly tiers: the
// self-loop tier (wasm-loop.ts) and the whole-translation tier
// (wasm-blocks.ts) build their functions from these pieces.
//
// Consumes guest words and the local indexes of the function being built
// (its registers, its temporaries, its remembered pages); produces the
// function's instruction bytes in a WasmCode (whose bytes wasm-encode.ts
// `moduleOf` wraps in a module). Sits between the tiers and wasm-encode.ts.
//
// Why one file: the tiers compile the same instructions the same way — which
// G32 operation is which WebAssembly one, which registers a function loads
// and stores back, a load or store with its fast-tag compare against the
// remembered page, TLB look-up, miss exit, code-page test and remembered
// page update (as translate-generate.ts's JavaScript) — and differ only in where
// their values live and how they leave the function, which they pass in.

import { BY_OPCODE } from "../../guest-isa/isa-table.js";
import { PAGE_MASK, TAG_MASK } from "../mmu/tlb.js";
import { OPC, sleb, uleb, VOID } from "./wasm-encode.js";

export const ALU_RRR: Record<string, number> = {
  add: OPC.i32_add, sub: OPC.i32_sub, and: OPC.i32_and, or: OPC.i32_or, xor: OPC.i32_xor,
  sll: OPC.i32_shl, srl: OPC.i32_shr_u, sra: OPC.i32_shr_s, slt: OPC.i32_lt_s, sltu: OPC.i32_lt_u, mul: OPC.i32_mul,
};
export const ALU_IMM: Record<string, number> = {
  addi: OPC.i32_add, andi: OPC.i32_and, ori: OPC.i32_or, xori: OPC.i32_xor, slti: OPC.i32_lt_s, sltiu: OPC.i32_lt_u,
};
export const SHIFT_IMM: Record<string, number> = { slli: OPC.i32_shl, srli: OPC.i32_shr_u, srai: OPC.i32_shr_s };
/** Loads and stores: the instruction and log2 of the size. */
export const LOADS: Record<string, [number, number]> = {
  lw: [OPC.i32_load, 2], lh: [OPC.i32_load16_s, 1], lhu: [OPC.i32_load16_u, 1], lb: [OPC.i32_load8_s, 0], lbu: [OPC.i32_load8_u, 0],
};
export const STORES: Record<string, [number, number]> = { sw: [OPC.i32_store, 2], sh: [OPC.i32_store16, 1], sb: [OPC.i32_store8, 0] };
/** Conditional branches: the compare that is true when the branch is taken. */
export const BRANCHES: Record<string, number> = {
  beq: OPC.i32_eq, bne: OPC.i32_ne, blt: OPC.i32_lt_s, bge: OPC.i32_ge_s, bltu: OPC.i32_lt_u, bgeu: OPC.i32_ge_u,
};

export const mnemonic = (w: number): string | undefined => BY_OPCODE[w & 63]?.mnemonic;
/** An operation `alu` compiles. */
export const isAlu = (m: string): boolean => m in ALU_RRR || m in ALU_IMM || m in SHIFT_IMM || m === "lui";
/** An operation `access` compiles. */
export const isAccess = (m: string): boolean => m in LOADS || m in STORES;

/**
 * The registers (r1–r15) the supported `words` read or write (`touched`),
 * and those they write: a function loads the first from heap32[r] on entry
 * and stores the second back on every way out.
 */
export function registersOf(words: readonly number[]): { touched: number[]; written: number[] } {
  const read = new Set<number>();
  const written = new Set<number>();
  for (const w of words) {
    const m = mnemonic(w)!;
    const a = (w >>> 6) & 15, b = (w >>> 10) & 15, c = (w >>> 14) & 15;
    if (m in STORES || m in BRANCHES) read.add(a);
    else written.add(a);
    if (m !== "lui" && m !== "jal") read.add(b);
    if (m in ALU_RRR) read.add(c);
  }
  read.delete(0);
  written.delete(0);
  return { touched: [...new Set([...read, ...written])], written: [...written] };
}

/**
 * A function body being built: its bytes (`c`), the instructions the tiers
 * emit, and the labels of the open blocks, loops and ifs by name, so that a
 * branch names its target and the depth follows from where it is emitted.
 * `firstReg`: the local of r1 (r1–r15 in consecutive locals).
 */
export class WasmCode {
  readonly c: number[] = [];
  private readonly labels: string[] = [];

  constructor(private readonly firstReg: number, private readonly where: string) {}

  get = (l: number): void => { this.c.push(OPC.local_get); uleb(l, this.c); };
  set = (l: number): void => { this.c.push(OPC.local_set); uleb(l, this.c); };
  tee = (l: number): void => { this.c.push(OPC.local_tee); uleb(l, this.c); };
  i32 = (n: number): void => { this.c.push(OPC.i32_const); sleb(n, this.c); };
  mem = (op: number, align: number, offset = 0): void => { this.c.push(op, align); uleb(offset, this.c); };
  /** The local of register r (1–15). */
  regLocal = (r: number): number => this.firstReg - 1 + r;
  /** Pushes register r's value (r0: 0). */
  reg = (r: number): void => (r === 0 ? this.i32(0) : this.get(this.regLocal(r)));
  open = (op: number, name: string): void => { this.c.push(op, VOID); this.labels.push(name); };
  end = (): void => { this.c.push(OPC.end); this.labels.pop(); };
  depth = (name: string): number => {
    const i = this.labels.lastIndexOf(name);
    if (i < 0) throw new Error(`jit: ${this.where}: no label ${name}`);
    return this.labels.length - 1 - i;
  };
  br = (name: string): void => { this.c.push(OPC.br); uleb(this.depth(name), this.c); };
  brIf = (name: string): void => { this.c.push(OPC.br_if); uleb(this.depth(name), this.c); };
  /** Whether every label opened was closed. */
  balanced = (): boolean => this.labels.length === 0;
}

/** Loads the registers `regs` from heap32[r] into their locals. */
export function loadRegisters(x: WasmCode, regs: readonly number[]): void {
  for (const r of regs) { x.i32(0); x.mem(OPC.i32_load, 2, 4 * r); x.set(x.regLocal(r)); }
}

/** Stores the registers `regs` from their locals to heap32[r]. */
export function storeRegisters(x: WasmCode, regs: readonly number[]): void {
  for (const r of regs) { x.i32(0); x.get(x.regLocal(r)); x.mem(OPC.i32_store, 2, 4 * r); }
}

/** Turns the heap32 indexes in `locals` (the TLB's arrays) into byte indexes. */
export function byteIndexes(x: WasmCode, locals: readonly number[]): void {
  for (const l of locals) { x.get(l); x.i32(2); x.c.push(OPC.i32_shl); x.set(l); }
}

/** Writes the result of the ALU operation or lui `w` into its register (nothing for r0). */
export function alu(x: WasmCode, w: number): void {
  const m = mnemonic(w)!;
  const a = (w >>> 6) & 15, b = (w >>> 10) & 15, c = (w >>> 14) & 15;
  if (a === 0) return; // an ALU result to r0: no effect
  if (m in ALU_RRR) { x.reg(b); x.reg(c); x.c.push(ALU_RRR[m]); }
  else if (m in ALU_IMM) { x.reg(b); x.i32(w >> 14); x.c.push(ALU_IMM[m]); }
  else if (m in SHIFT_IMM) { x.reg(b); x.i32((w >>> 14) & 31); x.c.push(SHIFT_IMM[m]); }
  else x.i32(w & PAGE_MASK); // lui
  x.set(x.regLocal(a));
}

/** Pushes whether the conditional branch `w` is taken. */
export function branchTaken(x: WasmCode, w: number): void {
  x.reg((w >>> 6) & 15); x.reg((w >>> 10) & 15); x.c.push(BRANCHES[mnemonic(w)!]);
}

/** The locals a load or store uses. */
export interface AccessLocals {
  /** Temporaries: the virtual address, the TLB slot's byte offset, a store's host address, the masked address. */
  va: number; s: number; p: number; m: number;
  /** The TLB's read tags, write tags and addends (byte indexes), the code-page marks' byte index. */
  tagR: number; tagW: number; add: number; cp: number;
  /** The remembered read page and its addend, the remembered write page and its addend. */
  pr: number; ar: number; pw: number; aw: number;
}

/**
 * The load or store `w`, as translate-generate.ts's JavaScript: when its masked
 * address is not the remembered page, the TLB look-up — on a tag miss
 * `miss()` leaves before the instruction; a store into a code page stores
 * and `codeStore()` leaves after it — and the remembered page and addend
 * updated; then the access through the addend. The callbacks emit their
 * way out inside the ifs named "lookup" and "miss" or "code".
 */
export function access(x: WasmCode, L: AccessLocals, w: number, miss: () => void, codeStore: () => void): void {
  const { c, get, set, tee, i32, mem, reg } = x;
  const mn = mnemonic(w)!;
  const a = (w >>> 6) & 15, b = (w >>> 10) & 15;
  const [op, lg] = (LOADS[mn] ?? STORES[mn])!;
  const load = mn in LOADS;
  reg(b); i32(w >> 14); c.push(OPC.i32_add); set(L.va);
  get(L.va); i32(TAG_MASK[(1 << lg) as 1 | 2 | 4]); c.push(OPC.i32_and); tee(L.m); get(load ? L.pr : L.pw); c.push(OPC.i32_ne);
  x.open(OPC.if, "lookup");
  // s = ((va >>> 12) & 1023) << 2; then the compare of the masked address with the tag there.
  get(L.va); i32(12); c.push(OPC.i32_shr_u); i32(1023); c.push(OPC.i32_and); i32(2); c.push(OPC.i32_shl); set(L.s);
  get(L.m); get(load ? L.tagR : L.tagW); get(L.s); c.push(OPC.i32_add); mem(OPC.i32_load, 2); c.push(OPC.i32_ne);
  x.open(OPC.if, "miss"); miss(); x.end();
  const addend = () => { get(L.add); get(L.s); c.push(OPC.i32_add); mem(OPC.i32_load, 2); };
  if (load) {
    get(L.va); i32(PAGE_MASK); c.push(OPC.i32_and); set(L.pr);
    addend(); set(L.ar);
  } else {
    get(L.va); addend(); c.push(OPC.i32_add); set(L.p);
    get(L.cp); get(L.p); i32(12); c.push(OPC.i32_shr_u); c.push(OPC.i32_add); mem(OPC.i32_load8_u, 0);
    x.open(OPC.if, "code");
    get(L.p); reg(a); mem(op, lg);
    codeStore();
    x.end();
    get(L.va); i32(PAGE_MASK); c.push(OPC.i32_and); set(L.pw);
    addend(); set(L.aw);
  }
  x.end();
  if (load) {
    // A load into r0 makes its look-up (it may exit, it sets pr) and nothing else.
    if (a !== 0) { get(L.va); get(L.ar); c.push(OPC.i32_add); mem(op, lg); set(x.regLocal(a)); }
  } else {
    get(L.va); get(L.aw); c.push(OPC.i32_add); reg(a); mem(op, lg);
  }
}
