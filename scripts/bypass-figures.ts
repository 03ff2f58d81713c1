// The figures of docs/driver-vms.md "VMM-bypass I/O": the bundled kernel's
// `io` workload on the memory-mapped disk (src/machine/devices/nvdisk.ts),
// on bare metal, and under xen and l4 with the device passed through
// (VMM-bypass) or emulated by the VMM, beside the port disk's figures. Every
// number is a real run (simulated cycles from the default cost model), so
// the table is a function of the sources alone.
//
//   npx tsc -p tsconfig.json && node dist/scripts/bypass-figures.js [scales…]   (default: 1 4 16)
//
// With several scales it ends with the cost per request: the difference between the
// largest and the smallest scale over the extra requests.

import { runIo, vmmDeviceEntries } from "../src/cli/bench/driver-bench.js";

const scales = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
if (scales.length === 0) scales.push(1, 4, 16);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (a: number, b: number) => `${a >= b ? "+" : ""}${((a / b - 1) * 100).toFixed(2)} %`;

interface Config {
  label: string;
  backend: string;
  nvdisk: boolean;
  passthrough?: boolean;
}
const CONFIGS: Config[] = [
  { label: "bare, port disk", backend: "bare", nvdisk: false },
  { label: "bare, nvdisk", backend: "bare", nvdisk: true },
  { label: "xen, nvdisk passed through", backend: "xen", nvdisk: true, passthrough: true },
  { label: "xen, nvdisk emulated", backend: "xen", nvdisk: true },
  { label: "xen, port disk", backend: "xen", nvdisk: false },
  { label: "l4, nvdisk passed through", backend: "l4", nvdisk: true, passthrough: true },
  { label: "l4, nvdisk emulated", backend: "l4", nvdisk: true },
  { label: "l4, port disk", backend: "l4", nvdisk: false },
];

const lines: string[] = [];
/** Cycles per configuration at each scale, for the per-request table. */
const byScale = new Map<number, number[]>();
for (const scale of scales) {
  const requests = 16 * scale;
  // The runs are src/cli/bench/driver-bench.ts's (`previrt bench --drivers` makes the same ones).
  const rows = CONFIGS.map((c) => {
    const r = runIo(c.backend, scale, { nvdisk: c.nvdisk, passthrough: c.passthrough });
    if (!r.ok) throw new Error(`${c.label}, scale ${scale}: ${JSON.stringify(r.outcome.result)}`);
    return { c, o: r.outcome, cycles: r.cycles };
  });
  byScale.set(scale, rows.map((r) => r.cycles));
  const bareNv = rows[1].cycles;
  const barePort = rows[0].cycles;
  const xenPort = rows[4].cycles;
  const l4Port = rows[7].cycles;
  lines.push(`### io, scale ${scale} (${requests} sector transfers)`, "");
  lines.push("| configuration | cycles | vs bare (same disk) | vs the back end's port disk | VMM entries on the device path | per request |");
  lines.push("|---|---:|---:|---:|---:|---:|");
  for (const { c, o, cycles } of rows) {
    const base = c.nvdisk ? bareNv : barePort;
    const port = c.backend === "xen" ? xenPort : c.backend === "l4" ? l4Port : barePort;
    const entries = vmmDeviceEntries(o.stats);
    lines.push(`| ${c.label} | ${fmt(cycles)} | ${pct(cycles, base)} | ${c.backend === "bare" ? "" : pct(cycles, port)} | ${entries} | ${(entries / requests).toFixed(2)} |`);
  }
  // What the VMM costs each request on the device path: emulated minus passed through, per request.
  for (const b of ["xen", "l4"]) {
    const pt = rows.find((r) => r.c.backend === b && r.c.passthrough)!.cycles;
    const em = rows.find((r) => r.c.backend === b && r.c.nvdisk && !r.c.passthrough)!.cycles;
    lines.push("", `${b}: emulating the device costs ${fmt((em - pt) / requests)} cycles per request more than passing it through; ` +
      `passed through, the run is ${pct(pt, bareNv)} against bare (the rest is the kernel's own virtualization: its system call and return, the completion's line reaching the hypervisor, TLB refills after mode switches).`);
  }
  lines.push("");
}
// Per request: the difference between the largest and the smallest scale over the extra requests (boot and the final report cancel out).
if (scales.length > 1) {
  const lo = Math.min(...scales);
  const hi = Math.max(...scales);
  const per = (i: number) => (byScale.get(hi)![i] - byScale.get(lo)![i]) / (16 * (hi - lo));
  lines.push(`### Per request (scale ${hi} minus scale ${lo}, over the ${16 * (hi - lo)} extra requests)`, "");
  lines.push("| configuration | cycles / request | vs bare, nvdisk | vs the back end's port disk |", "|---|---:|---:|---:|");
  CONFIGS.forEach((c, i) => {
    const port = c.backend === "xen" ? per(4) : c.backend === "l4" ? per(7) : per(0);
    lines.push(`| ${c.label} | ${fmt(per(i))} | ${pct(per(i), per(1))} | ${c.backend === "bare" ? "" : pct(per(i), port)} |`);
  });
  lines.push("");
}
process.stdout.write(lines.join("\n") + "\n");
