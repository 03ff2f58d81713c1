// `previrt verify`'s engine — the objtool of previrt. Given a linked image,
// it reports every sensitive instruction in .text that no site covers (and
// that no `.noannotate` exempt record excuses), plus every problem the
// shared table validator (guest-isa/site-validate.ts) finds.
//
// Consumes: an ElfImage. Produces: a VerifyReport (problems as data) and its
// text form: one line per problem, `ADDR: message` or `record N (ADDR):
// message`, then a summary line.
//
// Memory-sensitive sites (`.sensitive pte|mmio`) cannot be found from the
// bytes — any load may touch a page table — so only instruction kinds are
// checked for coverage; their records are still validated.

import { decodeInstruction } from "../guest-isa/encoding.js";
import { findSection, SOFTLAYER_SECTION, type ElfImage } from "../guest-isa/elf-types.js";
import { validateSiteTable, type SiteProblem } from "../guest-isa/site-validate.js";
import { SITE_FLAG_EXEMPT } from "../guest-isa/softlayer.js";

export interface VerifyReport {
  /** Whether the image has a .softlayer section. */
  annotated: boolean;
  sites: number;
  exemptRegions: number;
  /** Sensitive instructions found in .text. */
  sensitive: number;
  /** Table problems first (in record order), then uncovered instructions (in address order). */
  problems: SiteProblem[];
}

export function verifyImage(image: ElfImage): VerifyReport {
  const { problems, table } = validateSiteTable(image);
  const annotated = findSection(image, SOFTLAYER_SECTION) !== undefined;
  const records = table?.records ?? [];
  const siteStarts = new Set<number>();
  const exempt: { start: number; end: number }[] = [];
  const padding: { start: number; end: number; index: number }[] = [];
  records.forEach((r, index) => {
    const a = r.addr >>> 0;
    if (r.flags & SITE_FLAG_EXEMPT) exempt.push({ start: a, end: a + r.length });
    else {
      siteStarts.add(a);
      if (r.length > 4) padding.push({ start: a + 4, end: a + r.length, index });
    }
  });
  // .text is scanned in address order; each list is swept once alongside it (sorted by start, with the
  // furthest-reaching range so far), so a table with many records costs n log n, not n × records.
  const sweep = <R extends { start: number; end: number }>(ranges: R[]) => {
    ranges.sort((a, b) => a.start - b.start);
    let next = 0;
    let reach: R | undefined;
    return (a: number): R | undefined => {
      for (; next < ranges.length && ranges[next].start <= a; next++) if (!reach || ranges[next].end > reach.end) reach = ranges[next];
      return reach && a < reach.end ? reach : undefined;
    };
  };
  const exemptAt = sweep(exempt);
  const paddingAt = sweep(padding);

  const uncovered: SiteProblem[] = [];
  let sensitive = 0;
  const text = findSection(image, ".text");
  if (annotated && !table && text) {
    // The table did not parse: coverage cannot be judged; the parse problem is reported.
  } else if (text) {
    const view = new DataView(text.data.buffer, text.data.byteOffset, text.data.byteLength);
    const base = text.addr >>> 0;
    for (let off = 0; off + 4 <= text.data.length; off += 4) {
      const row = decodeInstruction(view.getUint32(off, true))?.row;
      if (!row?.sensitive) continue;
      sensitive++;
      const addr = base + off;
      const pad = paddingAt(addr);
      if (siteStarts.has(addr) || exemptAt(addr)) continue;
      uncovered.push({
        addr,
        message: `${row.mnemonic} is not covered by a site${pad ? ` (it is inside the padding of record ${pad.index})` : ""}`,
      });
    }
  }
  if (!annotated && uncovered.length) {
    problems.push({ message: `no ${SOFTLAYER_SECTION} table: the binary is not annotated (build it with 'previrt build', or run 'previrt annotate')` });
  }
  problems.push(...uncovered);
  return {
    annotated,
    sites: records.filter((r) => !(r.flags & SITE_FLAG_EXEMPT)).length,
    exemptRegions: records.filter((r) => r.flags & SITE_FLAG_EXEMPT).length,
    sensitive,
    problems,
  };
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** One line per problem, then a summary; `name` is the file shown in the summary. */
export function formatVerifyReport(report: VerifyReport, name: string): string {
  const lines = report.problems.map((p) =>
    p.record !== undefined
      ? `record ${p.record}${p.addr !== undefined ? ` (${hex(p.addr)})` : ""}: ${p.message}`
      : p.addr !== undefined
        ? `${hex(p.addr)}: ${p.message}`
        : `${SOFTLAYER_SECTION}: ${p.message}`,
  );
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  const facts = `${plural(report.sites, "site")}, ${plural(report.exemptRegions, "exempt region")}, ${plural(report.sensitive, "sensitive instruction")} in .text`;
  lines.push(
    report.problems.length === 0
      ? `${name}: ok: ${facts}${report.annotated ? "" : " (no .softlayer table)"}`
      : `${name}: ${plural(report.problems.length, "problem")} (${facts})`,
  );
  return lines.join("\n") + "\n";
}
