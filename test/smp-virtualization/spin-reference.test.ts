// Spin-cycle accounting (src/machine/spin-accounting.ts) checked against a
// reference count taken by single-stepping: the machine runs one
// instruction per Cpu.run call (referenceSlicing, interpreter), and the
// test wraps Cpu.run to see every step — which CPU, the pc before, the
// cycles it took — and recomputes spinCycles from the registers alone: a
// step at a lock site whose destination register reads non-zero afterwards
// is a failed attempt, zero an acquiring one, and the steps a CPU executes
// from its first failed attempt up to its acquiring one are spinning.
// Nothing here calls the machine's amoswap hook or its clocks.
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk, type Workload } from "../../src/cli/bundled-kernel.js";
import { getBackend, prepareImage } from "../../src/hypervisors/index.js";
import { Machine } from "../../src/machine/machine.js";
import { loadImage } from "../../src/machine/loader.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";

function reference(workload: Workload, backend: string, cpus: number, pcpus?: number) {
  const image = buildKernel({ workload }).image;
  const be = getBackend(backend);
  const rewrite = prepareImage(be, image);
  const locks = rewrite.sites.filter((s) => s.kindName === "lock");
  const siteReg = new Map(locks.map((s) => [s.record.addr, s.record.regA]));
  const machine = new Machine({ cpus, referenceSlicing: true, engine: "interp", disk: memoryDisk(kernelDisk()), lockSites: locks.map((s) => s.record.addr) });
  const monitor = be.createMonitor?.(rewrite, { cpus, pcpus });
  if (monitor) machine.attach(monitor);
  loadImage(machine, rewrite.image);
  const cpu = machine.cpu;
  const run = cpu.run.bind(cpu);
  const waiting = new Array<boolean>(cpus).fill(false);
  let spin = 0;
  let attempts = 0;
  cpu.run = (limit: number) => {
    const id = machine.cpuId;
    const pc = cpu.pc >>> 0;
    const before = cpu.cycles;
    run(limit);
    const took = cpu.cycles - before;
    const reg = siteReg.get(pc);
    if (waiting[id]) spin += took;
    if (reg !== undefined && cpu.pc >>> 0 === (pc + 4) >>> 0) {
      attempts++;
      if (cpu.regs[reg] !== 0) waiting[id] = true;
      else waiting[id] = false;
    }
  };
  const result = machine.run(400_000_000);
  return { result, stats: machine.stats(), spin, attempts };
}

describe("spin cycles match a single-stepped reference", () => {
  it("the spinlock workload on bare metal, 4 CPUs", () => {
    const r = reference("spinlock", "bare", 4);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.spin).toBeGreaterThan(10_000); // the lock is really contended
    expect(r.stats.counts.lockAttempts).toBe(r.attempts);
    expect(r.stats.counts.spinCycles).toBe(r.spin);
  }, 120_000);

  it("the smp workload on hvm with 4 vCPUs on 2 physical CPUs", () => {
    const r = reference("smp", "hvm", 4, 2);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.spin).toBeGreaterThan(1_000);
    expect(r.stats.counts.lockAttempts).toBe(r.attempts);
    expect(r.stats.counts.spinCycles).toBe(r.spin);
  }, 120_000);
});
