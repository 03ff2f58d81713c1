// The lock-holder preemption cures (--spinlocks, src/hypervisors/common/
// spinlock-cures.ts): each prints exactly what bare prints; each cuts spin
// cycles where it should; the pv spinlock's lost-wakeup race never
// deadlocks across a sweep of interleavings, nor when a release lands
// between a waiter's last attempt and its hypercall; a back end refuses a
// cure it does not offer; results do not depend on the engine.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { buildKernel, kernelDisk, WORKLOADS, type Workload } from "../../src/cli/bundled-kernel.js";
import { runElf } from "../../src/hypervisors/index.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { programFiles, PROGRAMS } from "../compiler/helpers.js";
import { released } from "../recycle.js";

const MAX = 400_000_000;
const CURES: ReadonlyArray<[string, string]> = [
  ["xen", "pv"],
  ["xen", "delayed"],
  ["l4", "pv"],
  ["l4", "delayed"],
  ["hvm", "ple"],
];
const built = new Map<Workload, ElfImage>();
const kernel = (w: Workload) => {
  if (!built.has(w)) built.set(w, buildKernel({ workload: w }).image);
  return built.get(w)!;
};
/** A run of the kernel; its machine's RAM goes back for the next run (test/recycle.ts). */
const run = (w: Workload, backend: string, spinlocks: string | undefined, pcpus?: number, extra: object = {}) =>
  released(runElf(kernel(w), { backend, spinlocks, cpus: 4, pcpus, maxCycles: MAX, disk: kernelDisk(), ...extra }));
type Run = ReturnType<typeof run>;
/**
 * The same run for the tests that compare the same configuration (runs are deterministic: asserted below on fresh
 * runs): the cure-by-cure consoles and the counters of the same runs, the ticket tests' shared bare reference.
 */
const shared = new Map<string, Run>();
const runShared: typeof run = (w, backend, spinlocks, pcpus, extra = {}) => {
  const key = JSON.stringify([w, backend, spinlocks, pcpus, extra]);
  let out = shared.get(key);
  if (out === undefined) shared.set(key, (out = run(w, backend, spinlocks, pcpus, extra)));
  return out;
};
/** A run that did not power off is a failure with the machine's own diagnosis (a deadlock names its CPU). */
const ok = (out: Run, what: string) => {
  if (out.result.kind !== "poweroff") throw new Error(`${what}: ${out.result.message}\n${out.result.diagnosis}`);
  expect(out.result.exitCode, what).toBe(0);
};

describe("each cure prints what bare prints", () => {
  const bare = new Map<Workload, string>();
  const reference = (w: Workload) => {
    if (!bare.has(w)) {
      const out = run(w, "bare", undefined);
      ok(out, `${w} on bare`);
      bare.set(w, out.console);
    }
    return bare.get(w)!;
  };
  // The lock workloads at every --pcpus; every other workload with the vCPUs oversubscribed 2:1.
  for (const w of WORKLOADS) {
    const pcpus = w === "spinlock" || w === "smp" ? [4, 2, 1] : [2];
    it(`${w} at --cpus 4 --pcpus ${pcpus.join("/")}`, () => {
      for (const [backend, cure] of CURES) {
        for (const p of pcpus) {
          const out = runShared(w, backend, cure, p);
          ok(out, `${w} on ${backend} --spinlocks ${cure} --pcpus ${p}`);
          expect(out.console, `${w} on ${backend} --spinlocks ${cure} --pcpus ${p}`).toBe(reference(w));
        }
      }
    }, 600_000);
  }
});

