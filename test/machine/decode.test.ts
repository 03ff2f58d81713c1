// The CPU's fast legality test (decode.ts ILLEGAL_BITS + the switch's
// default case) must agree with decodeInstruction on every word; and the
// CPU itself must raise cause 1 exactly for the words decodeInstruction rejects.
import { describe, expect, it } from "vitest";
import { decodeInstruction, encodeInstruction } from "../../src/guest-isa/encoding.js";
import { INSTRUCTIONS } from "../../src/guest-isa/isa-table.js";
import { CAUSE, CR } from "../../src/guest-isa/registers.js";
import { Machine } from "../../src/machine/machine.js";
import { branchOffset, fieldRd, fieldRs1, fieldRs2, immSigned18, immUnsigned18, isLegalWord, jalOffset, luiValue } from "../../src/machine/decode.js";

function* randomWords(n: number, seed = 12345): Generator<number> {
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const w = x >>> 0;
    // Bias toward valid opcodes with few stray bits, where the edge cases are.
    yield i % 3 === 0 ? w : i % 3 === 1 ? ((w & 0xffffffc0) | (1 + (w % 57))) >>> 0 : ((w & 0x7ffc0) | (1 + (w % 57))) >>> 0;
  }
}

describe("fast decoder", () => {
  it("agrees with decodeInstruction on legality and fields over 60k words", () => {
    for (const w of randomWords(60_000)) {
      const d = decodeInstruction(w);
      expect(isLegalWord(w), `0x${w.toString(16)}`).toBe(d !== undefined);
      if (!d) continue;
      const f = d.row.format;
      if (f === "rrr") expect([fieldRd(w), fieldRs1(w), fieldRs2(w)]).toEqual([d.a, d.b, d.c]);
      if (f === "rri" || f === "load") {
        expect([fieldRd(w), fieldRs1(w)]).toEqual([d.a, d.b]);
        expect(d.row.imm!.min < 0 ? immSigned18(w) : immUnsigned18(w)).toBe(d.imm);
      }
      if (f === "branch") expect(branchOffset(w)).toBe(d.imm);
      if (f === "jal") expect(jalOffset(w)).toBe(d.imm);
      if (f === "lui") expect(luiValue(w) >>> 0).toBe((d.imm << 12) >>> 0);
    }
  });

  it("accepts every row's maximal encoding and rejects a stray bit in every unused field", () => {
    for (const row of INSTRUCTIONS) {
      const w = encodeInstruction(row, {});
      expect(isLegalWord(w), row.mnemonic).toBe(true);
      for (let bit = 6; bit < 32; bit++) {
        const v = (w | (1 << bit)) >>> 0;
        expect(isLegalWord(v), `${row.mnemonic} bit ${bit}`).toBe(decodeInstruction(v) !== undefined);
      }
    }
  });

  it("the CPU raises illegal-instruction exactly for words decodeInstruction rejects", () => {
    const m = new Machine({ ramSize: 1 << 20 });
    let checked = 0;
    for (const w of randomWords(20_000, 777)) {
      if ((w & 63) === 45) continue; // hcall is illegal on bare metal by design
      m.reset(0x1000);
      m.cr[CR.tvec] = 0x2000;
      m.memory.write32(0x1000, w);
      m.memory.write32(0x2000, 0x3f); // the handler: an illegal word, never executed (we stop first)
      // Run exactly one instruction: until the pc leaves 0x1000 or an exception is taken.
      const before = m.stats().exceptions["illegal-instruction"] ?? 0;
      m.cpu.run(m.cpu.cycles + 1e-9);
      const after = m.stats().exceptions["illegal-instruction"] ?? 0;
      expect(after - before, `0x${w.toString(16)}`).toBe(decodeInstruction(w) === undefined ? 1 : 0);
      if (decodeInstruction(w) === undefined) expect(m.cr[CR.cause]).toBe(CAUSE.ILLEGAL_INSTRUCTION);
      checked++;
    }
    expect(checked).toBeGreaterThan(15_000);
  });
});
