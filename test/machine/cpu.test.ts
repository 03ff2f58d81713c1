// Instruction semantics on real guest code: each program runs on the machine
// (bare) and the test reads back registers, control registers and memory.
import { describe, expect, it } from "vitest";
import { CAUSE, PSR } from "../../src/guest-isa/registers.js";
import { R, li, powerOff, wordsToBytes, type Item } from "./program.js";
import { CR, mfcr, mtcr, recordingHandler, run, setTvec } from "./helpers.js";

const off = powerOff(R.zero);

function alu(m: string, x: number, y: number): number {
  const out = run([...li(R.a1, x), ...li(R.a2, y), [m, { a: R.a0, b: R.a1, c: R.a2 }], off]);
  expect(out.result.kind).toBe("poweroff");
  return out.regs[R.a0];
}
function aluImm(m: string, x: number, imm: number): number {
  const out = run([...li(R.a1, x), [m, { a: R.a0, b: R.a1, imm }], off]);
  return out.regs[R.a0];
}

describe("ALU", () => {
  it("register-register operations", () => {
    expect(alu("add", 0x7fffffff, 1)).toBe(-0x80000000);
    expect(alu("sub", 3, 5)).toBe(-2);
    expect(alu("and", 0xf0f0, 0xff00)).toBe(0xf000);
    expect(alu("or", 0xf0f0, 0x0f00)).toBe(0xfff0);
    expect(alu("xor", 0xffff, 0x0ff0)).toBe(0xf00f);
    expect(alu("sll", 1, 33)).toBe(2); // shift amount & 31
    expect(alu("srl", -16, 2)).toBe(0x3ffffffc);
    expect(alu("sra", -16, 2)).toBe(-4);
    expect(alu("slt", -1, 1)).toBe(1);
    expect(alu("sltu", -1, 1)).toBe(0);
    expect(alu("mul", 0x10001, 0x10001)).toBe(0x20001);
    expect(alu("mulhu", -1, -1) >>> 0).toBe(0xfffffffe);
    expect(alu("mulhu", 0x12345678, 0x9abcdef0) >>> 0).toBe(Number((0x12345678n * 0x9abcdef0n) >> 32n));
    expect(alu("div", -7, 2)).toBe(-3);
    expect(alu("div", 7, 0)).toBe(-1);
    expect(alu("div", -0x80000000, -1)).toBe(-0x80000000);
    expect(alu("divu", -1, 2)).toBe(0x7fffffff);
    expect(alu("divu", 5, 0)).toBe(-1);
    expect(alu("rem", -7, 2)).toBe(-1);
    expect(alu("rem", 7, 0)).toBe(7);
    expect(alu("rem", -0x80000000, -1)).toBe(0);
    expect(alu("remu", -1, 10)).toBe(0xffffffff % 10);
    expect(alu("remu", 9, 0)).toBe(9);
  });

  it("immediate operations and lui", () => {
    expect(aluImm("addi", 10, -11)).toBe(-1);
    expect(aluImm("andi", 0xffff, -16)).toBe(0xfff0);
    expect(aluImm("ori", 0x10000, 5)).toBe(0x10005);
    expect(aluImm("xori", 0, -1)).toBe(-1);
    expect(aluImm("slli", 3, 31)).toBe(-0x80000000);
    expect(aluImm("srli", -1, 28)).toBe(15);
    expect(aluImm("srai", -256, 4)).toBe(-16);
    expect(aluImm("slti", -5, -4)).toBe(1);
    expect(aluImm("sltiu", 5, -1)).toBe(1); // imm sign-extended to 0xFFFFFFFF
    const out = run([["lui", { a: R.a0, imm: 0xabcde }], off]);
    expect(out.regs[R.a0] >>> 0).toBe(0xabcde000);
  });

  it("never writes r0", () => {
    const out = run([["addi", { a: R.zero, b: R.zero, imm: 5 }], ["add", { a: R.a0, b: R.zero, c: R.zero }], off]);
    expect(out.regs[0]).toBe(0);
    expect(out.regs[R.a0]).toBe(0);
  });
});

