// `--hv l4`: an L4-like microkernel (l4-monitor.ts) running the guest kernel
// as a user task, with its in-place VMM (common/vmm-core.s.ts + vmm.s.ts) in the
// soft-layer window; faults and interrupts reach the monitor as IPC, memory
// is granted with map/unmap. docs/l4.md.

import type { RewriteTarget } from "../../rewriter/index.js";
import { L4_REPLACEMENTS } from "../common/wedge-replacements.js";
import type { Backend } from "../backend.js";
import { wedgeTargets } from "../common/wedge-targets.js";
import { L4Monitor } from "./l4-monitor.js";

const targets = wedgeTargets("l4", L4_REPLACEMENTS);

export const l4: Backend = {
  name: "l4",
  description: "L4-like microkernel: guest kernel as a user task, in-place VMM, faults as IPC, map/unmap",
  // One vCPU per machine CPU, as many as the machine has (docs/vcpus.md).
  maxCpus: 8,
  get target(): RewriteTarget {
    return targets.target();
  },
  // Lock-holder preemption cures (common/spinlock-cures.ts): rows for the lock/unlock sites, chosen at load time.
  spinlocks: ["native", "pv", "delayed"],
  // --passthrough (common/bypass.ts): the mmio sites stay native — another row set, chosen at load time.
  targetFor: targets.targetFor,
  passthrough: true,
  // Its VMM runs in the guest's soft-layer window (common/window.ts).
  inPlaceVmm: true,
  createMonitor: (rewrite, options) => new L4Monitor(rewrite, options),
};
