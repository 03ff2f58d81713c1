import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { bootGuest } from "../../src/migration/guest.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, restoreGuest, parseSnapshot } from "../../src/migration/snapshot.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { it } from "vitest";
it("scratch", () => {
const image = buildKernel({ workload: "mixed" }).image;
const elf = writeElf(image);
for (const hv of ["bare", "hvm", "xen", "l4", "trap"]) {
  const ref = bootGuest(elf, image, hv, { disk: memoryDisk(kernelDisk()) });
  const r = ref.finish();
  const g = bootGuest(elf, image, hv, { disk: memoryDisk(kernelDisk()) });
  const sp = runToSafePoint(g, 1_500_000);
  let t0 = performance.now();
  const snap = captureSnapshot(g);
  const bytes = encodeSnapshot(snap);
  const t1 = performance.now();
  const back = parseSnapshot(bytes, "x");
  const t2 = performance.now();
  for (const to of ["bare", "hvm", "xen", "l4", "trap"]) {
    const { guest, info } = restoreGuest(back, to);
    const r2 = guest.finish();
    const same = guest.console === ref.console;
    const st = guest.machine.stats(), st0 = ref.machine.stats();
    console.log(hv, "->", to, sp.cycle, sp.deferredSteps, sp.deferredBecause ?? "", "bytes", bytes.length, "enc", (t1 - t0).toFixed(1), "dec", (t2 - t1).toFixed(1), "exact", info.exact, "console same", same, JSON.stringify(r2), r.exitCode, "cycles", st.cycles, st0.cycles, "stats equal", JSON.stringify(st) === JSON.stringify(st0));
  }
}

}, 600000);
