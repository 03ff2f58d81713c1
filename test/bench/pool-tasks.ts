// Task functions for test/bench/pool.test.ts, run in the pool's worker
// threads (from dist/, like every pool task): each reports the thread it ran
// on, so the test can see which worker took which task and in what order.
import { threadId } from "node:worker_threads";
import { UserError } from "../../src/guest-isa/diagnostics.js";

/** Returns its argument and the worker thread's id. */
export function whereAmI(arg: string): { arg: string; thread: number } {
  return { arg, thread: threadId };
}

/** Waits `ms` milliseconds, then returns its argument (keeps a worker busy while the test queues more). */
export async function after(arg: { ms: number; tag: string }): Promise<string> {
  await new Promise((r) => setTimeout(r, arg.ms));
  return arg.tag;
}

/** Throws what the test asks for: a UserError (bad input) or an internal Error. */
export function fails(kind: "user" | "internal"): never {
  throw kind === "user" ? new UserError("no such thing") : new Error("broken");
}

/** Waits `ms` milliseconds, then returns its argument and the worker thread's id (a task that keeps its worker for a while). */
export async function whereAfter(arg: { ms: number; tag: string }): Promise<{ arg: string; thread: number }> {
  await new Promise((r) => setTimeout(r, arg.ms));
  return { arg: arg.tag, thread: threadId };
}
