// The driver-VM figures of docs/driver-vms.md ("Block protocol", "Figures"):
// what it costs the bundled kernel's `io` workload to have its disk served
// by a driver domain (the same kernel, workload `blkback`, serving with its
// unmodified disk.ts) instead of its own local driver. Every number is a
// real run (simulated cycles from the default cost model):
//
//   - local: the client kernel alone on the back end with its disk
//     (`previrt run --hv B --disk`), the baseline;
//   - driver VM: the client (no disk) and the driver domain (the disk) under
//     the multi-guest host; the client's own clock at its power-off.
//
// Per back end (xen, l4) and scale: both totals and the overhead; the
// marginal cycles per request (the difference between two scales divided
// by the extra requests: boot and the final report cancel out), local and
// driver VM; and where a driver-VM request's extra cycles go (the client's
// and the driver's port accesses per request, the driver's executed cycles
// per request, the host's window). Also checks that every client printed
// exactly what the local run printed.
//
//   npx tsc -p tsconfig.json && node dist/scripts/driver-vm-figures.js [--scales 1,4] [--backends xen,l4] [--window N]

import type { HostOutcome } from "../src/hypervisors/domains/host.js";
import { ioRequests as requests, runDriverVm, runIo } from "../src/cli/bench/driver-bench.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const scales = (arg("--scales") ?? "1,4").split(",").map(Number);
const hvs = (arg("--backends") ?? "xen,l4").split(",");
const window = arg("--window") === undefined ? undefined : Number(arg("--window"));

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

interface Local {
  cycles: number;
  console: string;
  ports: number;
}
interface Remote {
  cycles: number;
  console: string;
  clientPorts: number;
  driverPorts: number;
  driverExecuted: number;
  outcome: HostOutcome;
}

// The runs are src/cli/bench/driver-bench.ts's (`previrt bench --drivers` makes the same ones).
function local(hv: string, scale: number): Local {
  const r = runIo(hv, scale);
  if (!r.ok) throw new Error(`io on ${hv} (local) did not pass`);
  return { cycles: r.cycles, console: r.console, ports: r.stats.deviceAccesses };
}

function remote(hv: string, scale: number): Remote {
  const r = runDriverVm(hv, scale, window);
  if (!r.ok) throw new Error(`io on ${hv} (driver VM) did not pass:\n${r.console}`);
  return {
    cycles: r.cycles,
    console: r.console,
    clientPorts: r.clientStats.deviceAccesses,
    driverPorts: r.driverStats.deviceAccesses,
    driverExecuted: r.driverExecuted,
    outcome: r.outcome,
  };
}

const out: string[] = [];
const p = (s = "") => out.push(s);

p("### The `io` workload: local driver vs driver VM (client cycles)");
p();
p("| back end | scale | requests | local | driver VM | overhead |");
p("|---|---:|---:|---:|---:|---:|");
const rows: { hv: string; scale: number; l: Local; r: Remote }[] = [];
for (const hv of hvs) {
  for (const scale of scales) {
    const l = local(hv, scale);
    const r = remote(hv, scale);
    if (r.console !== l.console) throw new Error(`io on ${hv} at scale ${scale}: the client printed something else than the local run`);
    rows.push({ hv, scale, l, r });
    p(`| ${hv} | ${scale} | ${requests(scale)} | ${fmt(l.cycles)} | ${fmt(r.cycles)} | ${pct(r.cycles / l.cycles - 1)} |`);
  }
}
p();
if (scales.length >= 2) {
  const [s0, s1] = [scales[0], scales[scales.length - 1]];
  p(`### Per request (marginal: scale ${s1} minus scale ${s0}, divided by the ${requests(s1) - requests(s0)} extra requests)`);
  p();
  p("| back end | local cycles / request | driver VM cycles / request | overhead | client port accesses / request (local → DVM) | driver port accesses / request | driver executed cycles / request |");
  p("|---|---:|---:|---:|---:|---:|---:|");
  for (const hv of hvs) {
    const a = rows.find((x) => x.hv === hv && x.scale === s0)!;
    const b = rows.find((x) => x.hv === hv && x.scale === s1)!;
    const n = requests(s1) - requests(s0);
    const lr = (b.l.cycles - a.l.cycles) / n;
    const rr = (b.r.cycles - a.r.cycles) / n;
    const lp = (b.l.ports - a.l.ports) / n;
    const cp = (b.r.clientPorts - a.r.clientPorts) / n;
    const dp = (b.r.driverPorts - a.r.driverPorts) / n;
    const de = (b.r.driverExecuted - a.r.driverExecuted) / n;
    p(`| ${hv} | ${fmt(lr)} | ${fmt(rr)} | ${pct(rr / lr - 1)} | ${lp.toFixed(1)} → ${cp.toFixed(1)} | ${dp.toFixed(1)} | ${fmt(de)} |`);
  }
  p();
}
p(`Host window: ${rows[0]?.r.outcome.window ?? "?"} cycles (the bound on one notification's latency).`);
console.log(out.join("\n"));
