// A pool of worker threads for independent runs (the cells of `previrt bench`
// and the back ends of `previrt matrix`, issue 16). A task names a function
// by module URL and export name plus a structured-cloneable argument; the
// worker (worker.ts) imports the module and calls it. The pool knows nothing
// about what the tasks do, so the dependency direction stays cli → hypervisors.
//
// Consumes: tasks, submitted one by one (submit: each with an optional
// worker it must run on and a priority) or as a list (run). Produces: each
// task's result (a promise per task; run() gives them in task order, whatever
// order they finished in), or its error. Results are what the task function
// returned — the simulated run inside a worker is the same code as
// in-process, so cycles, counters and console are identical to a serial run
// (test/cli/matrix.test.ts and test/bench/jobs.test.ts check it); which
// worker runs a task, and when, changes host times only.
//
// Workers run compiled JavaScript: from dist/ (bin/previrt.js), module URLs
// are used as they are; from the TypeScript sources (vitest), `X.ts` under
// the package is mapped to `dist/X.js`, so `tsc` must have run first.

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { UserError } from "../../guest-isa/diagnostics.js";

export interface PoolTask<A> {
  /** URL of the module exporting the function (usually `import.meta.url` of its own file). */
  module: string;
  /** The exported function's name: `(arg) => result`, both structured-cloneable. */
  name: string;
  arg: A;
}

/** Where and when a submitted task runs. */
export interface SubmitOptions {
  /**
   * Run on this worker (taken modulo the job count): tasks that build on one
   * thread's state — the kernel a thread has compiled — go to the same one.
   * A worker runs its own tasks before any shared one.
   */
  worker?: number;
  /** Among the waiting shared tasks, higher runs first (default 0); equal priorities run in submission order. */
  priority?: number;
  /**
   * A shared task that would rather run on this worker (modulo the job
   * count): that worker takes it before shared tasks preferring another; any
   * other worker takes it only when nothing else waits for it (tasks that
   * share a warmed-up code path — a bench's cells of one back end — go
   * to one thread, and no worker idles while there is work).
   */
  prefer?: number;
}

/** The default --jobs: one worker per core the host offers. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The compiled-JavaScript counterpart of a module URL: itself for `.js`;
 * for `ROOT/PATH.ts`, `ROOT/dist/PATH.js` (undefined when that file does not exist).
 */
export function runnableModule(url: string): string | undefined {
  if (!url.endsWith(".ts")) return url;
  // This file is ROOT/src/hypervisors/parallel/pool.ts when run from source.
  const root = new URL("../../../", import.meta.url).href;
  if (!url.startsWith(root)) return undefined;
  const compiled = new URL(`dist/${url.slice(root.length, -3)}.js`, root);
  return existsSync(compiled) ? compiled.href : undefined;
}

/** The worker's own module (worker.ts next to this file, compiled or not). */
const WORKER_MODULE = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url).href;

/** Whether tasks of `module` can run in worker threads here (compiled worker and module exist). */
export function workersAvailable(module: string): boolean {
  return runnableModule(WORKER_MODULE) !== undefined && runnableModule(module) !== undefined;
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { message: string; stack?: string; user: boolean };
}

/** A submitted task until it settles. */
interface Pending {
  id: number;
  module: string;
  name: string;
  arg: unknown;
  priority: number;
  /** The worker it would rather run on (SubmitOptions.prefer, taken modulo the job count), if any. */
  prefer?: number;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
}

/** One worker thread: its own queue, and the task it is running. */
interface Slot {
  worker: Worker;
  queue: Pending[];
  running?: Pending;
}

