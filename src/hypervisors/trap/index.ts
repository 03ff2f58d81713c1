// `--hv trap`: classic trap-and-emulate on a machine that is not classically
// virtualizable. Runs any binary unmodified, the guest kernel deprivileged;
// privileged instructions trap, rdpsr/wrpsr do not (trap-monitor.ts).

import type { Backend } from "../backend.js";
import { TrapMonitor } from "./trap-monitor.js";

export const trap: Backend = {
  name: "trap",
  description: "trap-and-emulate, no hardware assist: rdpsr/wrpsr do not trap (guests may misbehave)",
  // One vCPU per machine CPU, as many as the machine has (docs/vcpus.md).
  maxCpus: 8,
  // Spinlock sites (docs/design.md §3) run their native amoswap / store.
  target: { name: "trap", replacements: { lock: { strategy: "native" }, unlock: { strategy: "native" }, ticket: { strategy: "native" } } },
  // The virtualization hole: a guest reading or writing its psr sees the real one.
  unfaithful: "rdpsr and wrpsr do not trap",
  // Every entry into the monitor is a trap, counted `trap:KIND` (trap-monitor.ts).
  vmmEntries: { calls: ["trap:"], others: [] },
  createMonitor: (_rewrite, options) => new TrapMonitor(options),
};
