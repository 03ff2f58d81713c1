// Fuzz campaign `asm`: the assembler and the annotator. Inputs are assembly
// texts: token soup (random mnemonics, registers, directives, numbers and
// punctuation), real .s files from the fixtures and the in-place VMMs with
// line and token mutations, deep nesting (parentheses, unary chains, long
// sums, `.equ` chains) and huge numbers in every size and address position.
// Each text is annotated and assembled (and, when annotation refuses, the
// raw text is assembled too). An accepted program must give an image that
// survives writeElf → readElf unchanged and whose site table validates.

import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { ABI_NAMES, CR_NAMES, INSTRUCTIONS, PSEUDO_INSTRUCTIONS } from "../../src/guest-isa/index.js";
import { validateSiteTable } from "../../src/guest-isa/site-validate.js";
import type { Campaign, FuzzInput, Outcome } from "./campaign.js";
import { assemblySources } from "./generators/fixtures.js";
import { HUGE_NUMBERS, mutateLines } from "./generators/mutate.js";
import { roundTripProblem } from "./generators/oracles.js";
import type { Rng } from "./generators/rng.js";

const DIRECTIVES = [
  ".text", ".data", ".rodata", ".bss", ".section", ".global", ".globl", ".equ", ".set", ".word", ".long", ".int", ".half", ".short", ".byte",
  ".ascii", ".asciz", ".string", ".space", ".zero", ".align", ".balign", ".sensitive", ".noannotate", ".annotate", ".org", ".macro", ".if",
];
const PUNCT = [",", "(", ")", ":", "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "~", "%hi(", "%lo(", ".", "#", ";", "\"", "'", "\\", "$", "@", "=", "\t", "  "];
const STRINGS = ['"hello"', '"\\n"', '"\\x41"', '"\\777"', '"unterminated', '""', '"\\"', '"é\\u0000"', "'a'"];
const LABELS = ["_start", "main", "loop", ".L1", ".L2", "1b", "1f", "x", "k0", "pc", ".", "..", "_", "a.b", "0x", "\u00e9t\u00e9"];
const MNEMONICS = [...INSTRUCTIONS.map((i) => i.mnemonic), ...PSEUDO_INSTRUCTIONS.map((p) => p.mnemonic)];
const SECTION_NAMES = [".text", ".data", ".bss", ".rodata", ".softlayer", ".symtab", ".strtab", ".shstrtab", ".foo", "", ".text.x", "1", ".a-b"];

export const TOKENS: readonly string[] = [...MNEMONICS, ...DIRECTIVES, ...ABI_NAMES, ...CR_NAMES, "r0", "r15", "r16", "x1", ...PUNCT, ...HUGE_NUMBERS, ...STRINGS, ...LABELS, "0", "1", "4", "-4", "0x10", "0xF0"];

function tokenSoup(r: Rng): string[] {
  const lines: string[] = r.chance(0.5) ? [...START] : [];
  const n = r.range(1, 30);
  for (let i = 0; i < n; i++) {
    const k = r.range(1, 7);
    let line = r.chance(0.3) ? `${r.pick(LABELS)}: ` : "    ";
    for (let j = 0; j < k; j++) line += r.pick(TOKENS) + (r.chance(0.6) ? " " : r.chance(0.5) ? ", " : "");
    lines.push(line);
  }
  return lines;
}

/** An entry point, so that what follows is judged on its own (a program without `_start` is refused anyway). */
const START = ["    .text", "    .global _start", "_start:", "    out 0xF0, zero"];

/** Nesting that a recursive-descent parser might take on the host stack. */
function deepNesting(r: Rng): string[] {
  const d = r.pick([10, 100, 300, 1000, 3000, 10_000, 30_000]);
  const e = r.pick([
    () => "(".repeat(d) + "1" + ")".repeat(d),
    () => "-~".repeat(d >> 1) + "1",
    () => Array.from({ length: d }, (_, i) => String(i & 7)).join(" + "),
    () => Array.from({ length: d }, () => "1").join(r.pick([" * ", " << ", " | ", " - "])),
    () => "%hi(".repeat(Math.min(d, 2000)) + "1" + ")".repeat(Math.min(d, 2000)),
  ])();
  return r.pick([
    () => ["    .text", "_start:", `    li a0, ${e}`, "    out 0xF0, a0"],
    () => [...START, "    .data", `    .word ${e}`],
    () => [...START, `    .equ X, ${e}`],
    () => [...START, "    .equ E0, 1", ...Array.from({ length: Math.min(d, 6000) }, (_, i) => `    .equ E${i + 1}, E${i} + 1`), "    .word E" + Math.min(d, 6000)],
    () => [...START, "    .equ E0, 1", ...Array.from({ length: Math.min(d, 6000) }, (_, i) => `    .equ E${i + 1}, E${Math.min(d, 6000) - i} + 1`)], // forward references
  ])();
}

/** Sizes and addresses at the edges of 32 bits. */
function hugeNumbers(r: Rng): string[] {
  const n = () => r.pick(HUGE_NUMBERS);
  // Sizes that add up past 4 GiB, 256 MiB at a time (in .data rarely: its bytes are allocated).
  if (r.chance(0.1)) return [...START, r.chance(0.02) ? "    .data" : "    .bss", ...Array.from({ length: r.range(15, 17) }, () => "    .space 0x10000000"), `    .space ${r.pick(["4", "0xFFFF000", "0xFFFFFFC"])}`, "after: .space 4"];
  const lines = [...START, r.pick(["    .text", "    .data", "    .bss", "    .rodata", `    .section ${r.pick(SECTION_NAMES)}`])];
  const k = r.range(1, 8);
  for (let i = 0; i < k; i++) {
    lines.push(
      r.pick([
        () => `    .space ${n()}`,
        () => (r.chance(0.05) ? `    .space 0x10000000` : `    .space ${r.range(0, 64)}`), // 256 MiB at a time: sizes that overflow 32 bits when repeated (slow in .data, so not too often)
        () => `    .zero ${n()}`,
        () => `    .space ${n()}, ${n()}`,
        () => `    .align ${n()}`,
        () => `    .word ${n()}, ${n()}`,
        () => `    .half ${n()}`,
        () => `    .byte ${n()}`,
        () => `    li a0, ${n()}`,
        () => `    addi a0, a0, ${n()}`,
        () => `    lw a0, ${n()}(a1)`,
        () => `    out ${n()}, a0`,
        () => `    mtcr ${n()}, a0`,
        () => `    beq a0, a1, ${n()}`,
        () => `    j . + ${n()}`,
        () => `lbl${i}: .word lbl${i} + ${n()}`,
        () => `    .section ${r.pick(SECTION_NAMES)}`,
        () => `    .equ big${i}, ${n()} * ${n()}`,
      ])(),
    );
  }
  return lines;
}

/** Units are the lines of the input text. */
export const asmCampaign: Campaign<string> = {
  name: "asm",
  description: "token soup, mutated real .s files, deep nesting and huge numbers through the annotator and the assembler",
  generate(r) {
    const kind = r.weighted([[30, "soup"], [45, "mutated"], [6, "nesting"], [15, "huge"]] as const);
    if (kind === "mutated") {
      const src = r.pick(assemblySources());
      return { base: src.file, units: mutateLines(r, src.text.split("\n"), TOKENS, r.range(1, 6)), aux: 0 };
    }
    const lines = kind === "soup" ? tokenSoup(r) : kind === "nesting" ? deepNesting(r) : hugeNumbers(r);
    return { base: kind, units: lines, aux: 0 };
  },
  execute(input: FuzzInput<string>): Outcome | "accepted" {
    const file = input.base.endsWith(".s") ? input.base : `${input.base}.s`;
    const text = input.units.join("\n") + "\n";
    let annotated: string;
    try {
      annotated = annotate(file, text).text;
    } catch (e) {
      // The annotator refused: the assembler must refuse or accept the raw text cleanly too (a throw here is classified).
      assemble([{ file, text }]);
      throw e;
    }
    const image = assemble([{ file, text: annotated }]);
    const problems = validateSiteTable(image).problems;
    if (problems.length) return { class: "wrong", message: `the annotator's output fails validation: ${problems[0].message}` };
    const rt = roundTripProblem(image);
    return rt ? { class: "wrong", message: rt } : "accepted";
  },
  materialize(input) {
    return { ext: ".s", data: input.units.join("\n") + "\n", note: `from ${input.base}` };
  },
};
