// The G32 instruction set as data: one row per instruction.
//
// Everything that knows about instructions reads this table — the encoder and
// decoder (encoding.ts), the assembler, the disassembler, the emulator's
// dispatch, the annotator's notion of "sensitive", the verifier and
// docs/isa.md (scripts/gen-isa-doc.ts). Adding an instruction is one row here
// (plus its semantics in the emulator, which the type checker asks for).
//
// Encoding: fixed 32-bit little-endian words with fixed fields, so decoding
// is a mask and a shift per field and one table lookup by opcode:
//
//    31                 14 13    10 9      6 5        0
//   +--------------------+--------+--------+----------+
//   |      imm18         |   B    |   A    |  opcode  |   I-type (formats rri load store branch imm rd_cr …)
//   +----------+---------+--------+--------+----------+
//   | 0 (14)   |   C     |   B    |   A    |  opcode  |   R-type (format rrr; C = bits 17:14)
//   +----------+---------+--------+--------+----------+
//   |            imm22            |   A    |  opcode  |   J-type (format jal)
//   +---------------------+-------+--------+----------+
//   |        imm20        |  00   |   A    |  opcode  |   U-type (format lui; imm20 = bits 31:12)
//   +-------------+-------+-------+--------+----------+
//   |    imm14    |   C   |   B    |   A    |  opcode  |   A-type (format amo; imm14 = bits 31:18)
//   +-------------+-------+--------+--------+----------+
//
// Opcode 0 is unused, so the all-zero word is never a valid instruction.
// Fields an instruction does not use must be zero; any other word is an
// illegal instruction (this keeps disassembly → assembly byte-exact).

/** Where an operand lives in the instruction word. */
export type Field = "A" | "B" | "C" | "imm18" | "imm22" | "imm20" | "imm14";

/** What an operand looks like in assembly. */
export type OperandKind =
  | "reg" // a register name: r0–r15 or an ABI name
  | "imm" // an expression
  | "mem" // off(reg): an imm18 (imm14 for atomics) offset + register in field B
  | "label" // a pc-relative target, stored as a word offset from the instruction's own address
  | "cr" // a control-register name or number 0–7
  | "port"; // an I/O port number

/** Whether a register operand is read or written (for register-use analysis). */
export type RegRole = "def" | "use";

export interface OperandSpec {
  readonly kind: OperandKind;
  /** The field holding the value; for "mem", the offset field (register in B). */
  readonly field: Field;
  /** For register operands (and the base register of "mem"): read or written. */
  readonly role?: RegRole;
}

export type FormatName =
  | "rrr"
  | "rri"
  | "load"
  | "store"
  | "branch"
  | "jal"
  | "lui"
  | "none"
  | "imm"
  | "rd"
  | "rs"
  | "rd_cr"
  | "cr_rs"
  | "rd_port"
  | "port_rs"
  | "amo";

export interface FormatSpec {
  /** Operands in assembly order. */
  readonly operands: readonly OperandSpec[];
  /** The bits this format may use besides the opcode; others must be zero. */
  readonly usedMask: number;
  /** The assembly syntax shown in docs, e.g. "rd, rs1, rs2". */
  readonly syntax: string;
}

const OPCODE_MASK = 0x3f;
const A_MASK = 0xf << 6;
const B_MASK = 0xf << 10;
const C_MASK = 0xf << 14;
const IMM18_MASK = 0x3ffff << 14;
const IMM22_MASK = 0x3fffff << 10;
const IMM20_MASK = 0xfffff << 12;
const IMM14_MASK = 0x3fff << 18;

const rd: OperandSpec = { kind: "reg", field: "A", role: "def" };
const rsA: OperandSpec = { kind: "reg", field: "A", role: "use" };
const rs1: OperandSpec = { kind: "reg", field: "B", role: "use" };
const rs2C: OperandSpec = { kind: "reg", field: "C", role: "use" };
const rs2B: OperandSpec = { kind: "reg", field: "B", role: "use" };
const imm18: OperandSpec = { kind: "imm", field: "imm18" };
const mem: OperandSpec = { kind: "mem", field: "imm18", role: "use" };
const mem14: OperandSpec = { kind: "mem", field: "imm14", role: "use" };

