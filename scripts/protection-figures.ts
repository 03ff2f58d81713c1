// The figures of docs/protection.md: what protection domains cost. Every
// number is a real run (simulated cycles from the cost model):
//
//   - cycles with the in-place VMM's domain on and off, per bundled-kernel
//     workload and back end (only xen and l4 have a VMM domain);
//   - permission-table memory as a share of guest memory;
//   - extra references per guest data reference (the PLB's misses), the
//     denominator counted in a second run in which a dummy domain (with no
//     code) makes every guest frame checked, so every load and store of the
//     guest is counted (its own table references shift the clock by a few
//     cycles, so that run's instruction stream is the same workload, not
//     the identical one);
//   - the same for the Mondrix kernel variant with its driver isolated.
//
//   npm run build && node dist/scripts/protection-figures.js

import { buildKernel, kernelDisk, WORKLOADS } from "../src/cli/bundled-kernel.js";
import { buildMondrixKernel, MONDRIX_DISK_BYTES } from "../src/cli/inject/fault-injection.js";
import type { ElfImage } from "../src/guest-isa/elf-types.js";
import { backends, getBackend, prepareImage } from "../src/hypervisors/index.js";
import { defaultCostModel } from "../src/machine/cost-model.js";
import { memoryDisk } from "../src/machine/devices/disk.js";
import { loadImage } from "../src/machine/loader.js";
import { Machine } from "../src/machine/machine.js";
import { PERM } from "../src/machine/protection/protection.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (x: number, digits = 2) => `${(100 * x).toFixed(digits)} %`;

interface Run {
  cycles: number;
  console: string;
  checks: number;
  misses: number;
  extraRefs: number;
  tableBytes: number;
  guestBytes: number;
}

/** One run on a back end; `countRefs`: a dummy domain checks every guest frame, so `checks` counts every guest load and store. */
function run(image: ElfImage, hv: string, protect: boolean, disk: Uint8Array, countRefs = false): Run {
  const backend = getBackend(hv);
  const rewrite = prepareImage(backend, image);
  let console = "";
  const m = new Machine({ disk: memoryDisk(disk), costModel: defaultCostModel(), protection: protect, consoleOutput: (t) => (console += t), engine: "interp" });
  const monitor = backend.createMonitor?.(rewrite, { cpus: 1, protect });
  if (monitor) m.attach(monitor);
  if (countRefs) {
    const d = m.protection.defineDomain("count", []);
    m.protection.grant(d, 0, m.memory.guestLimit, PERM.R);
  }
  loadImage(m, rewrite.image);
  const r = m.run(4_000_000_000);
  if (r.kind !== "poweroff") throw new Error(`${hv}: ${r.kind === "stopped" ? r.message : ""}`);
  const c = m.protection.counters;
  return { cycles: m.cycles, console, checks: c.checks, misses: c.plbMisses, extraRefs: c.extraRefs, tableBytes: m.protection.tableBytes(), guestBytes: m.memory.guestLimit };
}

const out: string[] = [];
const p = (s = "") => out.push(s);

p("### Cycles with the VMM's domain on and off (bundled kernel, scale 1)");
p();
p("| workload | back end | cycles off | cycles on | cost | checked refs | PLB misses | extra refs / checked ref |");
p("|---|---|---:|---:|---:|---:|---:|---:|");
let worst = 0;
for (const w of WORKLOADS) {
  const image = buildKernel({ workload: w }).image;
  for (const hv of backends.keys()) {
    const off = run(image, hv, false, kernelDisk());
    const on = run(image, hv, true, kernelDisk());
    if (on.console !== off.console) throw new Error(`${w} on ${hv}: console differs with protection`);
    const cost = on.cycles / off.cycles - 1;
    if (hv === "xen" || hv === "l4") worst = Math.max(worst, cost);
    p(`| ${w} | ${hv} | ${fmt(off.cycles)} | ${fmt(on.cycles)} | ${pct(cost, 4)} | ${fmt(on.checks)} | ${fmt(on.misses)} | ${on.checks ? pct(on.extraRefs / on.checks) : "—"} |`);
  }
}
p();
p(`Worst runtime cost with the VMM's domain on (xen, l4): ${pct(worst, 4)}.`);
p();

p("### Table memory and extra references per guest reference");
p();
p("| guest | back end | table bytes | guest memory | table share | guest data refs | extra refs | extra refs / guest ref | PLB hit rate |");
p("|---|---|---:|---:|---:|---:|---:|---:|---:|");
const mixed = buildKernel({ workload: "mixed" }).image;
for (const hv of ["xen", "l4"]) {
  const on = run(mixed, hv, true, kernelDisk());
  const all = run(mixed, hv, true, kernelDisk(), true);
  p(`| kernel (mixed) | ${hv} | ${fmt(on.tableBytes)} | ${fmt(on.guestBytes)} | ${pct(on.tableBytes / on.guestBytes, 3)} | ${fmt(all.checks)} | ${fmt(on.extraRefs)} | ${pct(on.extraRefs / all.checks, 4)} | ${pct(1 - on.misses / on.checks)} |`);
}
{
  const mx = buildMondrixKernel();
  const on = run(mx, "bare", true, new Uint8Array(MONDRIX_DISK_BYTES));
  const off = run(mx, "bare", false, new Uint8Array(MONDRIX_DISK_BYTES));
  const all = run(mx, "bare", true, new Uint8Array(MONDRIX_DISK_BYTES), true);
  p(`| Mondrix variant (driver isolated) | bare | ${fmt(on.tableBytes)} | ${fmt(on.guestBytes)} | ${pct(on.tableBytes / on.guestBytes, 3)} | ${fmt(all.checks)} | ${fmt(on.extraRefs)} | ${pct(on.extraRefs / all.checks, 3)} | ${pct(1 - on.misses / on.checks)} |`);
  p();
  p(`Mondrix variant: ${fmt(off.cycles)} cycles unprotected, ${fmt(on.cycles)} with its driver isolated (${pct(on.cycles / off.cycles - 1, 3)}: the permission-table references; the supervisor calls' port accesses are made in both runs — unprotected they succeed and do nothing).`);
}
console.log(out.join("\n"));
