// `previrt bench --smp`: lock-holder preemption and its cures, measured
// (docs/smp-virtualization.md). Consumes the bundled kernel (annotated) for
// the spinlock workload and two existing ones, and runs each with --cpus 4
// at --pcpus 4, 2 and 1 on every hypervisor back end with every
// --spinlocks cure it offers (bare, native, as the reference). Produces the
// rows (total cycles, spin cycles and their share of the executed cycles,
// lock-holder preemptions, hypercalls/exits, whether the console matched
// bare), as a terminal table, JSON and a self-contained HTML report with a
// chart of spin share per cure. Every figure is simulated: it does not
// depend on the host.

import { UserError } from "../../guest-isa/diagnostics.js";
import { backends, countVmmEntries, runElf } from "../../hypervisors/index.js";
import type { MachineStats } from "../../machine/stats.js";
import { DEFAULT_QUANTUM } from "../../machine/machine.js";
import { buildKernel, kernelDiskBytes, WORKLOADS, type Workload } from "../bundled-kernel.js";
import { drain } from "../interrupt.js";

export const SMP_BENCH_WORKLOADS: readonly Workload[] = ["spinlock", "ticketlock", "smp", "ctxsw"];
/**
 * Per workload, the machine's interleaving: the ticket lock hands the lock to
 * one waiter, which sees it only at its next turn in the machine's epochs —
 * with the default 10,000-cycle quantum every acquisition would cost a turn
 * even on bare metal. So ticketlock runs at a 1,000-cycle quantum (its own
 * bare reference too), with the default slice of 100,000 cycles kept.
 */
export const SMP_BENCH_INTERLEAVING: Readonly<Partial<Record<Workload, { quantum: number; timeslice: number }>>> = {
  ticketlock: { quantum: 1000, timeslice: 100_000 },
};
export const SMP_BENCH_PCPUS = [4, 2, 1] as const;
const CPUS = 4;
const MAX_CYCLES = 4_000_000_000;

export interface SmpBenchRow {
  workload: string;
  backend: string;
  spinlocks: string;
  pcpus: number | null;
  /** Machine cycles (the furthest CPU clock). */
  cycles: number;
  /** Cycles the CPUs executed (clocks less idle and descheduled), summed. */
  executed: number;
  spinCycles: number;
  /** spinCycles / executed. */
  spinShare: number;
  lockHolderPreemptions: number;
  /** vCPUs descheduled while waiting on a ticket lock whose turn had come or came next. */
  lockWaiterPreemptions: number;
  /** The machine's interleaving quantum (cycles) for this row. */
  quantum: number;
  /** Calls into the VMM: hypercalls (xen, l4) or exits (hvm), as the back end counts them (Backend.vmmEntries `calls`). */
  hypercallsOrExits: number;
  /** The console was bare's, and the kernel's self-check passed. */
  matchesBare: boolean;
}

export interface SmpBenchReport {
  cpus: number;
  rows: SmpBenchRow[];
}

function executedCycles(s: MachineStats): number {
  return (s.perCpu ?? [{ cycles: s.cycles, idleCycles: s.counts.idleCycles ?? 0, descheduledCycles: 0 }]).reduce((t, c) => t + c.cycles - c.idleCycles - c.descheduledCycles, 0);
}

/** The back ends the bench runs by default: every one running 4 CPUs as bare metal does (Backend.maxCpus, unfaithful), in registry order. */
export function smpBenchBackends(): string[] {
  return [...backends.values()].filter((b) => (b.maxCpus ?? 1) >= CPUS && !b.unfaithful).map((b) => b.name);
}

/** Runs the SMP bench: `workloads` × back ends (`hv`, default smpBenchBackends) × their cures × --pcpus 4, 2, 1. */
export interface SmpBenchOptions {
  workloads?: readonly string[];
  hv?: readonly string[];
  scale?: number;
  progress?: (done: number, total: number, label: string) => void;
}

export function runSmpBench(options: SmpBenchOptions): SmpBenchReport {
  return drain(smpBenchSteps(options));
}

