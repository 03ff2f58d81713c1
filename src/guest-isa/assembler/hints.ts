// What to write instead: hints appended to the assembler's errors when the
// input is what a programmer coming from GNU as, RISC-V or MIPS naturally
// writes (`ra`, `//` comments, `1b`, `.asciiz`, `.type`, `move`, …).
// Consumes names the parser or pass 1 refused; produces the text of a
// parenthesised hint, or undefined. Data first: the tables are the whole
// knowledge; the functions only look them up. Used by parser.ts (comments,
// numeric labels), pass1.ts (registers, mnemonics) and directives.ts.

import { ownValue } from "../own-value.js";

/** Directives of other assemblers → what to write in G32 assembly. */
export const DIRECTIVE_HINTS: Readonly<Record<string, string>> = {
  ".asciiz": "did you mean '.asciz'?",
  ".p2align": "'.align' takes bytes: '.p2align 2' is '.align 4'",
  ".skip": "did you mean '.space'?",
  ".fill": "'.space n, fill' fills n bytes",
  ".type": "not needed: labels in .text are FUNC symbols, others OBJECT",
  ".size": "not needed: symbol sizes are 0",
  ".include": "give every file to 'previrt as' or 'previrt build'; share symbols with '.global'",
  ".comm": "reserve it in .bss: 'name: .space n'",
  ".lcomm": "reserve it in .bss: 'name: .space n'",
  ".local": "not needed: a label is file-local unless '.global'",
  ".weak": "G32 links have no weak symbols",
  ".quad": "G32 is 32-bit: write two '.word's",
  ".dword": "G32 is 32-bit: write two '.word's",
  ".hword": "did you mean '.half'?",
  ".2byte": "did you mean '.half'?",
  ".4byte": "did you mean '.word'?",
  ".file": "not needed",
  ".ident": "not needed",
  ".option": "not needed",
  ".end": "not needed: a file ends at its last line",
  ".": "to move forward, use '.space n'",
};

/** Mnemonics of other instruction sets → the G32 instruction or pseudo. */
export const MNEMONIC_HINTS: Readonly<Record<string, string>> = {
  move: "did you mean 'mv'?",
  b: "did you mean 'j'?",
  jmp: "did you mean 'j'?",
  ld: "did you mean 'lw'? G32 is 32-bit",
  sd: "did you mean 'sw'? G32 is 32-bit",
  lwu: "did you mean 'lw'?",
  csrr: "control registers: 'mfcr rd, cr'",
  csrw: "control registers: 'mtcr cr, rs'",
  mfc0: "control registers: 'mfcr rd, cr'",
  mtc0: "control registers: 'mtcr cr, rs'",
  ecall: "did you mean 'syscall'?",
  ebreak: "did you mean 'brk'?",
  mret: "did you mean 'iret'?",
  sret: "did you mean 'iret'?",
  eret: "did you mean 'iret'?",
  wfi: "did you mean 'hlt'?",
  seqz: "write 'sltiu rd, rs, 1'",
  snez: "write 'sltu rd, zero, rs'",
  subi: "write 'addi rd, rs, -imm'",
  lla: "did you mean 'la'?",
  tail: "did you mean 'j'?",
  bltz: "write 'blt rs, zero, label'",
  bgez: "write 'bge rs, zero, label'",
};

/** Register names of other instruction sets → the G32 one. */
export const REGISTER_HINTS: Readonly<Record<string, string>> = {
  ra: "the return address is 'lr'",
  fp: "G32 has no frame pointer; use 'sp', or keep one in s0–s2",
  gp: "G32 has no global pointer: use 'la'",
  tp: "G32 has no thread pointer",
};

/** Numbered names past G32's ranges (`t9`, `a5`, `s4`, `r16`, `x16`): first letter → what G32 has. */
const RANGE_HINTS: Readonly<Record<string, string>> = {
  t: "the temporaries are t0–t4",
  a: "the argument registers are a0–a3",
  s: "the saved registers are s0–s2",
  r: "the registers are r0–r15",
  x: "the registers are r0–r15",
};

const REGISTER_LIST = "r0–r15 or zero a0–a3 t0–t4 s0–s2 k0 sp lr";

/** `message (hint)`, or the message alone. */
export function withHint(message: string, hint: string | undefined): string {
  return hint === undefined ? message : `${message} (${hint})`;
}

export function directiveHint(name: string): string | undefined {
  return ownValue(DIRECTIVE_HINTS, name);
}

export function mnemonicHint(mnemonic: string): string | undefined {
  return ownValue(MNEMONIC_HINTS, mnemonic);
}

