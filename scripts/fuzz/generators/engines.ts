// The engine oracle shared by the campaigns that run guests (guests,
// differential, smp, elf, softlayer, migration): the same run under the
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

/** FNV-1a over 32-bit words: a digest of guest RAM, a few milliseconds for 4 MiB. */
function ramDigest(o: RunOutcome): string {
  const mem = o.machine.memory;
  const words = new Int32Array(mem.u8.buffer, mem.u8.byteOffset, mem.u8.length >>> 2);
  let h = 0x811c9dc5 | 0;
  let nonZero = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 0) continue; // most of RAM: the digest still places each word by its index
    nonZero++;
    h = Math.imul(h ^ w, 0x01000193);
    h = Math.imul(h ^ i, 0x01000193);
  }
  return `${(h >>> 0).toString(16)}/${nonZero}`;
}

/**
 * What a run leaves that must not depend on the engine, as one string (its
 * fields in a fixed order, so the first differing character names what
 * differs): the ending, console, counters, each CPU's state, RAM.
 */
export function simulated(o: RunOutcome): string {
  const m = o.machine;
  const cpus: unknown[] = [];
  const state = m.saveState();
  for (const c of state.cpus) cpus.push({ pc: c.pc, psr: c.psr, regs: Array.from(c.regs), cr: Array.from(c.cr), cycles: c.cycles, instret: c.instret });
  return JSON.stringify({ result: o.result, console: o.console, stats: o.stats, cpus, ram: ramDigest(o) });
}

/**
 * The interpreter's run and the JIT's at threshold 1, through `run`, against
 * `byDefault` (simulated() of the run already made under the default engine):
 * the first one whose simulated outcome differs from the interpreter's, and
 * where (60 characters before, 40 after), or undefined when all agree.
 */
export function engineProblem(run: (choice: EngineChoice) => RunOutcome, byDefault: string): string | undefined {
  const interp = simulated(run(INTERP));
  const others: [string, () => string][] = [...COMPARED.map(([name, choice]): [string, () => string] => [name, () => simulated(run(choice))]), ["the default engine", () => byDefault]];
  for (const [name, get] of others) {
    const s = get();
    if (s === interp) continue;
    let i = 0;
    while (s[i] === interp[i]) i++;
    return `${name} differs from the interpreter at …${interp.slice(Math.max(0, i - 60), i + 40)}… vs …${s.slice(Math.max(0, i - 60), i + 40)}…`;
  }
  return undefined;
}
