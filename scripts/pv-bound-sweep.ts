// The sweep behind `PV_SPIN_BOUND` (docs/smp-virtualization.md, "The cures":
// how many failed attempts a pv lock spins before it blocks). Consumes the
// built tree (dist/) and the bundled kernel; produces, on stdout, one
// markdown row per cell and bound (spin cycles, cycles, lock-holder
// preemptions) and, per bound, the sums and the cells meeting the goals
// (spin ≥ 10× below native's, cycles within 10 % of the ideal: native's
// cycles at --pcpus 4 × 4/pcpus).
//
// The bound is a constant compiled into the pv templates, so each bound runs
// from a copy of dist/ with that constant changed (in a temporary directory,
// node_modules linked); nothing in the tree is changed. Runs go to child
// processes, two at a time (`--jobs N`); every figure is simulated, so the
// output does not depend on the host or on --jobs.
//
//   npx tsc -p tsconfig.json && node dist/scripts/pv-bound-sweep.js [--bounds 4,8,16,32,64] [--jobs 2]

import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface Cell {
  workload: string;
  backend: string;
  cure: string;
  pcpus: number;
  quantum?: number;
  timeslice?: number;
}
interface Figures {
  cycles: number;
  spin: number;
  lhp: number;
  console: string;
}

const here = dirname(fileURLToPath(import.meta.url)); // dist/scripts
const dist = resolve(here, "..");
const root = resolve(dist, "..");

// One run, in a child: `node pv-bound-sweep.js --cell JSON --kernel DIST` from a dist copy; the kernel (which
// the bound does not touch) is built by the original tree, which finds its sources.
async function runCell(cell: Cell, kernelDist: string): Promise<Figures> {
  const { buildKernel, kernelDisk } = await import(join(kernelDist, "src/cli/bundled-kernel.js"));
  const { runElf } = await import(join(dist, "src/hypervisors/index.js"));
  const out = runElf(buildKernel({ workload: cell.workload }).image, {
    backend: cell.backend,
    spinlocks: cell.cure,
    cpus: 4,
    pcpus: cell.pcpus,
    quantum: cell.quantum,
    timeslice: cell.timeslice,
    maxCycles: 4_000_000_000,
    disk: kernelDisk(),
  });
  if (out.result.kind !== "poweroff") throw new Error(`${JSON.stringify(cell)}: ${out.result.kind}`);
  const c = out.stats.counts;
  return { cycles: out.stats.cycles, spin: c.spinCycles ?? 0, lhp: c.lockHolderPreemptions ?? 0, console: out.console };
}

function child(script: string, cell: Cell): Promise<Figures> {
  return new Promise((res, rej) =>
    execFile(process.execPath, [script, "--cell", JSON.stringify(cell), "--kernel", dist], { maxBuffer: 1 << 26 }, (err, stdout) =>
      err ? rej(err) : res(JSON.parse(stdout) as Figures),
    ),
  );
}

