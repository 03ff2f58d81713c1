// `previrt bench --drivers`: where the client kernel's disk is served from,
// measured (docs/driver-vms.md "Figures", "VMM-bypass I/O"). Consumes the
// bundled kernel (`io` for the client, `blkback` for the driver domain) and
// runs `io` at two scales per configuration: on bare metal (port disk,
// nvdisk: the references), and per hypervisor back end with its own disk
// driver (the local driver), with its disk served by a driver domain under
// the multi-guest host (src/hypervisors/domains/host.ts), and on the nvdisk
// emulated by the VMM or passed through (VMM-bypass). Produces the rows
// (client cycles, marginal cycles per request, overheads against the local
// driver and against bare, VMM entries, whether the console is the local
// run's), the issue's goals as met/missed lines beside the papers' figures,
// as a terminal table, JSON and a self-contained HTML page.
//
// The measuring functions (runIo, runDriverVm, vmmDeviceEntries) are also
// what scripts/driver-vm-figures.ts and scripts/bypass-figures.ts call, so
// the docs' tables and this report are the same runs. Every figure is
// simulated cycles from the default cost model: it does not depend on the host.

import { UserError } from "../../guest-isa/diagnostics.js";
import { DomainHost, type HostOutcome } from "../../hypervisors/domains/host.js";
import { backends, countVmmEntries, getBackend, hostingBackends, runElf, type RunElfOutcome } from "../../hypervisors/index.js";
import type { MachineStats } from "../../machine/stats.js";
import { buildKernel, kernelDisk, kernelDiskBytes } from "../bundled-kernel.js";
import { drain } from "../interrupt.js";

const MAX_CYCLES = 4_000_000_000;

/** Requests the io workload makes at `scale`: 8 × scale writes, as many reads (sector transfers). */
export const ioRequests = (scale: number) => 16 * scale;

/** One single-guest run of `io`: on the port disk, or on the nvdisk (emulated, or passed through). */
export interface IoRun {
  ok: boolean;
  cycles: number;
  console: string;
  stats: MachineStats;
  outcome: RunElfOutcome;
}

/** The `io` workload at `scale` alone on `backend`; `nvdisk`: the kernel's disk is the nvdisk (the port disk stays attached, unused). */
export function runIo(backend: string, scale: number, o: { nvdisk?: boolean; passthrough?: boolean } = {}): IoRun {
  const image = buildKernel({ workload: "io", scale }).image;
  const outcome = runElf(image, {
    backend,
    maxCycles: MAX_CYCLES,
    disk: kernelDisk(scale),
    nvdisk: o.nvdisk ? kernelDisk(scale) : undefined,
    passthrough: o.passthrough,
  });
  const ok = outcome.result.kind === "poweroff" && outcome.result.exitCode === 0;
  return { ok, cycles: outcome.stats.cycles, console: outcome.console, stats: outcome.stats, outcome };
}

/** The client's side and the driver domain's of one driver-VM run. */
export interface DriverVmRun {
  ok: boolean;
  /** The client's clock at its power-off. */
  cycles: number;
  console: string;
  clientStats: MachineStats;
  driverStats: MachineStats;
  /** The driver domain's executed cycles (clock less idle). */
  driverExecuted: number;
  outcome: HostOutcome;
}

/** The `io` workload at `scale` as a client (no disk) of a driver domain (the bundled kernel as `blkback`, owning the disk) on `backend`. */
export function runDriverVm(backend: string, scale: number, window?: number): DriverVmRun {
  const client = buildKernel({ workload: "io", scale }).image;
  const driver = buildKernel({ workload: "blkback" }).image;
  const host = new DomainHost(
    [
      { name: "driver", image: driver, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes(scale)) },
      { name: "client", image: client, uses: { block: "driver" } },
    ],
    { backend, maxCycles: MAX_CYCLES, window },
  );
  const outcome = host.run();
  const [d, c] = outcome.domains;
  const ok = c.result?.kind === "poweroff" && c.result.exitCode === 0;
  return { ok, cycles: c.cycles, console: c.console, clientStats: c.stats, driverStats: d.stats, driverExecuted: d.executedCycles, outcome };
}

/** Calls into the VMM and exits on the device path: mmio site emulations, trapped setup accesses, hvm's mmio exits. */
export function vmmDeviceEntries(stats: MachineStats): number {
  let n = 0;
  for (const [k, v] of Object.entries(stats.counts)) if (/mmio\.emulated|bypass\.setup|mmio\.trapped|exit:mmio/.test(k)) n += v;
  return n;
}

/**
 * Every entry into the VMM, as the back end counts them (Backend.vmmEntries):
 * hypercalls (xen, l4: `B:hcall.*`, the in-place VMM's EMULATE calls
 * included), traps reflected to the guest, trapped device accesses; VM exits
 * on hvm; none on bare metal.
 */
