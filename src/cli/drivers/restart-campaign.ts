// Driver restart under load (docs/driver-vms.md, "Driver restart"): N
// seeded crashes of a driver domain during a client's disk workload. The
// driver domain runs the bundled kernel's `blkback` workload (the kernel's
// unmodified disk driver serving block requests); the client runs the
// bundled kernel with `io` (or another disk workload) and reaches its disk
// through the driver. Each run injects one crash into the driver at a
// seeded cycle inside the client's run — a wild store to a seeded address
// outside its RAM, or a hang (branch-to-self, caught by the host's
// watchdog) — and records whether the client completed, whether its
// self-check passed, whether it printed exactly what it prints with a local
// disk, how many requests were in flight (retried by the front end after
// reconnecting) and how long the restart took.
//
// Consumes: a seed range, the back end, the crash kind(s); produces one
// record per run and the summary `previrt drivers` prints. Everything is a
// function of the seed.

import { buildKernel, kernelDiskBytes, kernelDisk, type Workload } from "../bundled-kernel.js";
import { UserError } from "../../guest-isa/diagnostics.js";
import type { ElfImage } from "../../guest-isa/elf-types.js";
import { DomainHost, seededRandom, type CrashInjection, type DomainSpec, type HostOutcome } from "../../hypervisors/domains/host.js";
import { runElf } from "../../hypervisors/index.js";
import { drain } from "../interrupt.js";

/** The block ring's header words the runner reads (fixtures/kernel/blkfront.ts: byte offsets in the ring page). */
const RING_MAGIC = 0x314b4c42;
const R_REQ_PROD = 64;
const R_RSP_PROD = 68;

export const CRASH_KINDS = ["wild-store", "hang"] as const;

export interface CampaignOptions {
  runs: number;
  firstSeed: number;
  backend: string;
  workload?: Workload;
  /** One kind, or both alternating by seed (default). */
  kind?: (typeof CRASH_KINDS)[number];
  window?: number;
  watchdog?: number;
  maxCycles?: number;
  onRun?: (done: number, total: number) => void;
}

export interface RunRecord {
  seed: number;
  kind: string;
  /** The cycle the crash was injected at (the first window end at or after it). */
  at: number;
  /** The client powered off with 0. */
  completed: boolean;
  /** Its console says "selfcheck: ok". */
  selfCheck: boolean;
  /** Its console is exactly what it prints with a local disk. */
  sameOutput: boolean;
  restarts: number;
  /** Requests in the client's ring unanswered when the driver went down: the front end resubmits them. */
  retried: number;
  /** Requests never answered: the client did not complete (then all in flight are counted lost). */
  lost: number;
  /** Cycles from the crash until the restarted driver accepted the client again (window granularity); -1 if it never did. */
  restartCycles: number;
  /** The client's cycles, and its cycles in the crash-free driver-VM run. */
  clientCycles: number;
  referenceCycles: number;
  reason: string;
  /** How the client ended: "power-off 0", or its stop's message. */
  clientEnding: string;
}

export interface CampaignResult {
  backend: string;
  workload: string;
  runs: RunRecord[];
  summary: {
    runs: number;
    completed: number;
    selfCheck: number;
    sameOutput: number;
    restarts: number;
    retried: number;
    lost: number;
    restartCyclesMedian: number;
    restartCyclesMax: number;
  };
}

