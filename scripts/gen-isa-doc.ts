// Generates docs/isa.md, the G32 reference, from the tables that define the
// ISA: the instruction table and formats (src/guest-isa/isa-table.ts), the
// encoder (bit positions are found by encoding, not restated), the
// pseudo-instruction table (pseudo-table.ts) and the register, control
// register and cause-code tables (registers.ts).
//
// `npm run docs` builds and runs this file (node dist/scripts/gen-isa-doc.js),
// which writes docs/isa.md; test/guest-isa/isa-doc.test.ts fails when the
// committed file differs from renderIsaDoc().

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { encodeInstruction, immField, pcRelativeRange } from "../src/guest-isa/encoding.js";
import { EM_G32 } from "../src/guest-isa/elf.js";
import { FORMATS, INSTRUCTIONS, immRange, type FormatName, type InstructionRow, type OperandSpec } from "../src/guest-isa/isa-table.js";
import { PSEUDO_INSTRUCTIONS } from "../src/guest-isa/pseudo-table.js";
import { ABI_NAMES, CAUSE, CR, CR_NAMES, PSR, type ControlRegister } from "../src/guest-isa/registers.js";

const CR_MEANING: Record<ControlRegister, string> = {
  tvec: "trap vector: the pc of every exception and interrupt",
  epc: "exception pc: the faulting instruction (faults) or the next one (syscall, brk, interrupts); `iret` returns here",
  epsr: "the psr saved on trap entry; `iret` restores it",
  cause: "the cause code of the last trap (see below)",
  badva: "the faulting virtual address of a memory fault",
  ptbr: "physical address of the page directory",
  scratch: "free for the kernel's trap handler",
  pgctl: "paging control: bit 0 enables paging",
};

const CAUSE_MEANING: Record<keyof typeof CAUSE, string> = {
  ILLEGAL_INSTRUCTION: "illegal instruction (unknown opcode, non-zero unused bits, `hcall` on bare metal)",
  PRIVILEGED_INSTRUCTION: "privileged instruction in user mode",
  MISALIGNED: "misaligned load, store or jump target",
  PAGE_FAULT_FETCH: "page fault on instruction fetch",
  PAGE_FAULT_LOAD: "page fault on load",
  PAGE_FAULT_STORE: "page fault on store",
  SYSCALL: "`syscall`",
  BREAKPOINT: "`brk`",
  BUS_ERROR: "bus error: no such physical address",
  PROTECTION_FAULT: "protection fault: the executing code's protection domain may not read or write this word (docs/protection.md); badva = the address",
  INTERRUPT_BASE: "interrupt line n is cause 0x80 + n (0 timer, 1 console, 2 disk)",
};

/** What the ABI name says about a register. */
function registerRole(abi: string): string {
  if (abi === "zero") return "always reads 0; writes are ignored";
  if (abi === "a0") return "argument 1, result";
  if (/^a\d$/.test(abi)) return `argument ${Number(abi.slice(1)) + 1}`;
  if (/^t\d$/.test(abi)) return "temporary (caller-saved)";
  if (/^s\d$/.test(abi)) return "saved (callee-saved)";
  if (abi === "k0") return "reserved for the soft layer: guest code never uses it";
  if (abi === "sp") return "stack pointer";
  if (abi === "lr") return "link register (return address)";
  return "";
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16);
const cell = (s: string) => s.replace(/\|/g, "\\|");

interface BitField {
  hi: number;
  lo: number;
  label: string;
}

/** The bit range of a mask's set bits (assumed contiguous). */
function range(mask: number): { hi: number; lo: number } {
  mask >>>= 0;
  return { hi: 31 - Math.clz32(mask), lo: 31 - Math.clz32(mask & -mask) };
}

/** Operand name as in the format's syntax (rd, rs1, imm, label, …), by position. */
function operandNames(format: FormatName): string[] {
  return FORMATS[format].syntax === "" ? [] : FORMATS[format].syntax.split(",").map((s) => s.trim());
}

/**
 * The fields of a format, found by encoding a row of that format with one
 * operand at a time set to all ones: the layout comes from the encoder, so
 * the diagram cannot drift from it.
 */
