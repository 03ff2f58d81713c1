// What a translation is to the code around it: the exit codes a translated
// function returns (EXIT), its signature (BlockFn) and the CPU state it
// reads and writes, the Translation the cache keeps, the heap views it
// closes over, and the translator's process-wide counters and switches.
//
// Consumes nothing. Produces the types and constants the translator
// (translate.ts and its parts, translate-*.ts), the cache (cache.ts), the
// engine (engine.ts) and the warm-up (warm.ts) share; translate.ts
// re-exports them, so callers import them from there. They sit in a file of
// their own so that the translator's parts reach them without importing
// translate.ts, which imports the parts; `translatorStats` and
// `translateOptions` stay one object each in the process (tests toggle the
// switches).

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

/** A function the translator compiled (translate-generate.ts or translate.ts wasmTranslation), as the process-wide memo keeps it (translate-memo.ts). */
export interface Compiled {
  fn: BlockFn;
  codeBytes: number;
  /** Compiled as a tail (`translateFrom`): wherever it is reused, its calls are short by design. */
  tail: boolean;
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
