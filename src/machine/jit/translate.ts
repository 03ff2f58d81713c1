// The block translator: guest code of one physical page → one JavaScript
// function, which V8 then compiles like any other code.
//
// Consumes the instruction words of a page (a heap view, memory.ts), an
// entry offset, and the per-opcode cost table the interpreter charges
// (decode.ts costTable). Produces a `Translation`: the function, the range
// of words it was made from (the cache verifies them, cache.ts) and its size.
// The engine (engine.ts) calls it; nothing else does. Every function it
// compiles first runs its blocks on scratch state (warm.ts), so that V8
// compiles it with type feedback for all of them.
//
// What a translation covers. Starting at the entry, the basic blocks
// reachable by direct branches and jumps *inside the same page* (up to
// MAX_INSNS instructions), each a straight line ending at a branch or jump,
// at the page end, or just before an instruction only the interpreter runs
// (the trap, privileged and sensitive groups of the ISA table, and illegal
// words — the decoder's legality table, decode.ts). The blocks become the
// cases of a `switch` in a loop, so a loop in the guest stays a loop in JS;
// a block that branches to itself becomes two nested `for (;;)` (below,
// "self-loop"). Registers
// live in JS locals (int32) while the function runs and are written back on
// every exit.
//
// Why the results are the interpreter's, instruction for instruction:
// - Each instruction's effect is the interpreter's expression (cpu.ts; the
//   edge cases from semantics.ts), chosen by ISA-table row: `EMIT` is a
//   Record<Mnemonic, …>, so a new instruction is a type error until it is
//   translated or sent to the interpreter.
// - Cycles: every block first checks that its cost up to its LAST
//   instruction stays below `limit` (the next device event or the budget):
//   exactly the condition under which the interpreter, which stops as soon
//   as `cycles >= limit` after an instruction, would run the whole block.
//   Otherwise the block exits untouched (EXIT.LIMIT) and the interpreter
//   runs up to the limit. The block then adds its summed cost — exact, since
//   the engine runs translations only for an all-integer cost model. A
//   self-loop skips the check for the iterations `loopFit` proved to pass it.
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

import { BY_OPCODE, OP, type Mnemonic } from "../../guest-isa/isa-table.js";
import { CR, PSR } from "../../guest-isa/registers.js";
import { TRACE_PAIRS } from "../cpu.js";
import { ILLEGAL_BITS } from "../decode.js";
import { SCRATCH } from "../memory.js";
import { PAGE_MASK, TAG_INVALID, TAG_MASK } from "../mmu/tlb.js";
import { div, divu, mulhu, rem, remu } from "../semantics.js";
import { warm } from "./warm.js";
import { loopLinker, loopRegisters, stepCode, storeCode, type Linker } from "./wasm-loop.js";
import { roomOf, S_N, S_TR, S_USED, S_VA, wasmBlocks } from "./wasm-blocks.js";

/** Why a translation returned to the engine. */
export const EXIT = {
  /** pc is the next instruction to run: dispatch again. */
  NEXT: 0,
  /** The block at pc does not fit before `limit`: the interpreter runs up to it. */
  LIMIT: 1,
  /** The instruction at pc needs the interpreter's slow path (uncharged). */
  STEP: 2,
  /** A store just wrote into a page holding translations; pc is after it. */
  STORE: 3,
  /** sti or wrpsr ran (pc is after it): return to the machine loop, as the interpreter does. */
  SYS: 4,
} as const;

/** The CPU state a translation reads and writes (cpu.ts Cpu). */
export interface CpuState {
  pc: number;
  psr: number;
  readonly cr: Int32Array;
  pauses: number;
  cycles: number;
  instret: number;
  traceIdx: number;
  /** A protection-checked load or store the translation may do itself: its heap byte index, or -1 (cpu.ts). */
  checkedAccess(va: number, size: number, write: boolean, pc: number): number;
  /** Cycles the last successful `checkedAccess` charged. */
  readonly checkCharge: number;
}

/**
 * A compiled translation: (cpu, virtual page base, read tags, write tags,
 * TLB addends, trace ring, limit, heap views, code-page marks) → EXIT code.
 */
export type BlockFn = (
  cpu: CpuState, vbase: number, tagR: number, tagW: number, add: number, trace: number, limit: number,
  heap32: Int32Array, heap16: Uint16Array, heap8: Uint8Array, codePages: Uint8Array, block: number,
  /** Per opcode: 1 when the machine's monitor asks an exit for it (machine.ts exitMask). */
  exits: Uint8Array,
) => number;

export interface Translation {
  fn: BlockFn;
  /** Heap word indexes of the guest words the code was generated from, and those words. */
  at: Int32Array;
  words: Int32Array;
  /** Instructions translated (over all blocks) and blocks. */
  insns: number;
  blocks: number;
  /**
   * Byte offset in the page of each block's first instruction, by block
   * number: the function can be entered at any of them (its last argument),
   * so one translation serves every entry it covers (cache.ts).
   */
  starts: readonly number[];
  /** Whether the function was compiled for this call (false: reused from `shared`). */
  fresh: boolean;
  /**
   * Whether this is the tail of a known block (`covering`: "inside"): it runs
   * from a mid-block entry to the block's end and hands over, so its calls
   * are short by design and the cache never judges them (cache.ts).
   */
  tail: boolean;
  /** Characters of generated JavaScript. */
  codeBytes: number;
}

