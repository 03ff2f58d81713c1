// `previrt load FILE.elf --hv X [--show-sites]`: runs the load-time rewriter
// for a back end without running the guest, and says what it did — per site
// (with --show-sites) the address, kind, source line, the instructions
// before and after, and the strategy; always the counts per strategy. The
// rewritten image is loaded into the machine `run` would build (not run), so
// a binary `run` refuses is refused here with the same line.

import { shownName } from "../../guest-isa/diagnostics.js";
import { disassembleInstruction } from "../../guest-isa/disassembler.js";
// One back end, loaded by name (registry.ts): not hypervisors/index.ts, which loads all five (issue 16).
import { prepareImage } from "../../hypervisors/backend.js";
import { loadBackend } from "../../hypervisors/registry.js";
import { buildMachine } from "../../machine/run-image.js";
import { STRATEGIES, type RewriteResult, type SiteOutcome } from "../../rewriter/index.js";
import { readElfInput } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = async (args, options, io) => {
  const [file] = args;
  const backend = await loadBackend(String(options.hv));
  const image = readElfInput(file);
  const result = prepareImage(backend, image, file);
  // The loader's rule, where run applies it: the image fits in the guest RAM the back end's monitor leaves.
  buildMachine(result.image, { monitor: backend.createMonitor?.(result, { cpus: 1 }), file });
  if (options.showSites) io.out(formatSiteOutcomes(result));
  io.out(formatRewriteSummary(result) + "\n");
  return 0;
};

const hex8 = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

function words(ws: Uint32Array, addr: number): string {
  return [...ws].map((w, i) => disassembleInstruction(w, addr + 4 * i).replace(/\s+/g, " ")).join("; ");
}

/** The site table, a line per site; nothing when there is no site (the summary line says why), rather than a header run into it. */
export function formatSiteOutcomes(result: RewriteResult): string {
  if (result.sites.length === 0) return "";
  const rows = result.sites.map((s: SiteOutcome) => [
    hex8(s.record.addr),
    s.kindName,
    s.record.line ? `${shownName(s.record.file)}:${s.record.line}` : shownName(s.record.file) || "?",
    s.strategy,
    words(s.before.subarray(0, 1), s.record.addr),
    words(s.after, s.record.addr) + (s.stubAddr !== undefined ? `   [stub at ${hex8(s.stubAddr)}]` : ""),
  ]);
  const header = ["address", "kind", "source", "strategy", "before", "after"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function formatRewriteSummary(result: RewriteResult): string {
  if (!result.annotated) return `${result.target}: plain binary (no .softlayer table): nothing to rewrite`;
  const n = result.sites.length;
  const parts = STRATEGIES.map((s) => `${result.counts[s]} ${s}`).join(", ");
  const exempt = result.exemptRegions ? `; ${result.exemptRegions} .noannotate region${result.exemptRegions > 1 ? "s" : ""} left alone` : "";
  const stubs = result.stubs.length ? `; ${result.stubs.length} stub${result.stubs.length > 1 ? "s" : ""} in the soft-layer window` : "";
  return `${result.target}: ${n} site${n === 1 ? "" : "s"} rewritten: ${parts}${exempt}${stubs}`;
}
