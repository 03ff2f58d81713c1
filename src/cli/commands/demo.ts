// `previrt demo` (`npm start`): the main job in one command. Builds the
// bundled guest once from source (annotated), shows what the annotator
// found, then runs that one binary on every back end with `previrt matrix`
// and says what the table means.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildSources } from "../../compiler/build.js";
import { writeElf } from "../../guest-isa/elf.js";
import { parseSoftlayerTable, SITE_FLAG_EXEMPT, siteKindName } from "../../guest-isa/softlayer.js";
import { findSection } from "../../guest-isa/elf-types.js";
import { backends } from "../../hypervisors/index.js";
import { runMatrix } from "../../hypervisors/matrix.js";
import type { CommandRunner } from "../main.js";
import { formatMatrix, isDivergence } from "./matrix.js";

/** The bundled guest, relative to the package root. */
export const DEMO_GUEST = "fixtures/guests/psr-hole.s";
/** Back ends expected to diverge on this guest, and why (printed, not hidden). */
const EXPECTED_DIVERGENCE: Record<string, string> = {
  trap: "trap-and-emulate cannot virtualize rdpsr/wrpsr: they do not trap, so the guest misbehaves",
};

export const run: CommandRunner = (_args, _options, io) => {
  const path = fileURLToPath(new URL(`../../../../${DEMO_GUEST}`, import.meta.url));
  const { image } = buildSources([{ file: DEMO_GUEST, text: readFileSync(path, "utf8") }]);
  const bytes = writeElf(image);

  const table = findSection(image, ".softlayer");
  const records = table ? parseSoftlayerTable(table.data).records.filter((r) => !(r.flags & SITE_FLAG_EXEMPT)) : [];
  const byKind = new Map<string, number>();
  for (const r of records) byKind.set(siteKindName(r.kind), (byKind.get(siteKindName(r.kind)) ?? 0) + 1);
  io.out(`Built ${DEMO_GUEST} once: ${bytes.length} bytes of ELF, ${records.length} annotated sites `);
  io.out(`(${[...byKind].map(([k, n]) => `${n} ${k}`).join(", ")}).\n\n`);

  const rows = runMatrix(image, { backends: [...backends.keys()], maxCycles: 20_000_000 });
  io.out(formatMatrix(rows) + "\n");

  const unexpected = rows.filter((r) => isDivergence(r.verdict) && !(r.backend in EXPECTED_DIVERGENCE));
  io.out("The same binary ran on every back end; 'same' means identical console output and exit status to bare metal,\n");
  io.out("and the cycles column is what each back end's virtualization cost under the cost model (docs/cost-model.md).\n");
  for (const r of rows) {
    if (isDivergence(r.verdict) && EXPECTED_DIVERGENCE[r.backend]) io.out(`${r.backend} diverged, as it must: ${EXPECTED_DIVERGENCE[r.backend]}.\n`);
  }
  return unexpected.length ? 1 : 0;
};
