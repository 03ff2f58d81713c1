// The exhaustive migration sweep (opt-in, minutes; the test suite runs a
// small selection): every kernel workload × every ordered pair of bare, hvm,
// xen, l4 (and trap as a target) × ten points spread over the bare run, each
// migrated run compared with the unmigrated bare run. Prints one line per
// workload and source, and every divergence; exit status 1 if any.
//
//   npm run build && node dist/scripts/migration-sweep.js [--points 10] [--workloads mixed,io]

import { buildKernel, kernelDisk, WORKLOADS, type Workload } from "../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../src/guest-isa/elf.js";
import { memoryDisk } from "../src/machine/devices/disk.js";
import { bootGuest } from "../src/migration/guest.js";
import { runToSafePoint } from "../src/migration/safe-point.js";
import { captureSnapshot, restoreGuest } from "../src/migration/snapshot.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const POINTS = Number(arg("--points") ?? 10);
const workloads = (arg("--workloads")?.split(",") ?? WORKLOADS) as Workload[];
const SOURCES = ["bare", "hvm", "xen", "l4"];
const MAX = 400_000_000;
let failures = 0;
let moves = 0;
for (const w of workloads) {
  const elf = writeElf(buildKernel({ workload: w }).image);
  const image = readElf(elf);
  const opts = () => ({ disk: memoryDisk(kernelDisk()) });
  const ref = bootGuest(elf, image, "bare", opts());
  const refResult = ref.finish(MAX);
  const points = Array.from({ length: POINTS }, (_, i) => Math.floor((ref.cycles * (i + 1)) / (POINTS + 1)));
  for (const from of SOURCES) {
    const g = bootGuest(elf, image, from, opts());
    let done = 0;
    for (const at of points) {
      if (!runToSafePoint(g, at, MAX).reached) break;
      const snap = captureSnapshot(g);
      for (const to of SOURCES.filter((b) => b !== from)) {
        const { guest } = restoreGuest(snap, to, { image });
        const r = guest.finish(MAX);
        moves++;
        done++;
        if (guest.console !== ref.console || r.kind !== refResult.kind || r.exitCode !== refResult.exitCode) {
          failures++;
          console.log(`DIVERGED ${w} ${from} -> ${to} at ${at} (moved at ${snap.cycle}): ${r.kind} ${r.exitCode}`);
        }
      }
    }
    console.log(`${w} from ${from}: ${done} moves`);
  }
}
console.log(`${moves} moves, ${failures} diverged`);
process.exit(failures ? 1 : 0);
