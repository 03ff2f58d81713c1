// A tiny program builder for machine tests and benchmarks: instructions
// encoded with encodeInstruction (the ISA table), labels resolved for
// branches and jal, sections placed at fixed addresses. Independent of the
// assembler on purpose: the machine is tested before and apart from it.

import { encodeInstruction, type InstructionFields } from "../../src/guest-isa/encoding.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, type ElfImage, type ElfSection } from "../../src/guest-isa/elf-types.js";
import { REG } from "../../src/guest-isa/registers.js";

export const R = REG;

type Fields = Partial<InstructionFields> & { to?: string };
export type Item = string | [string, Fields?] | { word: number };

/** `li rd, value` as lui + ori (two instructions, any 32-bit value). */
export function li(rd: number, value: number): Item[] {
  const v = value >>> 0;
  return [
    ["lui", { a: rd, imm: v >>> 12 }],
    ["ori", { a: rd, b: rd, imm: v & 0xfff }],
  ];
}

/** Assembles items (label strings, instructions, raw words) at `base`. */
export function assembleItems(items: Item[], base: number): Uint8Array {
  const labels = new Map<string, number>();
  let pc = base;
  const size = (it: Item) => (typeof it === "string" ? 0 : !("word" in it) && it[0] === "la" ? 8 : 4);
  for (const it of items) {
    if (typeof it === "string") labels.set(it, pc);
    pc += size(it);
  }
  const words: number[] = [];
  pc = base;
  for (const it of items) {
    if (typeof it === "string") continue;
    if ("word" in it) words.push(it.word >>> 0);
    else if (it[0] === "la") {
      // la rd, label: lui + ori of the label's absolute address
      const t = labels.get(it[1]!.to!);
      if (t === undefined) throw new Error(`no label ${it[1]!.to}`);
      const rd = it[1]!.a!;
      words.push(encodeInstruction("lui", { a: rd, imm: t >>> 12 }), encodeInstruction("ori", { a: rd, b: rd, imm: t & 0xfff }));
      pc += 4;
    } else {
      const [m, f = {}] = it;
      const fields: Partial<InstructionFields> = { ...f };
      if (f.to !== undefined) {
        const t = labels.get(f.to);
        if (t === undefined) throw new Error(`no label ${f.to}`);
        fields.imm = t - pc;
      }
      delete (fields as Fields).to;
      words.push(encodeInstruction(m, fields));
    }
    pc += 4;
  }
  const bytes = new Uint8Array(words.length * 4);
  new DataView(bytes.buffer).setUint32(0, 0, true);
  words.forEach((w, i) => new DataView(bytes.buffer).setUint32(i * 4, w, true));
  return bytes;
}

export interface DataBlock {
  addr: number;
  bytes: Uint8Array;
}

/** An ElfImage with .text at `base` (entry = base) and optional data blocks. */
export function image(items: Item[], base = 0x1000, data: DataBlock[] = []): ElfImage {
  const text = assembleItems(items, base);
  const sections: ElfSection[] = [
    { name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: base, data: text, size: text.length, align: 4 },
  ];
  data.forEach((d, i) =>
    sections.push({ name: i === 0 ? ".data" : `.data${i}`, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addr: d.addr, data: d.bytes, size: d.bytes.length, align: 4 }),
  );
  return { entry: base, sections, symbols: [] };
}

/** Words → little-endian bytes. */
/** The instruction words of `items` assembled at 0 (for code a program writes into memory itself). */
export function encodeWords(items: Item[]): number[] {
  return Array.from(new Int32Array(assembleItems(items, 0).buffer));
}

/** The words of a two-instruction function `a0 += k; return` — the code the self-modifying tests rewrite. */
export const addAndReturn = (k: number): number[] => encodeWords([["addi", { a: R.a0, b: R.a0, imm: k }], ["jalr", { a: R.zero, b: R.lr, imm: 0 }]]);

export function wordsToBytes(words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

/**
 * A page directory at `pd` and page tables right after it, mapping each
 * [va, pa, flags] page (flags: bit 1 W, bit 2 U; V is added). Returns the
 * data block covering the directory and its tables.
 */
export function pageTables(pd: number, mappings: [number, number, number][]): DataBlock {
  const tables = new Map<number, number>(); // pd index → table index
  for (const [va] of mappings) {
    const i = va >>> 22;
    if (!tables.has(i)) tables.set(i, tables.size);
  }
  const words = new Array(1024 * (1 + tables.size)).fill(0);
  for (const [i, t] of tables) words[i] = (pd + 4096 * (1 + t)) | 1;
  for (const [va, pa, flags] of mappings) {
    const t = tables.get(va >>> 22)!;
    words[1024 * (1 + t) + ((va >>> 12) & 1023)] = ((pa & ~0xfff) | flags | 1) >>> 0;
  }
  return { addr: pd, bytes: wordsToBytes(words) };
}

/** Paging on with the page directory at `pd` (ptbr, then pgctl = 1); clobbers t0. */
export function pagingOn(pd: number): Item[] {
  return [...li(R.t0, pd), ["mtcr", { imm: 5, b: R.t0 }], ["addi", { a: R.t0, b: R.zero, imm: 1 }], ["mtcr", { imm: 7, b: R.t0 }]];
}

/** Power off with the value of register `rs`. */
export const powerOff = (rs: number): Item => ["out", { imm: 0xf0, b: rs }];

/**
 * A program's start with a timer: a jump over the handler (at 0x1004: it
 * acknowledges the timer and counts in s2), tvec set to it, the timer's
 * period written; the caller's code follows at "start"'s end (then `sti`).
 */
export function timerPrologue(period: number): Item[] {
  return [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }], // acknowledge the timer
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["iret"],
    "start",
    ...li(R.t0, 0x1004),
    ["mtcr", { imm: 0, b: R.t0 }], // tvec = handler
    ...li(R.t0, period),
    ["out", { imm: 0x20, b: R.t0 }], // timer period
  ];
}

