// The figures of docs/smp-virtualization.md: lock-holder preemption and its
// cures. Consumes the bundled kernel (annotated, and plain for the overhead
// goal) and runs, through runElf and `previrt bench --smp`'s own code
// (src/cli/bench/smp-bench.ts runSmpBench), every configuration the doc's
// figure tables show; produces those tables as markdown on stdout, plus the
// ratios the doc's goals table ("The paper's claim beside ours") quotes:
//
//   - bench: the `bench --smp` rows, per workload (the doc's excerpts drop
//     the cures' rows at --pcpus 4, as the doc does);
//   - slices: spin cycles (lock-holder preemptions) of every cure at time
//     slices of 60,000 / 100,000 / 150,000 cycles, --pcpus 2 and 1, with
//     each cure's factor over native (spinlock at the default quantum,
//     ticketlock at the bench's --quantum 1000);
//   - quantum50: spinlock at --quantum 50, where the machine's turn
//     contention is small (bare, and xen and l4 with each cure, --pcpus 2);
//   - goals: native's spin share at --pcpus 2, every cure's factor and the
//     best one per back end at --pcpus 2 and 1 (at the bench's slice, and
//     summed over the three slices), the best cure's total cycles against the
//     ideal (native's cycles at --pcpus 4 × 4/pcpus), and the annotated
//     kernel against the plain build on bare metal for every workload.
//
// Every run is independent, so they go to a pool of worker threads
// (src/hypervisors/parallel/pool.ts); results are collected in task order,
// and every figure is simulated, so the output does not depend on the host
// or on --jobs. Each run's console is checked against bare's (the script
// fails if one differs). Wall time goes to stderr.
//
//   npx tsc -p tsconfig.json && node dist/scripts/smp-figures.js
//     [--workloads spinlock,ticketlock,smp,ctxsw] [--hv hvm,xen,l4]
//     [--sections bench,slices,quantum50,goals] [--jobs N]

import { isMainThread } from "node:worker_threads";
import { SMP_BENCH_INTERLEAVING, SMP_BENCH_PCPUS, SMP_BENCH_WORKLOADS, runSmpBench, type SmpBenchRow } from "../src/cli/bench/smp-bench.js";
import { buildKernel, kernelDiskBytes, WORKLOADS, type Workload } from "../src/cli/bundled-kernel.js";
import { backends, prepareGuest, runElf } from "../src/hypervisors/index.js";
import { defaultJobs, runPool } from "../src/hypervisors/parallel/pool.js";
import { DEFAULT_QUANTUM } from "../src/machine/machine.js";
import { buildMachine } from "../src/machine/run-image.js";
import type { MachineStats } from "../src/machine/stats.js";
import { splitSpin, trackPhysicalCpus } from "../test/smp-virtualization/physical-cpus.js";

const CPUS = 4;
const SECTIONS = ["bench", "slices", "quantum50", "split", "goals"];
/** The split's interleavings: the bench's (default quantum and slice), and --quantum 1000 (its default slice, 20,000 cycles). */
const SPLIT_QUANTA = [DEFAULT_QUANTUM, 1000] as const;
const MAX_CYCLES = 4_000_000_000;
/** The time slices of the per-slice tables (the bench's is the middle one). */
const SLICES = [60_000, 100_000, 150_000] as const;
const SLICE_WORKLOADS: readonly Workload[] = ["spinlock", "ticketlock"];
/** `--quantum 50` keeps the bench's 100,000-cycle slice (the default slice would be another: a multiple of the quantum). */
const Q50_SLICE = 100_000;
/**
 * The annotated-vs-plain goal: every workload at its bench quantum, and the
 * two whose difference there is more than 1 % (ctxsw, faults: a run that
 * ends on a different turn) at finer quanta too.
 */
const EXTRA_OVERHEAD_QUANTA: readonly { workload: Workload; quantum: number }[] = [
  { workload: "ctxsw", quantum: 1000 },
  { workload: "ctxsw", quantum: 100 },
  { workload: "faults", quantum: 1000 },
  { workload: "faults", quantum: 100 },
];

