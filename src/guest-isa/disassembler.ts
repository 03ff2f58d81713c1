// The G32 disassembler: instruction words → assembly text that re-assembles.
//
// Consumes instruction words (disassembleInstruction) or an ElfImage's .text
// (disassembleText) and produces G32 assembly in the syntax of docs/design.md §2.
// It is driven entirely by the ISA table: the decoder (encoding.ts) finds the
// row, and the row's format's operand specs (isa-table.ts FORMATS) say how to
// print each operand — there is no per-mnemonic code here.
//
// The listing is meant to go back through `previrt as` and give the same
// .text bytes: symbols become `name:` lines (`.global name` for globals),
// branch and jal targets print as labels (the symbol at the target, else a
// generated `.L_<hex address>` label emitted at the target), words that do not
// decode print as `.word 0x…`, and addresses and raw words sit in `#` comments.
// Pseudo-instruction aliases (`nop`, `mv`, `ret`, `j`, `call`, `beqz`, …) come
// from the pseudo-instruction table (pseudo-table.ts): a pseudo whose
// expansion is one instruction with at least one fixed operand is printed in
// place of the canonical line it matches (the most specific one wins), so the
// assembler's own expansion gives back the same word. Pure operand swaps
// (`bgt` for `blt`) are not used: they would rename every `blt`. Pass
// `{ aliases: false }` for canonical-only output.

import { TEXT_BASE } from "./assembler/layout.js";
import { shownName } from "./diagnostics.js";
import { decodeInstruction, type DecodedInstruction } from "./encoding.js";
import { SHF_ALLOC, SHT_NOBITS, SOFTLAYER_SECTION, type ElfImage, type ElfSection, type ElfSymbol } from "./elf-types.js";
import { FORMATS, type OperandSpec } from "./isa-table.js";
import { PSEUDO_INSTRUCTIONS } from "./pseudo-table.js";
import { CR_NAMES, parseRegister, registerName } from "./registers.js";

export interface DisassemblyOptions {
  /** Print pseudo-instruction aliases where one matches exactly (default true). */
  aliases?: boolean;
}

/** The address the assembler's linker puts `.text` at. */
const DEFAULT_TEXT_BASE = TEXT_BASE;

/** Names a branch/jal target; undefined when there is no name for it. */
export type SymbolAt = (address: number) => string | undefined;

const hex = (n: number) => "0x" + (n >>> 0).toString(16);
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** The label generated for an unnamed branch target. */
export function generatedLabel(address: number): string {
  return `.L_${(address >>> 0).toString(16)}`;
}

/** Prints one operand of a decoded instruction from its operand spec. */
function formatOperand(op: OperandSpec, d: DecodedInstruction, pc: number, symbolAt: SymbolAt | undefined): string {
  const reg = (field: OperandSpec["field"]) => registerName(field === "A" ? d.a : field === "B" ? d.b : d.c);
  switch (op.kind) {
    case "reg":
      return reg(op.field);
    case "mem":
      return `${d.imm}(${reg("B")})`;
    case "imm":
      // lui's operand is the raw 20-bit field: hex reads as the upper bits of an address.
      return op.field === "imm20" ? hex(d.imm) : String(d.imm);
    case "label": {
      const target = (pc + d.imm) >>> 0;
      return symbolAt?.(target) ?? generatedLabel(target);
    }
    case "cr":
      return CR_NAMES[d.imm] ?? String(d.imm);
    case "port":
      return hex(d.imm);
  }
}

/**
 * Disassembles one word at address `pc`: "mnemonic operands", or
 * `.word 0x…` when the word is not a valid instruction. Branch and jal targets
 * are named by `symbolAt`, else by the generated `.L_<hex>` label.
 */
export function disassembleInstruction(word: number, pc: number, symbolAt?: SymbolAt, options: DisassemblyOptions = {}): string {
  const d = decodeInstruction(word);
  if (!d) return `.word ${hex(word)}`;
  const operands = FORMATS[d.row.format].operands.map((op) => formatOperand(op, d, pc, symbolAt));
  if (options.aliases !== false) {
    const alias = matchAlias(d.row.mnemonic, operands);
    if (alias) return alias;
  }
  return formatLine(d.row.mnemonic, operands);
}

function formatLine(mnemonic: string, operands: readonly string[]): string {
  return operands.length === 0 ? mnemonic : `${mnemonic.padEnd(7)} ${operands.join(", ")}`;
}

