// Warming a fresh translation: its blocks run on a scratch machine state
// before the engine calls it for real.
//
// Consumes a compiled translation function (translation.ts BlockFn), its block
// count and the cycles of its costliest block; translate.ts calls it once per
// function it compiles. Produces nothing but V8's type feedback for the
// function: the scratch CPU, memory and TLB are this module's own, and a
// translation writes only what it is passed (its CPU, the heap views, the
// trace ring in them) — the scratch CPU has no hooks — so no machine's state,
// cycle or counter can change.
//
// Why. TurboFan compiles a translation with the type feedback its code has
// gathered so far; an operation that never ran has none, and reaching it
// later deoptimizes the whole function ("insufficient type feedback"), which
// V8 then runs in its bytecode interpreter until a new compile lands — tens
// to hundreds of milliseconds on this machine. Cold paths only assign
// constants (translate-generate.ts "Pending work"), but a block that first runs after
// the compile is no cold path: the sieve's clear, count and last blocks run
// only after its fill loop ran 65,536 iterations, long enough for an
// on-stack-replacement compile, so the bench's sieve deoptimized three times
// per process and ran its first timed run at a fifth of its later speed.
// Run here first, every block's straight-line code, its self-loop's check,
// both copies of its body (UNROLL) and the epilogue have feedback before the
// first compile.
//
// The scratch state: supervisor mode, no monitor exits, and every virtual
// page below 4 MiB mapped, readable and writable in both modes, to one
// scratch frame, so loads and stores at the addresses the register patterns
// below make run their fast paths; any other access exits (EXIT.STEP), as an
// unmapped page would. Each call gets a cycle limit of twice the costliest
// block (plus one), so a self-loop runs at most two iterations and a call at
// most a few blocks: translate.ts warms only translations whose every
// instruction costs at least a cycle, which bounds the loops.

import { PSR } from "../../guest-isa/registers.js";
import { Cpu, type CpuHost } from "../cpu.js";
import { PhysicalMemory, RAM_BASE } from "../memory.js";
import { PERM, TLB_SIZE, Tlb } from "../mmu/tlb.js";
import type { BlockFn } from "./translation.js";

/** The scratch machine state, made at the first warm-up of the process (or worker). */
interface Scratch {
  cpu: Cpu;
  mem: PhysicalMemory;
  tlb: Tlb;
  codePages: Uint8Array;
  exits: Uint8Array;
}

let scratch: Scratch | undefined;

function makeScratch(): Scratch {
  const mem = new PhysicalMemory(4096);
  const tlb = new Tlb(() => false, (words) => mem.allocState(words), RAM_BASE, undefined, undefined, mem.written);
  // A real Cpu, so that the translation's feedback for its CPU argument is the machines' map. It
  // never reaches its host: a translation calls none of it.
  const cpu = new Cpu(mem, tlb, {} as CpuHost, new Float64Array(64));
  for (let page = 0; page < TLB_SIZE; page++) tlb.fill(page * 4096, 0, PERM.V | PERM.W | PERM.U);
  return { cpu, mem, tlb, codePages: mem.codePages, exits: new Uint8Array(64) };
}

/**
 * V8 gives a function somewhere to record feedback only once it has run for
 * a while (lazy feedback allocation: about 8 calls' worth of its bytecode in
 * Node 20), so calls that stop at their first limit check (limit 0) come
 * first. (24 and 64 left the same deoptimizations in the bench's loops.)
 */
const PRIMING_CALLS = 24;

/**
 * Register patterns each block runs with (`registerValue`): all 0; 4·r
 * (ascending) and 4·(15 − r) (descending), so that a branch between two
 * registers goes each way in one of them; 4096·r², where a loop whose
 * counter grows by another register's value still runs two iterations (the
 * sieve's r8 += r5 while r8 < r11), each copy of its body on another page;
 * 4096·(r² + 1) − 4·r, just below a page end, so that a small stride crosses
 * into another page between the two copies and the second copy's page
 * look-up runs too (the load/store loop's); 4096·r² with 4095 added to the
 * odd registers, or to the even ones, so that the sum of two registers is
 * the last byte of a page and a byte loop (the sieve's fill) crosses it; and
 * the last three again with 15 − r for r, for loops whose bound is in a
 * lower register than their counter (the kernel's memset). Only the values'
 * types matter to V8; the guest's values are the real runs'.
 */
const PATTERNS = 10;

function registerValue(pattern: number, r: number): number {
  if (pattern >= 7) return registerValue(pattern - 3, 15 - r);
  switch (pattern) {
    case 0: return 0;
    case 1: return 4 * r;
    case 2: return 4 * (15 - r);
    case 3: return 4096 * r * r;
    case 4: return 4096 * (r * r + 1) - 4 * r;
    default: return 4096 * r * r + ((r & 1) === pattern - 5 ? 4095 : 0);
  }
}

/** Calls `fn` at each of its `blocks` blocks with each register pattern, after the priming calls. */
export function warm(fn: BlockFn, blocks: number, costliestBlock: number): void {
  const s = (scratch ??= makeScratch());
  const { cpu, mem, tlb } = s;
  const limit = 2 * costliestBlock + 1;
  const tagR = Tlb.at(tlb.tagReadSup), tagW = Tlb.at(tlb.tagWriteSup), add = Tlb.at(tlb.addend), trace = Tlb.at(cpu.trace);
  for (let i = 0; i < PRIMING_CALLS + blocks * PATTERNS; i++) {
    const priming = i < PRIMING_CALLS;
    const block = priming ? 0 : (i - PRIMING_CALLS) % blocks;
    const pattern = priming ? 0 : Math.floor((i - PRIMING_CALLS) / blocks);
    for (let r = 1; r < 16; r++) mem.regs[r] = registerValue(pattern, r);
    cpu.cr.fill(0);
    cpu.psr = PSR.SU;
    cpu.pc = 0;
    cpu.cycles = 0;
    cpu.instret = 0;
    cpu.traceIdx = 0;
    fn(cpu, 0, tagR, tagW, add, trace, priming ? 0 : limit, mem.heap32, mem.heap16, mem.heap8, s.codePages, block, s.exits);
  }
}