describe("the cures act", () => {
  // Ticketlock at --pcpus 2 and smp-bench's 1,000-cycle quantum, by back end, cure and time slice (shared runs).
  const ticketRun = (backend: string, cure: string, timeslice: number) => runShared("ticketlock", backend, cure, 2, { quantum: 1000, timeslice });

  it("pv blocks and kicks, delayed postpones and yields, ple exits; pv and ple cut spin cycles against native", () => {
    const spin = (o: Run) => o.stats.counts.spinCycles;
    const xenNative = runShared("spinlock", "xen", "native", 2);
    const xenPv = runShared("spinlock", "xen", "pv", 2);
    const xenDelayed = runShared("spinlock", "xen", "delayed", 2);
    const hvmNative = runShared("spinlock", "hvm", "native", 2);
    const hvmPle = runShared("spinlock", "hvm", "ple", 2);
    for (const o of [xenNative, xenPv, xenDelayed, hvmNative, hvmPle]) ok(o, "spinlock");
    expect(xenPv.stats.counts["xen:pv.block"]).toBeGreaterThan(0);
    expect(xenPv.stats.counts["xen:pv.kick"]).toBeGreaterThan(0);
    expect(xenDelayed.stats.counts.delayedPreemptions).toBeGreaterThan(0);
    expect(hvmPle.stats.counts["exit:ple"]).toBeGreaterThan(0);
    // The problem, visible (issue 15): the spinlock workload takes the counter's lock back to back (kernel.ts
    // lockBurst), so a vCPU's turn ends holding it 4–10 % of the time and time slices end inside the critical section about
    // that often — 6 of xen's 47 slice ends at --pcpus 2. Before the bursts (one acquisition per system call,
    // turns ending holding it 1–5 % of the time) native xen spun 4.6 % of its executed cycles with one lock-holder
    // preemption; now 23 % with 6.
    const executed = (o: Run) => (o.stats.perCpu ?? []).reduce((t, c) => t + c.cycles - c.idleCycles - c.descheduledCycles, 0);
    expect(spin(xenNative) / executed(xenNative)).toBeGreaterThan(0.15);
    expect(xenNative.stats.counts.lockHolderPreemptions).toBeGreaterThanOrEqual(4);
    expect(hvmNative.stats.counts.lockHolderPreemptions).toBeGreaterThanOrEqual(4);
    // A waiter whose events are masked sleeps until the kick: a held timer line must not wake it (it would
    // spin its bound again at once, block, wake, … — 408 blocks and 0.73 M spin cycles, 2.4× native's then).
    // pv: 1.45 M → 43,401 (33.5×, the goal's 10× with room); with the 32-attempt bound it left 0.17 M (8.3×) of
    // contention between the two running vCPUs, spun through for the whole bound (PV_SPIN_BOUND, the sweep in
    // docs/smp-virtualization.md; bare metal, 4 CPUs, nothing preempted, spins 1.04 M).
    expect(spin(xenPv)).toBeLessThan(spin(xenNative) / 10);
    // (38 blocks on the kernel before the driver-VM and nvdisk probes shifted its interleaving, 91 after; the bug gave 408.)
    expect(xenPv.stats.counts["xen:pv.block"]).toBeLessThan(150);
    expect(spin(hvmPle)).toBeLessThan(spin(hvmNative) / 10);
    // The lock sites went to stubs (pv, delayed); hvm's stay native (ple needs no guest help).
    expect(new Set(xenPv.rewrite.sites.filter((s) => s.kindName === "lock").map((s) => s.strategy))).toEqual(new Set(["stub"]));
    expect(new Set(hvmPle.rewrite.sites.filter((s) => s.kindName === "lock").map((s) => s.strategy))).toEqual(new Set(["native"]));
  }, 300_000);

  it("pv ticket locks: the waiter a kick wakes gets a physical CPU at once — no convoy of spin-then-sleep waiters (xen, l4)", () => {
    // The regression: on l4 at --pcpus 2 (100,000-cycle slice) every hand-off went to a sleeping waiter that the
    // kick woke but left without a physical CPU, so each vCPU that took a ticket behind it spun its whole bound
    // (PV_SPIN_BOUND reads, ~1,900 cycles) and slept: 1,496 such waits, 3.05 M spin cycles against native's
    // 3.37 M (1.1×). The releaser now hands the woken waiter — the lock's holder — its physical CPU.
    // Measured against bare metal (4 CPUs, nothing preempted), not native: native l4 hardly spins at 60,000
    // cycles since the kernel stopped spinning at boot and power-off (53 K), and collapses elsewhere.
    const bare = runShared("ticketlock", "bare", "native", undefined, { quantum: 1000 });
    ok(bare, "ticketlock bare");
    for (const backend of ["l4", "xen"]) {
      for (const timeslice of [60_000, 100_000, 150_000]) {
        const what = `ticketlock ${backend} --pcpus 2 --timeslice ${timeslice}`;
        const pv = ticketRun(backend, "pv", timeslice);
        ok(pv, `${what} pv`);
        // What bare metal prints (native's runs print it too: the next test, and each cure's above).
        expect(pv.console, what).toBe(bare.console);
        expect(pv.stats.counts.spinCycles, what).toBeLessThan(bare.stats.counts.spinCycles / 2);
        // (5–12 preempted next-in-line waiters before the kernel stopped spinning at boot and power-off, which
        // moved every interleaving; 22 on l4 at 100,000 since — each one handed its physical CPU at the kick.)
        expect(pv.stats.counts.lockWaiterPreemptions ?? 0, what).toBeLessThan(40);
      }
    }
  }, 300_000);

  it("ticket locks: pv sleeps the waiters and kicks the next in line, delayed and ple act; each cuts spin cycles against native", () => {
    // At a 1,000-cycle quantum (smp-bench.ts SMP_BENCH_INTERLEAVING): a hand-off reaches its waiter at the waiter's next turn.
    const t = (backend: string, cure: string) => ticketRun(backend, cure, 100_000);
    const spin = (o: Run) => o.stats.counts.spinCycles;
    const bare = runShared("ticketlock", "bare", "native", undefined, { quantum: 1000 });
    const xenNative = t("xen", "native");
    const xenPv = t("xen", "pv");
    const xenDelayed = t("xen", "delayed");
    const hvmNative = t("hvm", "native");
    const hvmPle = t("hvm", "ple");
    for (const o of [bare, xenNative, xenPv, xenDelayed, hvmNative, hvmPle]) {
      ok(o, "ticketlock");
      expect(o.console).toBe(bare.console);
    }
    expect(xenPv.stats.counts["xen:pv.block"]).toBeGreaterThan(0);
    expect(xenPv.stats.counts["xen:pv.kick"]).toBeGreaterThan(0);
    expect(xenDelayed.stats.counts.delayedPreemptions).toBeGreaterThan(0);
    // Whether native ticket locks collapse at one time slice is a matter of the kernel's layout: an unrelated
    // kernel edit moved xen's native spin at 100,000 cycles from 141.7 M to 2.2 M while 60,000 and 150,000 still
    // collapsed (70.6 M, 216.1 M). So the factors compare sums over three slices, each run checked against bare.
    const slices = [60_000, 100_000, 150_000];
    const spinOver = (backend: string, cure: string) =>
      slices.reduce((sum, timeslice) => {
        const o = ticketRun(backend, cure, timeslice);
        ok(o, `ticketlock ${backend} ${cure} timeslice ${timeslice}`);
        expect(o.console).toBe(bare.console);
        return sum + spin(o);
      }, 0);
    const xenNativeSpin = spinOver("xen", "native");
    expect(spinOver("xen", "pv")).toBeLessThan(xenNativeSpin / 5);
    expect(spinOver("xen", "delayed")).toBeLessThan(xenNativeSpin / 5);
    // ple's spin here is the big kernel lock's (a test-and-set lock), held by a running vCPU doing real work
    // (docs/smp-virtualization.md): 0.07–0.21 M cycles since the kernel stopped spinning at boot and power-off
    // (1.1–1.5 M before); native's depends on the kernel's interleaving (1.4 M at 60,000, 176 M and 313 M at
    // 100,000 and 150,000 now). A factor of 5 on the sums holds with room (measured 992×; 6.2× before the fix).
    expect(spinOver("hvm", "ple")).toBeLessThan(spinOver("hvm", "native") / 5);
    // The ticket sites went to stubs (pv, delayed), and spin accounting found their amoadds there: every ticket
    // the kernel takes (4 processes × 200 rounds × count, push, pop) is counted under every cure.
    expect(new Set(xenPv.rewrite.sites.filter((s) => s.kindName === "ticket").map((s) => s.strategy))).toEqual(new Set(["stub"]));
    for (const o of [bare, xenNative, xenPv, xenDelayed, hvmNative, hvmPle]) expect(o.stats.counts.ticketTakes).toBe(2400);
    // Deterministic: the hand-overs within an epoch, the sleeps and kicks are functions of the machine's state.
    const fresh = (cure: string) => run("ticketlock", "xen", cure, 2, { quantum: 1000, timeslice: 100_000 });
    expect(fresh("pv").stats).toEqual(xenPv.stats);
    expect(fresh("delayed").stats).toEqual(xenDelayed.stats);
  }, 300_000);

  it("the same run with the interpreter and the JIT: identical counters and cycles", () => {
    for (const [backend, cure] of [["xen", "pv"], ["hvm", "ple"], ["l4", "delayed"]] as const) {
      const a = run("ticketlock", backend, cure, 2, { engine: "interp", quantum: 1000, timeslice: 100_000 });
      const b = run("ticketlock", backend, cure, 2, { engine: "jit", quantum: 1000, timeslice: 100_000 });
      expect(b.stats, `ticketlock ${backend} ${cure}`).toEqual(a.stats);
    }
    for (const [backend, cure] of [["xen", "pv"], ["hvm", "ple"], ["l4", "delayed"]] as const) {
      const a = run("smp", backend, cure, 2, { engine: "interp" });
      const b = run("smp", backend, cure, 2, { engine: "jit" });
      expect(b.stats, `${backend} ${cure}`).toEqual(a.stats);
    }
  }, 300_000);
});

