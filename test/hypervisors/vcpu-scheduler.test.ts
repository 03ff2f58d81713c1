// The --pcpus scheduler (src/hypervisors/common/vcpu-scheduler.ts) on the
// real machine, under a small monitor that only schedules and records, per
// epoch, which vCPUs held a physical CPU: never more than M, round robin
// (equal shares for equal work), halted vCPUs skipped while a ready one
// waits, a blocked vCPU's physical CPU handed over, switches counted and
// charged, deterministic, and with M = N the very run of no scheduler.
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { VcpuScheduler, defaultTimeslice } from "../../src/hypervisors/common/vcpu-scheduler.js";
import { loadImage } from "../../src/machine/loader.js";
import { Machine } from "../../src/machine/machine.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { runElf } from "../../src/hypervisors/index.js";

const QUANTUM = 1000;

/**
 * CPU 0 starts every other CPU; each adds 1 to its own word `work[cpu]`
 * WORK[cpu] times (loads and stores: ~7 cycles a round), then counts itself
 * done with amoadd. The others then halt (IE=0: for good); CPU 0 waits for
 * all and powers off with the sum of the words.
 */
function program(work: number[]): string {
  return `
    .text
    .global _start
_start:
    in   s1, 0x41
    la   t0, secondary
    out  0x43, t0
    li   t1, 1
.Lstart:
    bge  t1, s1, secondary
    out  0x42, t1
    addi t1, t1, 1
    j    .Lstart
secondary:
    in   s0, 0x40
    slli t0, s0, 2
    la   a1, work
    add  a1, a1, t0
    la   a2, rounds
    add  a2, a2, t0
    lw   t1, 0(a2)
.Lloop:
    beqz t1, .Ldone
    lw   t2, 0(a1)
    addi t2, t2, 1
    sw   t2, 0(a1)
    addi t1, t1, -1
    j    .Lloop
.Ldone:
    la   a3, done
    li   t4, 1
    amoadd zero, t4, 0(a3)
    bnez s0, .Lpark
.Lwait:
    lw   t3, 0(a3)
    bne  t3, s1, .Lwait
    li   a0, 0
    la   a1, work
    li   t1, 0
.Lsum:
    bge  t1, s1, .Lout
    lw   t2, 0(a1)
    add  a0, a0, t2
    addi a1, a1, 4
    addi t1, t1, 1
    j    .Lsum
.Lout:
    andi a0, a0, 255
    out  0xF0, a0
.Lpark:
    hlt
    j    .Lpark
    .data
work:   .space 32
done:   .word 0
rounds: ${work.map((w) => `.word ${w}`).join("\n        ")}
`;
}

interface Epoch {
  start: number;
  held: number[];
  /** vCPUs that held no physical CPU although they were running. */
  waitingRunning: number[];
  /** vCPUs that held one while halted. */
  heldHalted: number[];
}

class SchedMonitor implements Monitor {
  readonly name = "sched";
  m!: Machine;
  scheduler: VcpuScheduler | undefined;
  epochs: Epoch[] = [];
  constructor(private readonly pcpus: number | undefined, private readonly timeslice?: number) {}
  attach(machine: Machine): void {
    this.m = machine;
    this.scheduler = VcpuScheduler.forMonitor(machine, { pcpus: this.pcpus, timeslice: this.timeslice });
  }
  runnable(cpu: number, epochStart: number): boolean {
    const state = this.m.cpuState(cpu);
    const r = this.scheduler ? this.scheduler.runnable(cpu, epochStart) : true;
    let e = this.epochs.at(-1);
    if (!e || e.start !== epochStart) this.epochs.push((e = { start: epochStart, held: [], waitingRunning: [], heldHalted: [] }));
    if (r) e.held.push(cpu);
    if (r && state === "halted") e.heldHalted.push(cpu);
    if (!r && state === "running") e.waitingRunning.push(cpu);
    return r;
  }
}

function run(work: number[], pcpus: number | undefined, timeslice?: number) {
  const image = assemble([{ file: "sched.s", text: program(work) }]);
  const machine = new Machine({ cpus: work.length, quantum: QUANTUM, engine: "interp" });
  const monitor = new SchedMonitor(pcpus, timeslice);
  machine.attach(monitor);
  loadImage(machine, image);
  const result = machine.run(50_000_000);
  return { result, stats: machine.stats(), epochs: monitor.epochs };
}

