// Fuzz campaign `migration`: running guests moved between back ends
// (`previrt migrate`, src/migration/route.ts, docs/migration.md). Three
// families of guests, drawn by the generators of three other campaigns:
//   - the `guests` campaign's hostile kernels (random instruction streams,
//     window attacks, every hcall with hostile arguments, hostile page
//     tables: unannotated code behind a trap handler that skips faults);
//   - the `differential` campaign's random annotated guests (deterministic,
//     forward branches only, ending by printing their registers);
//   - every fourth input (index 3 mod 4), a guest of the `smp` campaign on
//     2 CPUs (`--cpus 2`, a quantum of 10,000 to 100 cycles, no --pcpus):
//     its hostile per-CPU streams and multiprocessor ABI, or its race-free
//     programs (each CPU its own deterministic program, shared counters
//     under locks, a barrier, CPU 0 prints).
// Each is booted on one back end and moved — stop-and-copy or live pre-copy
// (with or without deltas, a few rounds or the default) — at a pseudo-random
// point of its unmigrated run to another: every ordered pair of bare, hvm,
// trap, xen and l4 (the deterministic guests leave trap out: rdpsr/wrpsr are
// its documented hole), so devirtualization to bare too; sometimes on to a
// third back end (a route of two moves). A 2-CPU guest moves with both CPUs,
// at a point safe for both (src/migration/safe-point.ts); a race-free one's
// points fall before CPU 0 prints (the parallel phase: after it CPU 1 is
// parked and its state no longer matters).
// Oracle: no host exception (a refusal is a one-line UserError: a hostile
// guest using a page its target reserves, or rewriting a site, cannot move; a
// deterministic guest must always move); the run ends in a result
// (power-off or a diagnosed stop); on xen and l4 the destination's in-place
// VMM read-only code and stubs intact; for the deterministic guests
// (differential, race-free) the console and exit status those of the
// unmigrated run on bare (with as many CPUs). For one input in four (the
// inner generator's engine digit) the unmigrated run and the moves are made
// again under the interpreter and under the JIT at threshold 1 (every page
// translated from its first execution, on every back end of the route): those
// and the default engine's must leave exactly what the interpreter's left
// (generators/engines.ts).
//
// Consumed by the fuzz driver (runner.ts, worker.ts). An input's `aux` packs
// the inner generator's aux (the back end and engine digit of a hostile guest,
// the differential program's length and engine digit, the 2-CPU guest's
// quantum and engine digit) and the
// move's configuration (configOf); a 2-CPU input's base is `smp-` and the
// smp campaign's base (`smp-race-free`, `smp-hostile-abi`, …).

import { UserError } from "../../src/guest-isa/diagnostics.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { getBackend } from "../../src/hypervisors/index.js";
import { bytesInput } from "../../src/machine/devices/console.js";
import { bootGuest, type Guest, type GuestOptions } from "../../src/migration/guest.js";
import { liveMigrate } from "../../src/migration/live.js";
import type { MigrationReport } from "../../src/migration/report.js";
import { checkRoute } from "../../src/migration/route.js";
import { stopAndCopy } from "../../src/migration/stop-and-copy.js";
import type { RunResult } from "../../src/machine/diagnosis.js";
import type { Campaign, FuzzInput } from "./campaign.js";
import { differentialCampaign, differentialConfig } from "./differential.js";
import { buildAnnotated, deterministicGuestSource, type LabelledLines } from "./generators/guests.js";
import { ENGINE_RADIX, enginesDrawn, ENGINES_NOTE, firstEngineDifference, refusedUnder, runDifference, type EngineChoice, type SimulatedRun } from "./generators/engines.js";
import { endingOf, windowBytesProblem } from "./generators/oracles.js";
import { auxDigits } from "./generators/rng.js";
import { configOf as guestsConfig, guestImage, guestsCampaign, type GuestUnit } from "./guests.js";
import { drawSmpGuest, imageOf as smpImageOf, type SmpConfig, type SmpUnit } from "./smp.js";

/**
 * The back ends routes are drawn from: named here, not taken from the
 * registry, because an input's aux encodes them (a digit of 5, CONFIG_RANGE):
 * a saved input must keep meaning the same route when a back end is added.
 */
