// Snapshots in the fuzz campaigns (docs/migration.md, docs/reliability.md):
// the way a campaign takes a snapshot file of a running guest and resumes
// it as `previrt resume` does (the `snapshot` campaign mutates the file in
// between), and the snapshot oracle of the campaigns whose input is one
// machine's run (`protection`, `nvdisk`): one configuration of the input,
// drawn into its aux, run to a pseudo-random cycle, snapshotted, encoded to
// bytes and parsed back must give the file's bytes when restored and saved
// again at once, and restored on the same back end (for one input in four
// under the other engine) and finished must end exactly as its
// uninterrupted run.
//
// Consumes a booted Guest (src/migration/guest.ts) and the uninterrupted
// run's outcome; produces snapshot files, resumed guests, and the first
// difference (a `wrong` result's message) or undefined.

import { nodeZlib } from "../../../src/cli/snapshot-files.js";
import { UserError } from "../../../src/guest-isa/diagnostics.js";
import { bytesInput } from "../../../src/machine/devices/console.js";
import type { RunResult } from "../../../src/machine/diagnosis.js";
import type { Engine } from "../../../src/machine/machine.js";
import { encodeSnapshot } from "../../../src/migration/codec.js";
import type { Guest } from "../../../src/migration/guest.js";
import { runToSafePoint } from "../../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest } from "../../../src/migration/snapshot.js";
import { runDifference, type EngineChoice, type SimulatedRun } from "./engines.js";
import { auxDigits } from "./rng.js";

/** The snapshot file of `g` at its first safe point at or after cycle `n` (null: the run ended before one). */
export function snapshotFileAt(g: Guest, n: number, maxCycles: number): Uint8Array | null {
  return runToSafePoint(g, n, maxCycles).reached ? encodeSnapshot(captureSnapshot(g), nodeZlib) : null;
}

/**
 * Resumes a snapshot file as `previrt resume FILE --hv target` does, bounded
 * by `budget` cycles past the point; a refusal from parsing or restoring is
 * thrown (the clean refusal), a wrong result is returned as its message,
 * anything else thrown by the run is a failure. The finished guest is the
 * caller's to give back; on a message or a throw its RAM is given back here.
 */
export function resumeFile(bytes: Uint8Array, target: string, budget: number | { until: number }, engine: { engine: Engine; jitThreshold?: number }): { guest: Guest; result: RunResult } | string {
  const snap = parseSnapshot(bytes, "fuzz.snap", nodeZlib);
  const { guest } = restoreGuest(snap, target, { ...engine, stdin: bytesInput(""), file: "fuzz.snap (its binary)" });
  // From the slowest CPU's clock (a CPU whose clock was pushed ahead stops the run at once; the others
  // must not run to catch up with it), capped where the clock still counts.
  const start = Math.min(...snap.machine.cpus.map((cpu) => cpu.cycles));
  const bound = typeof budget === "number" ? Math.min(start + budget, Number.MAX_SAFE_INTEGER) : budget.until;
  // The guest goes back to the caller only on success; on every other path its RAM is given back here.
  let handedOver = false;
  try {
    // A snapshot of the resumed guest, a quarter of the way: what the machine holds after taking an accepted
    // snapshot must be a snapshot the reader accepts (`resume --snapshot-at`); taking it changes nothing.
    const sp = runToSafePoint(guest, start + (bound - start) / 4, bound);
    if (sp.reached) {
      const again = encodeSnapshot(captureSnapshot(guest), nodeZlib);
      try {
        parseSnapshot(again, "again.snap", nodeZlib);
      } catch (e) {
        if (e instanceof UserError) return `a snapshot of the resumed guest is refused: ${e.message}`;
        throw e;
      }
    }
    const result = guest.finish(bound);
    handedOver = true;
    return { guest, result };
  } catch (e) {
    // A refusal after the guest ran is too late: the snapshot must be refused before anything runs.
    if (e instanceof UserError) return `refused while the guest ran, not before: ${e.message}`;
    throw e;
  } finally {
    if (!handedOver) guest.machine.memory.recycle();
  }
}

/** The aux digits of the snapshot oracle: the configuration, the point (thousandths of the run) and whether the resume changes engine. */
const POINTS = 999;
const SWAP_RADIX = 4;
export const snapshotAuxRange = (configs: number) => configs * POINTS * SWAP_RADIX;

export interface SnapshotDraw {
  /** Index of the configuration (back end, engine, …) snapshotted, in the campaign's order. */
  config: number;
  /** The point, in thousandths of the uninterrupted run (1–999). */
  at: number;
  /** Resumed under the other engine (one input in SWAP_RADIX). */
  otherEngine: boolean;
}

