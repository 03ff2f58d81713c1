// Delayed preemption's own lock-holder preemptions: how many remain, why,
// and what spin each costs (docs/smp-virtualization.md, "Delayed
// preemption's own lock-holder preemptions"). Runs the bundled kernel's
// lock workloads with `--spinlocks delayed` on xen and l4 at --cpus 4 and
// --pcpus 2 and 1, with the interleaving `bench --smp` uses, and classifies
// every preemption the machine counts (SpinAccounting.scheduled raising
// `lockHolderPreemptions`) by the state the cure left it in:
//   - bound:    the vCPU's CRIT flag was up and the scheduler had postponed
//               the slice's end DELAY_BOUND_QUANTA times in a row (for this
//               vCPU or another flagged one: the bound is the slice's) — the
//               bound expired with the vCPU still inside its critical section;
//   - yielded:  the vCPU gave its physical CPU up itself, at an unlock that
//               found OWED set (the cure's yield) while it still held a lock;
//   - unflagged: CRIT was 0 — the holder was outside what the flag covers;
//   - other:    CRIT up, and not at a slice's end whose bound expired.
// Spin is split as in spin-split.test.ts (executed cycles between a waiter's
// attempts, less vCPU switches, charged to the lock word's last acquirer)
// and the part behind a descheduled holder is charged to the class of that
// holder's latest preemption. The observers wrap the machine's
// SpinAccounting and the scheduler's public hooks; nothing is changed.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, type Workload } from "../../src/cli/bundled-kernel.js";
import { SMP_BENCH_INTERLEAVING } from "../../src/cli/bench/smp-bench.js";
import { DELAY_BOUND_QUANTA } from "../../src/hypervisors/common/spinlock-cures.js";
import type { VcpuScheduler } from "../../src/hypervisors/common/vcpu-scheduler.js";
import { prepareGuest, runElf } from "../../src/hypervisors/index.js";
import { buildMachine } from "../../src/machine/run-image.js";
import { trackPhysicalCpus } from "./physical-cpus.js";
import { disassembleInstruction } from "../../src/guest-isa/disassembler.js";
import type { Stub } from "../../src/rewriter/rewrite.js";

const CLASSES = ["bound", "yielded", "unflagged", "other"] as const;
type Cause = (typeof CLASSES)[number];

export interface DelayedLhp {
  lockHolderPreemptions: number;
  spinCycles: number;
  delayedPreemptions: number;
  /** Preemptions per cause. */
  lhp: Record<Cause, number>;
  /** Spin behind a descheduled holder, charged to the cause of that holder's latest preemption ("none": descheduled without one). */
  spinBehind: Record<Cause | "none", number>;
  behindRunning: number;
  /** Preemptions after the cure's yield with the vCPU's CRIT still > 0 (it yielded at an inner unlock). */
  yieldedInCritical: number;
  /** Where each unflagged preemption left the vCPU: its pc, and whether that is in a lock stub after the acquiring amoswap and before the CRIT store. */
  unflagged: { pc: number; inLockStubWindow: boolean }[];
}

/**
 * Whether `pc` lies in a delayed `lock` stub between its amoswap and the
 * store that raises CRIT: the lock is taken, the flag not yet up
 * (common/spinlock-cures.ts, the delayed `lock` template).
 */
function inAcquireWindow(stubs: readonly Stub[], pc: number): boolean {
  for (const st of stubs) {
    const a = st.addr >>> 0;
    if (pc < a || pc >= a + st.words.length * 4) continue;
    const text = Array.from(st.words, (w, i) => disassembleInstruction(w, a + 4 * i));
    const swap = text.findIndex((t) => t.startsWith("amoswap"));
    const raise = text.findIndex((t, i) => i > swap && t.startsWith("addi") && t.endsWith(", 1"));
    const i = (pc - a) / 4;
    return swap >= 0 && raise > swap && i > swap && i <= raise + 1;
  }
  return false;
}

