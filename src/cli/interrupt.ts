// The user's Ctrl-C during a guest's run: `previrt run`, `previrt resume`,
// `previrt migrate`, `previrt matrix` and `matrix --migrate` run the guest in slices
// (machine/run-image.ts runSliced, migration/drive.ts driveSliced) and await
// `between` after each, which lets Node's event loop run — the only place
// a SIGINT handler can — and asks the run to stop when one came. The run then ends as any
// stopped run does: `previrt: error: interrupted (SIGINT) after N cycles`,
// the diagnosis of where the guest was, --stats and --json, the disk images
// closed; status 130. A second Ctrl-C before that ends the process at once
// (the disk images are written through, so nothing the guest wrote is lost).
//
// A campaign of many runs in this thread — bench --jobs 1, bench --smp and
// --drivers, inject, drivers — is a generator that yields after each run:
// `drainInterruptible` asks `between` after each run and ends the campaign
// there, and `campaignOrInterrupt` prints its one line (`… after N of M runs
// (no table)`); `drain` runs one through without asking.
//
// Consumes process signals; produces a BetweenSlices for the run, a promise
// settled at the first Ctrl-C (for a matrix or bench whose cells run in
// worker threads, where nothing runs between slices here), and the handler's
// removal. Used by cli/commands/run.ts, resume.ts, migrate.ts, matrix.ts and
// migration-matrix.ts (which end with one line and no table), bench.ts,
// inject.ts and drivers.ts (one line, no report or table), and
// run-domains.ts, whose host (DomainHost.runSliced) awaits `between` every
// slice of global time and stops every guest still running.

import { EXIT_STATUS } from "../machine/diagnosis.js";
import type { BetweenSlices } from "../machine/run-image.js";
import type { CliIO } from "./io.js";

/** The words every interrupted ending starts with (`previrt: error: interrupted (SIGINT) after …`). */
export const INTERRUPTED = "interrupted (SIGINT)";

export function stopOnSigint(): { between: BetweenSlices; signalled: Promise<string>; dispose(): void } {
  let asked = false;
  let signal!: (why: string) => void;
  // For waiters that run nothing between slices (matrix cells in worker threads): settles at the first Ctrl-C.
  const signalled = new Promise<string>((resolve) => (signal = resolve));
  const onSigint = () => {
    if (asked) process.exit(EXIT_STATUS.interrupted);
    asked = true;
    signal(INTERRUPTED);
  };
  process.on("SIGINT", onSigint);
  return {
    between: () => new Promise((resolve) => setImmediate(() => resolve(asked ? INTERRUPTED : undefined))),
    signalled,
    dispose: () => void process.off("SIGINT", onSigint),
  };
}

/**
 * The one line a command of many runs ends with when Ctrl-C stopped it:
 * `previrt: error: interrupted (SIGINT) after N of M <what>` (`what`: "back
 * ends (no table)", "cells (no report)", …); `openLine`: its progress on a
 * terminal left a line open, ended first.
 */
export function reportInterrupted(io: CliIO, done: number, total: number, what: string, openLine = false): void {
  io.err(`${openLine && io.stderrIsTTY ? "\n" : ""}previrt: error: ${INTERRUPTED} after ${done} of ${total} ${what}\n`);
}

/** A campaign's generator run through (no Ctrl-C asked): its result. */
export function drain<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** A campaign's generator with `between` asked after each run: its result, or the reason and the runs done. */
export async function drainInterruptible<T>(steps: Generator<unknown, T>, between: BetweenSlices): Promise<{ result: T } | { interrupted: string; done: number }> {
  for (let done = 0; ; done++) {
    const next = steps.next();
    if (next.done) return { result: next.value };
    const why = await between();
    if (why !== undefined) return { interrupted: why, done: done + 1 };
  }
}

/** A campaign stopped by `between` (drainInterruptible's answer as an exception, where a promise of the result is awaited). */
export class Interrupted extends Error {
  constructor(
    readonly reason: string,
    readonly done: number,
  ) {
    super(`${reason} after ${done} runs`);
  }
}

/**
 * A campaign command's runs with Ctrl-C: the campaign's result, or — after
 * one line `previrt: error: interrupted (SIGINT) after N of M runs (no
 * table)` (`unit`: "cells (no report)" for a bench's; `openLine`: its
 * progress on a terminal leaves a line open, ended first) — undefined, and
 * the command ends with EXIT_STATUS.interrupted.
 */
export async function campaignOrInterrupt<T>(
  steps: Generator<unknown, T>,
  total: () => number,
  io: CliIO,
  { unit = "runs (no table)", openLine = false }: { unit?: string; openLine?: boolean } = {},
): Promise<T | undefined> {
  const sigint = stopOnSigint();
  try {
    const outcome = await drainInterruptible(steps, sigint.between);
    if ("result" in outcome) return outcome.result;
    reportInterrupted(io, outcome.done, total(), unit, openLine);
    return undefined;
  } finally {
    sigint.dispose();
  }
}
