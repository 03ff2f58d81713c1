// Random guest programs, shared by the back-end tests
// (test/hypervisors/fuzz-guests.test.ts) and the fuzz campaigns
// (scripts/fuzz/guests.ts, scripts/fuzz/differential.ts).
//
// Consumes a random source; produces guest programs in two shapes: the parts
// a shrinker can drop one by one (instruction words, or per-label lines of
// assembly), and the ElfImage built from them. Three families:
//   - raw: random valid instruction words, unannotated, with a trap handler
//     that skips whatever faults (any back end must survive them);
//   - annotated: the same as assembly source through the annotator, so xen
//     and l4 rewrite sites into inline code and calls into the in-place VMM;
//   - deterministic: annotated programs restricted to what every correct back
//     end must agree on (bare, hvm, xen, l4), ending with their registers
//     printed — the differential oracle.

import { annotate } from "../../../src/annotator/index.js";
import { assemble } from "../../../src/guest-isa/assembler/index.js";
import {
  ABI_NAMES,
  CR_NAMES,
  encodeInstruction,
  FORMATS,
  immField,
  immRange,
  INSTRUCTIONS,
  pcRelativeRange,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_PROGBITS,
  type ElfImage,
} from "../../../src/guest-isa/index.js";
import { rng } from "./rng.js";

export const TEXT = 0x1000;
const enc = (m: string, f: { a?: number; b?: number; c?: number; imm?: number } = {}) => encodeInstruction(m, f);

/** The raw guests' prologue: install a trap handler that skips the faulting instruction (k0 is free: not annotated), jump over it. */
export function rawPrologue(): number[] {
  const handler = [
    enc("mfcr", { a: 13, imm: 1 }), // k0 = epc
    enc("addi", { a: 13, b: 13, imm: 4 }),
    enc("mtcr", { b: 13, imm: 1 }), // epc += 4
    enc("iret"),
  ];
  return [enc("lui", { a: 13, imm: 0 }), enc("addi", { a: 13, b: 13, imm: TEXT + 4 * 4 }), enc("mtcr", { b: 13, imm: 0 }), enc("jal", { imm: 4 * (handler.length + 1) }), ...handler];
}
export const RAW_PROLOGUE_WORDS = rawPrologue().length;

/** `length` random valid instruction words (privileged, sensitive, memory, jumps mostly inside the program, hypercalls). */
export function randomGuestBody(r: () => number, length = 160): number[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const start = RAW_PROLOGUE_WORDS;
  const words: number[] = [];
  for (let i = 0; i < length; i++) {
    const row = pick(INSTRUCTIONS);
    const reg = () => 1 + Math.floor(r() * 12); // never r0, k0, sp or lr: keep some structure
    const f = { a: reg(), b: reg(), c: reg(), imm: 0 };
    const imf = immField(row);
    if (imf) {
      if (imf.pcRelative) {
        const here = 4 * (start + i);
        const target = 4 * Math.floor(r() * (start + length + 8)) - here; // mostly inside the program
        const range = pcRelativeRange(imf.field);
        f.imm = Math.max(range.min, Math.min(range.max, target));
      } else {
        const range = immRange(row);
        f.imm = row.mnemonic === "hcall" ? Math.floor(r() * 20) : Math.floor(range.min + r() * (range.max - range.min + 1));
        if (row.group === "load" || row.group === "store" || row.mnemonic === "jalr") f.imm = Math.floor(r() * 256) * 4 - 512;
        if (row.mnemonic === "out" && r() < 0.9) f.imm = pick([0x10, 0x11, 0x20, 0x21, 0x22, 0x30, 0x31, 0x33]); // rarely the power port
      }
    }
    words.push(enc(row.mnemonic, f));
  }
  return words;
}