export function delayedLhp(workload: Workload, backend: string, pcpus: number, cure = "delayed"): DelayedLhp {
  const image = buildKernel({ workload }).image;
  const il = SMP_BENCH_INTERLEAVING[workload];
  const { rewrite, runOptions } = prepareGuest(image, {
    backend,
    spinlocks: cure,
    cpus: 4,
    pcpus,
    quantum: il?.quantum,
    timeslice: il?.timeslice,
    maxCycles: 400_000_000,
    disk: kernelDisk(),
  });
  const options = runOptions(rewrite);
  const monitor = options.monitor!;
  const hasPcpu = trackPhysicalCpus(monitor, 4);
  const { machine } = buildMachine(rewrite.image, options);
  // The monitor (attached to the machine now) keeps its scheduler private; the test only wraps the scheduler's public hooks.
  const sched = (monitor as unknown as { scheduler: VcpuScheduler }).scheduler;
  // The epoch being decided (private: the scheduler's start of the current epoch), read only.
  const epochOf = (): number => (sched as unknown as { epoch: number }).epoch;
  const quantum = machine.quantum;
  // Quanta the current slice's end was postponed in a row (owe: once or more per postponing decision), and the
  // epoch of the last postponement; whether each vCPU yielded since it last ran.
  let postponedRun = 0;
  let lastPostponed = -Infinity;
  const yielded = new Uint8Array(4);
  const delay = sched.delay;
  const inCritical = (v: number): boolean => (delay ? delay.inCritical(v) : false);
  if (delay) {
    const owe = delay.owe.bind(delay);
    delay.owe = (v) => {
      const e = epochOf();
      if (e !== lastPostponed) {
        postponedRun = e === lastPostponed + quantum ? postponedRun + 1 : 1;
        lastPostponed = e;
      }
      owe(v);
    };
  }
  // At the current decision: the previous epochs postponed the slice's end to the bound, and this one did not.
  const boundExpired = (): boolean => lastPostponed === epochOf() - quantum && postponedRun >= DELAY_BOUND_QUANTA;
  const yieldVcpu = sched.yieldVcpu.bind(sched);
  sched.yieldVcpu = (v, at) => {
    yielded[v] = 1;
    yieldVcpu(v, at);
  };
  const spin = machine.spin;
  const lhp: Record<Cause, number> = { bound: 0, yielded: 0, unflagged: 0, other: 0 };
  const spinBehind: Record<Cause | "none", number> = { bound: 0, yielded: 0, unflagged: 0, other: 0, none: 0 };
  let behindRunning = 0;
  let yieldedInCritical = 0;
  const unflaggedPcs: number[] = [];
  const lastCause: (Cause | "none")[] = ["none", "none", "none", "none"];
  const scheduled = spin.scheduled.bind(spin);
  const inWait = new Uint8Array(4);
  const last = new Float64Array(4);
  const owner = new Map<number, number>();
  spin.scheduled = (cpu, runs, charged = 0) => {
    if (inWait[cpu] === 1) last[cpu] += charged; // a vCPU switch is not spinning (the accounting's rule)
    const before = spin.lockHolderPreemptions;
    scheduled(cpu, runs, charged);
    if (spin.lockHolderPreemptions !== before) {
      const cause: Cause = yielded[cpu] === 1 ? "yielded" : !inCritical(cpu) ? "unflagged" : boundExpired() ? "bound" : "other";
      lhp[cause]++;
      lastCause[cpu] = cause;
      if (cause === "yielded") yieldedInCritical += inCritical(cpu) ? 1 : 0;
      if (cause === "unflagged") unflaggedPcs.push(machine.pcOf(cpu) >>> 0);
    }
    if (runs) yielded[cpu] = 0;
  };
  const attempt = spin.attempt.bind(spin);
  spin.attempt = (cpu, word, acquired, busy) => {
    if (inWait[cpu] === 1) {
      const holder = owner.get(word);
      // A wait that ends in an acquisition behind a holder descheduled with no preemption since it took the lock:
      // the holder released the lock and then left its physical CPU (a yield at unlock, a halt) before this
      // waiter's turn saw the release — it ran through its critical section.
      const released = acquired && holder !== undefined && lastCause[holder] === "none";
      if (holder !== undefined && hasPcpu[holder] === 0 && !released) spinBehind[lastCause[holder]] += busy - last[cpu];
      else behindRunning += busy - last[cpu];
    }
    last[cpu] = busy;
    inWait[cpu] = acquired ? 0 : 1;
    if (acquired) {
      owner.set(word, cpu);
      lastCause[cpu] = "none";
    }
    attempt(cpu, word, acquired, busy);
  };
  const result = machine.run(400_000_000);
  expect(result.kind, `${workload} on ${backend} --pcpus ${pcpus}`).toBe("poweroff");
  const counts = machine.stats().counts;
  return {
    lockHolderPreemptions: counts.lockHolderPreemptions ?? 0,
    spinCycles: counts.spinCycles ?? 0,
    delayedPreemptions: counts.delayedPreemptions ?? 0,
    lhp,
    spinBehind,
    behindRunning,
    yieldedInCritical,
    unflagged: unflaggedPcs.map((pc) => ({ pc, inLockStubWindow: inAcquireWindow(rewrite.stubs, pc) })),
  };
}

