// The worker pool's scheduling (src/hypervisors/parallel/pool.ts), which
// `previrt bench --jobs` builds on: tasks pinned to a worker run on that
// thread (each kernel compiled by one thread only), waiting shared tasks run
// highest priority first (the longest bench cells first), a task's error
// rejects that task only, and close() settles what is still queued.
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { runPool, WorkerPool, workersAvailable } from "../../src/hypervisors/parallel/pool.js";

const TASKS = new URL("./pool-tasks.ts", import.meta.url).href;
const task = <A>(name: string, arg: A) => ({ module: TASKS, name, arg });

describe("worker pool", () => {
  it("runs tasks pinned to a worker on that worker's thread, and shared ones on either", async () => {
    expect(workersAvailable(TASKS)).toBe(true); // needs tsc's dist/
    const pool = new WorkerPool(2);
    try {
      const pinned = await Promise.all(
        [0, 1, 0, 1, 0, 1].map((worker, i) => pool.submit<string, { arg: string; thread: number }>(task("whereAmI", `p${i}`), { worker })),
      );
      const on = (w: number) => new Set(pinned.filter((_, i) => i % 2 === w).map((r) => r.thread));
      expect(on(0).size).toBe(1);
      expect(on(1).size).toBe(1);
      expect([...on(0)][0]).not.toBe([...on(1)][0]);
      const shared = await Promise.all(["a", "b", "c"].map((s) => pool.submit<string, { arg: string; thread: number }>(task("whereAmI", s))));
      expect(shared.map((r) => r.arg)).toEqual(["a", "b", "c"]);
      for (const r of shared) expect([...on(0), ...on(1)]).toContain(r.thread);
    } finally {
      await pool.close();
    }
  });

  it("hands the waiting shared tasks out highest priority first, equal ones in submission order", async () => {
    const pool = new WorkerPool(1);
    const order: string[] = [];
    try {
      const busy = pool.submit(task("after", { ms: 300, tag: "busy" })); // the one worker is taken, the rest wait
      const waiting = [
        ["low", 1],
        ["high", 9],
        ["mid", 5],
        ["high-too", 9],
        ["none", 0],
      ] as const;
      const done = waiting.map(([tag, priority]) => pool.submit<{ ms: number; tag: string }, string>(task("after", { ms: 1, tag }), { priority }).then((t) => order.push(t)));
      await Promise.all([busy, ...done]);
    } finally {
      await pool.close();
    }
    expect(order).toEqual(["high", "high-too", "mid", "low", "none"]);
  });

  it("runs a worker's own tasks before shared ones", async () => {
    const pool = new WorkerPool(1);
    const order: string[] = [];
    try {
      const busy = pool.submit(task("after", { ms: 300, tag: "busy" }));
      const shared = pool.submit<{ ms: number; tag: string }, string>(task("after", { ms: 1, tag: "shared" }), { priority: 100 }).then((t) => order.push(t));
      const own = pool.submit<{ ms: number; tag: string }, string>(task("after", { ms: 1, tag: "own" }), { worker: 0 }).then((t) => order.push(t));
      await Promise.all([busy, shared, own]);
    } finally {
      await pool.close();
    }
    expect(order).toEqual(["own", "shared"]);
  });

  it("hands a free worker the shared tasks that prefer it first, and another worker's only when none else waits", async () => {
    const pool = new WorkerPool(2);
    try {
      // Learn each worker's thread, then keep both busy while the preferring tasks queue up.
      const threads = await Promise.all([0, 1].map((worker) => pool.submit<string, { arg: string; thread: number }>(task("whereAmI", `w${worker}`), { worker })));
      const busy = [0, 1].map((worker) => pool.submit(task("after", { ms: 300, tag: "busy" }), { worker }));
      // As many for each, each long enough that neither worker runs out of its own before the other does.
      const prefs = [1, 1, 0, 0, 1, 0];
      const ran = prefs.map((prefer, i) => pool.submit<{ ms: number; tag: string }, { arg: string; thread: number }>(task("whereAfter", { ms: 200, tag: `t${i}` }), { prefer }));
      await Promise.all(busy);
      const results = await Promise.all(ran);
      // Each ran on the thread it preferred: both workers were free together with tasks of their own waiting.
      expect(results.map((r) => r.thread)).toEqual(prefs.map((w) => threads[w].thread));
      // One worker busy: the other takes the tasks preferring the busy one rather than leave them waiting.
      const long = pool.submit(task("after", { ms: 500, tag: "long" }), { worker: 0 });
      const stolen = await Promise.all([0, 0, 0].map((prefer, i) => pool.submit<string, { arg: string; thread: number }>(task("whereAmI", `s${i}`), { prefer })));
      expect(stolen.map((r) => r.thread)).toEqual([1, 1, 1].map((w) => threads[w].thread));
      await long;
    } finally {
      await pool.close();
    }
  });

  it("rejects only the failing task, a UserError as a UserError; close() rejects what is still queued", async () => {
    const pool = new WorkerPool(1);
    const user = pool.submit(task("fails", "user"));
    const internal = pool.submit(task("fails", "internal"));
    const fine = pool.submit(task("whereAmI", "still works"));
    await expect(user).rejects.toBeInstanceOf(UserError);
    await expect(user).rejects.toThrow("no such thing");
    await expect(internal).rejects.not.toBeInstanceOf(UserError);
    await expect(internal).rejects.toThrow("broken");
    await expect(fine).resolves.toMatchObject({ arg: "still works" });
    const busy = pool.submit(task("after", { ms: 5_000, tag: "never" }));
    const queued = pool.submit(task("whereAmI", "queued"));
    const settled = [expect(busy).rejects.toThrow("closed before the task finished"), expect(queued).rejects.toThrow("closed before the task finished")];
    await pool.close();
    await Promise.all(settled);
    await expect(pool.submit(task("whereAmI", "late"))).rejects.toThrow("closed");
  });

  it("runPool gives results in task order and the first error", async () => {
    expect((await runPool<string, { arg: string }>(["x", "y", "z"].map((s) => task("whereAmI", s)), 2)).map((r) => r.arg)).toEqual(["x", "y", "z"]);
    await expect(runPool([task("whereAmI", "ok"), task("fails", "user")], 2)).rejects.toBeInstanceOf(UserError);
  });
});