export const FORMATS: Readonly<Record<FormatName, FormatSpec>> = {
  rrr: { operands: [rd, rs1, rs2C], usedMask: A_MASK | B_MASK | C_MASK, syntax: "rd, rs1, rs2" },
  rri: { operands: [rd, rs1, imm18], usedMask: A_MASK | B_MASK | IMM18_MASK, syntax: "rd, rs1, imm" },
  load: { operands: [rd, mem], usedMask: A_MASK | B_MASK | IMM18_MASK, syntax: "rd, off(rs1)" },
  store: { operands: [rsA, mem], usedMask: A_MASK | B_MASK | IMM18_MASK, syntax: "rs2, off(rs1)" },
  branch: {
    operands: [rsA, rs2B, { kind: "label", field: "imm18" }],
    usedMask: A_MASK | B_MASK | IMM18_MASK,
    syntax: "rs1, rs2, label",
  },
  jal: { operands: [rd, { kind: "label", field: "imm22" }], usedMask: A_MASK | IMM22_MASK, syntax: "rd, label" },
  lui: { operands: [rd, { kind: "imm", field: "imm20" }], usedMask: A_MASK | IMM20_MASK, syntax: "rd, imm" },
  none: { operands: [], usedMask: 0, syntax: "" },
  imm: { operands: [imm18], usedMask: IMM18_MASK, syntax: "imm" },
  rd: { operands: [rd], usedMask: A_MASK, syntax: "rd" },
  rs: { operands: [rs1], usedMask: B_MASK, syntax: "rs" },
  rd_cr: { operands: [rd, { kind: "cr", field: "imm18" }], usedMask: A_MASK | IMM18_MASK, syntax: "rd, cr" },
  cr_rs: { operands: [{ kind: "cr", field: "imm18" }, rs1], usedMask: B_MASK | IMM18_MASK, syntax: "cr, rs" },
  rd_port: { operands: [rd, { kind: "port", field: "imm18" }], usedMask: A_MASK | IMM18_MASK, syntax: "rd, port" },
  port_rs: { operands: [{ kind: "port", field: "imm18" }, rs1], usedMask: B_MASK | IMM18_MASK, syntax: "port, rs" },
  amo: { operands: [rd, rs2C, mem14], usedMask: A_MASK | B_MASK | C_MASK | IMM14_MASK, syntax: "rd, rs2, off(rs1)" },
};

/**
 * Cost classes: the emulator charges each executed instruction the cycles of
 * its class, from the cost model (src/machine/cost-model.ts).
 */
export type CostClass = "alu" | "mul" | "div" | "load" | "store" | "atomic" | "branch" | "jump" | "trap" | "system";

export type Group =
  | "alu-reg"
  | "alu-imm"
  | "upper"
  | "load"
  | "store"
  | "atomic"
  | "hint"
  | "branch"
  | "jump"
  | "trap"
  | "privileged"
  | "sensitive-unprivileged";

/** An inclusive immediate range; `signed` says how the decoder extends the field. */
export interface ImmRange {
  readonly min: number;
  readonly max: number;
}

export const S18: ImmRange = { min: -(1 << 17), max: (1 << 17) - 1 };
export const S14: ImmRange = { min: -(1 << 13), max: (1 << 13) - 1 };
export const U5: ImmRange = { min: 0, max: 31 };
export const U18: ImmRange = { min: 0, max: (1 << 18) - 1 };
export const U20: ImmRange = { min: 0, max: (1 << 20) - 1 };
export const CR_RANGE: ImmRange = { min: 0, max: 7 };
export const PORT_RANGE: ImmRange = { min: 0, max: 0xffff };

export interface InstructionRow {
  readonly mnemonic: string;
  readonly opcode: number;
  readonly format: FormatName;
  readonly group: Group;
  /** Range of the immediate operand, where the format has one that is not pc-relative. */
  readonly imm?: ImmRange;
  /** Faults with cause 2 (privileged instruction) in user mode. */
  readonly privileged: boolean;
  /** Virtualization-sensitive: its behaviour depends on or changes machine state a VMM must own. */
  readonly sensitive: boolean;
  readonly cost: CostClass;
  readonly description: string;
}

type Row = Omit<InstructionRow, "privileged" | "sensitive"> & { privileged?: boolean; sensitive?: boolean };

function alu(mnemonic: string, opcode: number, cost: CostClass, description: string): Row {
  return { mnemonic, opcode, format: "rrr", group: "alu-reg", cost, description };
}
function aluImm(mnemonic: string, opcode: number, imm: ImmRange, description: string): Row {
  return { mnemonic, opcode, format: "rri", group: "alu-imm", imm, cost: "alu", description };
}
function priv(mnemonic: string, opcode: number, format: FormatName, description: string, imm?: ImmRange): Row {
  return { mnemonic, opcode, format, group: "privileged", privileged: true, sensitive: true, cost: "system", description, imm };
}