describe("ple: a pause-loop exit is a directed yield", () => {
  // The ticket-counter program (4 CPUs × 1,000 ticket-lock hand-offs, no kernel) on hvm: every hand-off goes
  // to one vCPU, and with 4 vCPUs on fewer physical CPUs it is often one without a physical CPU. Its waiters
  // spin, exit, and the VMM must give a physical CPU to a vCPU that can make progress.
  const image = buildSources([
    ...programFiles(join(PROGRAMS, "smp/ticket-counter.ts")),
    { file: "fixtures/kernel/ticketlock.s", text: readFileSync(join(PROGRAMS, "../kernel/ticketlock.s"), "utf8") },
  ]).image;
  const tc = (pcpus: number, extra: object = {}) =>
    released(runElf(image, { backend: "hvm", spinlocks: "ple", cpus: 4, pcpus, quantum: 1000, timeslice: 10_000, maxCycles: 200_000_000, ...extra }));
  const expectDone = (out: Run, what: string) => {
    if (out.result.kind !== "poweroff") throw new Error(`${what}: ${out.result.message}\n${out.result.diagnosis ?? ""}`);
    expect(out.console, what).toBe("cpus x ticket increments 4000\nlocked 4000\n");
  };

  it("on one physical CPU the exits boost the other vCPUs in turn, and the hand-offs get through", () => {
    const out = tc(1);
    expectDone(out, "ticket-counter, hvm ple, --pcpus 1");
    const c = out.stats.counts;
    // Before directed yield a PLE exit gave the physical CPU to the next ready vCPU after the round robin's
    // pointer, and the hand-overs kept missing the vCPU whose ticket was served: 39,989 exits and no end in
    // 200 M cycles (4,000 M: still running). Directed yield, round robin from the last vCPU boosted: measured
    // 37.0 M cycles, 9,004 exits, 8,933 of them directed yields.
    expect(out.stats.cycles).toBeLessThan(60_000_000);
    expect(c["ple.directedYields"]).toBeGreaterThan(0.9 * c["exit:ple"]);
    // Against native (measured 29.9 M spin cycles, 37.7 M cycles): ple spins less (14.0 M).
    const native = released(runElf(image, { backend: "hvm", spinlocks: "native", cpus: 4, pcpus: 1, quantum: 1000, timeslice: 10_000, maxCycles: 200_000_000 }));
    expectDone(native, "ticket-counter, hvm native, --pcpus 1");
    expect(c.spinCycles).toBeLessThan(native.stats.counts.spinCycles / 1.5);
  }, 120_000);

  it("with every other vCPU inside a PLE exit of its own the exit is a plain yield, and no next-in-line waiter is preempted for it", () => {
    // --pcpus 3: the one vCPU without a physical CPU is usually a spinner that exited itself, eligible every
    // other time only. A failed search must leave the exiting vCPU marked as spinning: when it was not, it
    // became everyone's preferred target and 2,444 next-in-line waiters were preempted (measured; 7 now).
    const out = tc(3);
    expectDone(out, "ticket-counter, hvm ple, --pcpus 3");
    const c = out.stats.counts;
    expect(c["ple.yieldFailures"]).toBeGreaterThan(0);
    expect(c.lockWaiterPreemptions ?? 0).toBeLessThan(100);
  }, 120_000);

  it("deterministic, and the same with the interpreter and the JIT", () => {
    for (const pcpus of [1, 2]) {
      const a = tc(pcpus, { engine: "interp" });
      const b = tc(pcpus, { engine: "interp" });
      const j = tc(pcpus, { engine: "jit" });
      expectDone(a, `--pcpus ${pcpus}`);
      expect(a.stats.counts["ple.directedYields"]).toBeGreaterThan(0);
      expect(b.stats, `--pcpus ${pcpus}, twice`).toEqual(a.stats);
      expect(j.stats, `--pcpus ${pcpus}, jit`).toEqual(a.stats);
    }
  }, 300_000);
});

