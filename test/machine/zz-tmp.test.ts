import { it, expect } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { runElf } from "../../src/hypervisors/index.js";
it("x", () => {
  const k = buildKernel({ workload: "io" }).image;
  const a = runElf(k, { backend: "bare", maxCycles: 400_000_000, disk: kernelDisk() });
  const b = runElf(k, { backend: "bare", maxCycles: 400_000_000, disk: kernelDisk(), nvdisk: kernelDisk() });
  console.log(a.console, a.stats.cycles, b.stats.cycles, b.stats.interrupts, a.stats.interrupts);
  console.log(b.console === a.console, b.result);
  if (b.console !== a.console) console.log(b.console);
});
