// `--hv hvm`: hardware-assisted virtualization (VT-x style) with shadow
// paging. Runs any binary unmodified: sites stay native (their padding
// jumped over, as on bare metal) and every sensitive instruction exits to
// the monitor (hvm-monitor.ts).

import type { Backend } from "../backend.js";
import { HvmMonitor } from "./hvm-monitor.js";

export const hvm: Backend = {
  name: "hvm",
  description: "hardware-assisted: every sensitive instruction exits to the VMM; shadow paging",
  // One vCPU per machine CPU, as many as the machine has (docs/vcpus.md).
  maxCpus: 8,
  // Spinlock sites (docs/design.md §3) run their native amoswap / store.
  target: { name: "hvm", replacements: { lock: { strategy: "native" }, unlock: { strategy: "native" }, ticket: { strategy: "native" } } },
  // Pause-loop exiting (common/spinlock-cures.ts): no guest help, the sites stay native.
  spinlocks: ["native", "ple"],
  // --passthrough (common/bypass.ts): no exit on the nvdisk's per-request page.
  passthrough: true,
  // Its VMM is entered by VM exits only (hvm-monitor.ts counts each `exit:KIND`).
  vmmEntries: { calls: ["exit:"], others: [] },
  createMonitor: (_rewrite, options) => new HvmMonitor(options),
};