describe("pv spinlocks: the lost-wakeup race", () => {
  // 4 CPUs × 10,000 lock/unlock pairs around a plain increment (no kernel: every hand-off is a race between
  // a waiter going to sleep and the holder's unlock), swept over the interleaving quantum and the time slice
  // so that unlock and block cross at every distance. A lost wakeup leaves a vCPU asleep for ever: the machine
  // stops with hlt-deadlock (or the cycle limit) and the failure carries its diagnosis.
  // Each configuration once: a slice is at least 2,001 cycles, so at quanta of 200 and 331 cycles 2 and 7
  // quanta give the same slice (2,200 and 2,317) — the same run twice, runs being deterministic.
  const SWEEP = (() => {
    const points = new Map<string, { quantum: number; timeslice: number; pcpus: number }>();
    for (const quantum of [200, 331, 1000, 2003, 7919]) {
      for (const quanta of [2, 7]) {
        const timeslice = Math.max(quanta * quantum, Math.ceil(2001 / quantum) * quantum);
        for (const pcpus of [1, 2, 3]) points.set(`${quantum} ${timeslice} ${pcpus}`, { quantum, timeslice, pcpus });
      }
    }
    return [...points.values()];
  })();
  /** Runs `image` with the pv cure at every point of the sweep; `check` asserts one run; returns the blocks counted. */
  const sweep = (image: ElfImage, backend: string, check: (out: Run, what: string) => void) => {
    let blocks = 0;
    for (const { quantum, timeslice, pcpus } of SWEEP) {
      const what = `${backend} --quantum ${quantum} --timeslice ${timeslice} --pcpus ${pcpus}`;
      const out = released(runElf(image, { backend, spinlocks: "pv", cpus: 4, pcpus, quantum, timeslice, maxCycles: 400_000_000 }));
      if (out.result.kind !== "poweroff") throw new Error(`${what}: ${out.result.message}\n${out.result.diagnosis}`);
      check(out, what);
      blocks += out.stats.counts[`${backend}:pv.block`] ?? 0;
    }
    return blocks;
  };

  it("the sweep: 8 distinct slices of 2–7 quanta, each at --pcpus 1–3", () => {
    expect(SWEEP).toHaveLength(24);
    expect(new Set(SWEEP.map((p) => p.quantum))).toEqual(new Set([200, 331, 1000, 2003, 7919]));
  });

  const image = buildSources(programFiles(join(PROGRAMS, "smp/counter.ts"))).image;
  for (const backend of ["xen", "l4"]) {
    it(`${backend}: quanta 200…7,919 cycles, slices 2–7 quanta, --pcpus 1–3: never deadlocks, totals exact`, () => {
      const blocks = sweep(image, backend, (out, what) => expect(out.console, what).toBe("cpus x increments 40000\natomic 40000\nlocked 40000\n"));
      expect(blocks).toBeGreaterThan(100); // the race was really run: waiters did sleep
    }, 600_000);
  }

  // The same sweep for the ticket lock (the kernel's ticketlock.s): a waiter sleeps only if its ticket is not
  // served, and the unlock kicks only the vCPU whose ticket it serves — a wrong ticket or a missed kick hangs.
  const ticketImage = buildSources([
    ...programFiles(join(PROGRAMS, "smp/ticket-counter.ts")),
    { file: "fixtures/kernel/ticketlock.s", text: readFileSync(join(PROGRAMS, "../kernel/ticketlock.s"), "utf8") },
  ]).image;
  for (const backend of ["xen", "l4"]) {
    it(`${backend}, ticket lock: quanta 200…7,919 cycles, slices 2–7 quanta, --pcpus 1–3: never deadlocks, total exact`, () => {
      const blocks = sweep(ticketImage, backend, (out, what) => {
        expect(out.console, `ticket ${what}`).toBe("cpus x ticket increments 4000\nlocked 4000\n");
        expect(out.stats.counts.ticketTakes, `ticket ${what}`).toBe(4000);
      });
      expect(blocks).toBeGreaterThan(100); // the race was really run: waiters did sleep
    }, 600_000);
  }

  // The other side of the race: the release lands after the waiter's last failed attempt but before its
  // hypercall, so the releaser saw no sleeper and kicked nobody. The monitor must then not put the waiter to
  // sleep on a lock that is free (a test-and-set lock: it takes it for the waiter; a ticket lock: the waiter's
  // turn has come). The sweeps above reach this only by chance (0–2 times a run, and a sleeper there is
  // woken by the next hand-off of the same hot lock); late-release.ts makes it deterministic: one hand-off
  // per lock, whose release CPU 1 makes at its next turn while CPU 0's delay moves the end of CPU 0's turn
  // across every instruction of the stub. A vCPU asleep on a free lock is never kicked — nobody takes that lock
  // again — and the run never ends (measured: without either branch, every run here stops at the cycle limit;
  // with them each ends within 1 M cycles).
  const lateImage = buildSources([
    ...programFiles(join(PROGRAMS, "smp/late-release.ts")),
    { file: "fixtures/kernel/ticketlock.s", text: readFileSync(join(PROGRAMS, "../kernel/ticketlock.s"), "utf8") },
  ]).image;
  for (const backend of ["xen", "l4"]) {
    it(`${backend}: a release between the last attempt and the hypercall — the waiter takes the lock, or sees its turn, instead of sleeping`, () => {
      for (const quantum of [200, 331]) {
        const what = `${backend} --cpus 2 --quantum ${quantum}`;
        const out = released(runElf(lateImage, { backend, spinlocks: "pv", cpus: 2, quantum, maxCycles: 5_000_000 }));
        if (out.result.kind !== "poweroff") throw new Error(`${what}: ${out.result.message}\n${out.result.diagnosis}`);
        expect(out.console, what).toBe("rounds 480\n");
        // The interleaving was really reached, for both kinds of lock (else the run proves nothing).
        expect(out.stats.counts[`${backend}:pv.tookFree`], what).toBeGreaterThan(0);
        expect(out.stats.counts[`${backend}:pv.ticketServed`], what).toBeGreaterThan(0);
      }
    }, 120_000);
  }
});

