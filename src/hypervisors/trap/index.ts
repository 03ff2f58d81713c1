// `--hv trap`: classic trap-and-emulate on a machine that is not classically
// virtualizable. Runs any binary unmodified, the guest kernel deprivileged;
// privileged instructions trap, rdpsr/wrpsr do not (trap-monitor.ts).

import type { Backend } from "../index.js";
import { TrapMonitor } from "./trap-monitor.js";

export const trap: Backend = {
  name: "trap",
  description: "trap-and-emulate, no hardware assist: rdpsr/wrpsr do not trap (guests may misbehave)",
  // One vCPU per machine CPU, as many as the machine has (docs/vcpus.md).
  maxCpus: 8,
  target: { name: "trap", replacements: {} },
  createMonitor: (_rewrite, options) => new TrapMonitor(options),
};