const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;
/** The differential guests agree on these: the ones running them as bare metal does (Backend.unfaithful; trap: the psr hole). */
const AGREEING = BACKENDS.filter((b) => !getBackend(b).unfaithful);
const RAM = 4 * 1024 * 1024;
/** The differential campaign's bound (its guests need up to a few hundred thousand cycles). */
const DIFF_CYCLES = 2_000_000;
/** The 2-CPU guests' machine, as the smp campaign builds their images (the back end is not read: trap's hole is left out by the route pool). */
const SMP: SmpConfig = { backend: "bare", cpus: 2, quantum: 10_000, nvdisk: false, annotated: true, engines: false };
/**
 * Their quantum (the inner aux): a multiprocessor stops only at an epoch's
 * end, and a race-free guest's CPUs work in parallel for a few thousand
 * cycles only, so short quanta put points in that phase.
 */
const SMP_QUANTA = [10_000, 1_000, 500, 100] as const;
/** The smp campaign's race-free bound (a ticket-lock convoy may spin long). */
const SMP_CYCLES = 20_000_000;

export interface MoveConfig {
  /** The route: two back ends, or three (two moves). */
  route: string[];
  live: boolean;
  /** Live only: XBZRLE deltas, and the most pre-copy rounds (0: the default). */
  deltas: boolean;
  maxRounds: number;
  /** The first move's point, in thousandths of the unmigrated run (the second halfway to its end). */
  at: number;
}

const CONFIG_RANGE = 5 * 4 * 4 * 5 * 2 * 2 * 3 * 1000;

/** `deterministic`: a guest whose console and exit status are checked against bare's (the route leaves trap out). */
export function configOf(aux: number, deterministic: boolean): MoveConfig {
  const take = auxDigits(aux % CONFIG_RANGE);
  const pool: readonly string[] = deterministic ? AGREEING : BACKENDS;
  const from = pool[take(5) % pool.length];
  const rest = pool.filter((b) => b !== from);
  const to = rest[take(4) % rest.length];
  const third = take(4);
  const chain = take(5) === 0; // one input in five moves twice
  const route = [from, to];
  if (chain) {
    const next = pool.filter((b) => b !== to);
    route.push(next[third % next.length]);
  }
  const live = take(2) === 1;
  const deltas = take(2) === 1;
  const maxRounds = [0, 1, 3][take(3)];
  return { route, live, deltas, maxRounds, at: 1 + take(1000) };
}

type Unit = GuestUnit | [number, string[]] | SmpUnit;
const isDifferential = (input: FuzzInput<Unit>) => input.base === "differential";
/** A 2-CPU guest: the smp campaign's base after `smp-`, or undefined. */
const smpBase = (input: FuzzInput<Unit>) => (input.base.startsWith("smp-") ? input.base.slice(4) : undefined);
/** Checked against bare's console and exit status: a differential guest or a race-free 2-CPU one. */
const isDeterministic = (input: FuzzInput<Unit>) => isDifferential(input) || smpBase(input) === "race-free";
const innerAux = (aux: number) => Math.floor(aux / CONFIG_RANGE);
/** Whether the input's runs are also made under the interpreter and the JIT at threshold 1: the inner generator's engine digit (the smp guests': after the quantum). */
function enginesOf(input: FuzzInput<Unit>): boolean {
  const inner = innerAux(input.aux);
  if (isDifferential(input)) return differentialConfig(inner).engines;
  if (smpBase(input) !== undefined) return enginesDrawn(Math.floor(inner / SMP_QUANTA.length) % ENGINE_RADIX);
  return guestsConfig(inner).engines;
}

/** The input's guest binary: a hostile raw kernel, a differential guest annotated and assembled, or a 2-CPU guest as the smp campaign builds it. */
function imageOf(input: FuzzInput<Unit>): ElfImage {
  if (isDifferential(input)) return buildAnnotated("diff.s", deterministicGuestSource(input.units as LabelledLines, differentialConfig(innerAux(input.aux)).length));
  const smp = smpBase(input);
  if (smp !== undefined) return smpImageOf({ base: smp, units: input.units as SmpUnit[], aux: 0 }, SMP);
  return guestImage({ base: input.base, units: input.units as GuestUnit[], aux: 0 });
}