// ---- the runs (also called in the pool's worker threads) ----

/** One run: the kernel for `workload` (annotated unless `plain`) on `backend`, --cpus 4. */
export interface Cell {
  workload: Workload;
  backend: string;
  cure: string;
  pcpus: number | null;
  quantum: number;
  /** The --pcpus scheduler's slice; undefined = the default (only with pcpus). */
  timeslice?: number;
  plain?: boolean;
}

export interface CellResult {
  cycles: number;
  executed: number;
  instructions: number;
  spinCycles: number;
  lhp: number;
  lwp: number;
  ok: boolean;
  console: string;
}

const images = new Map<string, ReturnType<typeof buildKernel>["image"]>();
function kernel(w: Workload, plain: boolean) {
  const key = `${w}${plain ? " plain" : ""}`;
  let image = images.get(key);
  if (!image) images.set(key, (image = buildKernel({ workload: w, annotate: !plain }).image));
  return image;
}

/** Cycles the CPUs executed (clocks less idle and descheduled), as smp-bench.ts counts them. */
function executedCycles(s: MachineStats): number {
  return (s.perCpu ?? [{ cycles: s.cycles, idleCycles: s.counts.idleCycles ?? 0, descheduledCycles: 0 }]).reduce((t, c) => t + c.cycles - c.idleCycles - c.descheduledCycles, 0);
}

export function runCell(c: Cell): CellResult {
  const out = runElf(kernel(c.workload, c.plain ?? false), {
    backend: c.backend,
    cpus: CPUS,
    quantum: c.quantum,
    pcpus: c.pcpus ?? undefined,
    timeslice: c.pcpus !== null ? c.timeslice : undefined,
    spinlocks: c.cure,
    maxCycles: MAX_CYCLES,
    disk: new Uint8Array(kernelDiskBytes(1)),
  });
  const s = out.stats;
  return {
    cycles: s.cycles,
    executed: executedCycles(s),
    instructions: s.instructions,
    spinCycles: s.counts.spinCycles ?? 0,
    lhp: s.counts.lockHolderPreemptions ?? 0,
    lwp: s.counts.lockWaiterPreemptions ?? 0,
    ok: out.result.kind === "poweroff" && out.result.exitCode === 0,
    console: out.console,
  };
}

/** `previrt bench --smp --workloads W --hv H`: the bench's own rows (its bare row included). */
export function benchTask(a: { workload: string; hv: string }): SmpBenchRow[] {
  return runSmpBench({ workloads: [a.workload], hv: [a.hv] }).rows;
}

/** Spin behind a descheduled holder and behind one with a physical CPU (spinlock, --pcpus 2). */
export interface SplitResult {
  spinCycles: number;
  behindDescheduled: number;
  behindRunning: number;
  waits: number;
  blocks: number;
}

/**
 * The split of test/smp-virtualization/spin-split.test.ts (which asserts it):
 * wraps the machine's SpinAccounting.attempt and the monitor's `runnable`,
 * and charges each attempt's executed cycles since the waiter's previous one
 * (less vCPU switches) to the state of the lock word's last acquirer at its
 * last turn. The parts must add up to spinCycles.
 */
export function splitTask(a: { backend: string; spinlocks: string; quantum: number }): SplitResult {
  const { rewrite, runOptions } = prepareGuest(kernel("spinlock", false), { backend: a.backend, spinlocks: a.spinlocks, cpus: CPUS, pcpus: 2, quantum: a.quantum, maxCycles: MAX_CYCLES, disk: new Uint8Array(kernelDiskBytes(1)) });
  const options = runOptions(rewrite);
  const hasPcpu = trackPhysicalCpus(options.monitor!, CPUS);
  const { machine } = buildMachine(rewrite.image, options);
  const out = splitSpin(machine.spin, hasPcpu);
  const result = machine.run(MAX_CYCLES);
  const counts = machine.stats().counts;
  const what = `spinlock on ${a.backend} --spinlocks ${a.spinlocks} --quantum ${a.quantum}`;
  if (result.kind !== "poweroff") throw new Error(`${what}: ${result.kind}`);
  if (out.behindDescheduled + out.behindRunning !== counts.spinCycles) throw new Error(`${what}: the split does not add up to spinCycles`);
  return { spinCycles: counts.spinCycles, ...out, blocks: counts[`${a.backend}:pv.block`] ?? 0 };
}

