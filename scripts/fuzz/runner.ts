// The driver of `npm run fuzz`: runs a campaign's inputs in a worker thread
// (worker.ts) under a per-input wall-clock watchdog, shrinks each distinct
// failure to a smallest input (delta debugging over the input's units, every
// candidate run in a worker too, so a hanging candidate is caught the same
// way), writes it to the output folder and returns the campaign's counts.
//
// Consumed by run.ts (the command) and test/fuzz/smoke.test.ts (through the
// command); produces a CampaignSummary per campaign.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { FAILURES, OUTCOMES, signature, type FuzzInput, type Limits, type Outcome, type OutcomeClass } from "./campaign.js";
import { loadCampaign } from "./campaigns.js";
import { Rng } from "./generators/rng.js";
import { HB, type BatchRequest, type ExecRequest } from "./worker.js";

export interface RunOptions {
  seed: number;
  /** Wall-clock budget of the campaign, in seconds (Infinity: none). */
  seconds: number;
  /** Input budget (Infinity: none). */
  inputs: number;
  limits: Limits;
  /** An input running longer than this is a hang. */
  hangSeconds: number;
  /** Time budget for shrinking one failure. */
  shrinkSeconds: number;
  out: string;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface FailureReport {
  class: OutcomeClass;
  message: string;
  signature: string;
  index: number;
  /** Units of the input as found, and after shrinking. */
  units: number;
  shrunkUnits: number;
  file: string;
}

export interface CampaignSummary {
  campaign: string;
  seed: number;
  inputs: number;
  counts: Record<OutcomeClass, number>;
  seconds: number;
  slowestMs: number;
  slowestIndex: number;
  failures: FailureReport[];
}

const WORKER_URL = new URL("./worker.js", import.meta.url);

const hangMessage = (ms: number) => `no result within the watchdog's ${ms / 1000} s`;

/** A worker for single inputs (the shrinker's), replaced when an input hangs. */
class Executor {
  private worker?: Worker;
  private nextId = 0;
  constructor(private readonly campaign: string, private readonly limits: Limits) {}

  run(input: FuzzInput, timeoutMs: number): Promise<Outcome> {
    const w = (this.worker ??= new Worker(WORKER_URL));
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        cleanup();
        void w.terminate();
        this.worker = undefined;
        resolve({ class: "hang", message: hangMessage(timeoutMs) });
      }, timeoutMs);
      const onMessage = (m: { type: string; id?: number; outcome?: Outcome; message?: string }) => {
        if (m.type === "result" && m.id === id) {
          cleanup();
          resolve(m.outcome!);
        } else if (m.type === "error") {
          cleanup();
          resolve({ class: "host-exception", message: `fuzz worker: ${m.message}` });
        }
      };
      const onError = (e: Error) => {
        cleanup();
        this.worker = undefined;
        resolve({ class: "host-exception", message: `worker died: ${e.message}` });
      };
      const cleanup = () => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
      };
      w.on("message", onMessage);
      w.on("error", onError);
      const req: ExecRequest = { type: "exec", id, campaign: this.campaign, input, limits: this.limits };
      w.postMessage(req);
    });
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

/**
 * Delta debugging (ddmin) over a list of units: removes chunks, halving the
 * chunk size when none can go, while `fails` still holds. Stops at `deadline`.
 */
export async function shrinkUnits<U>(units: U[], fails: (units: U[]) => Promise<boolean>, deadline: number): Promise<U[]> {
  if (units.length && (await fails([]))) return [];
  let n = 2;
  while (units.length >= 2 && Date.now() < deadline) {
    const chunk = Math.ceil(units.length / n);
    let reduced = false;
    for (let start = 0; start < units.length && Date.now() < deadline; start += chunk) {
      const candidate = [...units.slice(0, start), ...units.slice(start + chunk)];
      if (await fails(candidate)) {
        units = candidate;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) break;
      n = Math.min(units.length, n * 2);
    }
  }
  return units;
}

interface BatchEnd {
  next: number;
  hungAt?: number;
}

/** Runs inputs [from, until) until the deadline in a fresh worker; stops it if an input exceeds the watchdog. */
function runBatch(req: Omit<BatchRequest, "type">, hangMs: number, onFailure: (index: number, o: Outcome) => void): Promise<BatchEnd> {
  const worker = new Worker(WORKER_URL);
  const hb = new Int32Array(req.heartbeat);
  return new Promise((resolve, reject) => {
    let seen = -1;
    let since = Date.now();
    const watchdog = setInterval(() => {
      const running = Atomics.load(hb, HB.running);
      if (running !== seen) {
        seen = running;
        since = Date.now();
      } else if (running !== 0 && Date.now() - since > hangMs) {
        clearInterval(watchdog);
        void worker.terminate();
        resolve({ next: running, hungAt: running - 1 });
      }
    }, Math.min(100, hangMs / 4));
    worker.on("message", (m: { type: string; index?: number; outcome?: Outcome; next?: number; message?: string }) => {
      if (m.type === "failure") onFailure(m.index!, m.outcome!);
      else if (m.type === "done") {
        clearInterval(watchdog);
        void worker.terminate();
        resolve({ next: m.next! });
      } else if (m.type === "error") {
        clearInterval(watchdog);
        void worker.terminate();
        reject(new Error(`fuzz worker failed: ${m.message}`));
      }
    });
    worker.on("error", (e) => {
      clearInterval(watchdog);
      reject(e);
    });
    worker.postMessage({ type: "batch", ...req } satisfies BatchRequest);
  });
}