/** Heap arrays the generated code closes over. */
export interface Heap {
  heap32: Int32Array;
  heap16: Uint16Array;
  heap8: Uint8Array;
  /** Per heap page (byte index >>> 12): nonzero when translations were made from it. */
  codePages: Uint8Array;
}

/**
 * What the translator did in this process (every machine): functions
 * generated and compiled, how many of them were the tail of a known block
 * (`translateFrom`), and tail translations handed out (compiled or reused).
 * Host-side figures, for tests and benchmarks.
 */
export const translatorStats = { generated: 0, tails: 0, tailsUsed: 0, warmed: 0, wasmLoops: 0, wasmBlocks: 0 };

/**
 * Host-side switches, for tests and benchmarks. `warm`: run each fresh
 * function's blocks once on scratch state before its first use (warm.ts);
 * off, V8 compiles with feedback from the real runs only. `wasm`: compile
 * self-loops the WebAssembly tier supports to WebAssembly (wasm-loop.ts);
 * off, every loop stays JavaScript (read when a function is generated).
 * `wasmBlocks` (with `wasm`): a whole translation whose every instruction
 * the tier compiles runs as one WebAssembly function (wasm-blocks.ts); off,
 * only its self-loops do.
 */
export const translateOptions = { warm: true, wasm: true, wasmBlocks: true };

/** Most instructions one translation covers (all its blocks): bounds compile time. */
export const MAX_INSNS = 64;
/** The trace ring (cpu.ts): pairs, and the mask of its word index. */
const TRACE_MASK = TRACE_PAIRS * 2 - 1;

type Kind = "alu" | "load" | "store" | "amo" | "pause" | "branch" | "jal" | "jalr" | "sys" | "sysret";

/** Per mnemonic: how the translator emits it, or null when only the interpreter runs it. */
interface Emit {
  kind: Kind;
  /** alu: the int32 expression of the result from B, C (registers as JS expressions) and the immediate fields. */
  expr?: (b: string, c: string, w: number) => string;
  /** load/store: access size, alignment mask for the tag compare, and the heap access. */
  size?: 1 | 2 | 4;
  /** branch: the condition on (A, B). */
  cond?: (a: string, b: string) => string;
}

const imm = (w: number) => w >> 14;
const uimm = (w: number) => w >>> 14;
const alu = (expr: (b: string, c: string, w: number) => string): Emit => ({ kind: "alu", expr });

/** The interpreter's expressions (cpu.ts exec), as code. */
const EMIT: Readonly<Record<Mnemonic, Emit | null>> = {
  add: alu((b, c) => `(${b} + ${c}) | 0`),
  sub: alu((b, c) => `(${b} - ${c}) | 0`),
  and: alu((b, c) => `${b} & ${c}`),
  or: alu((b, c) => `${b} | ${c}`),
  xor: alu((b, c) => `${b} ^ ${c}`),
  sll: alu((b, c) => `${b} << (${c} & 31)`),
  srl: alu((b, c) => `(${b} >>> (${c} & 31)) | 0`),
  sra: alu((b, c) => `${b} >> (${c} & 31)`),
  slt: alu((b, c) => `${b} < ${c} ? 1 : 0`),
  sltu: alu((b, c) => `${b} >>> 0 < ${c} >>> 0 ? 1 : 0`),
  mul: alu((b, c) => `Math.imul(${b}, ${c})`),
  mulhu: alu((b, c) => `mulhu(${b}, ${c})`),
  div: alu((b, c) => `div(${b}, ${c})`),
  divu: alu((b, c) => `divu(${b}, ${c})`),
  rem: alu((b, c) => `rem(${b}, ${c})`),
  remu: alu((b, c) => `remu(${b}, ${c})`),
  addi: alu((b, _, w) => `(${b} + ${imm(w)}) | 0`),
  andi: alu((b, _, w) => `${b} & ${imm(w)}`),
  ori: alu((b, _, w) => `${b} | ${imm(w)}`),
  xori: alu((b, _, w) => `${b} ^ ${imm(w)}`),
  slli: alu((b, _, w) => `${b} << ${uimm(w)}`),
  srli: alu((b, _, w) => `(${b} >>> ${uimm(w)}) | 0`),
  srai: alu((b, _, w) => `${b} >> ${uimm(w)}`),
  slti: alu((b, _, w) => `${b} < ${imm(w)} ? 1 : 0`),
  sltiu: alu((b, _, w) => `${b} >>> 0 < ${imm(w) >>> 0} ? 1 : 0`),
  lui: alu((_, __, w) => `${w & 0xfffff000}`),
  lw: { kind: "load", size: 4 },
  lh: { kind: "load", size: 2 },
  lhu: { kind: "load", size: 2 },
  lb: { kind: "load", size: 1 },
  lbu: { kind: "load", size: 1 },
  sw: { kind: "store", size: 4 },
  sh: { kind: "store", size: 2 },
  sb: { kind: "store", size: 1 },
  amoswap: { kind: "amo" },
  amoadd: { kind: "amo" },
  pause: { kind: "pause" },
  beq: { kind: "branch", cond: (a, b) => `${a} === ${b}` },
  bne: { kind: "branch", cond: (a, b) => `${a} !== ${b}` },
  blt: { kind: "branch", cond: (a, b) => `${a} < ${b}` },
  bge: { kind: "branch", cond: (a, b) => `${a} >= ${b}` },
  bltu: { kind: "branch", cond: (a, b) => `${a} >>> 0 < ${b} >>> 0` },
  bgeu: { kind: "branch", cond: (a, b) => `${a} >>> 0 >= ${b} >>> 0` },
  jal: { kind: "jal" },
  jalr: { kind: "jalr" },
  // System instructions that touch only the CPU's psr and control registers: translated, with
  // a run-time check for the monitor's exit mask and (privileged ones) supervisor mode.
  // "sysret": the translation returns to the machine loop after it (interrupts, mode).
  cli: { kind: "sys" },
  mfcr: { kind: "sys" },
  mtcr: { kind: "sys" }, // not of ptbr or pgctl (TLB flush): `translatable`
  rdpsr: { kind: "sys" },
  sti: { kind: "sysret" },
  wrpsr: { kind: "sysret" },
  // Traps, the other privileged instructions: the machine's slow path, always.
  syscall: null, brk: null, hcall: null,
  hlt: null, iret: null, tlbflush: null, tlbinv: null, in: null, out: null,
};

