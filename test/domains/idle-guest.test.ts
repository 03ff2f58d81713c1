// The cost of an extra idle guest (docs/driver-vms.md, "The cost of an
// extra idle guest"; issue 18's goal: ≤ 0.5 % of a busy guest's cycles).
// An idle driver domain — the bundled kernel as `blkback`, no client —
// stops its periodic tick at its first idle (tickless idle, docs/kernel.md),
// so after its boot it executes nothing while a busy guest runs beside it:
// its executed cycles and timer interrupts are the same whether the busy
// guest runs 1× or 8× as long. With the periodic tick they grow with the
// busy guest's run (one tick every 500,000 cycles, ≈ 4,500 cycles each on
// xen, ≈ 11,300 on l4). The busy guest's console and cycles are those it
// has alone, and the runs are deterministic. Real guests on the real emulator.
import { describe, expect, it } from "vitest";
import { buildKernel } from "../../src/cli/bundled-kernel.js";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";

const MAX_CYCLES = 100_000_000;
const idle = buildKernel({ workload: "blkback" }).image;
const busy = new Map<number, ReturnType<typeof buildKernel>["image"]>();
const compute = (scale: number) => {
  if (!busy.has(scale)) busy.set(scale, buildKernel({ workload: "compute", scale }).image);
  return busy.get(scale)!;
};

function run(hv: string, scale: number, idleCpus = 1) {
  const specs: DomainSpec[] = [
    { name: "busy", image: compute(scale) },
    { name: "idle", image: idle, role: "driver", serves: ["block"], cpus: idleCpus },
  ];
  const out = new DomainHost(specs, { backend: hv, maxCycles: MAX_CYCLES }).run();
  return { out, busy: out.domains[0], idle: out.domains[1] };
}

describe("an extra idle guest (a driver domain with no client) beside a busy one", () => {
  for (const [hv, cpus] of [["xen", 1], ["l4", 1], ["hvm", 1], ["xen", 2]] as const) {
    it(`${hv}, idle guest on ${cpus} vCPU(s): its executed cycles and timer interrupts stay flat while the busy guest runs 8× as long`, () => {
      const short = run(hv, 1, cpus);
      const long = run(hv, 8, cpus);
      for (const r of [short, long]) {
        expect(r.busy.result).toEqual({ kind: "poweroff", exitCode: 0 });
        expect(r.busy.console).toContain("selfcheck: ok");
        expect(r.idle.result).toBeUndefined(); // still serving (waiting) when the busy guest ended
        expect(r.idle.restarts).toEqual([]);
        expect(r.idle.console).toContain("blkback: domain 1 serves block requests\n");
      }
      // The busy guest ran 3 M+ cycles longer…
      expect(long.busy.executedCycles - short.busy.executedCycles).toBeGreaterThan(3_000_000);
      // …and the idle one did nothing more: no tick after its first idle, on any of its CPUs.
      expect(long.idle.executedCycles).toBe(short.idle.executedCycles);
      expect(long.idle.stats.interrupts).toEqual(short.idle.stats.interrupts);
      expect(long.idle.stats.instructions).toBe(short.idle.stats.instructions);
    });
  }

  it("xen: the busy guest prints and counts exactly what it does alone; the run is deterministic", () => {
    const alone = new DomainHost([{ name: "busy", image: compute(8) }], { backend: "xen", maxCycles: MAX_CYCLES }).run().domains[0];
    const a = run("xen", 8);
    const b = run("xen", 8);
    expect(a.busy.console).toBe(alone.console);
    expect(a.busy.stats).toEqual(alone.stats);
    expect(b.out).toEqual(a.out);
  });
});