const WORKLOADS: Workload[] = ["spinlock", "ticketlock", "smp", "ctxsw"];

describe("delayed preemption's own lock-holder preemptions (--cpus 4, --pcpus 2 and 1)", () => {
  it("every one is a bound that expired: none is a yield at an inner unlock or falls between the acquire and the flag", () => {
    const total: Record<Cause, { lhp: number; spin: number }> = {
      bound: { lhp: 0, spin: 0 },
      yielded: { lhp: 0, spin: 0 },
      unflagged: { lhp: 0, spin: 0 },
      other: { lhp: 0, spin: 0 },
    };
    const rows: string[] = [];
    for (const w of WORKLOADS)
      for (const b of ["xen", "l4"])
        for (const p of [2, 1]) {
          const r = delayedLhp(w, b, p);
          const what = `${w} ${b} --pcpus ${p}: ${JSON.stringify(r)}`;
          // The classes cover the machine's own count, and no preemption falls outside the three causes.
          expect(r.lhp.bound + r.lhp.yielded + r.lhp.unflagged + r.lhp.other, what).toBe(r.lockHolderPreemptions);
          expect(r.lhp.other, what).toBe(0);
          // A yield that leaves a lock held is the unlock stub's: OWED set, CRIT still > 0 (an inner lock released, an outer one held).
          expect(r.yieldedInCritical, what).toBe(r.lhp.yielded);
          // An unflagged holder was preempted inside the lock stub, after the amoswap that took the lock and before CRIT went up.
          for (const u of r.unflagged) expect(u.inLockStubWindow, `${what}: pc ${u.pc.toString(16)}`).toBe(true);
          // The split sees every spin cycle of test-and-set waits (ticketlock's ticket waits are not attempts it wraps).
          const split = r.behindRunning + r.spinBehind.bound + r.spinBehind.yielded + r.spinBehind.unflagged + r.spinBehind.other + r.spinBehind.none;
          if (w !== "ticketlock") expect(split, what).toBe(r.spinCycles);
          else expect(split, what).toBeLessThanOrEqual(r.spinCycles);
          expect(r.spinBehind.none, what).toBeLessThan(0.01 * r.spinCycles + 1);
          for (const c of CLASSES) {
            total[c].lhp += r.lhp[c];
            total[c].spin += r.spinBehind[c];
          }
          rows.push(`| ${w} | ${b} | ${p} | ${r.lockHolderPreemptions} | ${r.lhp.bound} | ${r.lhp.yielded} | ${r.lhp.unflagged} | ${r.spinBehind.bound + r.spinBehind.yielded + r.spinBehind.unflagged} | ${r.spinCycles} |`);
        }
    // The observers change nothing: the same run without them counts the same.
    const plain = runElf(buildKernel({ workload: "spinlock" }).image, { backend: "xen", spinlocks: "delayed", cpus: 4, pcpus: 1, maxCycles: 400_000_000, disk: kernelDisk() });
    const observed = delayedLhp("spinlock", "xen", 1);
    expect([plain.stats.counts.lockHolderPreemptions, plain.stats.counts.spinCycles]).toEqual([observed.lockHolderPreemptions, observed.spinCycles]);
    if (process.env.DELAYED_LHP_TABLE) console.log([...rows, JSON.stringify(total)].join("\n"));
    // What docs/smp-virtualization.md reports: the stubs raise CRIT before the attempt and yield only when it
    // reaches 0, so no preemption is a yield at an inner unlock or falls between the acquire and the flag (both
    // occurred with the earlier stubs: 18 and 17 over these runs); the bound expiring is the only cause left.
    expect(total.yielded, JSON.stringify(total)).toEqual({ lhp: 0, spin: 0 });
    expect(total.unflagged, JSON.stringify(total)).toEqual({ lhp: 0, spin: 0 });
    expect(total.bound.lhp, JSON.stringify(total)).toBeGreaterThan(0);
  }, 600_000);
});
