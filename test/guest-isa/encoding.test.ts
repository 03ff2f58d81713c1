import { describe, expect, it } from "vitest";
import {
  BY_OPCODE,
  FORMATS,
  INSTRUCTIONS,
  decodeInstruction,
  encodeInstruction,
  immField,
  immRange,
  pcRelativeRange,
} from "../../src/guest-isa/index.js";

describe("ISA table", () => {
  it("gives every row a unique opcode and a decodable entry", () => {
    const seen = new Set<number>();
    for (const row of INSTRUCTIONS) {
      expect(seen.has(row.opcode), row.mnemonic).toBe(false);
      seen.add(row.opcode);
      expect(BY_OPCODE[row.opcode]).toBe(row);
    }
  });

  it("marks every privileged instruction sensitive, and rdpsr/wrpsr sensitive but unprivileged", () => {
    for (const row of INSTRUCTIONS) if (row.privileged) expect(row.sensitive, row.mnemonic).toBe(true);
    const hole = INSTRUCTIONS.filter((r) => r.sensitive && !r.privileged).map((r) => r.mnemonic);
    expect(hole.sort()).toEqual(["rdpsr", "wrpsr"]);
  });

  it("never decodes the all-zero word", () => {
    expect(decodeInstruction(0)).toBeUndefined();
  });
});

describe("encode → decode", () => {
  // Several operand values per row, including the range ends of every immediate.
  for (const row of INSTRUCTIONS) {
    it(`round-trips ${row.mnemonic}`, () => {
      const ops = FORMATS[row.format].operands;
      const uses = (f: string) => ops.some((o) => o.field === f || (o.kind === "mem" && f === "B"));
      const imf = immField(row);
      const imms = !imf
        ? [0]
        : imf.pcRelative
          ? [pcRelativeRange(imf.field).min, -4, 0, 4, pcRelativeRange(imf.field).max]
          : [immRange(row).min, 0, 1, immRange(row).max];
      for (const imm of imms) {
        for (const r of [0, 5, 13, 15]) {
          const f = { a: uses("A") ? r : 0, b: uses("B") ? 15 - r : 0, c: uses("C") ? (r + 3) & 15 : 0, imm };
          const word = encodeInstruction(row.mnemonic, f);
          const d = decodeInstruction(word);
          expect(d, `${row.mnemonic} ${JSON.stringify(f)}`).toBeDefined();
          expect(d!.row).toBe(row);
          expect({ a: d!.a, b: d!.b, c: d!.c, imm: d!.imm }).toEqual(f);
        }
      }
    });
  }

  it("refuses immediates out of range", () => {
    expect(() => encodeInstruction("addi", { imm: 1 << 17 })).toThrow(/out of range/);
    expect(() => encodeInstruction("slli", { imm: 32 })).toThrow(/out of range/);
    expect(() => encodeInstruction("beq", { imm: 2 })).toThrow(/out of range/);
  });

  it("treats words with non-zero unused fields as illegal", () => {
    const cli = encodeInstruction("cli");
    expect(decodeInstruction(cli)).toBeDefined();
    expect(decodeInstruction(cli | (1 << 6))).toBeUndefined();
    const add = encodeInstruction("add", { a: 1, b: 2, c: 3 });
    expect(decodeInstruction(add | (1 << 20))).toBeUndefined();
    // slli with a shift amount above 31 in the field
    expect(decodeInstruction(encodeInstruction("slli") | (40 << 14))).toBeUndefined();
  });
});
