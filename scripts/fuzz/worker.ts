// The worker thread of `npm run fuzz`: runs a campaign's inputs in a loop
// (a batch) or one input (for the shrinker), in its own thread so that the
// driver (runner.ts) can stop it when an input hangs in host code.
//
// Progress goes through shared memory, not messages: the driver reads which
// input is running and the counts per outcome class from `heartbeat`
// (layout: HB below), so a batch costs no message per input and the counts
// survive a worker the driver had to terminate. Failures are posted.

import { isMainThread, parentPort } from "node:worker_threads";
import { FAILURES, OUTCOMES, runInput, signature, type FuzzInput, type Limits } from "./campaign.js";
import { loadCampaign } from "./campaigns.js";
import { Rng } from "./generators/rng.js";

/** Indices into the heartbeat Int32Array. */
export const HB = {
  /** Index of the input being run, plus 1 (0: none). */
  running: 0,
  /** Inputs finished. */
  done: 1,
  /** Counts per class, in OUTCOMES order, from here. */
  counts: 2,
  /** Slowest input so far, in milliseconds. */
  slowestMs: 7,
  /** Index of that input. */
  slowestIndex: 8,
  size: 9,
} as const;

export interface BatchRequest {
  type: "batch";
  campaign: string;
  seed: number;
  from: number;
  /** Stop before this input index. */
  until: number;
  /** Stop after this wall-clock time (ms since the epoch). */
  deadline: number;
  limits: Limits;
  heartbeat: SharedArrayBuffer;
}

export interface ExecRequest {
  type: "exec";
  id: number;
  campaign: string;
  input: FuzzInput;
  limits: Limits;
}

/** At most this many failures per signature are posted (the rest are only counted). */
const POSTED_PER_SIGNATURE = 3;

async function batch(req: BatchRequest): Promise<void> {
  const campaign = await loadCampaign(req.campaign);
  const hb = new Int32Array(req.heartbeat);
  const posted = new Map<string, number>();
  let i = req.from;
  for (; i < req.until && Date.now() < req.deadline; i++) {
    Atomics.store(hb, HB.running, i + 1);
    const t0 = performance.now();
    const input = campaign.generate(new Rng(req.seed, i), i);
    const outcome = runInput(campaign, input, req.limits);
    const ms = performance.now() - t0;
    if (ms > hb[HB.slowestMs]) {
      Atomics.store(hb, HB.slowestMs, Math.ceil(ms));
      Atomics.store(hb, HB.slowestIndex, i);
    }
    Atomics.add(hb, HB.counts + OUTCOMES.indexOf(outcome.class), 1);
    Atomics.add(hb, HB.done, 1);
    if (FAILURES.has(outcome.class)) {
      const sig = signature(outcome);
      const n = posted.get(sig) ?? 0;
      if (n < POSTED_PER_SIGNATURE) {
        posted.set(sig, n + 1);
        parentPort!.postMessage({ type: "failure", index: i, outcome });
      }
    }
  }
  Atomics.store(hb, HB.running, 0);
  parentPort!.postMessage({ type: "done", next: i });
}

// The driver imports this module for HB and the request types; only a worker listens.
if (!isMainThread) parentPort!.on("message", (req: BatchRequest | ExecRequest) => {
  if (req.type === "batch") {
    batch(req).catch((e) => parentPort!.postMessage({ type: "error", message: String(e?.stack ?? e) }));
  } else {
    loadCampaign(req.campaign)
      .then((campaign) => parentPort!.postMessage({ type: "result", id: req.id, outcome: runInput(campaign, req.input, req.limits) }))
      .catch((e) => parentPort!.postMessage({ type: "error", message: String(e?.stack ?? e) }));
  }
});