export function snapshotDraw(aux: number, configs: number): SnapshotDraw {
  const take = auxDigits(aux % snapshotAuxRange(configs));
  return { config: take(configs), at: 1 + take(POINTS), otherEngine: take(SWAP_RADIX) === 1 };
}

/** The campaigns' two engine choices: the interpreter, and the JIT translating every page from its first execution. */
const INTERP: EngineChoice = { engine: "interp" };
const JIT: EngineChoice = { engine: "jit", jitThreshold: 1 };
export const otherEngine = (e: EngineChoice): EngineChoice => (e.engine === "interp" ? JIT : INTERP);

/** One line for a materialized note: what the input's snapshot oracle does. */
export const snapshotNote = (config: string, d: SnapshotDraw, engine: EngineChoice) =>
  `the snapshot oracle snapshots ${config} at ${d.at / 10}% of its run and resumes it on the same back end under ${(d.otherEngine ? otherEngine(engine) : engine).engine}`;

export interface SnapshotCheck {
  /** The configuration's name, for messages. */
  name: string;
  /** Its guest, booted with the options of its uninterrupted run (not yet run). */
  guest: Guest;
  /** The engine of that run. */
  engine: EngineChoice;
  /** The uninterrupted run. */
  reference: SimulatedRun;
  maxCycles: number;
  draw: SnapshotDraw;
  /**
   * What the campaign observes besides (its words, the disk): the first difference, or undefined. Called
   * before the machine-wide comparison, whose messages name less.
   */
  observed?: (resumed: SimulatedRun, guest: Guest) => string | undefined;
}

/**
 * The snapshot oracle: `guest` run to the drawn point, snapshotted, encoded,
 * parsed, restored on its back end and finished must end as `reference` —
 * ending, console, every counter (cycles among them), every CPU's
 * registers, all of RAM, and what `observed` compares. A refusal of the
 * unmutated file is a difference too. Both machines' RAM goes back
 * afterwards (PhysicalMemory.recycle); the reference's is untouched.
 */
export function snapshotProblem(c: SnapshotCheck): string | undefined {
  const { guest, draw } = c;
  const point = Math.floor((c.reference.stats.cycles * draw.at) / 1000);
  const engine = draw.otherEngine ? otherEngine(c.engine) : c.engine;
  const what = `${c.name}: a snapshot at ${draw.at / 10}% resumed under ${engine.engine}`;
  let file: Uint8Array | null;
  try {
    file = snapshotFileAt(guest, point, c.maxCycles);
  } finally {
    guest.machine.memory.recycle();
  }
  if (!file) return undefined; // the run ended before a safe point there: nothing to resume
  let out: ReturnType<typeof resumeFile>;
  try {
    // Restored and saved again at once, a guest gives the file's bytes (docs/migration.md): a restore that
    // loses state shows here even when the rest of the run happens not to depend on it (a pending bit the
    // kernel masks, a completion a cycle late between two polls).
    const lost = roundTripProblem(file, guest.backend.name, engine);
    if (lost) return `${what}: restored and saved again at once, ${lost}`;
    out = resumeFile(file, guest.backend.name, { until: c.maxCycles }, engine);
  } catch (e) {
    if (e instanceof UserError) return `${what}: refused: ${e.message}`;
    throw e;
  }
  if (typeof out === "string") return `${what}: ${out}`;
  try {
    const resumed: SimulatedRun = { result: out.result, console: out.guest.console, stats: out.guest.machine.stats(), machine: out.guest.machine };
    const problem = c.observed?.(resumed, out.guest) ?? runDifference("the resumed run", c.reference, resumed, "the uninterrupted run");
    return problem && `${what}: ${problem}`;
  } finally {
    out.guest.machine.memory.recycle();
  }
}

/** Where a snapshot file restored on `target` and captured again at once differs from it, or undefined (the same bytes). */
function roundTripProblem(file: Uint8Array, target: string, engine: EngineChoice): string | undefined {
  const snap = parseSnapshot(file, "fuzz.snap", nodeZlib);
  const { guest } = restoreGuest(snap, target, { ...engine, stdin: bytesInput(""), file: "fuzz.snap (its binary)" });
  try {
    const again = captureSnapshot(guest);
    if (Buffer.compare(encodeSnapshot(again, nodeZlib), file) === 0) return undefined;
    return `the snapshot differs at ${firstDifference(snap, again) ?? "its encoding"}`;
  } finally {
    guest.machine.memory.recycle();
  }
}

/** The path of the first leaf where two decoded snapshots differ (typed arrays element by element), or undefined. */
function firstDifference(a: unknown, b: unknown, path = "snapshot"): string | undefined {
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<number>, y = b as unknown as ArrayLike<number>;
    for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `${path}[${i}]: ${y[i]} instead of ${x[i]}`;
    return undefined;
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(b)} instead of ${JSON.stringify(a)}`;
}