const ROWS = [
  alu("add", 1, "alu", "rd = rs1 + rs2"),
  alu("sub", 2, "alu", "rd = rs1 - rs2"),
  alu("and", 3, "alu", "rd = rs1 & rs2"),
  alu("or", 4, "alu", "rd = rs1 | rs2"),
  alu("xor", 5, "alu", "rd = rs1 ^ rs2"),
  alu("sll", 6, "alu", "rd = rs1 << (rs2 & 31)"),
  alu("srl", 7, "alu", "rd = rs1 >>> (rs2 & 31) (logical)"),
  alu("sra", 8, "alu", "rd = rs1 >> (rs2 & 31) (arithmetic)"),
  alu("slt", 9, "alu", "rd = (rs1 < rs2) signed ? 1 : 0"),
  alu("sltu", 10, "alu", "rd = (rs1 < rs2) unsigned ? 1 : 0"),
  alu("mul", 11, "mul", "rd = low 32 bits of rs1 * rs2"),
  alu("mulhu", 12, "mul", "rd = high 32 bits of unsigned rs1 * rs2"),
  alu("div", 13, "div", "rd = rs1 / rs2 signed, truncating; -1 if rs2 = 0"),
  alu("divu", 14, "div", "rd = rs1 / rs2 unsigned; 0xFFFFFFFF if rs2 = 0"),
  alu("rem", 15, "div", "rd = rs1 % rs2 signed (sign of rs1); rs1 if rs2 = 0"),
  alu("remu", 16, "div", "rd = rs1 % rs2 unsigned; rs1 if rs2 = 0"),

  aluImm("addi", 17, S18, "rd = rs1 + imm"),
  aluImm("andi", 18, S18, "rd = rs1 & imm (imm sign-extended)"),
  aluImm("ori", 19, S18, "rd = rs1 | imm (imm sign-extended)"),
  aluImm("xori", 20, S18, "rd = rs1 ^ imm (imm sign-extended)"),
  aluImm("slli", 21, U5, "rd = rs1 << imm"),
  aluImm("srli", 22, U5, "rd = rs1 >>> imm (logical)"),
  aluImm("srai", 23, U5, "rd = rs1 >> imm (arithmetic)"),
  aluImm("slti", 24, S18, "rd = (rs1 < imm) signed ? 1 : 0"),
  aluImm("sltiu", 25, S18, "rd = (rs1 < imm) unsigned, imm sign-extended ? 1 : 0"),

  { mnemonic: "lui", opcode: 26, format: "lui", group: "upper", imm: U20, cost: "alu", description: "rd = imm20 << 12" },

  { mnemonic: "lw", opcode: 27, format: "load", group: "load", imm: S18, cost: "load", description: "rd = 32-bit word at rs1 + off (4-aligned)" },
  { mnemonic: "lh", opcode: 28, format: "load", group: "load", imm: S18, cost: "load", description: "rd = sign-extended half-word at rs1 + off (2-aligned)" },
  { mnemonic: "lhu", opcode: 29, format: "load", group: "load", imm: S18, cost: "load", description: "rd = zero-extended half-word at rs1 + off (2-aligned)" },
  { mnemonic: "lb", opcode: 30, format: "load", group: "load", imm: S18, cost: "load", description: "rd = sign-extended byte at rs1 + off" },
  { mnemonic: "lbu", opcode: 31, format: "load", group: "load", imm: S18, cost: "load", description: "rd = zero-extended byte at rs1 + off" },

  { mnemonic: "sw", opcode: 32, format: "store", group: "store", imm: S18, cost: "store", description: "word at rs1 + off = rs2 (4-aligned)" },
  { mnemonic: "sh", opcode: 33, format: "store", group: "store", imm: S18, cost: "store", description: "half-word at rs1 + off = low 16 bits of rs2 (2-aligned)" },
  { mnemonic: "sb", opcode: 34, format: "store", group: "store", imm: S18, cost: "store", description: "byte at rs1 + off = low 8 bits of rs2" },

  // Atomic read-modify-write of an aligned word: one instruction, so no other CPU's access falls
  // between the read and the write (docs/machine.md "Multiprocessor"). They fault as a store would.
  {
    mnemonic: "amoswap", opcode: 58, format: "amo", group: "atomic", imm: S14, cost: "atomic",
    description: "atomically: rd = word at rs1 + off; word at rs1 + off = rs2 (4-aligned)",
  },
  {
    mnemonic: "amoadd", opcode: 59, format: "amo", group: "atomic", imm: S14, cost: "atomic",
    description: "atomically: rd = word at rs1 + off; that word += rs2 (4-aligned)",
  },
  {
    mnemonic: "pause", opcode: 60, format: "none", group: "hint", cost: "alu",
    description: "spin-wait hint: no architectural effect; counted (`pauses`) so a hypervisor can see spinning",
  },

  { mnemonic: "beq", opcode: 35, format: "branch", group: "branch", cost: "branch", description: "if rs1 == rs2 goto label (±512 KiB)" },
  { mnemonic: "bne", opcode: 36, format: "branch", group: "branch", cost: "branch", description: "if rs1 != rs2 goto label" },
  { mnemonic: "blt", opcode: 37, format: "branch", group: "branch", cost: "branch", description: "if rs1 < rs2 (signed) goto label" },
  { mnemonic: "bge", opcode: 38, format: "branch", group: "branch", cost: "branch", description: "if rs1 >= rs2 (signed) goto label" },
  { mnemonic: "bltu", opcode: 39, format: "branch", group: "branch", cost: "branch", description: "if rs1 < rs2 (unsigned) goto label" },
  { mnemonic: "bgeu", opcode: 40, format: "branch", group: "branch", cost: "branch", description: "if rs1 >= rs2 (unsigned) goto label" },

  { mnemonic: "jal", opcode: 41, format: "jal", group: "jump", cost: "jump", description: "rd = pc + 4; goto label (±8 MiB)" },
  { mnemonic: "jalr", opcode: 42, format: "load", group: "jump", imm: S18, cost: "jump", description: "rd = pc + 4; goto rs1 + off (must be 4-aligned)" },

  { mnemonic: "syscall", opcode: 43, format: "none", group: "trap", cost: "trap", description: "trap with cause 7 (epc = next instruction)" },
  { mnemonic: "brk", opcode: 44, format: "none", group: "trap", cost: "trap", description: "trap with cause 8 (epc = next instruction)" },
  { mnemonic: "hcall", opcode: 45, format: "imm", group: "trap", imm: U18, cost: "trap", description: "hypercall number imm to the hypervisor; illegal instruction on bare metal" },

  priv("cli", 46, "none", "disable interrupts: psr.IE = 0"),
  priv("sti", 47, "none", "enable interrupts: psr.IE = 1"),
  priv("hlt", 48, "none", "wait for an interrupt"),
  priv("iret", 49, "none", "return from trap: psr = epsr; pc = epc"),
  priv("tlbflush", 50, "none", "drop every cached translation"),
  priv("tlbinv", 51, "rs", "drop the cached translation of virtual address rs"),
  priv("mfcr", 52, "rd_cr", "rd = control register cr", CR_RANGE),
  priv("mtcr", 53, "cr_rs", "control register cr = rs", CR_RANGE),
  priv("in", 54, "rd_port", "rd = read from I/O port", PORT_RANGE),
  priv("out", 55, "port_rs", "write rs to I/O port", PORT_RANGE),

  {
    mnemonic: "rdpsr", opcode: 56, format: "rd", group: "sensitive-unprivileged", sensitive: true, cost: "system",
    description: "rd = psr; does not trap in user mode (reveals SU and IE)",
  },
  {
    mnemonic: "wrpsr", opcode: 57, format: "rs", group: "sensitive-unprivileged", sensitive: true, cost: "system",
    description: "psr = rs; in user mode does not trap and changes only UF",
  },
] as const satisfies readonly Row[];