/** runSmpBench one cell at a time (a step each: cli/interrupt.ts drain, drainInterruptible). */
export function* smpBenchSteps(options: SmpBenchOptions): Generator<void, SmpBenchReport> {
  const workloads = options.workloads ?? SMP_BENCH_WORKLOADS;
  for (const w of workloads) if (!(WORKLOADS as readonly string[]).includes(w)) throw new UserError(`unknown workload '${w}' (known: ${WORKLOADS.join(", ")})`);
  const hv = options.hv ?? smpBenchBackends();
  for (const h of hv) {
    const b = backends.get(h);
    if (!b) throw new UserError(`unknown back end '${h}' (valid: ${[...backends.keys()].join(", ")})`);
    if ((b.maxCpus ?? 1) < CPUS) throw new UserError(`--hv ${h} does not run ${CPUS} CPUs`);
  }
  const scale = options.scale ?? 1;
  const cells: { w: string; backend: string; cure: string; pcpus: number | null }[] = [];
  for (const w of workloads) {
    cells.push({ w, backend: "bare", cure: "native", pcpus: null });
    for (const h of hv) {
      if (h === "bare") continue;
      for (const cure of backends.get(h)!.spinlocks ?? ["native"]) for (const p of SMP_BENCH_PCPUS) cells.push({ w, backend: h, cure, pcpus: p });
    }
  }
  const rows: SmpBenchRow[] = [];
  const images = new Map<string, ReturnType<typeof buildKernel>["image"]>();
  const bareConsole = new Map<string, string>();
  let done = 0;
  for (const c of cells) {
    options.progress?.(done, cells.length, `${c.w} ${c.backend} ${c.cure}${c.pcpus ? ` --pcpus ${c.pcpus}` : ""}`);
    if (!images.has(c.w)) images.set(c.w, buildKernel({ workload: c.w as Workload, scale }).image);
    const interleaving = SMP_BENCH_INTERLEAVING[c.w as Workload];
    const out = runElf(images.get(c.w)!, {
      backend: c.backend,
      cpus: CPUS,
      quantum: interleaving?.quantum,
      timeslice: c.pcpus !== null && c.pcpus < CPUS ? interleaving?.timeslice : undefined,
      pcpus: c.pcpus ?? undefined,
      spinlocks: c.cure,
      maxCycles: MAX_CYCLES,
      disk: new Uint8Array(kernelDiskBytes(scale)),
    });
    const ok = out.result.kind === "poweroff" && out.result.exitCode === 0;
    if (c.backend === "bare") bareConsole.set(c.w, out.console);
    const s = out.stats;
    const executed = executedCycles(s);
    const spin = s.counts.spinCycles ?? 0;
    rows.push({
      workload: c.w,
      backend: c.backend,
      spinlocks: c.cure,
      pcpus: c.pcpus,
      cycles: s.cycles,
      executed,
      spinCycles: spin,
      spinShare: executed > 0 ? spin / executed : 0,
      lockHolderPreemptions: s.counts.lockHolderPreemptions ?? 0,
      lockWaiterPreemptions: s.counts.lockWaiterPreemptions ?? 0,
      quantum: interleaving?.quantum ?? DEFAULT_QUANTUM,
      hypercallsOrExits: countVmmEntries(backends.get(c.backend)!, s.counts, "calls"),
      matchesBare: ok && out.console === bareConsole.get(c.w),
    });
    done++;
    yield;
  }
  options.progress?.(done, cells.length, "");
  return { cpus: CPUS, rows };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function renderSmpText(r: SmpBenchReport): string {
  const head = ["workload", "back end", "spinlocks", "pcpus", "cycles", "spin cycles", "spin share", "LHP", "LWP", "hcalls/exits", "output"];
  const body = r.rows.map((x) => [
    x.workload,
    x.backend,
    x.spinlocks,
    x.pcpus === null ? "-" : String(x.pcpus),
    String(x.cycles),
    String(x.spinCycles),
    pct(x.spinShare),
    String(x.lockHolderPreemptions),
    String(x.lockWaiterPreemptions),
    String(x.hypercallsOrExits),
    x.matchesBare ? "= bare" : "DIFFERS",
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => (i < 3 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
  const quanta = [...new Set(r.rows.filter((x) => x.quantum !== DEFAULT_QUANTUM).map((x) => `${x.workload} at --quantum ${x.quantum}`))];
  const note = `--cpus ${r.cpus}: spin share = spin cycles / cycles the CPUs executed; LHP = lock-holder preemptions; LWP = preempted next-in-line ticket waiters${quanta.length ? `; ${quanta.join(", ")}` : ""}`;
  return [note, line(head), ...body.map(line)].join("\n") + "\n";
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A self-contained page: the table, and per workload a bar chart of spin share per back end and cure at each --pcpus. */
export function renderSmpHtml(r: SmpBenchReport): string {
  const charts = [...new Set(r.rows.map((x) => x.workload))].map((w) => {
    const rows = r.rows.filter((x) => x.workload === w && x.pcpus !== null);
    const barW = 14;
    const gap = 6;
    const h = 160;
    const max = Math.max(0.01, ...rows.map((x) => x.spinShare));
    const bars = rows
      .map((x, i) => {
        const bh = Math.round((x.spinShare / max) * h);
        const xPos = 40 + i * (barW + gap);
        const color = { native: "#c0392b", pv: "#2980b9", delayed: "#8e44ad", ple: "#27ae60" }[x.spinlocks] ?? "#7f8c8d";
        return `<rect x="${xPos}" y="${20 + h - bh}" width="${barW}" height="${bh}" fill="${color}"><title>${esc(`${x.backend} ${x.spinlocks} --pcpus ${x.pcpus}: ${pct(x.spinShare)}`)}</title></rect>` +
          `<text x="${xPos + barW / 2}" y="${h + 34}" font-size="8" text-anchor="middle">${x.pcpus}</text>` +
          `<text x="${xPos + barW / 2}" y="${h + 44}" font-size="7" text-anchor="middle">${esc(x.spinlocks.slice(0, 3))}</text>` +
          `<text x="${xPos + barW / 2}" y="${h + 53}" font-size="7" text-anchor="middle">${esc(x.backend)}</text>`;
      })
      .join("");
    const width = 60 + rows.length * (barW + gap);
    return `<h2>${esc(w)}: spin share per cure (bars: --pcpus, cure, back end; top = ${pct(max)})</h2><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h + 60}">${bars}<line x1="36" y1="${20 + h}" x2="${width}" y2="${20 + h}" stroke="#333"/></svg>`;
  });
  const table = `<pre>${esc(renderSmpText(r))}</pre>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>previrt bench --smp</title><style>body{font-family:sans-serif;margin:2em}pre{font-size:12px}</style></head><body><h1>Lock-holder preemption and its cures (--cpus ${r.cpus})</h1>${charts.join("")}${table}<p>Colours: native red, pv blue, delayed purple, ple green. docs/smp-virtualization.md explains the figures.</p></body></html>\n`;
}