describe("loads and stores", () => {
  const data = [{ addr: 0x8000, bytes: wordsToBytes([0x8081_f0f1, 0x1234_5678]) }];
  it("sign- and zero-extends", () => {
    const out = run(
      [
        ...li(R.s0, 0x8000),
        ["lw", { a: R.a0, b: R.s0, imm: 4 }],
        ["lh", { a: R.a1, b: R.s0, imm: 2 }],
        ["lhu", { a: R.a2, b: R.s0, imm: 2 }],
        ["lb", { a: R.a3, b: R.s0, imm: 0 }],
        ["lbu", { a: R.t0, b: R.s0, imm: 1 }],
        off,
      ],
      { data },
    );
    expect(out.regs[R.a0]).toBe(0x12345678);
    expect(out.regs[R.a1]).toBe(0x8081 - 0x10000);
    expect(out.regs[R.a2]).toBe(0x8081);
    expect(out.regs[R.a3]).toBe(0xf1 - 0x100);
    expect(out.regs[R.t0]).toBe(0xf0);
  });

  it("stores words, halves and bytes", () => {
    const out = run(
      [
        ...li(R.s0, 0x9000),
        ...li(R.a0, 0xdeadbeef),
        ["sw", { a: R.a0, b: R.s0, imm: 0 }],
        ["sh", { a: R.a0, b: R.s0, imm: 4 }],
        ["sb", { a: R.a0, b: R.s0, imm: 7 }],
        ["sw", { a: R.a0, b: R.s0, imm: -4 }],
        off,
      ],
    );
    const m = out.machine.memory;
    expect(m.read32(0x9000) >>> 0).toBe(0xdeadbeef);
    expect(m.read32(0x9004) >>> 0).toBe(0xef00beef);
    expect(m.read32(0x8ffc) >>> 0).toBe(0xdeadbeef);
  });

  it.each([
    ["lw", 2],
    ["lh", 1],
    ["lhu", 3],
    ["sw", 1],
    ["sh", 3],
  ])("%s at a misaligned address faults with cause 3, epc = the instruction, badva = the address", (m, offset) => {
    const out = run([...setTvec(), ...li(R.t0, 0x8000), [m, { a: R.a0, b: R.t0, imm: offset }], off, ...recordingHandler], { data });
    expect(out.regs[R.s0]).toBe(CAUSE.MISALIGNED);
    expect(out.regs[R.s1]).toBe(0x1014); // after la+mtcr (3 words) and li (2)
    expect(out.regs[R.s2]).toBe(0x8000 + offset);
    expect(out.stats.exceptions).toEqual({ misaligned: 1 });
  });

  it("a physical address beyond RAM is a bus error with badva", () => {
    const out = run([...setTvec(), ...li(R.t0, 0x0400_0000), ["lw", { a: R.a0, b: R.t0, imm: 8 }], off, ...recordingHandler]);
    expect(out.regs[R.s0]).toBe(CAUSE.BUS_ERROR);
    expect(out.regs[R.s2]).toBe(0x0400_0008);
  });

  it("RAM size is configurable", () => {
    const small = run([...setTvec(), ...li(R.t0, 0x10_0000), ["lw", { a: R.a0, b: R.t0, imm: 0 }], off, ...recordingHandler], { ramSize: 1 << 20 });
    expect(small.regs[R.s0]).toBe(CAUSE.BUS_ERROR);
    const big = run([...setTvec(), ...li(R.t0, 0x10_0000), ["lw", { a: R.a0, b: R.t0, imm: 0 }], ["addi", { a: R.s0, b: R.zero, imm: 99 }], off, ...recordingHandler], { ramSize: 2 << 20 });
    expect(big.regs[R.s0]).toBe(99);
  });
});

