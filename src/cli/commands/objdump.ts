// `previrt objdump OUT.elf [-d] [--sites]` (docs/design.md §6).
//
// Reads an ELF with readElf (guest-isa/elf.ts) and prints, to stdout:
//   no flag   a summary: file type, entry point, sections (address, size,
//             alignment, flags), symbol counts;
//   -d        the whole image as assembly (guest-isa/disassembler.ts
//             disassembleImage): .text as instructions, data sections as
//             .word/.byte, .bss as .space, the .softlayer table, every
//             symbol; `previrt as` turns it back into a program that
//             behaves the same;
//   --sites   the soft-layer sites (the annotator's listing; see below).
// A malformed file is `previrt: error: FILE: <what is wrong>`.

import { statSync } from "node:fs";
import { disassembleImage } from "../../guest-isa/disassembler.js";
import { EM_G32 } from "../../guest-isa/elf.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, type ElfImage } from "../../guest-isa/elf-types.js";
import { formatSiteListing } from "../../annotator/site-listing.js";
import { readElfInput } from "../files.js";
import type { CommandRunner } from "../main.js";

const hex8 = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

export const run: CommandRunner = async (args, options, io) => {
  const file = args[0];
  const image = readElfInput(file);
  const disassemble = Boolean(options.disassemble);
  const sites = Boolean(options.sites);
  if (!disassemble && !sites) io.out(formatSummary(file, statSync(file).size, image));
  if (disassemble) io.out(disassembleImage(image));
  if (sites) io.out(formatSites(file, image));
  return 0;
};

/** The header summary: what `previrt objdump FILE` prints without flags. */
export function formatSummary(file: string, fileSize: number, image: ElfImage): string {
  const entrySyms = image.symbols.filter((s) => s.value === image.entry && s.section !== undefined).map((s) => s.name);
  const lines = [
    `${file}: ELF32 little-endian executable, G32 (e_machine ${"0x" + EM_G32.toString(16)}), ${fileSize} bytes`,
    `entry ${hex8(image.entry)}${entrySyms.length ? ` (${entrySyms.join(", ")})` : ""}`,
    "",
    "Sections:",
    `  ${"[Nr]"} ${"name".padEnd(12)} ${"address".padEnd(10)} ${"size".padEnd(10)} ${"align".padStart(5)}  flags`,
  ];
  image.sections.forEach((s, i) => {
    const flags =
      (s.flags & SHF_WRITE ? "W" : "") + (s.flags & SHF_ALLOC ? "A" : "") + (s.flags & SHF_EXECINSTR ? "X" : "");
    const notes = [s.type === SHT_NOBITS ? "nobits" : "", s.flags & SHF_ALLOC ? "" : "not loaded"].filter(Boolean).join(", ");
    lines.push(
      `  [${String(i + 1).padStart(2)}] ${s.name.padEnd(12)} ${hex8(s.addr)} ${hex8(s.size)} ${String(s.align).padStart(5)}  ${flags.padEnd(3)}${notes ? `  (${notes})` : ""}`.trimEnd(),
    );
  });
  const globals = image.symbols.filter((s) => s.global).length;
  const absolute = image.symbols.filter((s) => s.section === undefined).length;
  lines.push("", `Symbols: ${image.symbols.length} (${globals} global, ${image.symbols.length - globals} local, ${absolute} absolute)`);
  return lines.join("\n") + "\n";
}

// ─── --sites (annotator, issue 5) ───────────────────────────────────────────
// The listing is the annotator's: src/annotator/site-listing.ts.

function formatSites(file: string, image: ElfImage): string {
  return formatSiteListing(image, file);
}
// ─── end --sites ────────────────────────────────────────────────────────────
