// `previrt objdump OUT.elf [-d] [--sites]` (DESIGN.md §6).
//
// Reads an ELF with readElf (guest-isa/elf.ts) and prints, to stdout:
//   no flag   a summary: file type, entry point, sections (address, size,
//             alignment, flags), symbol counts;
//   -d        the disassembly listing of .text (guest-isa/disassembler.ts),
//             which `previrt as` re-assembles to the same .text bytes;
//   --sites   the soft-layer sites (the annotator's listing; see below).
// A malformed file is `previrt: error: FILE: <what is wrong>`.

import { stat } from "node:fs/promises";
import { UserError } from "../../guest-isa/diagnostics.js";
import { disassembleText } from "../../guest-isa/disassembler.js";
import { EM_G32, readElfFile } from "../../guest-isa/elf.js";
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SOFTLAYER_SECTION, findSection, type ElfImage } from "../../guest-isa/elf-types.js";
import { SOFTLAYER_MAGIC } from "../../guest-isa/softlayer.js";
import type { CommandRunner } from "../main.js";

const hex8 = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

export const run: CommandRunner = async (args, options, io) => {
  const file = args[0];
  const image = await readElfFile(file);
  const disassemble = Boolean(options.disassemble);
  const sites = Boolean(options.sites);
  if (!disassemble && !sites) io.out(formatSummary(file, (await stat(file)).size, image));
  if (disassemble) io.out(disassembleText(image));
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

// ─── --sites ─────────────────────────────────────────────────────────────────
// Placeholder until the annotator provides the real site listing: it checks
// that the table exists and prints the record count from the table's 16-byte
// header (u32 magic, u16 version, u16 record size, u32 count, …; see
// guest-isa/softlayer.ts). The annotator replaces formatSites.

function formatSites(file: string, image: ElfImage): string {
  const table = findSection(image, SOFTLAYER_SECTION);
  if (!table) throw new UserError(`${file}: this binary has no ${SOFTLAYER_SECTION} table`);
  if (table.data.length < 16) throw new UserError(`${file}: the ${SOFTLAYER_SECTION} table is truncated (${table.data.length} bytes, header is 16)`);
  const view = new DataView(table.data.buffer, table.data.byteOffset, table.data.byteLength);
  if (view.getUint32(0, true) !== SOFTLAYER_MAGIC) throw new UserError(`${file}: the ${SOFTLAYER_SECTION} section does not start with the table's magic number`);
  const count = view.getUint32(8, true);
  return `${SOFTLAYER_SECTION}: ${count} site record${count === 1 ? "" : "s"}\n`;
}