/** Every mnemonic of the ISA, as a type: per-instruction handlers are `Record<Mnemonic, …>`. */
export type Mnemonic = (typeof ROWS)[number]["mnemonic"];

export const INSTRUCTIONS: readonly InstructionRow[] = ROWS.map((r: Row) => ({
  ...r,
  privileged: r.privileged ?? false,
  sensitive: r.sensitive ?? false,
}));

/** Rows by mnemonic. */
export const BY_MNEMONIC: ReadonlyMap<string, InstructionRow> = new Map(INSTRUCTIONS.map((r) => [r.mnemonic, r]));

/** Rows by opcode (index 0–63); undefined for unused opcodes. */
export const BY_OPCODE: readonly (InstructionRow | undefined)[] = (() => {
  const table: (InstructionRow | undefined)[] = new Array(64).fill(undefined);
  for (const r of INSTRUCTIONS) {
    if (r.opcode <= 0 || r.opcode > OPCODE_MASK) throw new Error(`opcode out of range for ${r.mnemonic}`);
    if (table[r.opcode]) throw new Error(`opcode ${r.opcode} used twice (${table[r.opcode]!.mnemonic}, ${r.mnemonic})`);
    table[r.opcode] = r;
  }
  return table;
})();

/** Opcode numbers by mnemonic, for the emulator's switch (`OP.add`, …). */
export const OP = Object.fromEntries(INSTRUCTIONS.map((r) => [r.mnemonic, r.opcode])) as Readonly<Record<Mnemonic, number>>;

export function lookupInstruction(mnemonic: string): InstructionRow | undefined {
  return BY_MNEMONIC.get(mnemonic);
}

/** The immediate range of a row's non-pc-relative immediate (defaults by format). */
export function immRange(row: InstructionRow): ImmRange {
  if (row.imm) return row.imm;
  if (row.format === "lui") return U20;
  return S18;
}