export async function runCampaign(name: string, options: RunOptions): Promise<CampaignSummary> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  const until = Number.isFinite(options.inputs) ? options.inputs : 0x7fffffff;
  const heartbeat = new SharedArrayBuffer(HB.size * 4);
  const hb = new Int32Array(heartbeat);
  const hangMs = options.hangSeconds * 1000;
  // First few failures per signature, in the order found.
  const found = new Map<string, { index: number; outcome: Outcome }>();
  const note = (index: number, outcome: Outcome) => {
    const sig = signature(outcome);
    if (!found.has(sig)) {
      found.set(sig, { index, outcome });
      log(`${name}: input ${index}: ${outcome.class}: ${outcome.message}`);
    }
  };
  let next = 0;
  while (next < until && Date.now() < deadline) {
    const end = await runBatch({ campaign: name, seed: options.seed, from: next, until, deadline, limits: options.limits, heartbeat }, hangMs, note);
    if (end.hungAt !== undefined) {
      Atomics.add(hb, HB.counts + OUTCOMES.indexOf("hang"), 1);
      Atomics.add(hb, HB.done, 1);
      note(end.hungAt, { class: "hang", message: hangMessage(hangMs) });
    }
    next = end.next;
  }
  const seconds = (Date.now() - started) / 1000;
  const counts = Object.fromEntries(OUTCOMES.map((c, i) => [c, hb[HB.counts + i]])) as Record<OutcomeClass, number>;

  // Shrink and write each distinct failure.
  const failures: FailureReport[] = [];
  if (!found.size) return { campaign: name, seed: options.seed, inputs: hb[HB.done], counts, seconds, slowestMs: hb[HB.slowestMs], slowestIndex: hb[HB.slowestIndex], failures };
  // The driver needs the campaign itself only here (its inputs run in workers): a run without failures never imports it.
  const campaign = await loadCampaign(name);
  mkdirSync(options.out, { recursive: true });
  const executor = new Executor(name, options.limits);
  try {
    let n = 0;
    for (const [sig, { index, outcome }] of found) {
      const input = campaign.generate(new Rng(options.seed, index), index);
      const timeout = outcome.class === "hang" ? hangMs : Math.max(hangMs, 10_000);
      // The outcome of the candidate the shrinker last kept: that of the smallest input (runs are deterministic), so
      // it is not run again — a hang's would cost the watchdog's whole time once more.
      let kept: { units: unknown[]; outcome: Outcome } | undefined;
      const fails = async (units: unknown[]) => {
        const o = await executor.run({ ...input, units }, timeout);
        if (signature(o) !== sig) return false;
        kept = { units, outcome: o };
        return true;
      };
      const shrunk = await shrinkUnits(input.units, fails, Date.now() + options.shrinkSeconds * 1000);
      const small = { ...input, units: shrunk };
      // The smallest input's own outcome (same signature; its message names what it does).
      const final = shrunk === input.units ? outcome : kept?.units === shrunk ? kept.outcome : await executor.run(small, timeout);
      const m = campaign.materialize(small);
      const stem = join(options.out, `${name}-${outcome.class}-${++n}`);
      writeFileSync(stem + m.ext, m.data);
      const report = {
        campaign: name,
        class: outcome.class,
        message: final.message,
        stack: final.stack,
        messageAsFound: outcome.message,
        signature: sig,
        seed: options.seed,
        index,
        base: input.base,
        aux: input.aux,
        unitsFound: input.units.length,
        unitsShrunk: shrunk.length,
        units: shrunk,
        note: m.note,
        replay: `npm run fuzz -- ${name} --seed ${options.seed} --replay ${index}`,
      };
      writeFileSync(stem + ".json", JSON.stringify(report, null, 2) + "\n");
      failures.push({ class: outcome.class, message: final.message, signature: sig, index, units: input.units.length, shrunkUnits: shrunk.length, file: stem + m.ext });
      log(`${name}: wrote ${stem + m.ext} (${input.units.length} → ${shrunk.length} units)`);
    }
  } finally {
    executor.close();
  }
  return { campaign: name, seed: options.seed, inputs: hb[HB.done], counts, seconds, slowestMs: hb[HB.slowestMs], slowestIndex: hb[HB.slowestIndex], failures };
}

/** The summary table (one row per campaign, and a total). */
export function formatSummary(rows: readonly CampaignSummary[]): string {
  const head = ["campaign", "inputs", ...OUTCOMES, "seconds", "inputs/s", "slowest"];
  const fmt = (n: number) => n.toLocaleString("en-US");
  const body = rows.map((r) => [
    r.campaign,
    fmt(r.inputs),
    ...OUTCOMES.map((c) => fmt(r.counts[c])),
    r.seconds.toFixed(1),
    fmt(Math.round(r.inputs / Math.max(r.seconds, 1e-3))),
    `${r.slowestMs} ms`,
  ]);
  const total = ["total", fmt(rows.reduce((s, r) => s + r.inputs, 0)), ...OUTCOMES.map((c) => fmt(rows.reduce((s, r) => s + r.counts[c], 0))), rows.reduce((s, r) => s + r.seconds, 0).toFixed(1), "", ""];
  const all = [head, ...body, total];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  return all.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")).join("\n");
}

export const failed = (r: CampaignSummary) => [...FAILURES].some((c) => r.counts[c] > 0);