describe("--spinlocks on the command line", () => {
  const cli = async (...argv: string[]) => {
    const io = bufferIO(new Uint8Array());
    const status = await main(argv, io);
    return { status, out: io.stdout, err: io.stderr };
  };
  it("a back end refuses a cure it does not offer, in one line; --stats and --json carry the counters", async () => {
    const elf = join(mkdtempSync(join(tmpdir(), "previrt-lhp-")), "k.elf");
    expect((await cli("kernel", "-o", elf, "--workload", "smp")).status).toBe(0);
    for (const [hv, cure, msg] of [
      ["bare", "pv", "previrt: error: --hv bare does not offer --spinlocks pv (it offers: native)\n"],
      ["hvm", "delayed", "previrt: error: --hv hvm does not offer --spinlocks delayed (it offers: native, ple)\n"],
      ["xen", "ple", "previrt: error: --hv xen does not offer --spinlocks ple (it offers: native, pv, delayed)\n"],
      ["xen", "fast", "previrt: error: --spinlocks must be one of native, pv, delayed, ple, not 'fast'\n"],
    ] as const) {
      const r = await cli("run", elf, "--hv", hv, "--cpus", "2", "--spinlocks", cure);
      expect(r.status, `${hv} ${cure}`).not.toBe(0);
      expect(r.err, `${hv} ${cure}`).toBe(msg);
    }
    const r = await cli("run", elf, "--hv", "xen", "--cpus", "4", "--pcpus", "2", "--spinlocks", "pv", "--json", "-");
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.out.trim().split("\n").pop()!);
    expect(doc.counts.spinCycles).toBeGreaterThan(0);
    expect(doc.counts.lockHolderPreemptions).toBeGreaterThanOrEqual(0);
    const s = await cli("run", elf, "--hv", "hvm", "--cpus", "4", "--pcpus", "2", "--spinlocks", "ple", "--stats");
    expect(s.err).toMatch(/spinCycles=\d+ lockHolderPreemptions=\d+/);
  }, 120_000);
});
