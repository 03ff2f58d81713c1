import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderIsaDoc } from "../../scripts/gen-isa-doc.js";
import { ABI_NAMES, CR_NAMES } from "../../src/guest-isa/registers.js";
import { INSTRUCTIONS } from "../../src/guest-isa/isa-table.js";
import { PSEUDO_INSTRUCTIONS } from "../../src/guest-isa/pseudo-table.js";

const DOC = fileURLToPath(new URL("../../docs/isa.md", import.meta.url));

describe("docs/isa.md", () => {
  const doc = renderIsaDoc();

  it("lists every instruction, pseudo-instruction, register and control register", () => {
    for (const r of INSTRUCTIONS) expect(doc).toContain(`| \`${r.mnemonic}\` | ${r.opcode} (0x${r.opcode.toString(16)}) |`);
    for (const p of PSEUDO_INSTRUCTIONS) expect(doc).toContain(`| \`${p.mnemonic}\` |`);
    ABI_NAMES.forEach((abi, n) => expect(doc).toContain(`| \`r${n}\` | \`${abi}\` |`));
    CR_NAMES.forEach((cr, n) => expect(doc).toContain(`| ${n} | \`${cr}\` |`));
  });

  it("draws the field layout from the encoder", () => {
    expect(doc).toContain("rrr      31:18 0 | 17:14 C: rs2 | 13:10 B: rs1 | 9:6 A: rd | 5:0 opcode");
    expect(doc).toContain("jal      31:10 imm22: label (word offset) | 9:6 A: rd | 5:0 opcode");
    expect(doc).toContain("lui      31:12 imm20: imm | 11:10 0 | 9:6 A: rd | 5:0 opcode");
  });

  it("is up to date (run `npm run docs` to regenerate)", () => {
    let committed = "";
    try {
      committed = readFileSync(DOC, "utf8");
    } catch {
      throw new Error("docs/isa.md is missing: run npm run docs");
    }
    if (committed !== doc) throw new Error("docs/isa.md is stale: run npm run docs");
  });
});