describe("branches and jumps", () => {
  const cases: [string, number, number, boolean][] = [
    ["beq", 1, 1, true], ["beq", 1, 2, false],
    ["bne", 1, 2, true], ["bne", 3, 3, false],
    ["blt", -1, 0, true], ["blt", 0, -1, false],
    ["bge", 0, -1, true], ["bge", -1, 0, false], ["bge", 4, 4, true],
    ["bltu", 0, -1, true], ["bltu", -1, 0, false],
    ["bgeu", -1, 0, true], ["bgeu", 0, -1, false],
  ];
  it.each(cases)("%s %i, %i taken=%s", (m, x, y, taken) => {
    const out = run([
      ...li(R.a1, x), ...li(R.a2, y),
      [m, { a: R.a1, b: R.a2, to: "yes" }],
      ["addi", { a: R.a0, b: R.zero, imm: 1 }], off,
      "yes", ["addi", { a: R.a0, b: R.zero, imm: 2 }], off,
    ]);
    expect(out.regs[R.a0]).toBe(taken ? 2 : 1);
  });

  it("branches backwards", () => {
    const out = run([["addi", { a: R.t0, b: R.zero, imm: 5 }], "l", ["addi", { a: R.a0, b: R.a0, imm: 3 }], ["addi", { a: R.t0, b: R.t0, imm: -1 }], ["bne", { a: R.t0, b: R.zero, to: "l" }], off]);
    expect(out.regs[R.a0]).toBe(15);
  });

  it("jal links pc+4; jalr jumps to rs1+off and links", () => {
    const out = run([
      ["jal", { a: R.lr, to: "f" }], // 0x1000
      ["la", { a: R.t0, to: "g" }], // 0x1004
      ["jalr", { a: R.s1, b: R.t0, imm: 4 }], // 0x100c → g+4
      off, // 0x1010
      "f", ["addi", { a: R.a0, b: R.lr, imm: 0 }], ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
      "g", ["addi", { a: R.a1, b: R.zero, imm: 7 }], ["addi", { a: R.a2, b: R.zero, imm: 8 }], ["jalr", { a: R.zero, b: R.s1, imm: 0 }],
    ]);
    expect(out.regs[R.a0]).toBe(0x1004);
    expect(out.regs[R.s1]).toBe(0x1010);
    expect(out.regs[R.a1]).toBe(0); // skipped by the +4
    expect(out.regs[R.a2]).toBe(8);
  });

  it("jalr to a misaligned target faults at the jalr (epc = jalr, badva = target), rd unchanged", () => {
    const out = run([...setTvec(), ...li(R.t0, 0x2002), ["jalr", { a: R.a0, b: R.t0, imm: 0 }], off, ...recordingHandler]);
    expect(out.regs[R.s0]).toBe(CAUSE.MISALIGNED);
    expect(out.regs[R.s1]).toBe(0x1014);
    expect(out.regs[R.s2]).toBe(0x2002);
    expect(out.regs[R.a0]).toBe(0);
  });
});

