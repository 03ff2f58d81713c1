// `previrt demo` (`npm start`): the main job in one command. Builds the
// bundled kernel (fixtures/kernel, the `mixed` workload) once from source —
// user programs unannotated, the kernel annotated — shows what the
// annotator found, runs that one binary on every registered back end with
// the matrix (a fresh in-memory disk per run), and says what the table
// means. trap is allowed to diverge, and the output says why.

import { writeElf } from "../../guest-isa/elf.js";
import { findSection } from "../../guest-isa/elf-types.js";
import { parseSoftlayerTable, SITE_FLAG_EXEMPT, siteKindName } from "../../guest-isa/softlayer.js";
import { backends } from "../../hypervisors/index.js";
import { runMatrix } from "../../hypervisors/matrix.js";
import { buildKernel, kernelDisk, USER_PROGRAMS } from "../bundled-kernel.js";
import type { CommandRunner } from "../main.js";
import { describeProblem, describeVerdict, formatMatrix, isDivergence } from "./matrix.js";

export const DEMO_WORKLOAD = "mixed";
/** Back ends allowed to diverge on the bundled kernel, and why (printed, not hidden). */
const EXPECTED_DIVERGENCE: Record<string, string> = {
  trap:
    "classic trap-and-emulate cannot virtualize rdpsr/wrpsr (sensitive but not privileged, so they do not trap):\n" +
    "  the kernel's local_irq_restore (wrpsr) never turns interrupts back on, and its boot-time wait for a timer tick fails",
};

export const run: CommandRunner = (_args, _options, io) => {
  const started = Date.now();
  const { image } = buildKernel({ workload: DEMO_WORKLOAD });
  const bytes = writeElf(image);
  const table = findSection(image, ".softlayer");
  const records = table ? parseSoftlayerTable(table.data).records.filter((r) => !(r.flags & SITE_FLAG_EXEMPT)) : [];
  const byKind = new Map<string, number>();
  for (const r of records) byKind.set(siteKindName(r.kind), (byKind.get(siteKindName(r.kind)) ?? 0) + 1);
  const kinds = [...byKind].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(", ");
  io.out(`Built the bundled kernel (fixtures/kernel, workload '${DEMO_WORKLOAD}') once from source in ${((Date.now() - started) / 1000).toFixed(1)} s:\n`);
  io.out(`  ${bytes.length} bytes of ELF; ${USER_PROGRAMS.length} user programs embedded, built without annotation;\n`);
  io.out(`  ${records.length} annotated sites in the kernel (${kinds}).\n\n`);

  const names = [...backends.keys()];
  const ordered = names.includes("bare") ? ["bare", ...names.filter((n) => n !== "bare")] : names;
  const rows = runMatrix(image, { backends: ordered, maxCycles: 2_000_000_000, disk: () => kernelDisk() });
  io.out(`previrt matrix kernel.elf --allow-diverge trap\n\n`);
  io.out(formatMatrix(rows) + "\n");

  io.out("One binary ran on every back end: 'same' = identical console output and exit status to bare metal; cycles are what the\n");
  io.out("emulated machine counted (instructions × cost + events such as VM exits, hypercalls, IPCs; docs/cost-model.md), so 'vs bare' is each back end's virtualization overhead.\n");
  for (const r of rows) {
    if (isDivergence(r.verdict) && EXPECTED_DIVERGENCE[r.backend]) io.out(`${r.backend} ${describeVerdict(r.verdict)}, as it must: ${EXPECTED_DIVERGENCE[r.backend]}.\n`);
  }
  const unexpected = rows.filter((r) => isDivergence(r.verdict) && !(r.backend in EXPECTED_DIVERGENCE));
  for (const r of unexpected) io.err(`previrt: error: ${r.backend} ${describeProblem(r.verdict, "bare")}\n`);
  if (rows[0]?.result.kind !== "poweroff" || rows[0].result.exitCode !== 0) io.err("previrt: error: the kernel's self-check failed on bare metal\n");
  io.out(`(${((Date.now() - started) / 1000).toFixed(1)} s in all)\n`);
  return unexpected.length || rows[0]?.result.kind !== "poweroff" || rows[0].result.exitCode !== 0 ? 1 : 0;
};