/** Prologue + `body` + power off, as a one-section image at TEXT. */
export function rawGuestImage(body: readonly number[], prologue: readonly number[] = rawPrologue()): ElfImage {
  const words = [...prologue, ...body, enc("out", { b: 0, imm: 0xf0 })];
  const data = new Uint8Array(words.length * 4);
  const view = new DataView(data.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return {
    entry: TEXT,
    sections: [{ name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: TEXT, data, size: data.length, align: 4 }],
    symbols: [],
  };
}

/** A random raw guest from a seed (the back-end tests' form). */
export function randomGuest(seed: number, length = 160): ElfImage {
  return rawGuestImage(randomGuestBody(rng(seed), length));
}

/** Per label `.L<i>`, the assembly lines that follow it (possibly none). */
export type LabelledLines = readonly (readonly [number, readonly string[]])[];

/** Assembly text: `head`, then every label 0…length (those not in `body` stand alone, so branches to them still assemble), then `tail`. */
export function labelledSource(head: readonly string[], body: LabelledLines, length: number, tail: readonly string[]): string {
  const byLabel = new Map(body.map(([i, lines]) => [i, lines]));
  const lines = [...head];
  for (let i = 0; i < length; i++) lines.push(`.L${i}:`, ...(byLabel.get(i) ?? []));
  lines.push(`.L${length}:`, ...tail);
  return lines.join("\n") + "\n";
}

const ANNOTATED_HEAD = [
  "    .text", "    .global _start", "_start:", "    la t0, handler", "    mtcr tvec, t0", "    j .Lbody",
  "    .noannotate", // the handler skips faults with k0, outside every site
  "handler:", "    mfcr k0, epc", "    addi k0, k0, 4", "    mtcr epc, k0", "    iret", "    .annotate",
  ".Lbody:",
];

/** The body of a random annotated guest: random instructions as assembly, some `lw`/`sw` marked `.sensitive pte`. */
export function randomAnnotatedBody(r: () => number, length = 120): [number, string[]][] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const regs = ABI_NAMES.filter((n) => n !== "k0" && n !== "sp" && n !== "lr" && n !== "zero");
  const body: [number, string[]][] = [];
  for (let i = 0; i < length; i++) {
    const row = pick(INSTRUCTIONS);
    if (row.mnemonic === "hcall" || row.mnemonic === "jalr" || row.mnemonic === "hlt") continue; // guests don't call hypervisors directly; no wild jumps; no waiting
    const lines: string[] = [];
    const ops = FORMATS[row.format].operands.map((o) => {
      switch (o.kind) {
        case "reg": return pick(regs);
        case "mem": return `${Math.floor(r() * 64) * 4}(${pick(["zero", ...regs])})`;
        case "label": return `.L${Math.floor(r() * length)}`;
        case "cr": return pick(CR_NAMES.filter((c) => c !== "tvec"));
        case "port": return pick(["0x10", "0x11", "0x20", "0x21", "0x22"]);
        case "imm": { const range = immRange(row); return String(Math.floor(range.min + r() * Math.min(range.max - range.min + 1, 64))); }
      }
    });
    if ((row.mnemonic === "sw" || row.mnemonic === "lw") && r() < 0.2) lines.push("    .sensitive pte"); // page-table entries are words
    lines.push(`    ${row.mnemonic} ${ops.join(", ")}`);
    body.push([i, lines]);
  }
  return body;
}

export function annotatedGuestSource(body: LabelledLines, length: number): string {
  return labelledSource(ANNOTATED_HEAD, body, length, ["    out 0xF0, zero"]);
}

/** Annotates and assembles a guest's source (the path every annotated binary takes). */
export function buildAnnotated(file: string, text: string): ElfImage {
  return assemble([{ file, text: annotate(file, text).text }]);
}

/** A random annotated guest from a seed (the back-end tests' form). */
export function randomAnnotatedGuest(seed: number, length = 120): ElfImage {
  return buildAnnotated(`fuzz-${seed}.s`, annotatedGuestSource(randomAnnotatedBody(rng(seed), length), length));
}