describe("traps", () => {
  it("syscall: cause 7, epc = next instruction, epsr = psr, SU=1 IE=0; iret returns", () => {
    const out = run([
      ...setTvec(),
      ["sti"],
      ["syscall"], // 0x1010
      ["addi", { a: R.a1, b: R.a1, imm: 1 }],
      mfcr(R.s0, CR.cause), mfcr(R.s1, CR.epc), mfcr(R.a3, CR.epsr),
      off,
      "handler",
      ["rdpsr", { a: R.a2 }],
      ["addi", { a: R.a0, b: R.a0, imm: 1 }],
      ["iret"],
    ]);
    expect(out.regs[R.a0]).toBe(1);
    expect(out.regs[R.a1]).toBe(1);
    expect(out.regs[R.s0]).toBe(CAUSE.SYSCALL);
    expect(out.regs[R.s1]).toBe(0x1014);
    expect(out.regs[R.a3]).toBe(PSR.SU | PSR.IE);
    expect(out.regs[R.a2]).toBe(PSR.SU); // in the handler: IE cleared
    expect(out.machine.psr).toBe(PSR.SU | PSR.IE); // restored by iret
  });

  it("brk: cause 8, epc = next", () => {
    const out = run([...setTvec(), ["brk"], off, ...recordingHandler]);
    expect(out.regs[R.s0]).toBe(CAUSE.BREAKPOINT);
    expect(out.regs[R.s1]).toBe(0x1010);
  });

  it("an illegal word faults with cause 1 and epc = the word; iret retries it", () => {
    const out = run([
      ...setTvec(),
      { word: 0x0000_0040 }, // opcode 0: illegal   (0x100c)
      off,
      "handler",
      mfcr(R.s0, CR.cause), mfcr(R.s1, CR.epc),
      ["addi", { a: R.s2, b: R.s2, imm: 1 }],
      ["addi", { a: R.t0, b: R.zero, imm: 2 }],
      ["bne", { a: R.s2, b: R.t0, to: "again" }],
      off,
      "again", ["iret"],
    ]);
    expect(out.regs[R.s0]).toBe(CAUSE.ILLEGAL_INSTRUCTION);
    expect(out.regs[R.s1]).toBe(0x100c);
    expect(out.regs[R.s2]).toBe(2); // retried once
  });

  it("non-zero unused bits make an instruction illegal", () => {
    const add = 1 | (R.a0 << 6) | (1 << 20); // add with bits above C set
    const out = run([...setTvec(), { word: add }, off, ...recordingHandler]);
    expect(out.regs[R.s0]).toBe(CAUSE.ILLEGAL_INSTRUCTION);
  });

  it("hcall on bare metal is an illegal instruction at the hcall", () => {
    const out = run([...setTvec(), ["hcall", { imm: 3 }], off, ...recordingHandler]);
    expect(out.regs[R.s0]).toBe(CAUSE.ILLEGAL_INSTRUCTION);
    expect(out.regs[R.s1]).toBe(0x100c);
  });
});

describe("privilege", () => {
  // Drops to user mode at `user` via iret with epsr = 0 (SU=0, IE=0).
  const toUser = (userCode: Item[]): Item[] => [
    ...setTvec(),
    ["la", { a: R.t0, to: "user" }], mtcr(CR.epc, R.t0), mtcr(CR.epsr, R.zero),
    ["iret"],
    "user", ...userCode,
    ...recordingHandler,
  ];

  it.each(["cli", "sti", "hlt", "iret", "tlbflush"])("%s in user mode faults with cause 2", (m) => {
    const out = run(toUser([[m], off]));
    expect(out.regs[R.s0]).toBe(CAUSE.PRIVILEGED_INSTRUCTION);
    expect(out.regs[R.s1]).toBe(0x1020);
    expect(out.regs[R.a3]).toBe(0); // epsr: user mode
  });

  it("mfcr, mtcr, in, out, tlbinv in user mode fault with cause 2", () => {
    for (const item of [mfcr(R.a0, CR.tvec), mtcr(CR.scratch, R.a0), ["in", { a: R.a0, imm: 0x10 }], ["out", { imm: 0xf0, b: R.zero }], ["tlbinv", { b: R.a0 }]] as Item[]) {
      const out = run(toUser([item, off]));
      expect(out.regs[R.s0]).toBe(CAUSE.PRIVILEGED_INSTRUCTION);
    }
  });

  it("rdpsr in user mode reveals the real psr; wrpsr changes only UF", () => {
    const out = run(toUser([
      ...li(R.a1, 0xffff_ffff),
      ["wrpsr", { b: R.a1 }],
      ["rdpsr", { a: R.a0 }],
      ["syscall"],
    ]));
    expect(out.regs[R.a0]).toBe(PSR.UF_MASK); // SU and IE still 0
    expect(out.regs[R.s0]).toBe(CAUSE.SYSCALL);
    expect(out.regs[R.a3]).toBe(PSR.UF_MASK);
  });

  it("wrpsr in supervisor mode sets IE, SU and UF", () => {
    const out = run([...li(R.a1, 0x1ff03), ["wrpsr", { b: R.a1 }], ["rdpsr", { a: R.a0 }], ["cli"], off]);
    expect(out.regs[R.a0]).toBe(0xff03);
  });
});