describe("the vCPU scheduler (--pcpus)", () => {
  it("never runs more vCPUs than physical CPUs, and the guest's result is exact", () => {
    const r = run([3000, 3000, 3000, 3000], 2);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 12000 & 255 });
    for (const e of r.epochs) expect(e.held.length, `epoch ${e.start}`).toBeLessThanOrEqual(2);
    expect(r.stats.counts.descheduledCycles).toBeGreaterThan(0);
  });

  it("shares the physical CPUs round robin: equal work gets equal descheduled time (within two slices)", () => {
    const r = run([4000, 4000, 4000], 2);
    const slice = defaultTimeslice(QUANTUM, 2000);
    const per = r.stats.perCpu!.map((c) => c.descheduledCycles);
    // CPUs 1 and 2 start a little after CPU 0, and CPU 0 keeps running (it waits for the others) after its own work.
    for (const d of per) expect(d).toBeGreaterThan(0);
    expect(Math.max(per[1], per[2]) - Math.min(per[1], per[2])).toBeLessThanOrEqual(2 * slice);
  });

  it("skips halted vCPUs while a ready one waits, and hands a blocked vCPU's physical CPU over", () => {
    // CPU 1 finishes at once and halts for good; CPUs 0, 2, 3 keep working.
    const r = run([6000, 1, 6000, 6000], 2);
    expect(r.result.kind).toBe("poweroff");
    for (const e of r.epochs) {
      if (e.waitingRunning.length > 0) expect(e.heldHalted, `epoch ${e.start}`).toEqual([]);
    }
  });

  it("counts vCPU switches and charges each a vcpuSwitch on the incoming vCPU", () => {
    const r = run([3000, 3000, 3000], 1);
    const switches = r.stats.counts.vcpuSwitches ?? 0;
    expect(switches).toBeGreaterThan(3);
    expect(r.stats.events.vcpuSwitch).toBe(switches);
  });

  it("a longer time slice switches less", () => {
    const short = run([3000, 3000, 3000], 1, 3 * QUANTUM);
    const long = run([3000, 3000, 3000], 1, 20 * QUANTUM);
    expect(short.stats.counts.vcpuSwitches).toBeGreaterThan(long.stats.counts.vcpuSwitches!);
  });

  it("is deterministic: the same run twice gives the same cycles, counters and schedule", () => {
    const a = run([2500, 3100, 1700, 2900], 3, 3 * QUANTUM);
    const b = run([2500, 3100, 1700, 2900], 3, 3 * QUANTUM);
    expect(b.stats).toEqual(a.stats);
    expect(b.epochs).toEqual(a.epochs);
  });

  it("with as many physical CPUs as vCPUs is the run without a scheduler, cycle for cycle", () => {
    const none = run([2000, 2000, 2000], undefined);
    const all = run([2000, 2000, 2000], 3);
    expect(all.stats).toEqual(none.stats);
    expect(all.stats.counts.vcpuSwitches).toBeUndefined();
  });

  it("refuses a time slice that is not a multiple of the quantum, and --pcpus above the CPUs", () => {
    const image = assemble([{ file: "sched.s", text: program([1, 1]) }]);
    const attach = (pcpus: number, timeslice?: number) => new Machine({ cpus: 2, quantum: QUANTUM }).attach(new SchedMonitor(pcpus, timeslice));
    expect(() => attach(1, 1500)).toThrow(/--timeslice must be a positive multiple of the quantum \(1000 cycles\), not 1500/);
    expect(() => attach(1, 0)).toThrow(/--timeslice/);
    expect(() => attach(1, 2 * QUANTUM)).toThrow(/--timeslice 2000 is not longer than a vCPU switch \(vcpuSwitch: 2000 cycles\)/);
    expect(() => attach(3)).toThrow(/--pcpus must be a whole number from 1 to --cpus \(2\), not 3/);
    expect(() => runElf(image, { backend: "xen", cpus: 2, pcpus: 3 })).toThrow(/--pcpus must be a whole number from 1 to --cpus \(2\), not 3/);
  });
});
