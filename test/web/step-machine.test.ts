// The playground's Step view runs the machine step-machine.ts builds; a
// step-run must end where `previrt run` ends, counters included — the spin
// accounting's too. It passed the lock sites but not the ticket sites, so a
// ticket-lock kernel's lockWaiterPreemptions and its ticket spinning were
// missing from the stepper's counters. Here the stepping machine runs the
// bundled kernel's ticketlock workload to its end and its counters are
// compared with the CLI's run (runElfOn, the interpreter as the stepper).
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { getBackend, runElfOn } from "../../src/hypervisors/index.js";
import { stepMachine } from "../../src/web/step-machine.js";

const MAX = 400_000_000;

describe("the Step view's machine counts what previrt run counts", () => {
  const { image } = buildKernel({ workload: "ticketlock" });
  for (const [hv, cpus, pcpus] of [["xen", 4, 2], ["bare", 2, undefined]] as const) {
    it(`ticketlock on ${hv}, --cpus ${cpus}${pcpus ? ` --pcpus ${pcpus}` : ""}, --quantum 1000`, () => {
      const backend = getBackend(hv);
      const run = runElfOn(backend, image, { cpus, pcpus, quantum: 1000, maxCycles: MAX, disk: kernelDisk(), engine: "interp" });
      expect(run.result.kind).toBe("poweroff");
      let console = "";
      const { machine } = stepMachine(backend, image, { cpus, pcpus, quantum: 1000, protect: true }, kernelDisk(), (t) => (console += t));
      const result = machine.run(MAX);
      expect(result).toEqual(run.result);
      expect(console).toBe(run.console);
      const stats = machine.stats();
      expect(stats.counts.spinCycles).toBeGreaterThan(0);
      expect(stats).toEqual(run.stats);
    });
  }
});
