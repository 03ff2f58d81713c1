// The cost of one extra idle guest (docs/driver-vms.md, "Figures"; the
// OSDI'04 paper's ≈ 0.12 % CPU per extra VM): a busy guest — the bundled
// kernel running a workload — alone under the multi-guest host, and again
// beside an idle guest: the same kernel running `blkback` with no client (a
// driver domain waiting for one; it idles tickless — docs/kernel.md,
// "Tickless idle" — so after its boot nothing wakes it). Every number is a
// real run (simulated cycles, default cost model):
//
//   - the idle guest's executed cycles (clock less idle) over the busy
//     guest's run, as a share of the busy guest's executed cycles — what it
//     would take from a physical CPU it shared. Its boot (≈ 0.4 M cycles on
//     xen) is a one-time cost, so the steady-state share is also given, marginally:
//     the busy workload at two scales, the idle guest's extra executed
//     cycles over the busy guest's extra executed cycles (boot cancels);
//   - the busy guest's cycles with and without it: each guest has dedicated
//     physical CPUs in the host's model, so these are equal (checked), and
//     its console is identical (checked).
//
//   npx tsc -p tsconfig.json && node dist/scripts/idle-guest-figures.js [--workloads compute,io,mixed] [--backends xen,l4,hvm] [--scales 1,4] [--idle N] [--idle-timer-period C]

import { buildKernel, kernelDiskBytes, type Workload } from "../src/cli/bundled-kernel.js";
import { DomainHost, type DomainSpec } from "../src/hypervisors/domains/host.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const workloads = (arg("--workloads") ?? "compute,io,mixed").split(",") as Workload[];
const backends = (arg("--backends") ?? "xen,l4,hvm").split(",");
const idleCount = Number(arg("--idle") ?? 1);
const scales = (arg("--scales") ?? "1,4").split(",").map(Number);

// The idle guest's timer period (--idle-timer-period; default: the kernel's, 500,000 cycles). Its tick stops at its
// first idle, so the period matters only while it boots (with a periodic tick, its ticks were its whole steady cost).
const idleTimer = arg("--idle-timer-period") === undefined ? undefined : Number(arg("--idle-timer-period"));
const idle = buildKernel({ workload: "blkback" as Workload, timerPeriod: idleTimer }).image;
console.log("| back end | busy workload (scale) | busy cycles alone | beside idle | idle executed cycles | share incl. its boot | steady-state share of busy executed | of busy elapsed |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const hv of backends) {
  for (const w of workloads) {
    const rows = scales.map((scale) => {
      const busy = buildKernel({ workload: w, scale }).image;
      const busySpec = (): DomainSpec => ({ name: "busy", image: busy, disk: new Uint8Array(kernelDiskBytes(scale)) });
      const alone = new DomainHost([busySpec()], { backend: hv }).run();
      const idles: DomainSpec[] = Array.from({ length: idleCount }, (_, i) => ({ name: `idle${i}`, image: idle, role: "driver", serves: ["block"] }));
      const both = new DomainHost([busySpec(), ...idles], { backend: hv }).run();
      const a = alone.domains[0];
      const b = both.domains[0];
      if (b.console !== a.console || b.stats.cycles !== a.stats.cycles) throw new Error(`${hv} ${w}: the busy guest changed beside the idle one`);
      const idleExec = both.domains.slice(1).reduce((s, d) => s + d.executedCycles, 0);
      return { scale, alone: a.stats.cycles, beside: b.stats.cycles, busyExec: b.executedCycles, idleExec };
    });
    const [lo, hi] = [rows[0], rows[rows.length - 1]];
    const steady = (100 * (hi.idleExec - lo.idleExec)) / (hi.busyExec - lo.busyExec);
    const steadyElapsed = (100 * (hi.idleExec - lo.idleExec)) / (hi.beside - lo.beside);
    for (const r of rows) {
      const incl = (100 * r.idleExec) / r.busyExec;
      console.log(`| ${hv} | ${w} (${r.scale}) | ${r.alone} | ${r.beside} | ${r.idleExec} | ${incl.toFixed(2)} % | ${r === hi ? `${steady.toFixed(3)} %` : ""} | ${r === hi ? `${steadyElapsed.toFixed(3)} %` : ""} |`);
    }
  }
}
