// `previrt objdump --sites`: the `.softlayer` table as a listing, one line
// per record — address, kind, length, the operands the record carries
// (strategy-independent: what the rewriter will read, not what any back end
// makes of it) and the source line the site came from. Exempt `.noannotate`
// regions are marked.
//
// Consumes: an ElfImage. Produces: text. A missing or malformed table is a
// UserError (`previrt: error: …`); `previrt verify` says more about what is
// wrong with a table.

import { UserError } from "../guest-isa/diagnostics.js";
import { findSection, SOFTLAYER_SECTION, type ElfImage } from "../guest-isa/elf-types.js";
import { BY_OPCODE, FORMATS } from "../guest-isa/isa-table.js";
import { CR_NAMES, registerName } from "../guest-isa/registers.js";
import { LOCK_SITE_KINDS, MEMORY_SITE_KINDS, parseSoftlayerTable, SITE_FLAG_EXEMPT, SoftlayerFormatError, siteKindName, type SiteRecord } from "../guest-isa/softlayer.js";

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
const MEMORY_KINDS = new Set<number>(Object.values(MEMORY_SITE_KINDS));

/** The operands a record carries, in assembly syntax. */
export function formatRecordOperands(r: SiteRecord): string {
  if (r.flags & SITE_FLAG_EXEMPT) return "";
  const off = (r.imm << 16) >> 16; // the low 16 bits of the offset, shown signed
  if (MEMORY_KINDS.has(r.kind) || r.kind === LOCK_SITE_KINDS.unlock) return `${registerName(r.regA)}, ${off}(${registerName(r.regB)})`;
  // A lock site's amoswap swaps its destination register in (rd = rs2); a ticket site's amoadd adds it.
  if (r.kind === LOCK_SITE_KINDS.lock || r.kind === LOCK_SITE_KINDS.ticket) return `${registerName(r.regA)}, ${registerName(r.regA)}, ${off}(${registerName(r.regB)})`;
  const row = BY_OPCODE[r.kind];
  if (!row) return `regA=${r.regA} regB=${r.regB} imm=${r.imm}`;
  return FORMATS[row.format].operands
    .map((o) => {
      if (o.kind === "reg") return registerName(o.field === "A" ? r.regA : r.regB);
      if (o.kind === "cr") return CR_NAMES[r.imm] ?? String(r.imm);
      if (o.kind === "port") return "0x" + r.imm.toString(16);
      if (o.kind === "mem") return `${off}(${registerName(r.regB)})`;
      return String(r.imm);
    })
    .join(", ");
}

export function formatSiteListing(image: ElfImage, name = "image"): string {
  const section = findSection(image, SOFTLAYER_SECTION);
  if (!section) throw new UserError(`${name}: this binary has no ${SOFTLAYER_SECTION} table`);
  let records: SiteRecord[];
  let version: number;
  try {
    ({ records, version } = parseSoftlayerTable(section.data.subarray(0, section.size)));
  } catch (e) {
    if (e instanceof SoftlayerFormatError) throw new UserError(`${name}: malformed ${SOFTLAYER_SECTION} table: ${e.message}`);
    throw e;
  }
  const lines = [
    `${SOFTLAYER_SECTION}: ${records.length} site record${records.length === 1 ? "" : "s"} (table version ${version})`,
    `  ${"#".padStart(4)}  ${"address".padEnd(10)}  ${"kind".padEnd(10)}  ${"length".padStart(6)}  ${"operands".padEnd(18)}  source`,
  ];
  const byKind = new Map<string, number>();
  let padding = 0;
  records.forEach((r, i) => {
    const exempt = (r.flags & SITE_FLAG_EXEMPT) !== 0;
    const kind = exempt ? "exempt" : siteKindName(r.kind);
    if (!exempt) {
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      padding += Math.max(0, r.length - 4);
    }
    const operands = exempt ? "(.noannotate)" : formatRecordOperands(r);
    const source = r.line ? `${r.file}:${r.line}` : r.file || "?";
    lines.push(`  ${String(i).padStart(4)}  ${hex(r.addr)}  ${kind.padEnd(10)}  ${String(r.length).padStart(6)}  ${operands.padEnd(18)}  ${source}`);
  });
  const sites = records.length - records.filter((r) => r.flags & SITE_FLAG_EXEMPT).length;
  const kinds = [...byKind].map(([k, n]) => `${k} ${n}`).join(", ");
  lines.push(`${sites} site${sites === 1 ? "" : "s"}${kinds ? ` (${kinds})` : ""}, ${padding} bytes of padding, ${records.length - sites} exempt region${records.length - sites === 1 ? "" : "s"}`);
  return lines.join("\n") + "\n";
}
