// assemble → writeElf → readElf → disassembleText → assemble: the .text bytes
// must come back identical, for a program using every instruction of the ISA
// table and every pseudo-instruction of the pseudo table (both generated from
// the tables, so a new row is covered without touching this file).

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { disassembleText } from "../../src/guest-isa/disassembler.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { findSection, type ElfImage } from "../../src/guest-isa/elf-types.js";
import { FORMATS, INSTRUCTIONS, immRange, type InstructionRow } from "../../src/guest-isa/isa-table.js";
import { PSEUDO_INSTRUCTIONS, type PseudoRow } from "../../src/guest-isa/pseudo-table.js";
import { CR_NAMES } from "../../src/guest-isa/registers.js";
import { reassembleListing } from "./disasm-helpers.js";

const REGS = ["a0", "t4", "s2", "sp", "lr", "r0", "r7", "k0"];

/** Lines for one row: its operands at several values, including its immediate's range ends. */
function instructionLines(row: InstructionRow, n: number): string[] {
  const r = immRange(row);
  const variants = [r.min, r.max, 0, 1];
  return variants.map((imm, v) => {
    const reg = (k: number) => REGS[(n + v + k) % REGS.length];
    const ops = FORMATS[row.format].operands.map((op, k) => {
      switch (op.kind) {
        case "reg":
          return reg(k);
        case "imm":
          return String(imm);
        case "mem":
          return `${imm}(${reg(k)})`;
        case "label":
          return ["back", "fwd", "_start", "end_of_text"][v];
        case "cr":
          return v === 3 ? "5" : CR_NAMES[(n + v) % CR_NAMES.length];
        case "port":
          return v === 0 ? "0x10" : `0x${(imm >>> 0).toString(16)}`;
      }
    });
    return `    ${row.mnemonic} ${ops.join(", ")}`;
  });
}

function pseudoLines(p: PseudoRow, n: number): string[] {
  const values: Record<string, string[]> = {
    imm: p.mnemonic === "la" ? ["value", "end_of_text", "value + 4"] : ["0", "-1", "131071", "-131072", "131072", "0x12345678", "0xffffffff", "LIMIT"],
    label: ["back", "fwd", "_start"],
  };
  const count = Math.max(1, ...p.operands.map((k) => (k === "reg" ? 1 : values[k].length)));
  return Array.from({ length: count }, (_, v) => {
    const ops = p.operands.map((k, i) => (k === "reg" ? REGS[(n + v + i) % REGS.length] : values[k][v % values[k].length]));
    return `    ${p.mnemonic}${ops.length ? " " + ops.join(", ") : ""}`;
  });
}

export function everyInstructionSource(): string {
  const lines = [".equ LIMIT, 100", ".text", ".global _start", "_start:", "    nop", "back:"];
  INSTRUCTIONS.forEach((row, n) => lines.push(...instructionLines(row, n)));
  PSEUDO_INSTRUCTIONS.forEach((p, n) => lines.push(...pseudoLines(p, n)));
  lines.push("    j value", "fwd:", "    hlt", "    .word 0", "    .word 0xffffffff", "end_of_text:", "", ".data", "value: .word 1, 2", "");
  return lines.join("\n");
}

const text = (img: ElfImage) => findSection(img, ".text")!.data;

describe("assemble → ELF → disassemble → assemble", () => {
  const source = everyInstructionSource();
  const first = assemble([{ file: "all.s", text: source }]);
  const loaded = readElf(writeElf(first));

  it("covers every instruction and pseudo-instruction", () => {
    for (const row of INSTRUCTIONS) expect(source).toMatch(new RegExp(`^    ${row.mnemonic} `, "m"));
    for (const p of PSEUDO_INSTRUCTIONS) expect(source).toMatch(new RegExp(`^    ${p.mnemonic}\\b`, "m"));
  });

  it("the ELF round trip keeps the image", () => {
    expect(text(loaded)).toEqual(text(first));
    expect(loaded.entry).toBe(first.entry);
    expect(new Set(loaded.symbols.map((s) => JSON.stringify(s)))).toEqual(new Set(first.symbols.map((s) => JSON.stringify(s))));
    expect(loaded.sections.map((s) => s.name)).toEqual(first.sections.map((s) => s.name));
  });

  const readelf = spawnSync("readelf", ["--version"]).status === 0;
  it.skipIf(!readelf)(`readelf reads the assembled program without warnings${readelf ? "" : " (skipped: readelf is not on PATH)"}`, () => {
    const file = join(mkdtempSync(join(tmpdir(), "previrt-rt-")), "all.elf");
    writeFileSync(file, writeElf(first));
    const r = spawnSync("readelf", ["-W", "-h", "-S", "-s", "-l", file], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toMatch(/warning|error/i);
    expect(r.stdout).toMatch(/FUNC\s+GLOBAL\s+DEFAULT\s+1 _start/);
  });

  for (const aliases of [true, false]) {
    it(`re-assembles the listing to identical .text (${aliases ? "with" : "without"} pseudo aliases)`, () => {
      const listing = disassembleText(loaded, { aliases });
      const second = assemble([{ file: "listing.s", text: listing }]);
      expect(text(second), listing).toEqual(text(first));
      expect(findSection(second, ".text")!.addr).toBe(findSection(first, ".text")!.addr);
      // The test's reference re-assembler agrees.
      expect(reassembleListing(listing, findSection(first, ".text")!.addr)).toEqual(text(first));
      // And disassembling the re-assembled program gives the same listing again.
      expect(disassembleText(readElf(writeElf(second)), { aliases })).toBe(listing);
    });
  }
});