function formatFields(format: FormatName): BitField[] {
  const row = INSTRUCTIONS.find((r) => r.format === format);
  if (!row) return [];
  const names = operandNames(format);
  const fields: BitField[] = [{ hi: 5, lo: 0, label: "opcode" }];
  const ops: readonly OperandSpec[] = FORMATS[format].operands;
  let used = 0x3f;
  ops.forEach((op, i) => {
    const name = names[i] ?? op.kind;
    if (op.kind === "reg" || op.kind === "mem") {
      const field = op.kind === "mem" ? "B" : op.field;
      const key = field === "A" ? "a" : field === "B" ? "b" : "c";
      const mask = encodeInstruction(row, { [key]: 15 }) & ~0x3f;
      const regName = op.kind === "mem" ? (/\((\w+)\)/.exec(name)?.[1] ?? "rs1") : name;
      fields.push({ ...range(mask), label: `${field}: ${regName}` });
      used |= mask;
    }
  });
  const immMask = FORMATS[format].usedMask & ~used;
  if (immMask !== 0) {
    const imf = immField(row)!;
    const i = ops.findIndex((o) => o.field === imf.field);
    const name = ops[i].kind === "mem" ? "off" : (names[i] ?? ops[i].kind);
    fields.push({ ...range(immMask), label: `${imf.field}: ${name}${imf.pcRelative ? " (word offset)" : ""}` });
    used |= immMask;
  }
  // Bits a format does not use must be zero.
  for (let bit = 31; bit >= 0; ) {
    if (used & (1 << bit)) {
      bit--;
      continue;
    }
    let lo = bit;
    while (lo > 0 && !(used & (1 << (lo - 1)))) lo--;
    fields.push({ hi: bit, lo, label: "0" });
    bit = lo - 1;
  }
  return fields.sort((a, b) => b.hi - a.hi);
}

function diagram(format: FormatName): string {
  return formatFields(format)
    .map((f) => `${f.hi === f.lo ? f.hi : `${f.hi}:${f.lo}`} ${f.label}`)
    .join(" | ");
}

function syntaxOf(row: InstructionRow): string {
  const s = FORMATS[row.format].syntax;
  return s === "" ? row.mnemonic : `${row.mnemonic} ${s}`;
}