/** A one-instruction pseudo as a pattern over the canonical operand texts. */
interface AliasPattern {
  pseudo: string;
  /** Number of pseudo operands ($1 … $n). */
  arity: number;
  /** Per canonical operand: a regular expression whose groups are pseudo operand numbers. */
  operands: { re: RegExp; slots: number[] }[];
  /** Placeholders used: fewer means more specific. */
  placeholders: number;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Builds alias patterns from the pseudo table: one-instruction expansions with at least one fixed operand. */
function buildAliases(): Map<string, AliasPattern[]> {
  const byMnemonic = new Map<string, AliasPattern[]>();
  for (const p of PSEUDO_INSTRUCTIONS) {
    if (p.expansion.length !== 1) continue;
    const m = /^(\S+)\s*(.*)$/.exec(p.expansion[0].trim());
    if (!m) continue;
    const target = m[1].toLowerCase();
    const templateOps = m[2] === "" ? [] : m[2].split(",").map((t) => t.trim());
    let placeholders = 0;
    let fixed = 0;
    const operands = templateOps.map((t) => {
      const slots: number[] = [];
      // Split into placeholders and literal pieces; literal registers take their printed (ABI) name.
      const pieces = t.split(/(\$\d+)/).filter((x) => x !== "");
      const re = pieces
        .map((piece) => {
          const slot = /^\$(\d+)$/.exec(piece);
          if (slot) {
            slots.push(Number(slot[1]));
            placeholders++;
            return "(.+?)";
          }
          fixed++;
          return piece
            .split(/([()])/)
            .map((w) => {
              const reg = parseRegister(w.trim());
              return escapeRe(reg === undefined ? w : registerName(reg));
            })
            .join("");
        })
        .join("");
      return { re: new RegExp(`^${re}$`), slots };
    });
    if (fixed === 0) continue; // a pure operand permutation (bgt = blt swapped): never an alias
    const list = byMnemonic.get(target) ?? [];
    list.push({ pseudo: p.mnemonic, arity: p.operands.length, operands, placeholders });
    byMnemonic.set(target, list);
  }
  for (const list of byMnemonic.values()) list.sort((a, b) => a.placeholders - b.placeholders);
  return byMnemonic;
}

let aliasTable: Map<string, AliasPattern[]> | undefined;

/** The pseudo-instruction line that assembles to this canonical instruction, if any. */
function matchAlias(mnemonic: string, operands: readonly string[]): string | undefined {
  aliasTable ??= buildAliases();
  for (const pattern of aliasTable.get(mnemonic) ?? []) {
    if (pattern.operands.length !== operands.length) continue;
    const values: (string | undefined)[] = new Array(pattern.arity + 1);
    const ok = pattern.operands.every((op, i) => {
      const m = op.re.exec(operands[i]);
      if (!m) return false;
      return op.slots.every((slot, k) => {
        if (values[slot] !== undefined && values[slot] !== m[k + 1]) return false;
        values[slot] = m[k + 1];
        return true;
      });
    });
    if (!ok) continue;
    const args = values.slice(1);
    if (args.length !== pattern.arity || args.some((v) => v === undefined)) continue;
    return formatLine(pattern.pseudo, args as string[]);
  }
  return undefined;
}

/**
 * The pc-relative target of a word, if it is a branch or jal: pc + offset,
 * not wrapped (a result outside 0…0xFFFFFFFF means the branch wraps around
 * the address space, which no label can express).
 */
export function branchTarget(word: number, pc: number): number | undefined {
  const d = decodeInstruction(word);
  if (!d) return undefined;
  return FORMATS[d.row.format].operands.some((op) => op.kind === "label") ? (pc >>> 0) + d.imm : undefined;
}

const wraps = (target: number) => target < 0 || target > 0xffffffff;

const COMMENT_COLUMN = 36;

function line(code: string, comment: string): string {
  const text = "    " + code;
  return `${text.padEnd(COMMENT_COLUMN)} # ${comment}`;
}

/**
 * Picks the printed name of each symbol (labels and `.equ`s alike), so that
 * the listing never defines a name twice: two file-local symbols with the
 * same name (from two linked files — a label, or an `.equ CONSOLE, 0x10`
 * each file has) get distinct printed names. Renaming changes no byte: the
 * listing writes values, never symbol names, in operands.
 */
function assignLabelNames(symbols: readonly ElfSymbol[]): Map<ElfSymbol, string> {
  const used = new Set<string>();
  const names = new Map<ElfSymbol, string>();
  const seen = new Map<string, ElfSymbol>();
  // Globals first: they keep their names.
  const ordered = [...symbols].sort((a, b) => Number(b.global) - Number(a.global));
  for (const s of ordered) {
    const first = seen.get(s.name);
    if (first !== undefined && first.value === s.value && first.section === s.section) continue; // the same symbol twice: print it once
    let name = s.name;
    for (let n = 2; used.has(name); n++) name = `${s.name}__${n}`;
    used.add(name);
    seen.set(s.name, s);
    names.set(s, name);
  }
  return names;
}

/** Labels by address, shared by every section of a listing (so names are unique across the file). */
interface Label {
  name: string;
  global: boolean;
  /** The section the symbol is in (undefined for a generated label: wherever its address is listed). */
  section?: string;
}

interface LabelState {
  labelsAt: Map<number, Label[]>;
  usedNames: Set<string>;
  /** A label to define at `addr` in whatever section holds it (a branch target with no symbol). */
  fresh(addr: number): string;
  /** Whether an address lies inside a section the listing defines (so a label there can be emitted). */
  listed(addr: number): boolean;
}

function newLabelState(symbols: readonly ElfSymbol[], listed: (addr: number) => boolean, names = assignLabelNames(symbols)): LabelState {
  const labelsAt = new Map<number, Label[]>();
  const state: LabelState = {
    labelsAt,
    usedNames: new Set([...names.values()]),
    fresh(addr) {
      let name = generatedLabel(addr);
      for (let n = 2; state.usedNames.has(name); n++) name = `${generatedLabel(addr)}_${n}`;
      state.usedNames.add(name);
      return name;
    },
    listed,
  };
  for (const s of symbols) {
    const name = names.get(s);
    if (name !== undefined) addLabel(labelsAt, s.value >>> 0, name, s.global, s.section);
  }
  return state;
}

function addLabel(labelsAt: LabelState["labelsAt"], addr: number, name: string, global: boolean, section?: string): void {
  const list = labelsAt.get(addr) ?? [];
  list.push({ name, global, section });
  labelsAt.set(addr, list);
}

/**
 * The listing of an image's .text: a `.text` line, labels for every symbol in
 * .text and every branch target, then one instruction (or `.word`/`.byte`)
 * per line with its address and raw bytes in a comment. Re-assembling it gives
 * the same .text bytes. Targets outside .text are defined with `.equ`.
 * (`disassembleImage` lists every section.)
 */
export function disassembleText(image: ElfImage, options: DisassemblyOptions = {}): string {
  const text = image.sections.find((s) => s.name === ".text");
  if (!text) return ".text\n# (this image has no .text section)\n";
  const state = newLabelState(image.symbols.filter((s) => s.section === ".text"), () => false);
  return textListing(image, text, state, options).join("\n") + "\n";
}

function textListing(image: ElfImage, text: ElfSection, state: LabelState, options: DisassemblyOptions): string[] {
  const out: string[] = [".text"];
  const base = text.addr >>> 0;
  const data = text.type === SHT_NOBITS ? new Uint8Array(text.size) : text.data;
  const end = base + data.length;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (base !== DEFAULT_TEXT_BASE) out.push(`# .text starts at ${hex(base)}, not at the default ${hex(DEFAULT_TEXT_BASE)}: link the listing there to get the same addresses`);
  out.push(`# ${data.length} bytes at ${hex(base)}–${hex(end)}, entry ${hex(image.entry)}`);
  const { labelsAt, usedNames } = state;

  // Which byte offsets decode as a word: 4-aligned within .text with no label strictly inside.
  const wordAt = (off: number) =>
    off % 4 === 0 && off + 4 <= data.length && ![1, 2, 3].some((k) => labelsAt.has(base + off + k));

  // Branch targets: a symbol when there is one, else a generated label.
  const targetName = new Map<number, string>();
  const outside = new Map<number, string>();
  for (let off = 0; off < data.length; off += 4) {
    if (!wordAt(off)) continue;
    const target = branchTarget(view.getUint32(off, true), base + off);
    if (target === undefined || wraps(target) || targetName.has(target)) continue;
    const here = labelsAt.get(target);
    if (here) {
      targetName.set(target, (here.find((l) => l.global) ?? here[0]).name);
    } else if ((target >= base && target <= end) || state.listed(target)) {
      const name = state.fresh(target);
      targetName.set(target, name);
      addLabel(labelsAt, target, name, false);
    } else {
      // Outside every listed section: keep the name of a symbol there (another section's label) if it is free.
      const named = image.symbols.filter((s) => s.value >>> 0 === target && s.section !== ".text").sort((a, b) => Number(b.global) - Number(a.global));
      const free = named.find((s) => !usedNames.has(s.name));
      const name = free ? free.name : state.fresh(target);
      usedNames.add(name);
      targetName.set(target, name);
      outside.set(target, name);
    }
  }
  // (Targets are pc + 4k, so a generated label never falls strictly inside a word.)
  for (const [addr, name] of outside) out.push(`.equ ${name}, ${hex(addr)}    # a branch target outside .text`);

  const symbolAt: SymbolAt = (addr) => targetName.get(addr >>> 0);
  const emitLabels = (addr: number) => emitLabelLines(out, state, addr, ".text");
  let off = 0;
  while (off < data.length) {
    const addr = base + off;
    emitLabels(addr);
    if (wordAt(off)) {
      const word = view.getUint32(off, true);
      const target = branchTarget(word, addr);
      if (target !== undefined && wraps(target)) {
        // Keep the bytes; say what it is in the comment.
        const what = disassembleInstruction(word, addr, undefined, { aliases: false });
        out.push(line(`.word ${hex(word)}`, `${hex8(addr)}: ${what} (target wraps around the address space)`));
      } else {
        out.push(line(disassembleInstruction(word, addr, symbolAt, options), `${hex8(addr)}: ${hex8(word)}`));
      }
      off += 4;
    } else {
      out.push(line(`.byte ${hex(data[off])}`, `${hex8(addr)}`));
      off += 1;
    }
  }
  emitLabels(end);
  return out;
}

// ─── the whole image ─────────────────────────────────────────────────────────

/** The standard sections, in the order the linker places them (layout.ts), each with the directive that selects it. */
const STANDARD_SECTIONS = [".text", ".rodata", ".data", ".bss"];
const IDENT = /^[A-Za-z_.$][A-Za-z0-9_.$]*$/;

/** `.section NAME`, quoting a name that is not an identifier. */
function sectionDirective(name: string): string {
  if (STANDARD_SECTIONS.includes(name)) return name;
  if (IDENT.test(name)) return `.section ${name}`;
  return `.section "${[...new TextEncoder().encode(name)].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("")}"`;
}

/**
 * The listing of a whole image, which `previrt as` turns back into a program
 * that behaves the same: .text as instructions (disassembleText), then every
 * other section in the order the linker places them — .rodata, .data and
 * other data sections as `.word`/`.byte` data, .bss as `.space`, the
 * `.softlayer` table as its words (the assembler merges it back into the same
 * table) — each preceded by its `.align`, with every symbol as a label
 * (`.global` kept) and absolute symbols as `.equ`. Sections land at the same
 * addresses when the image was laid out by previrt's linker (.text at
 * 0x1000, each section on the next page); the header comment says when the
 * image differs.
 */
export function disassembleImage(image: ElfImage, options: DisassemblyOptions = {}): string {
  const order = [...STANDARD_SECTIONS, ...image.sections.map((s) => s.name).filter((n) => !STANDARD_SECTIONS.includes(n) && n !== SOFTLAYER_SECTION), SOFTLAYER_SECTION];
  const sections = order.map((n) => image.sections.find((s) => s.name === n)).filter((s): s is ElfSection => s !== undefined);
  const allocated = sections.filter((s) => (s.flags & SHF_ALLOC) !== 0);
  const listed = (addr: number) => allocated.some((s) => s.name !== ".text" && addr >= s.addr && addr < s.addr + s.size);
  // Symbol names that cannot be written as labels are renamed (the bytes do not depend on names). Judged once
  // per distinct name: a file's symbols may share one long name (time in proportion to the file).
  const writable = new Map<string, boolean>();
  const isLabel = (name: string) => writable.get(name) ?? writable.set(name, IDENT.test(name) && !name.startsWith(".L_")).get(name)!;
  const symbols = image.symbols.map((s) => (isLabel(s.name) ? s : { ...s, name: `.L_sym_${(s.value >>> 0).toString(16)}` }));
  // One naming for labels and absolute symbols: a name is defined once in the listing.
  const names = assignLabelNames(symbols);
  const state = newLabelState(symbols.filter((s) => s.section !== undefined), listed, names);
  const out: string[] = [
    "# previrt objdump -d: the whole image as assembly. `previrt as` on this text gives a program that",
    "# behaves the same: the same bytes in every section, at the same addresses, the same symbols.",
  ];
  if (!image.sections.some((s) => s.name === ".text")) out.push("# (this image has no .text section)");
  const absolute = symbols.filter((s) => s.section === undefined);
  for (const s of absolute) {
    const name = names.get(s);
    if (name === undefined) continue; // the same .equ in two files: defined once
    if (s.global) out.push(`.global ${name}`);
    out.push(`.equ ${name}, ${hex(s.value)}`);
  }
  let cursor = DEFAULT_TEXT_BASE;
  const text = sections.find((s) => s.name === ".text");
  for (const s of sections) {
    const alloc = (s.flags & SHF_ALLOC) !== 0;
    if (alloc) {
      // Where previrt's linker would put this section: the next page (or the section's alignment) after the last.
      const expect = Math.ceil(cursor / Math.max(0x1000, s.align || 1)) * Math.max(0x1000, s.align || 1);
      if (s.addr >>> 0 !== expect && !(s.size === 0 && s.addr >>> 0 === cursor)) {
        out.push(`# note: ${shownName(s.name)} is at ${hex(s.addr)}; re-assembled it would be at ${hex(expect)}`);
      }
      cursor = Math.max(cursor, (s.addr >>> 0) + s.size);
    }
    if (s === text) {
      out.push(...textListing(image, s, state, options));
      continue;
    }
    out.push("", sectionDirective(s.name));
    if (s.align > 1) out.push(`.align ${s.align}`);
    out.push(`# ${s.size} bytes${alloc ? ` at ${hex(s.addr)}–${hex((s.addr >>> 0) + s.size)}` : " (not loaded)"}`);
    if (s.type === SHT_NOBITS) out.push(...spaceListing(s, state));
    else out.push(...dataListing(s, state));
  }
  if (image.entry !== 0 && !image.symbols.some((s) => s.name === "_start" && s.value >>> 0 === image.entry >>> 0)) {
    out.push(`# note: the entry point is ${hex(image.entry)}; the assembler starts at '_start'`);
  }
  return out.join("\n") + "\n";
}

/** Every label between `from` and `to` (exclusive) of a section, by address. */
function labelPoints(state: LabelState, from: number, to: number): number[] {
  const points: number[] = [];
  for (const addr of state.labelsAt.keys()) if (addr >= from && addr < to) points.push(addr);
  return points.sort((a, b) => a - b);
}

/**
 * Defines the labels at `addr` that belong to `section` (its symbols, and generated labels), each
 * once: an address at the end of one section and the start of the next is listed in the right one.
 */
function emitLabelLines(out: string[], state: LabelState, addr: number, section: string): void {
  const list = state.labelsAt.get(addr);
  if (!list) return;
  const rest: Label[] = [];
  for (const l of list) {
    if (l.section !== undefined && l.section !== section) {
      rest.push(l);
      continue;
    }
    if (l.global) out.push(`.global ${l.name}`);
    out.push(`${l.name}:`);
  }
  if (rest.length) state.labelsAt.set(addr, rest);
  else state.labelsAt.delete(addr);
}

/** A data section: runs of bytes between labels, as `.word`s (4 to a line) where 4-aligned, else `.byte`s. */
function dataListing(s: ElfSection, state: LabelState): string[] {
  const out: string[] = [];
  const alloc = (s.flags & SHF_ALLOC) !== 0;
  const base = alloc ? s.addr >>> 0 : 0;
  const data = s.data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const points = alloc ? labelPoints(state, base, base + s.size) : [];
  let p = 0;
  let off = 0;
  while (off < data.length) {
    if (alloc) emitLabelLines(out, state, base + off, s.name);
    while (p < points.length && points[p] <= base + off) p++;
    const stop = Math.min(data.length, p < points.length ? points[p] - base : data.length);
    while (off < stop) {
      if (off % 4 === 0 && off + 4 <= stop) {
        const words: string[] = [];
        const at = off;
        while (words.length < 4 && off + 4 <= stop) {
          words.push(hex(view.getUint32(off, true)));
          off += 4;
        }
        out.push(line(`.word ${words.join(", ")}`, alloc ? hex8(base + at) : `+${hex(at)}`));
      } else {
        const bytes: string[] = [];
        const at = off;
        while (off < stop && (bytes.length === 0 || off % 4 !== 0) && bytes.length < 4) bytes.push(hex(data[off++]));
        out.push(line(`.byte ${bytes.join(", ")}`, alloc ? hex8(base + at) : `+${hex(at)}`));
      }
    }
  }
  if (alloc) emitLabelLines(out, state, base + data.length, s.name);
  return out;
}

/** A NOBITS section: `.space` between its labels. */
function spaceListing(s: ElfSection, state: LabelState): string[] {
  const out: string[] = [];
  const base = s.addr >>> 0;
  let at = base;
  for (const point of [...labelPoints(state, base, base + s.size), base + s.size]) {
    if (point > at) out.push(line(`.space ${point - at}`, hex8(at)));
    at = point;
    emitLabelLines(out, state, point, s.name);
  }
  return out;
}