/** Per opcode: the Emit of its row, null for the interpreter only (and for unused opcodes). */
const BY_OP: readonly (Emit | null)[] = Array.from({ length: 64 }, (_, op) => {
  const row = BY_OPCODE[op];
  return row ? EMIT[row.mnemonic as Mnemonic] : null;
});
for (const row of BY_OPCODE) {
  if (!row) continue;
  const e = EMIT[row.mnemonic as Mnemonic];
  const slow = row.group === "trap" || row.privileged || row.sensitive;
  const sys = e !== null && (e.kind === "sys" || e.kind === "sysret");
  if ((e === null || sys) !== slow) throw new Error(`jit: ${row.mnemonic} is ${slow ? "a slow-path" : "an ordinary"} instruction in the ISA table but ${e ? "translated as one" : "not translated"}`);
}

/** Processor status bits (guest-isa/registers.ts PSR) as the translated system instructions use them. */
const PSR_IE = PSR.IE;
const PSR_SU = PSR.SU;
const UF_AND_MODE = PSR.IE | PSR.SU | PSR.UF_MASK;

/** Whether the translator emits the word (legal, and not an instruction only the interpreter runs). */
export function translatable(word: number): boolean {
  const op = word & 63;
  if (BY_OP[op] === null || (word & ILLEGAL_BITS[op]) !== 0) return false;
  // mtcr ptbr / pgctl flush the TLB: the interpreter's.
  if (op === OP.mtcr) {
    const cr = word >>> 14;
    return cr !== CR.ptbr && cr !== CR.pgctl;
  }
  return true;
}

interface Block {
  id: number;
  /** Byte offset of the first instruction in the page. */
  start: number;
  words: number[];
  /** Whether the last word is a branch/jump (else the block falls out: page end or a slow-path instruction next). */
  terminated: boolean;
}

const reg = (r: number) => (r === 0 ? "0" : `r${r}`);
const LOAD_EXPR: Record<number, (p: string) => string> = {
  27: (p) => `H[${p} >> 2]`,
  28: (p) => `(U16[${p} >> 1] << 16) >> 16`,
  29: (p) => `U16[${p} >> 1]`,
  30: (p) => `(U8[${p}] << 24) >> 24`,
  31: (p) => `U8[${p}]`,
};
const STORE_STMT: Record<number, (p: string, v: string) => string> = {
  32: (p, v) => `H[${p} >> 2] = ${v};`,
  33: (p, v) => `U16[${p} >> 1] = ${v};`,
  34: (p, v) => `U8[${p}] = ${v};`,
};
/**
 * Pages seen. A call remembers the virtual page of its last load whose fast
 * read tag matched (pr) and of its last store whose fast write tag matched
 * (pw), with their TLB addends: an access to the same page, aligned, needs
 * the same look-up with the same answer, because nothing the translation
 * runs changes the TLB (the tags come in per call: mode, CPU), nor the
 * code-page marks (only the cache, between calls, sets them). So the next
 * access compares with the remembered page instead of loading the tag and
 * the addend. A page holding translations is never remembered for stores:
 * each of its stores makes the full look-up, writes, and exits (EXIT.STORE).
 * NO_PAGE (the TLB's TAG_INVALID, bits 2–11 set) equals no masked address.
 */
const NO_PAGE = TAG_INVALID;

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

const blockKey = (b: Block) => `${b.start}:${b.words.join(",")}`;

/**
 * The basic blocks reachable from `entryOff` inside the page at heap byte
 * `page` (up to MAX_INSNS instructions; `tail`: the first block only), in
 * address order, numbered, and their instruction count.
 */
