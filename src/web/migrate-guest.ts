// The playground's Migrate view (worker.ts consumes it): one move, as
// `previrt migrate ELF --from X --to Y --at N [--live] [--cpus N] [--pcpus M]
// [--no-protect]` makes it — the built image written as the ELF file the CLI
// would read, booted on X with the header's run options, moved with the
// library's stopAndCopy or liveMigrate (migrateRoute's loop for one hop,
// keeping each pre-copy round's dirty frames), finished on Y — and bare's
// unmigrated run as the reference (the invariant of docs/migration.md). No
// worker globals here: a Node test makes the same move with migrateRoute
// (test/web/migrate-guest.test.ts).

import { disassembleInstruction } from "../guest-isa/disassembler.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { readElf, writeElf } from "../guest-isa/elf.js";
import { getBackend, prepareImage } from "../hypervisors/index.js";
import { compareRuns, describeEnding, describeVerdict, isDivergence } from "../hypervisors/matrix.js";
import { memoryDisk } from "../machine/devices/disk.js";
import { bootGuest } from "../migration/guest.js";
import { liveMigrate } from "../migration/live.js";
import { formatReport } from "../migration/report.js";
import { checkRoute } from "../migration/route.js";
import { stopAndCopy } from "../migration/stop-and-copy.js";
import type { MigrateOptions, MigrateReply, RepatchRow } from "./protocol.js";

/**
 * The move. `disk` gives a fresh disk image per guest (the bundled kernel's
 * io workload), as each CLI run opens the file anew. The source, and the
 * target after it (a moved guest keeps its options), run with the CPU
 * options and protection of `o`; bare's reference run with the CPUs only —
 * bare has one physical CPU per CPU and no in-place VMM to protect.
 */
export function migrateGuest(built: ElfImage, o: MigrateOptions, maxCycles: number, disk?: () => Uint8Array): Omit<MigrateReply, "ms"> {
  const elf = writeElf(built);
  const image = readElf(elf);
  const cpus = o.cpus !== 1 ? { cpus: o.cpus } : {};
  const cpuOptions = { ...cpus, ...(o.pcpus !== undefined ? { pcpus: o.pcpus } : {}) };
  // As the CLI checks the route: --pcpus on a route with bare is refused before anything runs.
  checkRoute(image, [o.from, o.to], undefined, cpuOptions);
  const fresh = () => (disk ? { disk: memoryDisk(disk()) } : {});
  const bare = bootGuest(elf, image, "bare", { ...cpus, ...fresh() });
  const bareResult = bare.finish(maxCycles);
  const at = o.at ?? Math.floor(bare.cycles / 2);
  const source = bootGuest(elf, image, o.from, { ...cpuOptions, ...(o.protect ? {} : { protect: false }), ...fresh() });
  const dirty: number[][] = [];
  const moved = o.live ? liveMigrate(source, o.to, at, { maxCycles, onRound: (_, frames) => dirty.push([...frames]) }) : stopAndCopy(source, o.to, at, maxCycles);
  const before = source.console;
  const guest = moved.guest ?? source;
  const result = moved.guest ? moved.guest.finish(maxCycles) : source.machine.outcome!;
  const verdict = compareRuns({ console: bare.console, result: bareResult }, { console: guest.console, result });
  return {
    options: { ...o, at },
    report: moved.report,
    reportText: formatReport(moved.report),
    dirty,
    sites: moved.guest && moved.report.sitesRepatched ? repatchRows(image, o.from, o.to) : [],
    consoleBefore: before,
    consoleAfter: guest.console.slice(before.length),
    ending: describeEnding(result),
    atLimit: [result, bareResult].some((r) => r.kind === "stopped" && r.reason === "max-cycles"),
    cycles: guest.cycles,
    bare: { console: bare.console, ending: describeEnding(bareResult), cycles: bare.cycles },
    verdict: describeVerdict(verdict),
    divergent: isDivergence(verdict) && verdict.kind !== "unfinished",
  };
}

/** Each site as the move re-patched it (snapshot.ts repatchSites): the source's rewritten words, then the target's. */
function repatchRows(image: ElfImage, from: string, to: string): RepatchRow[] {
  const src = prepareImage(getBackend(from), image);
  const dst = prepareImage(getBackend(to), image);
  const dis = (words: Uint32Array, addr: number) => [...words].map((w, i) => disassembleInstruction(w, addr + 4 * i));
  return src.sites.map((s, i) => {
    const t = dst.sites[i];
    const changed = s.after.length !== t.after.length || s.after.some((w, k) => w !== t.after[k]);
    return { addr: s.record.addr, kind: s.kindName, from: { strategy: s.strategy, words: dis(s.after, s.record.addr) }, to: { strategy: t.strategy, words: dis(t.after, s.record.addr) }, changed };
  });
}