function immText(row: InstructionRow): string {
  const imf = immField(row);
  if (!imf) return "";
  if (imf.pcRelative) {
    const r = pcRelativeRange(imf.field);
    const kib = (r.max + 4) / 1024;
    return `pc - ${-r.min} … pc + ${r.max} (±${kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`})`;
  }
  const r = immRange(row);
  const op = FORMATS[row.format].operands.find((o) => o.field === imf.field);
  if (op?.kind === "cr") return `${r.min} … ${r.max} or a name`;
  if (op?.kind === "port" || imf.field === "imm20") return `${hex(r.min)} … ${hex(r.max)}`;
  return `${r.min} … ${r.max}`;
}

const yes = (b: boolean) => (b ? "yes" : "");

/** The whole of docs/isa.md. */
export function renderIsaDoc(): string {
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines);
  p(
    "# The G32 instruction set",
    "",
    "<!-- Generated by scripts/gen-isa-doc.ts from src/guest-isa (isa-table.ts, pseudo-table.ts, registers.ts). Do not edit: run `npm run docs`. -->",
    "",
    "G32 is the guest machine of previrt: 32-bit, little-endian, byte-addressed, with fixed 4-byte",
    "instructions. Each instruction is one row of `src/guest-isa/isa-table.ts`; the assembler,",
    "disassembler, emulator, annotator, verifier and this page all read that table.",
    "",
    `Executables are ELF32 little-endian \`ET_EXEC\` files with \`e_machine\` = ${hex(EM_G32)} (\`EM_G32\`: not assigned`,
    "by the ELF registry; readelf shows it as `<unknown>: 0x3347`). Every allocated section gets its own",
    "`PT_LOAD` segment (file offset ≡ address mod 0x1000), except `.bss`, which shares `.data`'s (as GNU",
    "ld does); `.softlayer` is not loaded. readelf and eu-elflint accept the files.",
    "",
    "## Encoding",
    "",
    "The opcode is bits 5:0; opcode 0 is unused, so the all-zero word is never an instruction.",
    "Bits a format does not use must be zero: any other word is an illegal instruction (this keeps",
    "disassembly → assembly byte-exact). Immediates in an 18-bit field are sign-extended unless",
    "the range below is unsigned; `label` operands are stored as a signed word offset from the",
    "instruction's own address.",
    "",
    "```",
  );
  const formats = Object.keys(FORMATS) as FormatName[];
  const width = Math.max(...formats.map((f) => f.length));
  for (const f of formats) p(`${f.padEnd(width)}  ${diagram(f)}`);
  p("```", "", "## Formats", "", "| format | syntax | instructions |", "|---|---|---|");
  for (const f of formats) {
    const rows = INSTRUCTIONS.filter((r) => r.format === f).map((r) => `\`${r.mnemonic}\``);
    p(`| \`${f}\` | ${FORMATS[f].syntax ? `\`${FORMATS[f].syntax}\`` : "(none)"} | ${rows.join(" ")} |`);
  }
  p(
    "",
    "## Instructions",
    "",
    "*Privileged* instructions fault with cause 2 in user mode. *Sensitive* instructions depend on or",
    "change machine state a virtual-machine monitor must own: the annotator wraps each one in a",
    "soft-layer site. `rdpsr` and `wrpsr` are sensitive but not privileged — the virtualization hole.",
    "The cost class prices each executed instruction in the machine's cost model.",
    "",
    "| mnemonic | opcode | format | syntax | immediate | privileged | sensitive | cost | group | description |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of INSTRUCTIONS) {
    p(
      `| \`${r.mnemonic}\` | ${r.opcode} (${hex(r.opcode)}) | \`${r.format}\` | \`${syntaxOf(r)}\` | ${immText(r)} | ${yes(r.privileged)} | ${yes(r.sensitive)} | ${r.cost} | ${r.group} | ${cell(r.description)} |`,
    );
  }
  p(
    "",
    "## Pseudo-instructions",
    "",
    "The assembler expands each into the instructions shown (`$1`, `$2`, … are the operands in order).",
    "The disassembler prints a one-instruction pseudo in place of the instruction it expands to when",
    "the expansion fixes at least one operand (`nop`, `mv`, `ret`, `j`, `call`, `beqz`, …).",
    "",
    "| pseudo | syntax | expansion | description |",
    "|---|---|---|---|",
  );
  for (const ps of PSEUDO_INSTRUCTIONS) {
    const exp = ps.expansion.map((e) => `\`${e}\``).join("; ");
    const short = ps.short ? `; when the value fits 18 bits signed: ${ps.short.map((e) => `\`${e}\``).join("; ")}` : "";
    const syntax = ps.syntax === "" ? ps.mnemonic : `${ps.mnemonic} ${ps.syntax}`;
    p(`| \`${ps.mnemonic}\` | \`${syntax}\` | ${cell(exp + short)} | ${cell(ps.description)} |`);
  }
  p(
    "",
    "`%hi(x)` and `%lo(x)` split a 32-bit value so that `lui rd, %hi(x)` followed by",
    "`addi rd, rd, %lo(x)` leaves x in rd.",
    "",
    "## Registers",
    "",
    "The disassembler prints ABI names; the assembler accepts both.",
    "",
    "| register | ABI name | role |",
    "|---|---|---|",
  );
  ABI_NAMES.forEach((abi, n) => p(`| \`r${n}\` | \`${abi}\` | ${registerRole(abi)} |`));
  p(
    "",
    "### Processor status register (psr)",
    "",
    "| bits | name | meaning |",
    "|---|---|---|",
    `| ${range(PSR.IE).lo} | IE | interrupts enabled |`,
    `| ${range(PSR.SU).lo} | SU | supervisor mode |`,
    `| ${range(PSR.UF_MASK).hi}:${range(PSR.UF_MASK).lo} | UF | user flags: no architectural effect; the only bits a user-mode \`wrpsr\` changes |`,
    "",
    "At reset: SU = 1, IE = 0, paging off, pc = the ELF entry point.",
    "",
    "### Control registers (`mfcr rd, cr` / `mtcr cr, rs`)",
    "",
    "| number | name | meaning |",
    "|---|---|---|",
  );
  for (const name of CR_NAMES) p(`| ${CR[name]} | \`${name}\` | ${CR_MEANING[name]} |`);
  p(
    "",
    "## Trap causes",
    "",
    "On a trap: epsr ← psr, SU ← 1, IE ← 0, cause ← code, badva set for memory faults, pc ← tvec.",
    "",
    "| code | name | meaning |",
    "|---|---|---|",
  );
  for (const [name, code] of Object.entries(CAUSE) as [keyof typeof CAUSE, number][]) {
    p(`| ${name === "INTERRUPT_BASE" ? `${hex(code)} + n` : code} | ${name} | ${CAUSE_MEANING[name]} |`);
  }
  return out.join("\n") + "\n";
}

/** The repository root: the nearest directory above this file with a package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("gen-isa-doc: cannot find the repository root");
    dir = up;
  }
  return dir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const target = join(repoRoot(), "docs", "isa.md");
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, renderIsaDoc());
  console.log(`wrote ${target}`);
}
