// Observers for the spin-split tests (spin-split.test.ts, delayed-lhp.test.ts)
// and scripts/smp-figures.ts: `trackPhysicalCpus` wraps a monitor's
// `runnable` so the caller knows, per vCPU, whether it had a physical CPU at
// its last turn; `splitSpin` wraps the machine's spin accounting to charge
// each wait's cycles to spin behind a descheduled holder or behind a running
// one. Both observe only: every wrapped call's answer is returned unchanged.

import type { Monitor } from "../../src/machine/monitor.js";
import type { SpinAccounting } from "../../src/machine/spin-accounting.js";

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

/** Spin split by the state of the lock's holder (filled while the machine runs). */
export interface SpinSplit {
  /** Spin while the lock's holder had no physical CPU at its last turn. */
  behindDescheduled: number;
  /** Spin while the holder had one (it ran in its turn, or its turn in the epoch is still to come). */
  behindRunning: number;
  /** Waits begun (failed attempts outside a wait). */
  waits: number;
}

/**
 * Wraps `spin.attempt` and `spin.scheduled`: each failed or acquiring attempt's
 * executed cycles since the waiter's previous attempt — less any vCPU switch
 * charged to it meanwhile (the accounting's rule) — go to the state, at its
 * last turn, of the lock word's last acquirer. With no wait open at the end,
 * the parts add up to the machine's spinCycles.
 */
export function splitSpin(spin: SpinAccounting, hasPcpu: Uint8Array): SpinSplit {
  const cpus = hasPcpu.length;
  const inWait = new Uint8Array(cpus);
  const last = new Float64Array(cpus);
  const owner = new Map<number, number>();
  const out: SpinSplit = { behindDescheduled: 0, behindRunning: 0, waits: 0 };
  const attempt = spin.attempt.bind(spin);
  spin.attempt = (cpu, word, acquired, busy) => {
    if (inWait[cpu] === 1) {
      const holder = owner.get(word);
      if (holder !== undefined && hasPcpu[holder] === 0) out.behindDescheduled += busy - last[cpu];
      else out.behindRunning += busy - last[cpu];
    } else if (!acquired) out.waits++;
    last[cpu] = busy;
    inWait[cpu] = acquired ? 0 : 1;
    if (acquired) owner.set(word, cpu);
    attempt(cpu, word, acquired, busy);
  };
  const scheduled = spin.scheduled.bind(spin);
  spin.scheduled = (cpu, runs, charged = 0) => {
    if (inWait[cpu] === 1) last[cpu] += charged;
    scheduled(cpu, runs, charged);
  };
  return out;
}