/**
 * Up to `jobs` worker threads, all started by the first submit and reused
 * until close(). One task at a time per worker; a free worker takes the
 * first of its own tasks, else the shared task of highest priority that
 * prefers it or no worker, else the one of highest priority.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly workerUrl: string;
  /** Shared tasks, highest priority first (submission order among equals). */
  private shared: Pending[] = [];
  private nextId = 0;
  /** Set by close() or a failed worker: every later submit is refused. */
  private closed?: Error;

  constructor(readonly jobs: number) {
    const url = runnableModule(WORKER_MODULE);
    if (!url) throw new Error("worker pool: the compiled worker (dist/src/hypervisors/parallel/worker.js) is missing: run tsc");
    this.workerUrl = url;
    if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`worker pool: jobs must be a positive integer, not ${jobs}`);
  }

  /** Queues one task; resolves with what its function returned, or rejects with its error (a UserError stays one). */
  submit<A, R>(task: PoolTask<A>, options: SubmitOptions = {}): Promise<R> {
    if (this.closed) return Promise.reject(this.closed);
    const module = runnableModule(task.module);
    if (!module) return Promise.reject(new Error(`worker pool: no compiled module for ${task.module}: run tsc`));
    this.start();
    return new Promise<R>((resolve, reject) => {
      const prefer = options.prefer === undefined ? undefined : options.prefer % this.jobs;
      const p: Pending = { id: this.nextId++, module, name: task.name, arg: task.arg, priority: options.priority ?? 0, prefer, resolve: resolve as (v: unknown) => void, reject };
      if (options.worker !== undefined) this.slots[options.worker % this.jobs].queue.push(p);
      else {
        // Insert after every task of at least this priority (stable for equal ones).
        let i = this.shared.length;
        while (i > 0 && this.shared[i - 1].priority < p.priority) i--;
        this.shared.splice(i, 0, p);
      }
      for (const s of this.slots) if (!s.running) this.feed(s);
    });
  }

  /** Runs `tasks` on any worker; `onDone(index, result)` as each finishes. Resolves with the results in task order; on the first error the pool is closed. */
  async run<A, R>(tasks: readonly PoolTask<A>[], onDone?: (index: number, result: R) => void): Promise<R[]> {
    try {
      return await Promise.all(
        tasks.map((t, i) =>
          this.submit<A, R>(t).then((r) => {
            onDone?.(i, r);
            return r;
          }),
        ),
      );
    } catch (e) {
      await this.close(); // a worker may still be busy with a task nobody waits for
      throw e;
    }
  }

  /** Ends the workers; tasks not yet finished are rejected. */
  async close(): Promise<void> {
    this.fail(new Error("worker pool: closed before the task finished"));
    const all = this.slots.splice(0);
    await Promise.all(all.map((s) => s.worker.terminate()));
  }

  private start(): void {
    while (this.slots.length < this.jobs) {
      const slot: Slot = { worker: new Worker(new URL(this.workerUrl)), queue: [] };
      slot.worker
        .on("message", (reply: Reply) => this.settle(slot, reply))
        .on("error", (e: Error) => this.fail(e))
        .on("exit", (code: number) => {
          if (!this.closed) this.fail(new Error(`worker pool: a worker exited (status ${code}) before its task finished`));
        });
      this.slots.push(slot);
    }
  }

  private feed(slot: Slot): void {
    const me = this.slots.indexOf(slot);
    // Its own tasks; else the first shared task for it or for anyone (the list is in priority order); else any.
    const mine = this.shared.findIndex((t) => t.prefer === undefined || t.prefer === me);
    const p = slot.queue.shift() ?? this.shared.splice(mine >= 0 ? mine : 0, 1)[0];
    if (!p) return;
    slot.running = p;
    slot.worker.postMessage({ id: p.id, module: p.module, name: p.name, arg: p.arg });
  }

  private settle(slot: Slot, reply: Reply): void {
    const p = slot.running;
    if (!p || p.id !== reply.id) return;
    slot.running = undefined;
    if (reply.ok) p.resolve(reply.value);
    else {
      const err = reply.error!;
      const e = err.user ? new UserError(err.message) : new Error(err.message);
      if (!err.user && err.stack) e.stack = err.stack;
      p.reject(e);
    }
    if (!this.closed) this.feed(slot);
  }

  /** Rejects every unfinished task with `e` and refuses new ones. */
  private fail(e: Error): void {
    if (!this.closed) this.closed = e;
    const waiting = [...this.shared.splice(0), ...this.slots.flatMap((s) => [...s.queue.splice(0), ...(s.running ? [s.running] : [])])];
    for (const s of this.slots) s.running = undefined;
    for (const p of waiting) p.reject(e);
  }
}

/** The threads worth starting for `tasks` tasks given `jobs`: no more than there are tasks, at least one. */
export function poolSize(jobs: number, tasks: number): number {
  return Math.max(1, Math.min(jobs, tasks));
}

/** Runs `tasks` on a pool of up to `jobs` threads made for them (see WorkerPool.run). */
export async function runPool<A, R>(tasks: readonly PoolTask<A>[], jobs: number, onDone?: (index: number, result: R) => void): Promise<R[]> {
  const pool = new WorkerPool(poolSize(jobs, tasks.length));
  try {
    return await pool.run<A, R>(tasks, onDone);
  } finally {
    await pool.close();
  }
}