// ---- formatting ----

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const signedPct = (x: number, digits = 1) => `${x < 0 ? "−" : "+"}${Math.abs(100 * x).toFixed(digits)} %`;
/** A spin factor: one decimal below 100, whole above; ∞ when the cure spun nothing. */
const factor = (native: number, cured: number) => {
  if (cured === 0) return native === 0 ? "—" : "∞";
  const f = native / cured;
  return f >= 100 ? `${fmt(f)}×` : `${f.toFixed(1)}×`;
};
const interleaving = (w: Workload) => SMP_BENCH_INTERLEAVING[w] ?? { quantum: DEFAULT_QUANTUM, timeslice: undefined };

// ---- main ----

function parseList(name: string, fallback: readonly string[], valid: readonly string[]): string[] {
  const i = process.argv.indexOf(name);
  if (i < 0) return [...fallback];
  const list = (process.argv[i + 1] ?? "").split(",").filter(Boolean);
  for (const x of list) if (!valid.includes(x)) throw new Error(`${name}: unknown '${x}' (valid: ${valid.join(", ")})`);
  if (list.length === 0) throw new Error(`${name} needs a comma-separated list`);
  return list;
}

async function main(): Promise<void> {
  const started = Date.now();
  // blkback serves a driver domain's disk: it does not run alone.
  const workloads = parseList("--workloads", SMP_BENCH_WORKLOADS, WORKLOADS.filter((w) => w !== "blkback")) as Workload[];
  const hvs = parseList("--hv", ["hvm", "xen", "l4"], ["hvm", "xen", "l4"]);
  const sections = parseList("--sections", SECTIONS, SECTIONS);
  const jobsAt = process.argv.indexOf("--jobs");
  const jobs = jobsAt >= 0 ? Number(process.argv[jobsAt + 1]) : defaultJobs();
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error("--jobs needs a positive integer");
  const cures = (hv: string) => backends.get(hv)!.spinlocks ?? ["native"];
  const has = (s: string) => sections.includes(s);
  const needBench = has("bench") || has("goals");
  const needSlices = has("slices") || has("goals");

  // The runs, as pool tasks; `cells` keeps each runCell task's description.
  const self = import.meta.url;
  const benchTasks = needBench ? workloads.flatMap((w) => hvs.map((hv) => ({ workload: w, hv }))) : [];
  const cells: Cell[] = [];
  const cell = (c: Cell) => cells.push(c);
  // Reference consoles: bare, annotated, at each workload's bench interleaving.
  for (const w of workloads) cell({ workload: w, backend: "bare", cure: "native", pcpus: null, quantum: interleaving(w).quantum });
  if (needSlices) {
    for (const w of workloads.filter((x) => SLICE_WORKLOADS.includes(x))) {
      for (const p of [2, 1]) for (const hv of hvs) for (const cure of cures(hv)) for (const t of SLICES) cell({ workload: w, backend: hv, cure, pcpus: p, quantum: interleaving(w).quantum, timeslice: t });
    }
  }
  if (has("quantum50") && workloads.includes("spinlock")) {
    cell({ workload: "spinlock", backend: "bare", cure: "native", pcpus: null, quantum: 50 });
    for (const hv of hvs.filter((h) => h !== "hvm")) for (const cure of cures(hv)) cell({ workload: "spinlock", backend: hv, cure, pcpus: 2, quantum: 50, timeslice: Q50_SLICE });
  }
  if (has("goals")) {
    for (const w of WORKLOADS.filter((x) => x !== "blkback")) {
      const qs = [interleaving(w).quantum, ...EXTRA_OVERHEAD_QUANTA.filter((e) => e.workload === w).map((e) => e.quantum)];
      for (const q of qs) for (const plain of [false, true]) cell({ workload: w, backend: "bare", cure: "native", pcpus: null, quantum: q, plain });
    }
  }
  const splits = has("split") && workloads.includes("spinlock") ? hvs.filter((h) => h !== "hvm").flatMap((backend) => SPLIT_QUANTA.flatMap((quantum) => ["native", "pv"].map((spinlocks) => ({ backend, spinlocks, quantum })))) : [];
  const tasks = [
    ...benchTasks.map((arg) => ({ module: self, name: "benchTask", arg })),
    ...cells.map((arg) => ({ module: self, name: "runCell", arg })),
    ...splits.map((arg) => ({ module: self, name: "splitTask", arg })),
  ];
  let done = 0;
  const results = await runPool<unknown, unknown>(tasks, jobs, () => process.stderr.write(`\r[${++done}/${tasks.length}]`));
  process.stderr.write("\n");
  // Each task ran the bench's bare reference too: keep one per workload.
  const benchRows = (results.slice(0, benchTasks.length) as SmpBenchRow[][]).flatMap((rows, i) => rows.filter((r) => r.backend !== "bare" || benchTasks.findIndex((t) => t.workload === r.workload) === i));
  const cellResults = results.slice(benchTasks.length, benchTasks.length + cells.length) as CellResult[];
  const splitResults = results.slice(benchTasks.length + cells.length) as SplitResult[];
  const split = (backend: string, spinlocks: string, quantum: number) => splitResults[splits.findIndex((x) => x.backend === backend && x.spinlocks === spinlocks && x.quantum === quantum)];
  const key = (c: Cell) => `${c.workload}|${c.backend}|${c.cure}|${c.pcpus}|${c.quantum}|${c.timeslice}|${c.plain ?? false}`;
  const byKey = new Map(cells.map((c, i) => [key(c), cellResults[i]]));
  const get = (c: Cell) => {
    const r = byKey.get(key(c));
    if (!r) throw new Error(`no run for ${key(c)}`);
    return r;
  };

  // Every run printed what bare prints (and passed its self-check).
  const bareConsole = (w: Workload) => get({ workload: w, backend: "bare", cure: "native", pcpus: null, quantum: interleaving(w).quantum }).console;
  const differs = cells.filter((c, i) => !cellResults[i].ok || (c.workload !== "blkback" && cellResults[i].console !== bareConsole(c.workload))).map(key);
  differs.push(...benchRows.filter((r) => !r.matchesBare).map((r) => `bench ${r.workload} ${r.backend} ${r.spinlocks} ${r.pcpus}`));
  if (differs.length) throw new Error(`these runs did not print what bare prints:\n${differs.join("\n")}`);

  const out: string[] = [];
  const p = (s = "") => out.push(s);
  const bench = (w: string, backend: string, cure: string, pcpus: number | null) => {
    const r = benchRows.find((x) => x.workload === w && x.backend === backend && x.spinlocks === cure && x.pcpus === pcpus);
    if (!r) throw new Error(`no bench row ${w} ${backend} ${cure} ${pcpus}`);
    return r;
  };
  const slice = (w: Workload, hv: string, cure: string, pcpus: number, t: number) => get({ workload: w, backend: hv, cure, pcpus, quantum: interleaving(w).quantum, timeslice: t });
  // The slices' middle column is the bench's cell: the two ways of running it must agree.
  if (needBench && needSlices) {
    for (const c of cells.filter((x) => x.timeslice === 100_000 && x.quantum === interleaving(x.workload).quantum)) {
      const r = get(c);
      const b = bench(c.workload, c.backend, c.cure, c.pcpus);
      if (r.cycles !== b.cycles || r.spinCycles !== b.spinCycles || r.lhp !== b.lockHolderPreemptions) throw new Error(`${key(c)} differs from its bench --smp row`);
    }
  }

  if (has("bench")) {
    p(`## bench --smp (--cpus ${CPUS}; the cures' rows at --pcpus 4 left out)`);
    for (const w of workloads) {
      const q = interleaving(w).quantum;
      p();
      p(`Workload \`${w}\`${q === DEFAULT_QUANTUM ? " (default quantum)" : ` (\`--quantum ${q}\`)`}:`);
      p();
      p("| back end | spinlocks | pcpus | cycles | spin cycles | spin share | LHP | LWP | hcalls/exits |");
      p("|---|---|---:|---:|---:|---:|---:|---:|---:|");
      const rows = [bench(w, "bare", "native", null), ...hvs.flatMap((hv) => cures(hv).flatMap((cure) => SMP_BENCH_PCPUS.filter((x) => cure === "native" || x !== 4).map((x) => bench(w, hv, cure, x))))];
      for (const r of rows) p(`| ${r.backend} | ${r.spinlocks} | ${r.pcpus ?? "—"} | ${fmt(r.cycles)} | ${fmt(r.spinCycles)} | ${pct(r.spinShare)} | ${r.lockHolderPreemptions} | ${r.lockWaiterPreemptions} | ${fmt(r.hypercallsOrExits)} |`);
    }
    p();
    p(`Every row of the bench (${benchRows.length} runs over ${hvs.length} back ends) printed exactly what bare prints.`);
    p();
  }

  if (has("slices")) {
    for (const w of workloads.filter((x) => SLICE_WORKLOADS.includes(x))) {
      p(`## The cures at three slices: \`${w}\`, \`--cpus ${CPUS} --quantum ${interleaving(w).quantum} --timeslice ${SLICES.join(" / ")}\``);
      p("(spin cycles, lock-holder preemptions in brackets)");
      for (const pc of [2, 1]) {
        p();
        p(`At \`--pcpus ${pc}\`:`);
        p();
        p(`| back end | cure | spin at ${fmt(SLICES[0])} | ${SLICES.slice(1).map((t) => `at ${fmt(t)}`).join(" | ")} | factor per slice |`);
        p(`|---|---|${SLICES.map(() => "---:|").join("")}---:|`);
        for (const hv of ["xen", "l4", "hvm"].filter((h) => hvs.includes(h))) {
          for (const cure of cures(hv)) {
            const rs = SLICES.map((t) => slice(w, hv, cure, pc, t));
            const f = cure === "native" ? "—" : SLICES.map((t, i) => factor(slice(w, hv, "native", pc, t).spinCycles, rs[i].spinCycles)).join(" / ");
            p(`| ${hv} | ${cure} | ${rs.map((r) => `${fmt(r.spinCycles)} (${r.lhp})`).join(" | ")} | ${f} |`);
          }
        }
      }
      // The same runs summed over the slices: a factor that no one slice's chaos (does native collapse?) decides.
      p();
      p("Summed over the slices, `--pcpus 2`:");
      p();
      p(`| back end | cure | spin at ${fmt(SLICES[0])} | ${SLICES.slice(1).map((t) => `at ${fmt(t)}`).join(" | ")} | sum | factor on the sums |`);
      p(`|---|---|${SLICES.map(() => "---:|").join("")}---:|---:|`);
      for (const hv of ["xen", "l4", "hvm"].filter((h) => hvs.includes(h))) {
        const nativeSum = SLICES.reduce((a, t) => a + slice(w, hv, "native", 2, t).spinCycles, 0);
        for (const cure of cures(hv)) {
          const rs = SLICES.map((t) => slice(w, hv, cure, 2, t).spinCycles);
          const sum = rs.reduce((a, x) => a + x, 0);
          p(`| ${hv} | ${cure} | ${rs.map(fmt).join(" | ")} | ${fmt(sum)} | ${cure === "native" ? "—" : factor(nativeSum, sum)} |`);
        }
      }
      p();
    }
  }

  if (has("quantum50") && workloads.includes("spinlock")) {
    p(`## \`spinlock\` at \`--quantum 50\` (\`--pcpus 2 --timeslice ${Q50_SLICE}\`: the bench's slice)`);
    p();
    p("| back end | cure | cycles | spin cycles (LHP) | factor |");
    p("|---|---|---:|---:|---:|");
    const bare = get({ workload: "spinlock", backend: "bare", cure: "native", pcpus: null, quantum: 50 });
    p(`| bare | native | ${fmt(bare.cycles)} | ${fmt(bare.spinCycles)} (0) | — |`);
    for (const hv of hvs.filter((h) => h !== "hvm")) {
      const native = get({ workload: "spinlock", backend: hv, cure: "native", pcpus: 2, quantum: 50, timeslice: Q50_SLICE });
      for (const cure of cures(hv)) {
        const r = get({ workload: "spinlock", backend: hv, cure, pcpus: 2, quantum: 50, timeslice: Q50_SLICE });
        p(`| ${hv} | ${cure} | ${fmt(r.cycles)} | ${fmt(r.spinCycles)} (${r.lhp}) | ${cure === "native" ? "—" : factor(native.spinCycles, r.spinCycles)} |`);
      }
    }
    p();
  }

  if (splits.length) {
    for (const q of SPLIT_QUANTA) {
      const bs = [...new Set(splits.map((x) => x.backend))];
      p(`## Spin behind a descheduled holder and behind a running one: \`spinlock\`, \`--pcpus 2 --quantum ${q}\`, default slice`);
      p();
      p(`| | ${bs.flatMap((b) => [`${b} native`, `${b} pv`]).join(" | ")} |`);
      p(`|---|${bs.map(() => "---:|---:|").join("")}`);
      const row = (label: string, f: (r: SplitResult) => number, share: boolean) =>
        p(`| ${label} | ${bs.flatMap((b) => { const n = split(b, "native", q); return [`${fmt(f(n))}${share ? ` (${pct(f(n) / n.spinCycles)})` : ""}`, fmt(f(split(b, "pv", q)))]; }).join(" | ")} |`);
      const parts: [string, (r: SplitResult) => number, boolean][] = [
        ["spin behind a descheduled holder", (r) => r.behindDescheduled, true],
        ["spin behind a holder with a physical CPU", (r) => r.behindRunning, true],
        ["spin cycles", (r) => r.spinCycles, false],
      ];
      for (const [label, f, share] of parts) row(label, f, share);
      p(`| waits; blocks in the hypervisor | ${bs.flatMap((b) => [`${split(b, "native", q).waits}; —`, `${split(b, "pv", q).waits}; ${split(b, "pv", q).blocks}`]).join(" | ")} |`);
      p();
      p(`pv's factor over native: ${parts.map(([label, f]) => `${label.replace("spin cycles", "all spin")} ${bs.map((b) => `${b} ${factor(f(split(b, "native", q)), f(split(b, "pv", q)))}`).join(", ")}`).join("; ")}.`);
      p();
    }
  }

  if (has("goals")) {
    p("## Goals");
    p();
    p("Native locks at `--pcpus 2` (the bench's interleaving): spin share of executed cycles (LHP; spin cycles at `--pcpus 2`, and at `--pcpus 4` where nothing is preempted).");
    p();
    p(`| workload | ${hvs.join(" | ")} |`);
    p(`|---|${hvs.map(() => "---:|").join("")}`);
    for (const w of workloads) p(`| ${w} | ${hvs.map((hv) => { const r = bench(w, hv, "native", 2); return `${pct(r.spinShare)} (${r.lockHolderPreemptions}; ${fmt(r.spinCycles)}, at 4: ${fmt(bench(w, hv, "native", 4).spinCycles)})`; }).join(" | ")} |`);
    p();
    // The best cure per (workload, back end, pcpus): the largest factor over native at the bench's slice.
    const best = (w: string, hv: string, pc: number) => {
      const others = cures(hv).filter((c) => c !== "native");
      return others.reduce((a, c) => (bench(w, hv, c, pc).spinCycles < bench(w, hv, a, pc).spinCycles ? c : a), others[0]) ?? "native";
    };
    for (const pc of [2, 1]) {
      p(`Spin factor over native at \`--pcpus ${pc}\`, the bench's slice (each cure; **best** in bold):`);
      p();
      p("| workload | back end | native spin | cures |");
      p("|---|---|---:|---|");
      for (const w of workloads) {
        for (const hv of hvs) {
          const native = bench(w, hv, "native", pc).spinCycles;
          const b = best(w, hv, pc);
          const list = cures(hv).filter((c) => c !== "native").map((c) => {
            const s = `${c} ${factor(native, bench(w, hv, c, pc).spinCycles)}`;
            return c === b ? `**${s}**` : s;
          });
          p(`| ${w} | ${hv} | ${fmt(native)} | ${list.join(", ")} |`);
        }
      }
      p();
    }
    if (workloads.some((w) => SLICE_WORKLOADS.includes(w))) {
      p("Best cure per slice and summed over the three slices (spin cycles of native ÷ the cure's; best = the largest factor at the bench's slice):");
      p();
      p(`| workload | back end | pcpus | best cure | ${SLICES.map((t) => fmt(t)).join(" | ")} | sum over slices |`);
      p(`|---|---|---:|---|${SLICES.map(() => "---:|").join("")}---:|`);
      for (const w of workloads.filter((x) => SLICE_WORKLOADS.includes(x))) {
        for (const pc of [2, 1]) {
          for (const hv of hvs) {
            const b = best(w, hv, pc);
            const nat = SLICES.map((t) => slice(w, hv, "native", pc, t).spinCycles);
            const cur = SLICES.map((t) => slice(w, hv, b, pc, t).spinCycles);
            const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
            p(`| ${w} | ${hv} | ${pc} | ${b} | ${SLICES.map((_, i) => factor(nat[i], cur[i])).join(" | ")} | ${factor(sum(nat), sum(cur))} |`);
          }
        }
      }
      p();
    }
    p("Best cure's total cycles against the ideal (native's cycles at `--pcpus 4` × 4/pcpus), the bench's interleaving:");
    p();
    p("| workload | back end | pcpus | best cure | cycles | ideal | vs ideal |");
    p("|---|---|---:|---|---:|---:|---:|");
    for (const w of workloads) {
      for (const pc of [2, 1]) {
        for (const hv of hvs) {
          const b = best(w, hv, pc);
          const cyc = bench(w, hv, b, pc).cycles;
          const ideal = (bench(w, hv, "native", 4).cycles * CPUS) / pc;
          p(`| ${w} | ${hv} | ${pc} | ${b} | ${fmt(cyc)} | ${fmt(ideal)} | ${signedPct(cyc / ideal - 1)} |`);
        }
      }
    }
    p();
    p(`The annotated kernel against the plain build (\`--no-annotate\`), bare metal, \`--cpus ${CPUS}\` (blkback is a driver domain's workload, not run alone):`);
    p();
    p("| workload | quantum | annotated cycles | plain cycles | annotated over plain | annotated instructions | plain instructions |");
    p("|---|---:|---:|---:|---:|---:|---:|");
    for (const w of WORKLOADS.filter((x) => x !== "blkback")) {
      const qs = [interleaving(w).quantum, ...EXTRA_OVERHEAD_QUANTA.filter((e) => e.workload === w).map((e) => e.quantum)];
      for (const q of qs) {
        const a = get({ workload: w, backend: "bare", cure: "native", pcpus: null, quantum: q, plain: false });
        const b = get({ workload: w, backend: "bare", cure: "native", pcpus: null, quantum: q, plain: true });
        p(`| ${w} | ${fmt(q)} | ${fmt(a.cycles)} | ${fmt(b.cycles)} | ${signedPct(a.cycles / b.cycles - 1, 2)} | ${fmt(a.instructions)} | ${fmt(b.instructions)} |`);
      }
    }
    p();
  }
  p(`${benchTasks.length} bench tasks, ${cells.length} runs and ${splits.length} split runs; every run printed what bare prints.`);
  process.stdout.write(out.join("\n") + "\n");
  process.stderr.write(`smp-figures: ${tasks.length} tasks on ${Math.min(jobs, tasks.length)} worker(s) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`smp-figures: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