function discover(H: Int32Array, page: number, entryOff: number, tail: boolean): { blocks: Block[]; byStart: Map<number, Block>; total: number } {
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

/** The registers `blocks` read or write, and those they write (r0 in neither). */
function registersOf(blocks: readonly Block[]): { used: Set<number>; written: Set<number> } {
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
 * The JavaScript of a translation of `blocks` (in address order, `byStart`
 * by offset), compiled: registers `used` are loaded into locals, those
 * `written` stored back on every exit.
 */
function generate(blocks: readonly Block[], byStart: ReadonlyMap<number, Block>, used: ReadonlySet<number>, written: ReadonlySet<number>, cost: Float64Array, loops = translateOptions.wasm): Compiled {
  const out: string[] = [];
  const regs = [...used].sort((x, y) => x - y);
  const writeBack = [...written].sort((x, y) => x - y).map((r) => `H[${r}] = r${r};`).join(" ");
  // Exits only assign a constant (the row of the exit table XT: pc as an offset from the page
  // base, the exit code, the cycles and instructions of the block's executed part): a path V8
  // never saw run then needs no type feedback, so taking it for the first time does not deoptimize
  // the function. The epilogue does the arithmetic.
  const xt: number[] = [];
  const exitRow = new Map<string, number>();
  // Inside a self-loop's body: what its exits set first, so that the epilogue settles its pending
  // iterations (see "Pending work"). In the loop itself lf, lt, lc and lm are dead: the check at
  // its top uses the constants, and V8 has four fewer values to keep in registers across it.
  let loopPending = "";
  let bodyAt = 0;
  const rowOf = (off: number, code: number, c = 0, k = 0) => {
    const key = `${off},${code},${c},${k}`;
    let row = exitRow.get(key);
    if (row === undefined) {
      row = xt.length >> 2;
      exitRow.set(key, row);
      xt.push(off, code, c, k);
    }
    return row;
  };
  const exit = (off: number, code: number, c = 0, k = 0) => `{ ${loopPending}q = ${rowOf(off, code, c, k)}; break out; }`;
  // The WebAssembly tier's loops (wasm-loop.ts): their linkers, each called through a local wN.
  const linkers: Linker[] = [];
  const wasmCodes: Int32Array[] = [];
  const pcAt = (off: number) => `(vb + ${off}) | 0`;
  const charge = (c: number, k: number) => (k ? `cyc += ${c}; n += ${k}; ` : "");
  const traced = (from: string, to: string) => `H[(T + tr) | 0] = ${from}; H[(T + tr + 1) | 0] = ${to}; tr = (tr + 2) & ${TRACE_MASK};`;
  // A block that branches to itself (a self-loop) becomes two nested JS loops:
  //
  //   lpN: for (;;) {                       // once per K iterations
  //     charge lk iterations; write lk - E pairs; lk = 0;  // the iterations run since the last check
  //     if (E) break lpN;                   // the last one did not take the back edge
  //     if (!(cyc + X < limit)) exit LIMIT; // the interpreter's check, as every other block makes
  //     K = loopFit(cyc, X, C, limit);      // how many iterations from here pass that check
  //     for (;;) { body; lk++; if (!taken) { E = 1; break; } if (lk >= K) break; }
  //   }
  //   E = 0; go on.
  //
  // The inner loop touches only the guest's registers and lk: an iteration charges no cycles
  // and writes no trace pair, it counts itself in lk (lf, lt: the pair's offsets, lc, lm: the
  // block's cycles and instructions). Whoever leaves adds lk iterations' cycles and
  // instructions and writes the pairs (the check at the top; the epilogue for exits from the
  // body, `settle`). k
  // writes of one pair leave the last min(k, 32) slots holding it and the index 2k further on:
  // the ring is the interpreter's. An iteration skips the limit check only where loopFit proved
  // it passes (the same integers, the same comparison), so the block stops at exactly the
  // iteration the interpreter's check would stop it. The same loop with the check, the charge
  // and the counter inside one `for` ran the ALU loop 2.7× slower (V8 kept the cold paths'
  // state live across the hot one).
  //
  // Pending work, and why cold paths do none. A path TurboFan compiled before it ever ran (the
  // way out of a loop that runs for a whole call, the other side of a branch) has no type
  // feedback; an arithmetic operation, typed-array access or call there deoptimizes the whole
  // function the first time it runs, and V8 then interprets it until a new compile lands
  // (tens to hundreds of ms on this machine: in the bench, the load/store loop deoptimized at
  // the end of every run). So such paths only assign constants and jump; the work they imply
  // is left pending in (lk, lf, lt, lc, lm) — lk times the trace pair (vb + lf, vb + lt), each
  // time lc cycles and lm instructions — and done by code every call runs: `settle`, at the
  // top of the dispatch loop, at each check of a self-loop and in the epilogue. A taken branch
  // between blocks leaves its pair (lk = 1, lc = lm = 0, its block charged already); the last
  // iteration of a self-loop counts itself in lk and sets E, and the check takes the pair of
  // that not-taken back edge off again (lk - E).
  // The pairs are written by a loop that runs at least once: with lk = 0 its one pass stores
  // back the words it read, so the places that run it unconditionally (the check of a
  // self-loop, which every entry into the loop passes, and the epilogue) have run every
  // operation in it before TurboFan compiles them, even when it compiles on the first call
  // (on-stack replacement in a long loop).
  const pairsOf = (f: string, t: string) => `x = (vb + ${f}) | 0; y = (vb + ${t}) | 0; j = lk < ${TRACE_PAIRS} ? lk : ${TRACE_PAIRS}; z = tr; do { o = H[(T + z) | 0]; H[(T + z) | 0] = j > 0 ? x : o; o = H[(T + z + 1) | 0]; H[(T + z + 1) | 0] = j > 0 ? y : o; z = (z + 2) & ${TRACE_MASK}; j = (j - 1) | 0; } while (j > 0); tr = (tr + ((lk & ${TRACE_PAIRS - 1}) << 1)) & ${TRACE_MASK};`;
  const tracePairs = pairsOf("lf", "lt");
  const settleAlways = `cyc += lk * lc; n += lk * lm; ${tracePairs} lk = 0;`;
  const settle = `if (lk !== 0) { ${settleAlways} }`;
  /** A conditional branch's taken side: its pair, pending (constants only, see above). */
  const pend = (from: number, to: number) => `lf = ${from}; lt = ${to}; lk = 1; lc = 0; lm = 0;`;

  out.push(`let ${regs.map((r) => `r${r} = H[${r}] | 0`).concat("cyc = +cpu.cycles", "n = +cpu.instret", "tr = cpu.traceIdx | 0", "q = 0", "L = block | 0").join(", ")};`);
  out.push(`out: for (;;) { ${settle} switch (L) {`);
  for (const b of blocks) {
    const m = b.words.length;
    // before[k]: the cost of the block's first k instructions
    const before = [0];
    for (const w of b.words) before.push(before[before.length - 1] + cost[w & 63]);
    const selfLoop = b.terminated && (() => {
      const w = b.words[m - 1];
      const off = b.start + (m - 1) * 4;
      const k = BY_OP[w & 63]!.kind;
      return (k === "branch" && off + ((w >> 14) << 2) === b.start) || (k === "jal" && off + ((w >> 10) << 2) === b.start);
    })();
    const goTo = (t: number): string => {
      if (t >= 0 && t < 4096) {
        const tb = byStart.get(t);
        // The next case in the switch: fall into it (a self-loop leaves from after its loops).
        if (tb && tb.id === b.id + 1) return "";
        if (tb) return `{ L = ${tb.id}; continue out; }`;
      }
      return exit(t, EXIT.NEXT);
    };
    const loopPc = selfLoop ? b.start + (m - 1) * 4 : 0;
    // The cycle count where the code reads it (hooks): a self-loop's, with its pending iterations.
    const cycNow = selfLoop ? `(cyc + lk * ${before[m]})` : "cyc";
    if (selfLoop) {
      // Every way out of the loop assigns them (constants), so none of them is live in it.
      loopPending = `lf = ${loopPc}; lt = ${b.start}; lc = ${before[m]}; lm = ${m}; `;
      out.push(`case ${b.id}: lp${b.id}: for (;;) {`);
      // The iterations run since the last check; after the last one (E), without its back edge's pair.
      out.push(`cyc += lk * ${before[m]}; n += lk * ${m}; lk = (lk - E) | 0; ${pairsOf(String(loopPc), String(b.start))} lk = 0;`);
      out.push(`if (E !== 0) break lp${b.id};`);
      out.push(`if (!(cyc + ${before[m - 1]} < limit)) ${exit(b.start, EXIT.LIMIT)}`);
      out.push(`K = loopFit(cyc, ${before[m - 1]}, ${before[m]}, limit) | 0;`);
      // Only loops that load or store: V8 runs an ALU-only loop's JavaScript faster than its WebAssembly
      // (machine bench (a), CPU time, alternating: 4,341 against 2,842 MIPS), and their JavaScript has
      // no typed-array access to pay for.
      const linker = loops && b.words.some((x) => BY_OP[x & 63]!.kind === "load" || BY_OP[x & 63]!.kind === "store") ? loopLinker(b.words) : undefined;
      if (linker) {
        // Its codes for the ways out of the body → this function's exit rows.
        const codes = new Int32Array(2 + 2 * m);
        for (let k = 0; k < m - 1; k++) {
          const kind = BY_OP[b.words[k] & 63]!.kind;
          if (kind !== "load" && kind !== "store") continue;
          codes[stepCode(k)] = rowOf(b.start + k * 4, EXIT.STEP, before[k], k);
          if (kind === "store") codes[storeCode(k)] = rowOf(b.start + k * 4 + 4, EXIT.STORE, before[k + 1], k + 1);
        }
        wasmCodes.push(codes);
        // The K iterations in WebAssembly (wasm-loop.ts), over the registers in the heap; then on as
        // after the inner loop below: o 0, K ran; 1, the last did not take the back edge (E); else a way out of the body, mapped to its exit row (WX).
        const w = `w${linkers.length}`;
        linkers.push(linker);
        const { touched, written } = loopRegisters(b.words);
        out.push(`if (${w} === 0) ${w} = WL[${linkers.length - 1}](H, CP);`);
        out.push(`if (${w} !== null) {`);
        // The registers it reads or writes (wasm-loop.ts loads both).
        out.push(touched.map((r) => `H[${r}] = r${r};`).join(" "));
        out.push(`o = ${w}(K, tagR, tagW, ADD, pr, ar, pw, aw, CP.byteOffset) | 0;`);
        out.push(written.map((r) => `r${r} = H[${r}];`).join(" "));
        out.push(`lk = H[${SCRATCH}]; pr = H[${SCRATCH + 1}]; ar = H[${SCRATCH + 2}]; pw = H[${SCRATCH + 3}]; aw = H[${SCRATCH + 4}];`);
        out.push(`if (o > 1) { ${loopPending}q = WX[${linkers.length - 1}][o]; break out; }`);
        out.push(`E = o; continue lp${b.id}; }`);
      }
      out.push("for (;;) {");
      bodyAt = out.length;
    } else {
      out.push(`case ${b.id}: {`);
      out.push(`if (!(cyc + ${before[m - 1]} < limit)) ${exit(b.start, EXIT.LIMIT)}`);
    }
    for (let k = 0; k < m; k++) {
      const w = b.words[k];
      const off = b.start + k * 4;
      const op = w & 63;
      const e = BY_OP[op]!;
      const A = (w >>> 6) & 15, B = (w >>> 10) & 15, C = (w >>> 14) & 15;
      const last = k === m - 1;
      // Checked accesses: after one, the cycles its check charged (a PLB miss) are added, and the
      // interpreter's check before each later instruction of the block is made again — it goes on
      // only while cyc + before[j] < limit, so the block's last instruction decides: if it fails,
      // the block exits before the next instruction (EXIT.LIMIT, everything up to it charged) and
      // the interpreter runs on from there up to the limit. After the block's last instruction the
      // next block's own check (or the engine's loop top) makes it.
      const limitAfter = (j: number) => (j < m - 1 ? `if (!(cyc + ${before[m - 1]} < limit)) ${exit(off + 4, EXIT.LIMIT, before[j + 1], j + 1)}` : "");
      const checkCharge = (j: number) => `x = cpu.checkCharge; if (x !== 0) { cyc += x; ${limitAfter(j)} }`;
      switch (e.kind) {
        case "alu": {
          const x = e.expr!(reg(B), reg(C), w);
          if (A !== 0) out.push(`r${A} = ${x};`);
          break;
        }
        case "load": {
          const size = e.size!;
          const p = "((va + ar) | 0)";
          const load = (at: string) => (A !== 0 ? `r${A} = ${LOAD_EXPR[op](at)};` : `${LOAD_EXPR[op](at)};`);
          // The page of the last load (pr, its addend ar) needs no TLB look-up: see "Pages seen" below.
          out.push(`va = (${reg(B)} + ${imm(w)}) | 0;`);
          if (!selfLoop) {
            out.push(`c${k}: { if ((va & ${TAG_MASK[size]}) !== pr) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagR + s) | 0]) {`);
            out.push(`p = cpu.checkedAccess(va, ${size}, false, ${pcAt(off)}); if (p < 0) ${exit(off, EXIT.STEP, before[k], k)} ${load("p")} ${checkCharge(k)} break c${k}; }`);
            out.push(`pr = va & ${PAGE_MASK}; ar = H[(ADD + s) | 0]; } ${load(p)} }`);
            break;
          }
          out.push(`if ((va & ${TAG_MASK[size]}) !== pr) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagR + s) | 0]) ${exit(off, EXIT.STEP, before[k], k)} pr = va & ${PAGE_MASK}; ar = H[(ADD + s) | 0]; }`);
          out.push(load(p));
          break;
        }
        case "store": {
          const size = e.size!;
          // The page of the last store (pw, its addend aw) is writable and holds no translations.
          // A page that holds some is never remembered: its stores look it up, store, and exit.
          out.push(`va = (${reg(B)} + ${imm(w)}) | 0;`);
          if (!selfLoop) {
            // As a load's (above); the charge is in cyc before a STORE exit's row adds the rest.
            out.push(`c${k}: { if ((va & ${TAG_MASK[size]}) !== pw) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagW + s) | 0]) {`);
            out.push(`p = cpu.checkedAccess(va, ${size}, true, ${pcAt(off)}); if (p < 0) ${exit(off, EXIT.STEP, before[k], k)} ${STORE_STMT[op]("p", reg(A))} cyc += cpu.checkCharge;`);
            out.push(`if (CP[p >>> 12] !== 0) ${exit(off + 4, EXIT.STORE, before[k + 1], k + 1)} ${limitAfter(k)} break c${k}; }`);
          } else out.push(`if ((va & ${TAG_MASK[size]}) !== pw) { s = (va >>> 12) & 1023; if ((va & ${TAG_MASK[size]}) !== H[(tagW + s) | 0]) ${exit(off, EXIT.STEP, before[k], k)}`);
          out.push(`p = (va + H[(ADD + s) | 0]) | 0; if (CP[p >>> 12] !== 0) { ${STORE_STMT[op]("p", reg(A))} ${exit(off + 4, EXIT.STORE, before[k + 1], k + 1)} }`);
          out.push(`pw = va & ${PAGE_MASK}; aw = H[(ADD + s) | 0]; }`);
          out.push(STORE_STMT[op]("((va + aw) | 0)", reg(A)));
          if (!selfLoop) out.push("}");
          break;
        }
        case "amo": {
          // The interpreter's read-modify-write (cpu.ts): the write tag, then old value to rd.
          out.push(`va = (${reg(B)} + ${w >> 18}) | 0; s = (va >>> 12) & 1023;`);
          out.push(`if ((va & ${TAG_MASK[4]}) !== H[(tagW + s) | 0]) ${exit(off, EXIT.STEP, before[k], k)}`);
          out.push(`p = (va + H[(ADD + s) | 0]) | 0; o = H[p >> 2];`);
          out.push(`H[p >> 2] = ${op === 58 ? reg(C) : `(o + ${reg(C)}) | 0`};`);
          if (A !== 0) out.push(`r${A} = o;`);
          out.push(`if (cpu.amoHook !== null) cpu.amoHook(${pcAt(off)}, p >> 2, o, H[p >> 2], ${cycNow} + ${before[k + 1]});`);
          out.push(`if (CP[p >>> 12] !== 0) ${exit(off + 4, EXIT.STORE, before[k + 1], k + 1)}`);
          break;
        }
        case "pause":
          out.push(`cpu.pauses++; if (cpu.pauseHook !== null && cpu.pauseHook(${pcAt(off)}, ${cycNow} + ${before[k + 1]})) ${exit(off + 4, EXIT.NEXT, before[k + 1], k + 1)}`);
          break;
        case "branch": {
          const t = off + ((w >> 14) << 2);
          if (selfLoop) {
            // An iteration charges nothing (lk counts it); the last one, not taking the back edge,
            // leaves through the check at the top of the loop (E), which charges the iterations.
            // Unrolled (UNROLL): the body again after each check; every copy is an iteration of its own.
            const check = `lk = (lk + 1) | 0; if (!(${e.cond!(reg(A), reg(B))})) { E = 1; break; } if (lk >= K) break;`;
            const body = out.slice(bodyAt);
            out.push(check);
            for (let u = 1; u < UNROLL; u++) out.push(...body, check);
            out.push("} }");
            out.push(`E = 0; ${loopPending}${goTo(off + 4)}`);
            break;
          }
          out.push(charge(before[m], m));
          out.push(`if (${e.cond!(reg(A), reg(B))}) { ${pend(off, t)} ${goTo(t) || `{ L = ${b.id + 1}; continue out; }`} }`);
          out.push(goTo(off + 4));
          break;
        }
        case "jal": {
          const t = off + ((w >> 10) << 2);
          if (A !== 0) out.push(`r${A} = ${pcAt(off + 4)};`);
          if (selfLoop) {
            // Left only by the exits of its body.
            out.push(`lk = (lk + 1) | 0; if (lk >= K) break; } }`);
            break;
          }
          out.push(charge(before[m], m));
          out.push(traced(pcAt(off), pcAt(t)));
          out.push(goTo(t));
          break;
        }
        case "sys":
        case "sysret": {
          // The machine's semantics (machine.ts system()); the interpreter's when the monitor asks an exit or (privileged) in user mode.
          const privileged = BY_OPCODE[op]!.privileged;
          out.push(`if (${privileged ? `(cpu.psr & ${PSR_SU}) === 0 || ` : ""}EM[${op}] !== 0) ${exit(off, EXIT.STEP, before[k], k)}`);
          const cr = w >>> 14;
          if (op === OP.cli) out.push(`cpu.psr &= ${~PSR_IE};`);
          else if (op === OP.sti) out.push(`cpu.psr |= ${PSR_IE};`);
          else if (op === OP.mfcr) out.push(A !== 0 ? `r${A} = cpu.cr[${cr}];` : "");
          else if (op === OP.mtcr) out.push(`cpu.cr[${cr}] = ${reg(B)};`);
          else if (op === OP.rdpsr) out.push(A !== 0 ? `r${A} = cpu.psr | 0;` : "");
          else if (op === OP.wrpsr) {
            // Supervisor: every defined bit. User: only UF, silently (the virtualization hole).
            out.push(`cpu.psr = (cpu.psr & ${PSR_SU}) !== 0 ? ${reg(B)} & ${UF_AND_MODE} : (cpu.psr & ${~PSR.UF_MASK}) | (${reg(B)} & ${PSR.UF_MASK});`);
          } else throw new Error(`jit: no translation for opcode ${op}`);
          if (e.kind === "sysret") {
            out.push(charge(before[m], m));
            out.push(exit(off + 4, EXIT.SYS));
          }
          break;
        }
        case "jalr": {
          out.push(`va = (${reg(B)} + ${imm(w)}) | 0;`);
          out.push(`if ((va & 3) !== 0) ${exit(off, EXIT.STEP, before[k], k)}`);
          out.push(charge(before[m], m));
          if (A !== 0) out.push(`r${A} = ${pcAt(off + 4)};`);
          out.push(traced(pcAt(off), "va"));
          out.push(`{ q = -1; break out; }`);
          break;
        }
      }
      if (last && !b.terminated) {
        out.push(charge(before[m], m));
        out.push(goTo(off + 4));
      }
    }
    loopPending = "";
    if (!selfLoop) out.push("}");
  }
  out.push("} }");
  // q = -1: a jalr, pc = va (an exit with nothing uncharged, NEXT); its side only assigns.
  out.push(`${settleAlways} ${writeBack} cpu.traceIdx = tr;`);
  out.push(`if (q < 0) { x = va; y = ${EXIT.NEXT}; j = 0; z = 0; } else { q <<= 2; x = (vb + XT[q]) | 0; y = XT[q + 1]; j = XT[q + 2]; z = XT[q + 3]; }`);
  out.push(`cpu.cycles = cyc + j; cpu.instret = n + z; cpu.pc = x; return y;`);

  const body = out.join("\n");
  const src = `return function block(cpu, vb, tagR, tagW, ADD, T, limit, H, U16, U8, CP, block, EM) { "use strict"; let va = 0, s = 0, p = 0, o = 0, x = 0, y = 0, j = 0, z = 0, pr = ${NO_PAGE}, ar = 0, pw = ${NO_PAGE}, aw = 0, lk = 0, lf = 0, lt = 0, lc = 0, lm = 0, K = 0, E = 0${linkers.map((_, i) => `, w${i} = 0`).join("")};\n${body}\n};`;
  const fn = (new Function("mulhu", "div", "divu", "rem", "remu", "loopFit", "XT", "WL", "WX", src) as (...a: unknown[]) => BlockFn)(mulhu, div, divu, rem, remu, loopFit, Int32Array.from(xt), linkers, wasmCodes);
  translatorStats.wasmLoops += linkers.length;
  translatorStats.generated++;
  return { fn, codeBytes: src.length, tail: false };
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

/**
 * Copies of a self-loop's body (ending in a branch back) in its inner loop,
 * each followed by the iteration's own check: the back edge — V8's stack
 * check, the moves of its spilled values — then comes once per UNROLL
 * iterations. Against one copy, interleaved at load 11: (a) 1.17–1.21×,
 * (b) 0.94–1.14×, (d) 1.06–1.28× (4 copies: no better than 2). Each copy's
 * page look-ups are sites of their own, so one whose look-up first misses
 * after the compile deoptimizes the function once ((b) in its second run).
 */
const UNROLL = 2;

/** The most iterations a self-loop runs between two limit checks (keeps its counter an int32). */
const LOOP_CAP = 0x3fff_ffff;

/**
 * How many iterations of a self-loop, starting at cycle count `cyc`, pass the
 * interpreter's check `cyc + x < limit` one after the other, the count
 * growing by `c` per iteration: the largest K with cyc + i·c + x < limit for
 * every i < K (at most LOOP_CAP). The translation skips the check for those
 * and makes it at the K-th. Proved on the same expressions the loop would
 * evaluate — integers below 2^53 add exactly, so cyc + i·c is the count after
 * i additions of c. 0 when the first iteration fails the check; 1 (the
 * next iteration checks again) where the proof does not hold (a fractional
 * or huge count).
 */
export function loopFit(cyc: number, x: number, c: number, limit: number): number {
  if (!(cyc + x < limit)) return 0;
  if (!Number.isSafeInteger(cyc) || cyc > 2 ** 52 || !Number.isSafeInteger(c) || c < 0 || !Number.isSafeInteger(x)) return 1;
  if (c === 0) return LOOP_CAP;
  let k = Math.ceil((limit - cyc - x) / c);
  if (!(k <= LOOP_CAP)) k = LOOP_CAP; // NaN, Infinity too
  if (k < 1) k = 1;
  // cyc + (k - 1)·c + x < limit holds for i = k - 1, hence for every smaller i (c ≥ 0).
  while (k > 1 && !(cyc + (k - 1) * c + x < limit)) k--;
  if (cyc + (k - 1) * c + x >= 2 ** 53) return 1;
  return k;
}

/** The cost table as a key: translations embed its figures. */
export function costTableKey(cost: Float64Array): string {
  return Array.from(cost).join(",");
}

interface Compiled {
  fn: BlockFn;
  codeBytes: number;
  /** Compiled as a tail (`translateFrom`): wherever it is reused, its calls are short by design. */
  tail: boolean;
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
const byPage = new Map<string, Made[]>();

/** FNV-1a over the 1,024 words of the page at heap byte `page`. */
function pageKey(H: Int32Array, page: number, costKey: string): string {
  let h = 0x811c9dc5 | 0;
  for (let i = page >> 2, end = i + 1024; i < end; i++) h = Math.imul(h ^ H[i], 16777619);
  return `${costKey}|${h}`;
}

function remember(H: Int32Array, page: number, costKey: string, c: Compiled, blocks: readonly Block[]): void {
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
function covering(H: Int32Array, page: number, off: number, costKey: string): Translation | undefined | "inside" {
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
const shared = new Map<string, Compiled>();
const SHARED_MAX = 20_000;
