// The engine oracle shared by the campaigns that run guests (guests,
// differential, smp, elf, softlayer, migration, domains, snapshot): the same run under the
// interpreter (the reference semantics) and under the JIT translating every
// page from its first execution (`jitThreshold: 1`, the harshest setting)
// must leave exactly what the run under the default engine left — its
// ending with the diagnosis, console, every simulated counter, every CPU's
// registers, pc, psr and control registers, and the guest RAM
// (docs/machine.md, "Why the results are the interpreter's").
//
// Consumes a way to run an input's guest with an engine choice (the campaign
// knows its options) and the default run's outcome; produces the first
// difference, briefly, or undefined. Which inputs are compared is drawn per
// input into its `aux` (ENGINE_RADIX, enginesDrawn), so `--replay`
// reproduces it and the materialized note can say `(and --engine interp)`.

import { UserError } from "../../../src/guest-isa/diagnostics.js";
import type { ElfImage } from "../../../src/guest-isa/elf-types.js";
import { runElf, type RunElfOptions, type RunElfOutcome } from "../../../src/hypervisors/index.js";
import type { RunOutcome } from "../../../src/machine/run-image.js";

/** An engine choice, as RunElfOptions / RunImageOptions take it. */
export type EngineChoice = { engine: "interp" } | { engine: "jit"; jitThreshold: number };

/** The runs compared with the interpreter's, besides the default one. */
const COMPARED: readonly (readonly [string, EngineChoice])[] = [["jit (threshold 1)", { engine: "jit", jitThreshold: 1 }]];
const INTERP: EngineChoice = { engine: "interp" };

/** The digit of an input's aux that says whether its run is compared across engines: one input in ENGINE_RADIX. */
export const ENGINE_RADIX = 4;
export const enginesDrawn = (digit: number) => digit === 1;
/** What a materialized note adds when the input is compared. */
export const ENGINES_NOTE = "(and --engine interp)";

/** What simulated() reads of a run (a migrated guest's run has no RunOutcome of its own). */
export type SimulatedRun = Pick<RunOutcome, "result" | "console" | "stats" | "machine">;

/** Where two machines' RAM first differs (a memcmp first: the whole of RAM, in well under a millisecond). */
function ramDifference(name: string, interp: SimulatedRun["machine"], other: SimulatedRun["machine"], against: string): string | undefined {
  const a = interp.memory.u8, b = other.memory.u8;
  if (a.length !== b.length) return `${name}: RAM of ${b.length} bytes instead of ${a.length}`;
  if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0) return undefined;
  let i = 0;
  while (a[i] === b[i]) i++;
  const at = i & ~3;
  const word = (m: Uint8Array) => `0x${((m[at] | (m[at + 1] << 8) | (m[at + 2] << 16) | (m[at + 3] << 24)) >>> 0).toString(16)}`;
  return `${name} differs from ${against} in RAM at 0x${at.toString(16)}: ${word(a)} vs ${word(b)}`;
}

/**
 * What a run leaves that must not depend on the engine, as one string (its
 * fields in a fixed order, so the first differing character names what
 * differs): the ending, console, counters, each CPU's state. RAM is
 * compared apart (runDifference).
 */
export function simulated(o: SimulatedRun): string {
  const m = o.machine;
  const cpus: unknown[] = [];
  const state = m.saveState();
  for (const c of state.cpus) cpus.push({ pc: c.pc, psr: c.psr, regs: Array.from(c.regs), cr: Array.from(c.cr), cycles: c.cycles, instret: c.instret });
  return JSON.stringify({ result: o.result, console: o.console, stats: o.stats, cpus });
}

/**
 * The oracle's order, for any kind of run (one machine's, a migration's, a
 * multi-guest host's): `run` makes the input's run under an engine choice, or
 * says why it could not (refused or failed under that engine only); `differ`
 * says where a run differs from the interpreter's. The interpreter's run
 * first, then the JIT's at threshold 1, then `byDefault` — the run already
 * made under the default engine, named `defaultName`: the first difference,
 * or undefined when all agree.
 */
export function firstEngineDifference<T>(
  run: (choice: EngineChoice, name: string) => T | string,
  byDefault: T,
  differ: (name: string, interp: T, other: T) => string | undefined,
  defaultName = "the default engine",
): string | undefined {
  const interp = run(INTERP, "the interpreter");
  if (typeof interp === "string") return interp;
  for (const [name, choice] of COMPARED) {
    const other = run(choice, name);
    const problem = typeof other === "string" ? other : differ(name, interp, other);
    if (problem) return problem;
  }
  return differ(defaultName, interp, byDefault);
}

/**
 * One machine's run under each engine, through `run`, against `byDefault`:
 * the first whose simulated outcome or RAM differs from the interpreter's,
 * and where (60 characters before, 40 after), or undefined when all agree.
 */
export function engineProblem(run: (choice: EngineChoice) => RunOutcome, byDefault: SimulatedRun): string | undefined {
  return firstEngineDifference<SimulatedRun>((choice) => run(choice), byDefault, runDifference);
}

/**
 * The oracle for a campaign's runElf run, when the input drew it (its aux):
 * `options` makes each run's options afresh — a disk is each run's own.
 */
export function runElfEnginesProblem(drawn: boolean, image: ElfImage, options: () => RunElfOptions, byDefault: RunElfOutcome): string | undefined {
  return drawn ? engineProblem((choice) => runElf(image, { ...options(), ...choice }), byDefault) : undefined;
}

/** A run that the input's own engine accepted, under engine `name`: its refusal there (a one-line UserError) is a difference. */
export function refusedUnder<T>(name: string, make: () => T): T | string {
  try {
    return make();
  } catch (e) {
    if (e instanceof UserError) return `refused under ${name} only: ${e.message}`;
    throw e;
  }
}

/**
 * `name`'s run against the interpreter's (or another reference, `against`: a run resumed from a snapshot
 * against the uninterrupted one): where they first differ (simulated(), then RAM), or undefined.
 */
export function runDifference(name: string, interp: SimulatedRun, other: SimulatedRun, against = "the interpreter"): string | undefined {
  const a = simulated(interp), b = simulated(other);
  if (a !== b) {
    let i = 0;
    while (a[i] === b[i]) i++;
    return `${name} differs from ${against} at …${a.slice(Math.max(0, i - 60), i + 40)}… vs …${b.slice(Math.max(0, i - 60), i + 40)}…`;
  }
  return ramDifference(name, interp.machine, other.machine, against);
}
