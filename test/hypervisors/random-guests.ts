// Random guest generators shared by the fuzz tests (fuzz-guests.test.ts)
// and the JIT's differential tests (test/machine/jit.test.ts): random
// streams of valid instructions as ELF images, from a seed.
import { encodeInstruction, immField, immRange, INSTRUCTIONS, pcRelativeRange, SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS } from "../../src/guest-isa/index.js";
import type { ElfImage } from "../../src/guest-isa/index.js";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { ABI_NAMES, CR_NAMES, FORMATS } from "../../src/guest-isa/index.js";

/** A small deterministic PRNG (mulberry32), so a failure is reproducible from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXT = 0x1000;
const enc = (m: string, f: { a?: number; b?: number; c?: number; imm?: number } = {}) => encodeInstruction(m, f);

export function randomGuest(seed: number, length = 160): ElfImage {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  // Prologue: a trap handler that skips the faulting instruction (k0 is free: this binary is not annotated).
  const handler = [
    enc("mfcr", { a: 13, imm: 1 }), // k0 = epc
    enc("addi", { a: 13, b: 13, imm: 4 }),
    enc("mtcr", { b: 13, imm: 1 }), // epc += 4
    enc("iret"),
  ];
  const words: number[] = [];
  words.push(enc("lui", { a: 13, imm: 0 }), enc("addi", { a: 13, b: 13, imm: TEXT + 4 * 4 }), enc("mtcr", { b: 13, imm: 0 }), enc("jal", { imm: 4 * (handler.length + 1) }));
  words.push(...handler);
  const start = words.length;
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
  words.push(enc("out", { b: 0, imm: 0xf0 }));
  const data = new Uint8Array(words.length * 4);
  const view = new DataView(data.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return {
    entry: TEXT,
    sections: [{ name: ".text", type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: TEXT, data, size: data.length, align: 4 }],
    symbols: [],
  };
}

/**
 * Random assembly, annotated: the same streams, but as source, so its
 * sensitive instructions become sites that xen and l4 rewrite into inline
 * code and calls into the in-place VMM — the paths random words never reach.
 */
export function randomAnnotatedGuest(seed: number, length = 120): ElfImage {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const regs = ABI_NAMES.filter((n) => n !== "k0" && n !== "sp" && n !== "lr" && n !== "zero");
  const lines = [
    "    .text", "    .global _start", "_start:", "    la t0, handler", "    mtcr tvec, t0", "    j .Lbody",
    "    .noannotate", // the handler skips faults with k0, outside every site
    "handler:", "    mfcr k0, epc", "    addi k0, k0, 4", "    mtcr epc, k0", "    iret", "    .annotate",
    ".Lbody:",
  ];
  for (let i = 0; i < length; i++) {
    lines.push(`.L${i}:`);
    const row = pick(INSTRUCTIONS);
    if (row.mnemonic === "hcall" || row.mnemonic === "jalr" || row.mnemonic === "hlt") continue; // guests don't call hypervisors directly; no wild jumps; no waiting
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
  }
  lines.push(`.L${length}:`, "    out 0xF0, zero");
  const text = lines.join("\n") + "\n";
  return assemble([{ file: `fuzz-${seed}.s`, text: annotate(`fuzz-${seed}.s`, text).text }]);
}

/**
 * A differential oracle for the in-place VMMs: random annotated programs that
 * keep to what every correct back end must agree on — data accesses confined
 * to a data area, page-table entries accessed only as page-table entries
 * (`.sensitive pte` lw/sw in their own area, as readPte/writePte do; values
 * with V clear, since xen rightly refuses mappings of frames outside RAM), no
 * return or jump to computed addresses, the supervisor bit kept by wrpsr, no
 * timer — print their registers at the end. bare, hvm, xen and l4 must print
 * the same thing (trap is excluded: rdpsr/wrpsr are its hole).
 */
export function randomDeterministicGuest(seed: number, length = 100): ElfImage {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const regs = ["a0", "a1", "a2", "a3", "t0", "t1", "t2", "t3", "t4", "s1"]; // s0: the data area; s2: the page-table area
  const excluded = new Set(["hcall", "jalr", "hlt", "iret", "syscall", "brk"]);
  const lines = [
    "    .text", "    .global _start", "_start:", "    la t0, handler", "    mtcr tvec, t0", "    la s0, data", "    la s2, ptes", "    j .Lbody",
    "    .noannotate",
    "handler:", "    mfcr k0, epc", "    addi k0, k0, 4", "    mtcr epc, k0", "    iret",
    "    .annotate",
    ".Lbody:",
  ];
  for (let i = 0; i < length; i++) {
    lines.push(`.L${i}:`);
    const row = pick(INSTRUCTIONS);
    if (excluded.has(row.mnemonic)) continue;
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
      ops[1] = `${Math.floor(r() * 32) * 4}(s2)`;
      if (row.mnemonic === "sw") lines.push(`    andi ${ops[0]}, ${ops[0]}, -2`); // V clear
      lines.push("    .sensitive pte");
    }
    if (row.mnemonic === "out" && ops[0] === "0x10") lines.push(`    andi ${ops[1]}, ${ops[1]}, 63`, `    ori ${ops[1]}, ${ops[1]}, 64`); // printable
    lines.push(`    ${row.mnemonic} ${ops.join(", ")}`);
  }
  // The verdict: every register, as hex digits.
  lines.push(`.L${length}:`);
  for (const reg of regs) {
    for (let sh = 28; sh >= 0; sh -= 4) lines.push(`    srli t4, ${reg}, ${sh}`, "    andi t4, t4, 15", "    addi t4, t4, 65", "    out 0x10, t4");
  }
  lines.push("    out 0xF0, zero", "    .data", "    .align 4", "data: .space 512", "ptes: .space 128");
  const text = lines.join("\n") + "\n";
  return assemble([{ file: `diff-${seed}.s`, text: annotate(`diff-${seed}.s`, text).text }]);
}