/** For a name written where a register belongs: why it is not one, and what to write. */
export function registerHint(name: string): string {
  const lower = name.toLowerCase();
  const bare = lower.startsWith("$") || lower.startsWith("%") ? lower.slice(1) : lower;
  const known = ownValue(REGISTER_HINTS, bare);
  if (known !== undefined) return `'${name}' is not a register: ${known}`;
  if (bare !== lower && /^(r\d+|zero|a[0-3]|t[0-4]|s[0-2]|k0|sp|lr)$/.test(bare)) return `'${name}' is not a register: write '${bare}' without the '${lower[0]}'`;
  const numbered = /^([tasrx])(\d+)$/.exec(bare);
  if (numbered !== null && numbered[1] === "x" && Number(numbered[2]) <= 15) return `'${name}' is not a register: write 'r${numbered[2]}'`;
  if (numbered !== null) return `'${name}' is not a register: ${RANGE_HINTS[numbered[1]]}`;
  return `'${name}' is not a register: write ${REGISTER_LIST}`;
}

/** For a label where a memory operand belongs (`lw a0, counter`): the two-instruction form. */
export function memoryHint(mnemonic: string, name: string): string {
  return `at a label: 'lui t0, %hi(${name})', then '${mnemonic} …, %lo(${name})(t0)'`;
}

/** For an operand that follows another without a comma (`li a0 5`, `.equ N 4`), or `=` (`.equ N = 4`). */
export function separatorHint(text: string, at: number): string | undefined {
  const c = text.charCodeAt(at);
  if (c === 0x3d /* = */) return "G32 has no '=': write '.equ NAME, value'";
  // CRLF ends a line; a CR alone (classic Mac OS) does not, so the whole file reads as one line.
  if (c === 0x0d) return "a carriage return alone does not end a line: save the file with LF or CRLF line endings";
  const identOrNumber = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f || c === 0x2e || c === 0x24 || c === 0x22 || c === 0x27 || c === 0x25;
  return identOrNumber ? "operands are separated by commas" : undefined;
}

/** C preprocessor lines (`.S` files for GNU as): `#` starts a comment here, so each would be silently ignored. */
const PREPROCESSOR_HINTS: Readonly<Record<string, string>> = {
  define: "write .equ NAME, value (or previrt build -D NAME=VALUE)",
  undef: "a symbol cannot be undefined",
  include: "list every file on the previrt as or previrt build command line",
  if: "there is no conditional assembly, every line is assembled",
  ifdef: "there is no conditional assembly, every line is assembled",
  ifndef: "there is no conditional assembly, every line is assembled",
  elif: "there is no conditional assembly, every line is assembled",
  else: "there is no conditional assembly, every line is assembled",
  endif: "there is no conditional assembly, every line is assembled",
  pragma: "there are no pragmas",
};

/**
 * For a comment line that is a C preprocessor directive (`#define`, `#if`, … with no space after
 * the `#`): the error, or undefined for an ordinary comment (`# if the lock is taken`).
 */
export function preprocessorLine(text: string, at: number, end: number): string | undefined {
  const c = text.charCodeAt(at + 1);
  if (c < 0x61 || c > 0x7a) return undefined; // the common case: '# ' or '#-'
  let e = at + 1;
  while (e < end && text.charCodeAt(e) >= 0x61 && text.charCodeAt(e) <= 0x7a) e++;
  const word = text.slice(at + 1, e);
  if (e < end && text.charCodeAt(e) !== 0x20 && text.charCodeAt(e) !== 0x09) return undefined;
  const hint = ownValue(PREPROCESSOR_HINTS, word);
  return hint === undefined ? undefined : `'#${word}' would be a comment here (there is no preprocessor): ${hint}`;
}

/** For `//`, `/*` or `@` where an operand or the end of the line belongs: comment syntax. */
export function commentHint(text: string, at: number): string | undefined {
  const c = text.charCodeAt(at);
  const next = text.charCodeAt(at + 1);
  if (c === 0x2f /* / */ && (next === 0x2f || next === 0x2a)) return "comments start with '#' or ';'";
  if (c === 0x40 /* @ */) return "comments start with '#' or ';'; G32 assembly has no '@' syntax";
  return undefined;
}

export const NUMERIC_LABEL_HINT = "numeric local labels ('1:', '1b', '1f') are not supported: name the label, e.g. '.L1:', and refer to it by name";

export const SECTION_FLAGS_HINT = "'.section' takes only a name: flags and types (\"ax\", @progbits) are not accepted; the name decides them (.text is code, any other name writable data)";