/** migrateRoute (what `previrt migrate` runs), with the live options it leaves at their defaults drawn too. */
function move(elf: Uint8Array, image: ElfImage, c: MoveConfig, points: readonly number[], options: GuestOptions & { maxCycles: number }): { reports: MigrationReport[]; result: RunResult; guest: Guest } {
  checkRoute(image, c.route);
  let guest = bootGuest(elf, image, c.route[0], options);
  const reports: MigrationReport[] = [];
  for (let hop = 0; hop + 1 < c.route.length; hop++) {
    const to = c.route[hop + 1];
    const moved = c.live ? liveMigrate(guest, to, points[hop], { maxCycles: options.maxCycles, deltas: c.deltas, ...(c.maxRounds ? { maxRounds: c.maxRounds } : {}) }) : stopAndCopy(guest, to, points[hop], options.maxCycles);
    reports.push(moved.report);
    if (!moved.guest) return { reports, result: guest.machine.outcome!, guest };
    guest = moved.guest;
  }
  return { reports, result: guest.finish(options.maxCycles), guest };
}

/** Runs an input: its unmigrated run (the reference), then the moves (the tests' and the diagnosis' entry). */
export function runMigrationInput(input: FuzzInput<Unit>, maxCyclesLimit: number, engine?: EngineChoice) {
  const deterministic = isDeterministic(input);
  const c = configOf(input.aux, deterministic);
  const image = imageOf(input);
  const elf = writeElf(image);
  const smp = smpBase(input);
  const cpus = smp !== undefined ? SMP.cpus : undefined;
  const quantum = smp !== undefined ? SMP_QUANTA[innerAux(input.aux) % SMP_QUANTA.length] : undefined;
  const maxCycles = deterministic ? Math.max(maxCyclesLimit, cpus ? SMP_CYCLES : DIFF_CYCLES) : maxCyclesLimit;
  const options = { ramSize: RAM, stdin: bytesInput(""), maxCycles, cpus, quantum, ...engine };
  // The unmigrated run: its length places the points; on bare it is the deterministic guests' reference. A
  // race-free guest's CPU 0 prints once every CPU is done: its points go before that, while both CPUs work.
  let printsAt: number | undefined;
  const unmigrated = bootGuest(elf, image, deterministic ? "bare" : c.route[0], { ...options, onOutput: () => (printsAt ??= unmigrated.cycles) });
  const ref = unmigrated.finish(maxCycles);
  const length = Math.max(smp === "race-free" && printsAt !== undefined ? printsAt : unmigrated.cycles, 1);
  const first = Math.floor((length * c.at) / 1000);
  const points = c.route.length === 2 ? [first] : [first, first + Math.floor((length - first) / 2)];
  return { c, unmigrated, ref, out: move(elf, image, c, points, options) };
}

/**
 * The engine oracle (generators/engines.ts) for a migration: the unmigrated
 * run and the moves made again under the interpreter and under the JIT at
 * threshold 1; those and the default engine's (`run`) must leave what the
 * interpreter's left (each destination a new machine, its JIT counting
 * executions afresh, while the process's compiled code is shared).
 */
function enginesProblem(input: FuzzInput<Unit>, maxCycles: number, run: ReturnType<typeof runMigrationInput>): string | undefined {
  const of = (g: Guest, result: RunResult): SimulatedRun => ({ result, console: g.console, stats: g.machine.stats(), machine: g.machine });
  return firstEngineDifference(
    (choice, name) => refusedUnder(name, () => runMigrationInput(input, maxCycles, choice)),
    run,
    (name, interp, other) =>
      runDifference(`the unmigrated run under ${name}`, of(interp.unmigrated, interp.ref), of(other.unmigrated, other.ref)) ??
      runDifference(`the moved run under ${name}`, of(interp.out.guest, interp.out.result), of(other.out.guest, other.out.result)),
  );
}