const DETERMINISTIC_REGS = ["a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "s1"]; // s0: the data area; s2: the page-table area
const DETERMINISTIC_EXCLUDED = new Set(["hcall", "jalr", "hlt", "iret", "syscall", "brk"]);
const DETERMINISTIC_HEAD = [
  "    .text", "    .global _start", "_start:", "    la t0, handler", "    mtcr tvec, t0", "    la s0, data", "    la s2, ptes", "    j .Lbody",
  "    .noannotate",
  "handler:", "    mfcr k0, epc", "    addi k0, k0, 4", "    mtcr epc, k0", "    iret",
  "    .annotate",
  ".Lbody:",
];

/**
 * The body of a random program that keeps to what every correct back end
 * must agree on — data accesses confined to a data area, page-table entries
 * accessed only as page-table entries (`.sensitive pte` lw/sw in their own
 * area, as readPte/writePte do; values with V clear, since xen rightly
 * refuses mappings of frames outside RAM), no return or jump to computed
 * addresses, the supervisor bit kept by wrpsr, no timer, branches forward
 * only (every program ends).
 */
export function randomDeterministicBody(r: () => number, length = 100, options: { plainPteLoads?: boolean } = {}): [number, string[]][] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const regs = DETERMINISTIC_REGS;
  const body: [number, string[]][] = [];
  for (let i = 0; i < length; i++) {
    const row = pick(INSTRUCTIONS);
    if (DETERMINISTIC_EXCLUDED.has(row.mnemonic)) continue;
    const lines: string[] = [];
    const ops = FORMATS[row.format].operands.map((o) => {
      switch (o.kind) {
        case "reg": return pick(regs);
        case "mem": return `${Math.floor(r() * 64) * 4}(s0)`;
        case "label": return `.L${i + 1 + Math.floor(r() * (length - i))}`; // forward only: every program ends
        case "cr": return pick(["epc", "epsr", "cause", "badva", "scratch"]);
        case "port": return pick(["0x10", "0x11"]);
        case "imm": { const range = immRange(row); return String(Math.floor(range.min + r() * Math.min(range.max - range.min + 1, 64))); }
      }
    });
    if (row.mnemonic === "wrpsr") lines.push(`    ori ${ops[0]}, ${ops[0]}, 2`); // stay in supervisor mode
    if ((row.mnemonic === "sw" || row.mnemonic === "lw") && r() < 0.3) {
      ops[1] = `${Math.floor(r() * (options.plainPteLoads ? 4 : 32)) * 4}(s2)`; // few entries when loads must meet stores
      if (row.mnemonic === "sw") lines.push(`    andi ${ops[0]}, ${ops[0]}, -2`); // V clear
      // An ordinary load of a page-table entry (no `.sensitive pte`) must see the last writePte too (docs/xen.md).
      if (!(options.plainPteLoads && row.mnemonic === "lw" && r() < 0.5)) lines.push("    .sensitive pte");
    }
    if (row.mnemonic === "out" && ops[0] === "0x10") lines.push(`    andi ${ops[1]}, ${ops[1]}, 63`, `    ori ${ops[1]}, ${ops[1]}, 64`); // printable
    lines.push(`    ${row.mnemonic} ${ops.join(", ")}`);
    body.push([i, lines]);
  }
  return body;
}

/** The deterministic program's source: head, body, then every register printed as hex digits and power-off. */
export function deterministicGuestSource(body: LabelledLines, length: number): string {
  const tail: string[] = [];
  for (const reg of DETERMINISTIC_REGS) {
    for (let sh = 28; sh >= 0; sh -= 4) tail.push(`    srli t4, ${reg}, ${sh}`, "    andi t4, t4, 15", "    addi t4, t4, 65", "    out 0x10, t4");
  }
  tail.push("    out 0xF0, zero", "    .data", "    .align 4", "data: .space 512", "ptes: .space 128");
  return labelledSource(DETERMINISTIC_HEAD, body, length, tail);
}

/** A random deterministic guest from a seed (the back-end tests' form). */
export function randomDeterministicGuest(seed: number, length = 100): ElfImage {
  return buildAnnotated(`diff-${seed}.s`, deterministicGuestSource(randomDeterministicBody(rng(seed), length), length));
}
