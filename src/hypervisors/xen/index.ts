// `--hv xen`: a Xen-like hypervisor (xen-monitor.ts) and its in-place VMM
// (common/vmm-core.s.ts + vmm.s.ts, loaded into the soft-layer window). Runs a
// pre-virtualized (annotated) binary with its sites rewritten into inline
// shared-memory operations and calls into the VMM; runs a para-virtualized
// build (`previrt build --paravirt xen`) as it is; runs a plain binary too,
// trapping every privileged instruction (slowly, and with the rdpsr/wrpsr
// hole that only annotation closes). docs/xen.md.

import type { RewriteTarget } from "../../rewriter/index.js";
import { XEN_REPLACEMENTS } from "../common/wedge-replacements.js";
import type { Backend } from "../backend.js";
import { wedgeTargets } from "../common/wedge-targets.js";
import { XenMonitor } from "./xen-monitor.js";
import { isParavirtImage } from "../../guest-isa/paravirt.js";

const targets = wedgeTargets("xen", XEN_REPLACEMENTS);

export const xen: Backend = {
  name: "xen",
  description: "Xen-like hypervisor: in-place VMM, shared-memory virtual IE, writable page tables, mmu_update hypercalls",
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
  createMonitor: (rewrite, options) => new XenMonitor(rewrite, { ...options, paravirt: isParavirtImage(rewrite.image) }),
};