/**
 * A paged program's start with an interrupt handler that sums the
 * interrupted pcs into a0 (an interrupt taken one instruction early or late
 * changes it), acknowledges the timer (and re-arms it when `rearm`: a
 * one-shot period written again) and counts in s2; then paging on with the
 * page directory at `pd` and tvec set to the handler. The caller's code
 * follows (its timer period, then `sti`).
 */
export function pagedEpcSumPrologue(pd: number, rearm = false): Item[] {
  return [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["mfcr", { a: R.t4, imm: 1 }],
    ["add", { a: R.a0, b: R.a0, c: R.t4 }],
    ["out", { imm: 0x21, b: R.zero }],
    ...(rearm ? ([["out", { imm: 0x20, b: R.zero }]] as Item[]) : []),
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["iret"],
    "start",
    ...pagingOn(pd),
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: 0, b: R.t0 }],
  ];
}

/**
 * A loop under a timer every `period` cycles (timerPrologue: the handler
 * counts in s2): `iterations` times `body` with t0 counting down and s0 =
 * 0x10_0000, each iteration's t1 folded into t2; then powers off with
 * (t2 + s2) & 255, so an interrupt too many or too few, or a wrong t1, shows.
 */
export function timedLoop(period: number, iterations: number, body: Item[]): Item[] {
  return [
    ...timerPrologue(period),
    ...li(R.s0, 0x10_0000),
    ...li(R.t0, iterations),
    ["sti"],
    "loop",
    ...body,
    ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["cli"],
    ["add", { a: R.a0, b: R.t2, c: R.s2 }],
    ["andi", { a: R.a0, b: R.a0, imm: 255 }],
    powerOff(R.a0),
  ];
}

/**
 * `runs` runs of `loop` under a timer every `period` cycles, paging on with
 * the page directory at `pd`: the handler acknowledges the timer, counts in
 * k0 and, when `rearm`, stops it; the main code then arms the timer before
 * each run (the interrupt lands at another instruction each time), else once
 * (it ticks through the runs). sp counts the runs down; `after` follows them
 * (it powers off).
 */
export function timerRuns(pd: number, period: number, rearm: boolean, runs: number, loop: Item[], after: Item[]): Item[] {
  const arm: Item[] = [["out", { imm: 0x20, b: R.lr }]];
  return [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }],
    ...(rearm ? ([["out", { imm: 0x20, b: R.zero }]] as Item[]) : []),
    ["addi", { a: R.k0, b: R.k0, imm: 1 }],
    ["iret"],
    "start",
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: 0, b: R.t0 }],
    ...li(R.lr, period),
    ...li(R.sp, runs),
    ...pagingOn(pd),
    ...(rearm ? [] : arm),
    ["sti"],
    "outer",
    ...(rearm ? arm : []),
    ...loop,
    ["addi", { a: R.sp, b: R.sp, imm: -1 }],
    ["bne", { a: R.sp, b: R.zero, to: "outer" }],
    ...after,
  ];
}

/**
 * The set-up of a loop that rewrites one of its own instructions: paging on
 * (page directory `pd`), s0 = `at` (the instruction's address), s1 = 0x1f00
 * (a word of the code page's data area), t2 = `word` (the instruction's
 * first value), t0 = `iterations`, s2 = `data` (a data page). Its length
 * does not depend on the values (li is always two words).
 */
export const rewriteSetUp = (pd: number, at: number, word: number, iterations: number, data: number): Item[] => [
  ...pagingOn(pd),
  ...li(R.s0, at),
  ...li(R.s1, 0x1f00),
  ...li(R.t2, word),
  ...li(R.t0, iterations),
  ...li(R.s2, data),
];

/** CPU 0 starts every other CPU at `secondary` (ports 0x43, 0x42), then runs `main` (empty: CPU 0 runs `secondary` too). */
export function smp(main: Item[], secondary: Item[]): Item[] {
  return [
    ["in", { a: R.s1, imm: 0x41 }],
    ["la", { a: R.t0, to: "secondary" }],
    ["out", { imm: 0x43, b: R.t0 }],
    ["addi", { a: R.t1, b: R.zero, imm: 1 }],
    "start",
    ["bge", { a: R.t1, b: R.s1, to: "main" }],
    ["out", { imm: 0x42, b: R.t1 }],
    ["addi", { a: R.t1, b: R.t1, imm: 1 }],
    ["jal", { a: R.zero, to: "start" }],
    "main",
    ...main,
    "secondary",
    ...secondary,
  ];
}
