// The worker-thread side of pool.ts: receives `{id, module, name, arg}`,
// imports the module (once), calls its export `name` with `arg` and posts
// back `{id, ok, value}` or the error (UserErrors marked, so the main thread
// reports them as it would in-process). One task at a time per worker.

import { parentPort } from "node:worker_threads";
import { UserError } from "../../guest-isa/diagnostics.js";

type TaskFunction = (arg: unknown) => unknown;
const loaded = new Map<string, Promise<Record<string, unknown>>>();

parentPort!.on("message", async (msg: { id: number; module: string; name: string; arg: unknown }) => {
  try {
    let mod = loaded.get(msg.module);
    if (!mod) loaded.set(msg.module, (mod = import(msg.module) as Promise<Record<string, unknown>>));
    const fn = (await mod)[msg.name];
    if (typeof fn !== "function") throw new Error(`worker: ${msg.module} does not export a function '${msg.name}'`);
    const value = await (fn as TaskFunction)(msg.arg);
    parentPort!.postMessage({ id: msg.id, ok: true, value });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort!.postMessage({ id: msg.id, ok: false, error: { message: err.message, stack: err.stack, user: e instanceof UserError } });
  }
});