export function vmmEntries(backend: string, stats: MachineStats): number {
  return countVmmEntries(getBackend(backend), stats.counts, "all");
}

export type DriverConfig = "bare-port" | "bare-nvdisk" | "local" | "driver-vm" | "nvdisk-emulated" | "nvdisk-passthrough";
const LABELS: Record<DriverConfig, string> = {
  "bare-port": "bare, port disk",
  "bare-nvdisk": "bare, nvdisk",
  local: "local driver (port disk)",
  "driver-vm": "driver VM (blkback in a driver domain)",
  "nvdisk-emulated": "nvdisk emulated",
  "nvdisk-passthrough": "nvdisk passed through (bypass)",
};
/**
 * The back ends the bench runs (bare is always the reference): each that
 * hosts a driver domain (hostingBackends) and passes the nvdisk through
 * (Backend.passthrough), in-place VMMs first.
 */
export function driverBenchBackends(): string[] {
  return hostingBackends(backends.values()).filter((b) => b.passthrough).map((b) => b.name);
}
/** The issue's goals (per request, marginal) and the papers' figures beside them. */
export const DRIVER_VM_GOAL = 0.08;
export const BYPASS_GOAL = 0.02;
/** The goals are set for the back ends with an in-place VMM (Backend.inPlaceVmm: pre-virtualization, the papers' subject); hvm is measured, with no goal. */
const hasGoals = (backend: string) => getBackend(backend).inPlaceVmm === true;

export interface DriverBenchRun {
  scale: number;
  requests: number;
  cycles: number;
  vmmEntries: number;
  vmmDeviceEntries: number;
  /** The client passed its self-check (power-off 0). */
  ok: boolean;
  /** It printed exactly what the local driver's run printed (bare: the port disk's run). */
  consoleMatchesLocal: boolean;
}

export interface DriverBenchRow {
  backend: string;
  config: DriverConfig;
  label: string;
  /** One run per scale, smallest first. */
  runs: DriverBenchRun[];
  /** (cycles at the largest scale − at the smallest) / the extra requests: boot and the final report cancel out. */
  cyclesPerRequest: number;
  vmmEntriesPerRequest: number;
  /** cyclesPerRequest against the same back end's local driver (null for bare rows). */
  overheadVsLocal: number | null;
  /** cyclesPerRequest against bare metal on the same disk (port disk for local and driver VM, nvdisk for the nvdisk rows). */
  overheadVsBare: number;
  /** Driver VM rows: the driver domain's executed cycles per request (marginal). */
  driverExecutedPerRequest?: number;
  /** Driver VM rows: the driver domain's VMM entries per request (marginal; the client's are vmmEntriesPerRequest). */
  driverVmmEntriesPerRequest?: number;
}

export interface DriverBenchGoal {
  goal: string;
  backend: string;
  /** The measured overhead per request. */
  measured: number;
  bound: number;
  met: boolean;
  paper: string;
}

export interface DriverBenchReport {
  workload: "io";
  scales: number[];
  costModel: "default";
  rows: DriverBenchRow[];
  goals: DriverBenchGoal[];
  /** Every run passed and printed what its local run printed. */
  allMatch: boolean;
}

/** Runs the bench: bare (port disk, nvdisk), then per back end in `hv` the local driver, the driver VM, the nvdisk emulated and passed through, at each of `scales`. */
export interface DriverBenchOptions {
  hv?: readonly string[];
  scales?: readonly number[];
  progress?: (done: number, total: number, label: string) => void;
}

export function runDriverBench(options: DriverBenchOptions): DriverBenchReport {
  return drain(driverBenchSteps(options));
}