/** A copy of dist/ whose pv templates spin `bound` attempts. */
function distWithBound(bound: number): string {
  const dir = mkdtempSync(join(tmpdir(), `pv-bound-${bound}-`));
  cpSync(dist, join(dir, "dist"), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  const f = join(dir, "dist/src/hypervisors/common/spinlock-cures.js");
  const text = readFileSync(f, "utf8");
  const decl = /export const PV_SPIN_BOUND = \d+;/;
  if (!decl.test(text)) throw new Error("PV_SPIN_BOUND not found in the built spinlock-cures.js");
  writeFileSync(f, text.replace(decl, `export const PV_SPIN_BOUND = ${bound};`));
  return dir;
}

async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return out;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const cellArg = arg("--cell");
  if (cellArg !== undefined) {
    process.stdout.write(JSON.stringify(await runCell(JSON.parse(cellArg) as Cell, arg("--kernel") ?? dist)));
    return;
  }
  const bounds = (arg("--bounds") ?? "4,8,16,32,64").split(",").map(Number);
  const jobs = Number(arg("--jobs") ?? 2);
  const cells: Cell[] = [];
  for (const workload of ["spinlock", "ticketlock"])
    for (const backend of ["xen", "l4"])
      for (const pcpus of [2, 1])
        for (const timeslice of [60_000, 100_000, 150_000])
          cells.push({ workload, backend, cure: "pv", pcpus, timeslice, quantum: workload === "ticketlock" ? 1000 : undefined });
  for (const workload of ["smp", "ctxsw"]) for (const backend of ["xen", "l4"]) cells.push({ workload, backend, cure: "pv", pcpus: 2 });
  const self = fileURLToPath(import.meta.url);
  const native = cells.map((c) => ({ ...c, cure: "native" }));
  const ideal = cells.map((c) => ({ ...c, cure: "native", pcpus: 4, timeslice: undefined }));
  const bare = cells.map((c) => ({ ...c, backend: "bare", cure: "native", pcpus: undefined as unknown as number, timeslice: undefined }));
  const dirs: string[] = [];
  try {
    for (const b of bounds) dirs.push(distWithBound(b));
    // One pool for every run; a reference cell that several rows share (the ideal and bare ignore the slice) runs once.
    const keys = new Map<string, number>();
    const tasks: (() => Promise<Figures>)[] = [];
    const task = (script: string, c: Cell): number => {
      const key = `${script} ${JSON.stringify(c)}`;
      let k = keys.get(key);
      if (k === undefined) {
        keys.set(key, (k = tasks.length));
        tasks.push(() => child(script, c));
      }
      return k;
    };
    const refIdx = [...native, ...ideal, ...bare].map((c) => task(self, c));
    const boundIdx = dirs.map((d) => cells.map((c) => task(join(d, "dist/scripts/pv-bound-sweep.js"), c)));
    const results = await pool(tasks, jobs);
    const reference = refIdx.map((k) => results[k]);
    const perBound = boundIdx.map((ks) => ks.map((k) => results[k]));
    const n = cells.length;
    console.log(`| workload | hv | pcpus | slice | native spin | ideal cycles | ${bounds.map((b) => `spin @${b} | cycles @${b} | LHP @${b}`).join(" | ")} |`);
    console.log(`|${"---|".repeat(6 + 3 * bounds.length)}`);
    const sums = bounds.map(() => ({ spin: 0, cycles: 0, spinMet: 0, cyclesMet: 0, logFactor: 0 }));
    for (let i = 0; i < n; i++) {
      const c = cells[i];
      const nat = reference[i];
      const idealCycles = (reference[n + i].cycles * 4) / c.pcpus;
      const row = perBound.map((rs, b) => {
        const r = rs[i];
        if (r.console !== reference[2 * n + i].console) throw new Error(`bound ${bounds[b]}, ${JSON.stringify(c)}: console differs from bare`);
        const s = sums[b];
        s.spin += r.spin;
        s.cycles += r.cycles / idealCycles;
        s.spinMet += nat.spin >= 10 * r.spin ? 1 : 0;
        s.cyclesMet += r.cycles <= 1.1 * idealCycles ? 1 : 0;
        s.logFactor += Math.log(nat.spin / Math.max(r.spin, 1));
        return `${fmt(r.spin)} | ${fmt(r.cycles)} | ${r.lhp}`;
      });
      console.log(`| ${c.workload} | ${c.backend} | ${c.pcpus} | ${c.timeslice ?? "default"} | ${fmt(nat.spin)} | ${fmt(idealCycles)} | ${row.join(" | ")} |`);
    }
    console.log("");
    console.log("| bound | spin (sum) | cycles ÷ ideal (mean) | spin ≥ 10× below native | cycles ≤ ideal + 10 % | geometric-mean spin factor |");
    console.log("|---:|---:|---:|---:|---:|---:|");
    bounds.forEach((b, k) => {
      const s = sums[k];
      console.log(`| ${b} | ${fmt(s.spin)} | ${(s.cycles / n).toFixed(3)} | ${s.spinMet} of ${n} | ${s.cyclesMet} of ${n} | ${Math.exp(s.logFactor / n).toFixed(1)}× |`);
    });
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();
