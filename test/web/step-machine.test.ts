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
import { CR } from "../../src/guest-isa/registers.js";
import { guestRegistersApart } from "../../src/machine/diagnosis.js";

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

describe("the Step view's virtual CPU", () => {
  // hvm runs the kernel on the real psr but keeps ptbr and pgctl virtual (its shadow pager): once the kernel
  // has turned paging on, the view shows the guest's, which are bare metal's, not the real CPU's zeros.
  it("hvm, once the kernel's paging is on: the guest's ptbr and pgctl, as on bare", () => {
    const { image } = buildKernel({ workload: "compute" });
    const at = (hv: string) => {
      const { machine } = stepMachine(getBackend(hv), image, { cpus: 1, protect: true }, kernelDisk(), () => undefined);
      machine.run(2_000_000);
      return machine;
    };
    const bare = at("bare");
    expect(bare.cr[CR.pgctl]).toBe(1);
    expect(guestRegistersApart(bare)).toBeUndefined();
    const hvm = at("hvm");
    expect(hvm.cr[CR.pgctl]).toBe(0); // the real one: hvm's shadow pager translates without it
    const view = guestRegistersApart(hvm)!;
    expect(view.psr).toBe(hvm.psr);
    expect(view.cr[CR.pgctl]).toBe(1);
    // A page directory of the kernel's (its process's: the two runs are at different points of the workload).
    expect(view.cr[CR.ptbr] & 0xfff).toBe(0);
    expect(view.cr[CR.ptbr] >>> 20).toBe(bare.cr[CR.ptbr] >>> 20);
  });
});