export const migrationCampaign: Campaign<Unit> = {
  name: "migration",
  description: "hostile guests and random annotated guests moved mid-run between every pair of back ends (stop-and-copy, live, chains, devirtualization to bare)",
  generate(r, index) {
    // Every fourth input a 2-CPU guest (the others' streams, and so their inputs, as before it existed).
    if (index % 4 === 3) {
      const inner = drawSmpGuest(r, SMP);
      return { base: `smp-${inner.base}`, units: inner.units, aux: (r.int(SMP_QUANTA.length) + SMP_QUANTA.length * r.int(ENGINE_RADIX)) * CONFIG_RANGE + r.int(CONFIG_RANGE) };
    }
    const differential = r.chance(0.4);
    const inner = differential ? differentialCampaign.generate(r, index) : guestsCampaign.generate(r, index);
    const config = r.int(CONFIG_RANGE);
    return { base: differential ? "differential" : inner.base, units: inner.units as Unit[], aux: inner.aux * CONFIG_RANGE + config };
  },
  execute(input, limits) {
    const deterministic = isDeterministic(input);
    let run: ReturnType<typeof runMigrationInput>;
    try {
      run = runMigrationInput(input, limits.maxCycles);
    } catch (e) {
      // A well-behaved guest (no self-modifying code, nothing near the top of RAM) must be movable everywhere.
      if (deterministic && e instanceof UserError) return { class: "wrong", message: `${configOf(input.aux, true).route.join(" -> ")}: a ${input.base} guest was refused: ${e.message}` };
      throw e;
    }
    const { c, unmigrated, ref, out } = run;
    const ending = endingOf(out.result);
    if (ending) return { class: "wrong", message: `${c.route.join(" -> ")}: ${ending}` };
    // The VMM of the back end the guest ended on (the destination, or a source it ended on first).
    const window = windowBytesProblem(out.guest.machine.memory, out.guest.rewrite.stubs, out.guest.backend.name);
    if (window) return { class: "wrong", message: `${c.route.join(" -> ")}: ${window}` };
    const engines = enginesOf(input) ? enginesProblem(input, limits.maxCycles, run) : undefined;
    if (engines) return { class: "wrong", message: `${c.route.join(" -> ")} (${c.live ? "live" : "stop-and-copy"}): ${engines}` };
    if (!deterministic) return "accepted";
    if (ref.kind !== "poweroff") return { class: "wrong", message: `bare: the unmigrated guest stopped (${ref.reason}) instead of powering off` };
    const r = out.result;
    if (r.kind !== "poweroff" || r.exitCode !== ref.exitCode || out.guest.console !== unmigrated.console) {
      return { class: "wrong", message: `${c.route.join(" -> ")} (${c.live ? "live" : "stop-and-copy"}): ${r.kind === "poweroff" ? `exit ${r.exitCode}` : `stopped (${r.reason})`} vs bare's exit ${ref.exitCode}, console ${out.guest.console === unmigrated.console ? "same" : "differs"}` };
    }
    return "accepted";
  },
  materialize(input) {
    const differential = isDifferential(input);
    const c = configOf(input.aux, isDeterministic(input));
    const image = imageOf(input);
    const cpus = smpBase(input) !== undefined ? ` --cpus ${SMP.cpus} --quantum ${SMP_QUANTA[innerAux(input.aux) % SMP_QUANTA.length]}` : "";
    const how = `previrt migrate FILE${cpus} ${c.route.length === 2 ? `--from ${c.route[0]} --to ${c.route[1]}` : `--route ${c.route.join(",")}`} --at N${c.live ? " --live" : ""}${enginesOf(input) ? ` ${ENGINES_NOTE}` : ""} (point: ${c.at / 10}% of the unmigrated run; RAM 4 MiB in the campaign)`;
    return differential
      ? { ext: ".s", data: deterministicGuestSource(input.units as LabelledLines, differentialConfig(innerAux(input.aux)).length), note: `unannotated source; build with previrt build FILE -o x.elf, then ${how.replace("FILE", "x.elf")}` }
      : { ext: ".elf", data: writeElf(image), note: how };
  },
};
