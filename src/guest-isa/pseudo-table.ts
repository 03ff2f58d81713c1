// Pseudo-instructions of G32 assembly, as data: each row says what it takes
// and what real instructions it stands for. The assembler expands them from
// these templates; the disassembler derives its aliases from the rows that
// expand to exactly one instruction; docs/isa.md lists them.
//
// Templates name operands $1, $2, $3 (in assembly order). `li` is the one
// pseudo with two lengths: `short` is used when its value is a constant known
// at parse time that fits the signed 18-bit immediate.

export type PseudoOperand = "reg" | "imm" | "label";

export interface PseudoRow {
  readonly mnemonic: string;
  readonly operands: readonly PseudoOperand[];
  readonly syntax: string;
  readonly expansion: readonly string[];
  /** The one-instruction form of `li`, when the value fits. */
  readonly short?: readonly string[];
  readonly description: string;
}

export const PSEUDO_INSTRUCTIONS: readonly PseudoRow[] = [
  { mnemonic: "nop", operands: [], syntax: "", expansion: ["addi zero, zero, 0"], description: "do nothing" },
  {
    mnemonic: "li", operands: ["reg", "imm"], syntax: "rd, imm32",
    expansion: ["lui $1, %hi($2)", "addi $1, $1, %lo($2)"], short: ["addi $1, zero, $2"],
    description: "rd = any 32-bit value (one instruction when it fits 18 bits signed)",
  },
  { mnemonic: "la", operands: ["reg", "imm"], syntax: "rd, sym", expansion: ["lui $1, %hi($2)", "addi $1, $1, %lo($2)"], description: "rd = address of sym" },
  { mnemonic: "mv", operands: ["reg", "reg"], syntax: "rd, rs", expansion: ["addi $1, $2, 0"], description: "rd = rs" },
  { mnemonic: "not", operands: ["reg", "reg"], syntax: "rd, rs", expansion: ["xori $1, $2, -1"], description: "rd = ~rs" },
  { mnemonic: "neg", operands: ["reg", "reg"], syntax: "rd, rs", expansion: ["sub $1, zero, $2"], description: "rd = -rs" },
  { mnemonic: "j", operands: ["label"], syntax: "label", expansion: ["jal zero, $1"], description: "goto label" },
  { mnemonic: "jr", operands: ["reg"], syntax: "rs", expansion: ["jalr zero, 0($1)"], description: "goto rs" },
  { mnemonic: "call", operands: ["label"], syntax: "label", expansion: ["jal lr, $1"], description: "call label (return address in lr)" },
  { mnemonic: "ret", operands: [], syntax: "", expansion: ["jalr zero, 0(lr)"], description: "return to lr" },
  { mnemonic: "beqz", operands: ["reg", "label"], syntax: "rs, label", expansion: ["beq $1, zero, $2"], description: "if rs == 0 goto label" },
  { mnemonic: "bnez", operands: ["reg", "label"], syntax: "rs, label", expansion: ["bne $1, zero, $2"], description: "if rs != 0 goto label" },
  { mnemonic: "bgt", operands: ["reg", "reg", "label"], syntax: "rs1, rs2, label", expansion: ["blt $2, $1, $3"], description: "if rs1 > rs2 (signed) goto label" },
  { mnemonic: "ble", operands: ["reg", "reg", "label"], syntax: "rs1, rs2, label", expansion: ["bge $2, $1, $3"], description: "if rs1 <= rs2 (signed) goto label" },
  { mnemonic: "bgtu", operands: ["reg", "reg", "label"], syntax: "rs1, rs2, label", expansion: ["bltu $2, $1, $3"], description: "if rs1 > rs2 (unsigned) goto label" },
  { mnemonic: "bleu", operands: ["reg", "reg", "label"], syntax: "rs1, rs2, label", expansion: ["bgeu $2, $1, $3"], description: "if rs1 <= rs2 (unsigned) goto label" },
  { mnemonic: "push", operands: ["reg"], syntax: "rs", expansion: ["addi sp, sp, -4", "sw $1, 0(sp)"], description: "push rs on the stack" },
  { mnemonic: "pop", operands: ["reg"], syntax: "rd", expansion: ["lw $1, 0(sp)", "addi sp, sp, 4"], description: "pop the stack into rd" },
];

export const PSEUDO_BY_MNEMONIC: ReadonlyMap<string, PseudoRow> = new Map(PSEUDO_INSTRUCTIONS.map((p) => [p.mnemonic, p]));
