// The playground's stepping machine (the Step view; worker.ts consumes it):
// built as runElfOn builds a run's (src/hypervisors/backend.ts: the back
// end's rewrite, its monitor with the checked CPU options, and the spin
// accounting's lock and ticket sites, spinSites), but on the interpreter — a
// step is one instruction or one exception entry, which the JIT's blocks are
// not; the results are the same. So a step-run ends where the Run view's run
// and the CLI's `previrt run` end, counters included. No worker globals here:
// a Node test builds the same machine (test/web/step-machine.test.ts).

import type { ElfImage } from "../guest-isa/elf-types.js";
import { checkCpuOptions, prepareImage, spinSites, type Backend } from "../hypervisors/index.js";
import { memoryDisk } from "../machine/devices/disk.js";
import { loadImage } from "../machine/loader.js";
import { Machine } from "../machine/machine.js";
import type { Monitor } from "../machine/monitor.js";
import type { RewriteResult } from "../rewriter/index.js";

/** What the Step view runs with (protocol.ts StepOptions). */
export interface StepMachineOptions {
  cpus: number;
  pcpus?: number;
  quantum?: number;
  protect: boolean;
}

/** The machine, loaded and at reset, with its monitor attached, and the rewrite it runs. */
export function stepMachine(backend: Backend, image: ElfImage, o: StepMachineOptions, disk: Uint8Array | undefined, consoleOutput: (text: string) => void): { machine: Machine; monitor?: Monitor; rewrite: RewriteResult } {
  const monitorOptions = checkCpuOptions(backend, { cpus: o.cpus, pcpus: o.pcpus, quantum: o.quantum });
  const rewrite = prepareImage(backend, image);
  const machine = new Machine({
    engine: "interp",
    consoleOutput,
    disk: disk ? memoryDisk(disk) : undefined,
    protection: o.protect,
    cpus: o.cpus,
    quantum: o.quantum,
    ...spinSites(rewrite),
  });
  const monitor = backend.createMonitor?.(rewrite, { ...monitorOptions, protect: o.protect });
  if (monitor) machine.attach(monitor);
  loadImage(machine, rewrite.image);
  return { machine, monitor, rewrite };
}