/** runDriverBench one run at a time (a step each: cli/interrupt.ts drain, drainInterruptible). */
export function* driverBenchSteps(options: DriverBenchOptions): Generator<void, DriverBenchReport> {
  const can = driverBenchBackends();
  const hv = options.hv ?? can;
  for (const h of hv) {
    if (!can.includes(h)) throw new UserError(`bench --drivers runs on ${can.join(", ")} (bare is always the reference), not '${h}'`);
  }
  const scales = [...(options.scales ?? [1, 4])].sort((a, b) => a - b);
  if (scales.length < 2 || scales[0] === scales[scales.length - 1]) throw new UserError("bench --drivers needs two different scales (the cost per request is their difference)");
  const cells: { backend: string; config: DriverConfig }[] = [
    { backend: "bare", config: "bare-port" },
    { backend: "bare", config: "bare-nvdisk" },
    ...hv.flatMap((b) => (["local", "driver-vm", "nvdisk-emulated", "nvdisk-passthrough"] as const).map((config) => ({ backend: b, config }))),
  ];
  const total = cells.length * scales.length;
  let done = 0;
  const localConsole = new Map<string, string>(); // `${backend} ${scale}` -> the local (bare: port disk) run's console
  const rows: DriverBenchRow[] = [];
  for (const c of cells) {
    const runs: DriverBenchRun[] = [];
    const driver: { executed: number; entries: number }[] = [];
    for (const scale of scales) {
      options.progress?.(done, total, `io --scale ${scale} on ${c.backend}, ${LABELS[c.config]}`);
      let ok: boolean, cycles: number, console: string, stats: MachineStats;
      if (c.config === "driver-vm") {
        const r = runDriverVm(c.backend, scale);
        ({ ok, cycles, console } = r);
        stats = r.clientStats;
        driver.push({ executed: r.driverExecuted, entries: vmmEntries(c.backend, r.driverStats) });
      } else {
        const nvdisk = c.config === "bare-nvdisk" || c.config === "nvdisk-emulated" || c.config === "nvdisk-passthrough";
        const r = runIo(c.backend, scale, { nvdisk, passthrough: c.config === "nvdisk-passthrough" || undefined });
        ({ ok, cycles, console, stats } = r);
      }
      const key = `${c.backend} ${scale}`;
      if (c.config === "local" || c.config === "bare-port") localConsole.set(key, console);
      runs.push({
        scale,
        requests: ioRequests(scale),
        cycles,
        vmmEntries: vmmEntries(c.backend, stats),
        vmmDeviceEntries: vmmDeviceEntries(stats),
        ok,
        consoleMatchesLocal: ok && console === localConsole.get(key),
      });
      done++;
      yield;
    }
    const lo = runs[0];
    const hi = runs[runs.length - 1];
    const extra = hi.requests - lo.requests;
    rows.push({
      backend: c.backend,
      config: c.config,
      label: LABELS[c.config],
      runs,
      cyclesPerRequest: (hi.cycles - lo.cycles) / extra,
      vmmEntriesPerRequest: (hi.vmmEntries - lo.vmmEntries) / extra,
      overheadVsLocal: null,
      overheadVsBare: 0,
      ...(c.config === "driver-vm"
        ? {
            driverExecutedPerRequest: (driver[driver.length - 1].executed - driver[0].executed) / extra,
            driverVmmEntriesPerRequest: (driver[driver.length - 1].entries - driver[0].entries) / extra,
          }
        : {}),
    });
  }
  options.progress?.(done, total, "");
  const per = (backend: string, config: DriverConfig) => rows.find((r) => r.backend === backend && r.config === config)!.cyclesPerRequest;
  for (const r of rows) {
    const nv = r.config === "bare-nvdisk" || r.config === "nvdisk-emulated" || r.config === "nvdisk-passthrough";
    r.overheadVsBare = r.cyclesPerRequest / per("bare", nv ? "bare-nvdisk" : "bare-port") - 1;
    if (r.backend !== "bare") r.overheadVsLocal = r.cyclesPerRequest / per(r.backend, "local") - 1;
  }
  const goals: DriverBenchGoal[] = [];
  for (const b of hv.filter(hasGoals)) {
    const m = rows.find((r) => r.backend === b && r.config === "driver-vm")!.overheadVsLocal!;
    goals.push({ goal: "driver VM vs the local driver", backend: b, measured: m, bound: DRIVER_VM_GOAL, met: m <= DRIVER_VM_GOAL, paper: "OSDI'04 (LeVasseur et al.): 3–8 % (network)" });
  }
  for (const b of hv.filter(hasGoals)) {
    const m = rows.find((r) => r.backend === b && r.config === "nvdisk-passthrough")!.overheadVsBare;
    goals.push({ goal: "bypass vs bare", backend: b, measured: m, bound: BYPASS_GOAL, met: m <= BYPASS_GOAL, paper: "Liu et al. (USENIX'06): near-native" });
  }
  const allMatch = rows.every((r) => r.runs.every((x) => x.consoleMatchesLocal));
  return { workload: "io", scales, costModel: "default", rows, goals, allMatch };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (x: number | null) => (x === null ? "" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)} %`);

function table(r: DriverBenchReport): string[][] {
  const [lo, hi] = [r.scales[0], r.scales[r.scales.length - 1]];
  const head = ["back end", "configuration", ...r.scales.map((s) => `cycles (scale ${s})`), `cycles/request (${hi}−${lo})`, "vs local", "vs bare", "VMM entries/request", `device-path VMM entries (scale ${hi})`, "output"];
  const body = r.rows.map((x) => [
    x.backend,
    x.label,
    ...x.runs.map((run) => fmt(run.cycles)),
    fmt(x.cyclesPerRequest),
    pct(x.overheadVsLocal),
    pct(x.overheadVsBare),
    x.vmmEntriesPerRequest.toFixed(2),
    String(x.runs[x.runs.length - 1].vmmDeviceEntries),
    x.runs.every((run) => run.consoleMatchesLocal) ? (x.backend === "bare" ? "= port disk" : "= local") : "DIFFERS",
  ]);
  return [head, ...body];
}

function goalLine(g: DriverBenchGoal): string {
  return `${g.met ? "met   " : "MISSED"} ${g.goal} on ${g.backend}: ${pct(g.measured)} per request (goal <= ${(100 * g.bound).toFixed(0)} %; ${g.paper})`;
}

export function renderDriverText(r: DriverBenchReport): string {
  const [head, ...body] = table(r);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
  const note = `io at --scale ${r.scales.join(" and ")} (${r.scales.map(ioRequests).join(" and ")} sector transfers); client cycles, default cost model; per request = the difference of the two scales over the extra requests; vs local = against the back end's local driver, vs bare = against bare metal on the same disk`;
  const dvm = r.rows.filter((x) => x.driverExecutedPerRequest !== undefined).map((x) => `${x.backend} ${fmt(x.driverExecutedPerRequest!)} (${x.driverVmmEntriesPerRequest!.toFixed(2)} VMM entries)`);
  return [note, line(head), ...body.map(line), ...(dvm.length ? [`driver domain, per request: executed cycles (its own CPU; not in the client's) ${dvm.join(", ")}`] : []), ...r.goals.map(goalLine)].join("\n") + "\n";
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A self-contained page (no scripts): the table, the goal lines, and a bar chart of the per-request overhead against the local driver. */
export function renderDriverHtml(r: DriverBenchReport): string {
  const [head, ...body] = table(r);
  const tbl = `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body.map((b) => `<tr>${b.map((c, i) => `<td${i >= 2 ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  const bars = r.rows.filter((x) => x.overheadVsLocal !== null);
  const barH = 16;
  const max = Math.max(0.01, ...bars.map((x) => Math.abs(x.overheadVsLocal!)));
  // Labels end at x = 300; negative bars (faster than the local driver) take up to 200 px left of the axis.
  const zero = 520;
  const scaleX = 200 / max;
  const svgBars = bars
    .map((x, i) => {
      const v = x.overheadVsLocal!;
      const w = Math.max(1, Math.round(Math.abs(v) * scaleX));
      const y = 10 + i * (barH + 4);
      const color = { local: "#7f8c8d", "driver-vm": "#c0392b", "nvdisk-emulated": "#2980b9", "nvdisk-passthrough": "#27ae60" }[x.config as string] ?? "#333";
      return `<text x="300" y="${y + 12}" font-size="11" text-anchor="end">${esc(`${x.backend}, ${x.label}`)}</text>` +
        `<rect x="${v < 0 ? zero - w : zero}" y="${y}" width="${w}" height="${barH}" fill="${color}"><title>${esc(pct(v))}</title></rect>` +
        `<text x="${v < 0 ? zero + 4 : zero + w + 4}" y="${y + 12}" font-size="10">${esc(pct(v))}</text>`;
    })
    .join("");
  const svgH = 20 + bars.length * (barH + 4);
  const chart = `<svg xmlns="http://www.w3.org/2000/svg" width="${zero + 290}" height="${svgH}">${svgBars}<line x1="${zero}" y1="0" x2="${zero}" y2="${svgH}" stroke="#333"/></svg>`;
  const dvm = r.rows.filter((x) => x.driverExecutedPerRequest !== undefined).map((x) => `${x.backend} ${fmt(x.driverExecutedPerRequest!)} cycles, ${x.driverVmmEntriesPerRequest!.toFixed(2)} VMM entries`);
  const driverLine = dvm.length ? `<p>The driver domain, per request (on its own CPU; not in the client's cycles): ${esc(dvm.join("; "))}.</p>` : "";
  const goals = `<ul>${r.goals.map((g) => `<li class="${g.met ? "met" : "missed"}">${esc(goalLine(g))}</li>`).join("")}</ul>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>previrt bench --drivers</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right}.met{color:#1e8449}.missed{color:#c0392b}</style></head><body>` +
    `<h1>Driver VMs and VMM-bypass I/O: the <code>io</code> workload (scales ${r.scales.join(", ")})</h1>` +
    `<h2>Goals, per request, beside the papers</h2>${goals}` +
    `<h2>Overhead per request against the back end's local driver</h2>${chart}` +
    `<h2>Every configuration</h2>${tbl}${driverLine}` +
    `<p>Simulated cycles, default cost model; the client's console matched its local run in ${r.allMatch ? "every" : "NOT every"} configuration. docs/driver-vms.md explains the figures.</p></body></html>\n`;
}