function specs(driver: ElfImage, client: ElfImage): DomainSpec[] {
  return [
    { name: "driver", image: driver, role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
    { name: "client", image: client, uses: { block: "driver" } },
  ];
}

/** Runs the campaign: a local-disk reference, a crash-free driver-VM run, then one run per seed. */
export function runRestartCampaign(o: CampaignOptions): CampaignResult {
  return drain(restartCampaignSteps(o));
}

/** runRestartCampaign one crashed run at a time (a step each: cli/interrupt.ts drain, drainInterruptible). */
export function* restartCampaignSteps(o: CampaignOptions): Generator<void, CampaignResult> {
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 100_000) throw new UserError(`--crashes must be a whole number from 1 to 100000, not ${o.runs}`);
  const workload = o.workload ?? "io";
  const maxCycles = o.maxCycles ?? 400_000_000;
  const driver = buildKernel({ workload: "blkback" as Workload }).image;
  const client = buildKernel({ workload }).image;
  const local = runElf(client, { backend: o.backend, maxCycles, disk: kernelDisk() });
  // Every machine the campaign makes goes back once what it keeps of it is taken (PhysicalMemory.recycle; zeroed:
  // no result changes), so each run's two take buffers whose pages are mapped instead of two fresh 64 MiB. Ownership:
  // the campaign makes them (this run, each DomainHost) and hands out only records — the console, results and cycles
  // below are strings and numbers copied out of the outcomes, and `unanswered` reads a driver's RAM during its run.
  local.machine.memory.recycle();
  const base = { backend: o.backend, maxCycles, window: o.window, watchdog: o.watchdog };
  const calm = runHost(new DomainHost(specs(driver, client), base));
  const ref = calm.domains[1];
  if (ref.result?.kind !== "poweroff" || ref.console !== local.console || calm.domains[0].restarts.length > 0) {
    throw new UserError(`the client's ${workload} through the driver domain does not match its local run (or the driver restarted) even without crashes`);
  }
  const T = ref.cycles;
  // The client's I/O phase: from the driver's first to its last notification of the client (its responses) in the
  // crash-free run (the front end notifies only while the driver sleeps; every response is notified).
  const drv = calm.domains[0];
  const [lo, hi] = [drv.firstSend, drv.lastSend];
  if (lo < 0) throw new UserError(`the driver answered no request of the client's ${workload}: nothing to crash under`);
  const runs: RunRecord[] = [];
  for (let i = 0; i < o.runs; i++) {
    const seed = o.firstSeed + i;
    const rnd = seededRandom(seed);
    const kind = o.kind ?? CRASH_KINDS[seed % 2];
    // During the client's I/O (its requests to the driver).
    const at = Math.floor(lo + (hi - lo) * rnd());
    const crash: CrashInjection = { domain: "driver", at, kind, seed: Math.floor(rnd() * 2 ** 31) };
    let inFlight = 0;
    const out = runHost(
      new DomainHost(specs(driver, client), {
        ...base,
        crashes: [crash],
        onRestart: (d, _rec, host) => {
          inFlight += unanswered(host, d);
        },
      }),
    );
    const c = out.domains[1];
    const drv = out.domains[0];
    const completed = c.result?.kind === "poweroff" && c.result.exitCode === 0;
    const first = drv.restarts[0];
    runs.push({
      seed,
      kind,
      at,
      completed,
      selfCheck: c.console.includes("selfcheck: ok"),
      sameOutput: c.console === local.console,
      restarts: drv.restarts.length,
      retried: completed ? inFlight : 0,
      lost: completed ? 0 : inFlight,
      restartCycles: first?.restartCycles ?? -1,
      clientCycles: c.cycles,
      referenceCycles: T,
      reason: first?.reason ?? "(the crash did not bring the driver down)",
      clientEnding: c.result === undefined ? "still running" : c.result.kind === "poweroff" ? `power-off ${c.result.exitCode}` : c.result.message,
    });
    o.onRun?.(i + 1, o.runs);
    yield;
  }
  const rc = runs.map((r) => r.restartCycles).filter((x) => x >= 0).sort((a, b) => a - b);
  const sum = (f: (r: RunRecord) => number) => runs.reduce((a, r) => a + f(r), 0);
  return {
    backend: o.backend,
    workload,
    runs,
    summary: {
      runs: runs.length,
      completed: sum((r) => +r.completed),
      selfCheck: sum((r) => +r.selfCheck),
      sameOutput: sum((r) => +r.sameOutput),
      restarts: sum((r) => r.restarts),
      retried: sum((r) => r.retried),
      lost: sum((r) => r.lost),
      restartCyclesMedian: rc.length ? rc[Math.floor(rc.length / 2)] : -1,
      restartCyclesMax: rc.length ? rc[rc.length - 1] : -1,
    },
  };
}

/** `host` run to its end; then its domains' last machines go back (a restarted driver's earlier ones went at each restart). */
function runHost(host: DomainHost): HostOutcome {
  const out = host.run();
  for (const m of host.machines()) m.memory.recycle();
  return out;
}

/**
 * Requests the driver domain `d` left unanswered: in each client ring it
 * has mapped (a page holding the ring's magic), request producer minus
 * response producer.
 */
function unanswered(host: DomainHost, d: number): number {
  let n = 0;
  for (const [page, mp] of host.services.mappings[d]) {
    const mem = host.machineOf(d).memory.i32;
    void mp;
    if (mem[page >>> 2] !== RING_MAGIC) continue;
    n += (mem[(page + R_REQ_PROD) >>> 2] - mem[(page + R_RSP_PROD) >>> 2]) | 0;
  }
  return n;
}

/** The table `previrt drivers` prints. */
export function formatCampaign(r: CampaignResult): string {
  const s = r.summary;
  const lines = [
    `driver restarts under the client's ${r.workload} on ${r.backend}: ${s.runs} seeded crashes of the driver domain`,
    `  client completed          ${s.completed}/${s.runs}`,
    `  client self-check ok      ${s.selfCheck}/${s.runs}`,
    `  output same as local disk ${s.sameOutput}/${s.runs}`,
    `  driver restarts           ${s.restarts}`,
    `  requests retried / lost   ${s.retried} / ${s.lost}`,
    s.restartCyclesMedian < 0
      ? "  restart time (cycles)     none: no restarted driver accepted the client"
      : `  restart time (cycles)     median ${s.restartCyclesMedian}, max ${s.restartCyclesMax} (crash to the new driver accepting the client)`,
  ];
  // Why a client did not complete: its ending and the driver's, per run.
  for (const run of r.runs) {
    if (!run.completed) lines.push(`  seed ${run.seed} (${run.kind} at cycle ${run.at}): the client: ${run.clientEnding}; the driver: ${run.reason}`);
  }
  return lines.join("\n") + "\n";
}
