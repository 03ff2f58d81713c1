// A pool of worker threads for independent runs (the cells of `previrt bench`
// and the back ends of `previrt matrix`, issue 16). A task names a function
// by module URL and export name plus a structured-cloneable argument; the
// worker (worker.ts) imports the module and calls it. The pool knows nothing
// about what the tasks do, so the dependency direction stays cli → hypervisors.
//
// Consumes: the tasks, a job count, a completion callback. Produces: the
// results in task order (whatever order they finished in), or the first
// task's error. Results are what the task function returned — the simulated
// run inside a worker is the same code as in-process, so cycles, counters and
// console are identical to a serial run (test/cli/matrix.test.ts and
// test/bench/jobs.test.ts check it).
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

/**
 * Up to `jobs` worker threads, started on first use and reused by every
 * run(); close() ends them. One task at a time per worker.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly workerUrl: string;

  constructor(readonly jobs: number) {
    const url = runnableModule(WORKER_MODULE);
    if (!url) throw new Error("worker pool: the compiled worker (dist/src/hypervisors/parallel/worker.js) is missing: run tsc");
    this.workerUrl = url;
  }

  /** Runs `tasks`; `onDone(index, result)` as each finishes. Resolves with the results in task order. */
  async run<A, R>(tasks: readonly PoolTask<A>[], onDone?: (index: number, result: R) => void): Promise<R[]> {
    const modules = tasks.map((t) => {
      const m = runnableModule(t.module);
      if (!m) throw new Error(`worker pool: no compiled module for ${t.module}: run tsc`);
      return m;
    });
    const results: R[] = new Array(tasks.length);
    if (tasks.length === 0) return results;
    while (this.workers.length < Math.min(this.jobs, tasks.length)) this.workers.push(new Worker(new URL(this.workerUrl)));
    const busy = this.workers.slice(0, Math.min(this.jobs, tasks.length));
    let next = 0;
    let finished = 0;
    const detach: (() => void)[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        const fail = (e: Error) => {
          if (!failed) (failed = true), reject(e);
        };
        const feed = (w: Worker) => {
          if (failed || next >= tasks.length) return;
          const id = next++;
          w.postMessage({ id, module: modules[id], name: tasks[id].name, arg: tasks[id].arg });
        };
        for (const w of busy) {
          const onMessage = (reply: Reply) => {
            if (!reply.ok) {
              const err = reply.error!;
              const e = err.user ? new UserError(err.message) : new Error(err.message);
              if (!err.user && err.stack) e.stack = err.stack;
              return fail(e);
            }
            results[reply.id] = reply.value as R;
            finished++;
            try {
              onDone?.(reply.id, reply.value as R);
            } catch (e) {
              return fail(e as Error);
            }
            if (finished === tasks.length) resolve();
            else feed(w);
          };
          const onError = (e: Error) => fail(e);
          const onExit = (code: number) => fail(new Error(`worker pool: a worker exited (status ${code}) before its task finished`));
          w.on("message", onMessage).on("error", onError).on("exit", onExit);
          detach.push(() => w.off("message", onMessage).off("error", onError).off("exit", onExit));
          feed(w);
        }
      });
    } catch (e) {
      await this.close(); // a worker may still be busy with a task nobody waits for
      throw e;
    } finally {
      for (const d of detach) d();
    }
    return results;
  }

  async close(): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
  }
}

/** Runs `tasks` on a pool of up to `jobs` threads made for them (see WorkerPool.run). */
export async function runPool<A, R>(tasks: readonly PoolTask<A>[], jobs: number, onDone?: (index: number, result: R) => void): Promise<R[]> {
  const pool = new WorkerPool(jobs);
  try {
    return await pool.run<A, R>(tasks, onDone);
  } finally {
    await pool.close();
  }
}
