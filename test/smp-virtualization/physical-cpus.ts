// Test helper for the spin-split tests (spin-split.test.ts, delayed-lhp.test.ts):
// wraps a monitor's `runnable` so a test knows, per vCPU, whether it had a
// physical CPU at its last turn — which is how those tests tell spin behind a
// descheduled holder from spin behind a running one. Observes only: the
// wrapped call's answer is returned unchanged.

import type { Monitor } from "../../src/machine/monitor.js";

/** Per vCPU: 1 if the monitor let it run at its last turn, 0 if not (all 1 before the first). */
export function trackPhysicalCpus(monitor: Monitor, cpus: number): Uint8Array {
  const hasPcpu = new Uint8Array(cpus).fill(1);
  const runnable = monitor.runnable!.bind(monitor);
  monitor.runnable = (cpu, epochStart) => {
    const runs = runnable(cpu, epochStart);
    hasPcpu[cpu] = runs ? 1 : 0;
    return runs;
  };
  return hasPcpu;
}
