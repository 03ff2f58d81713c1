// A chain of migrations: boot on route[0], move to route[1] at the first
// safe point at or after points[0], and so on; finish on the last back end.
// `previrt migrate --from X --to Y` is the route [X, Y]. Every back end of
// the route is checked against the binary (getBackend, the rewriter's
// refusal of a para-virtualized binary elsewhere than xen) and for a monitor
// that can be moved (guest.ts checkMigratable) before the guest runs a
// single instruction.

import { UserError } from "../guest-isa/diagnostics.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { checkCpuOptions, getBackend, prepareImage, type CpuOptions } from "../hypervisors/index.js";
import type { RunResult } from "../machine/diagnosis.js";
import type { BetweenSlices } from "../machine/run-image.js";
import { driveAtOnce, driveSliced, type RunSteps } from "./drive.js";
import { bootGuest, checkMigratable, giveBackIfThrows, type Guest, type GuestOptions } from "./guest.js";
import { liveMigrate } from "./live.js";
import type { MigrationReport } from "./report.js";
import { stopAndCopy } from "./stop-and-copy.js";

export interface RouteOptions extends GuestOptions {
  live?: boolean;
  maxCycles?: number;
  /** Called after each hop (the CLI prints the report as it happens). */
  onHop?: (report: MigrationReport) => void;
}

export interface RouteResult {
  reports: MigrationReport[];
  result: RunResult;
  /** The guest as it ended (on the last back end it reached). */
  guest: Guest;
}

/** The migration points of a route: one per hop; a single N means N, 2N, 3N, … */
export function routePoints(hops: number, points: readonly number[]): number[] {
  if (points.length === 1) return Array.from({ length: hops }, (_, i) => points[0] * (i + 1));
  if (points.length !== hops) throw new UserError(`--at gives ${points.length} points for a route of ${hops} migration${hops === 1 ? "" : "s"} (give one, or one per migration)`);
  for (let i = 1; i < points.length; i++) if (points[i] < points[i - 1]) throw new UserError(`--at points must not decrease (${points[i - 1]} then ${points[i]})`);
  return [...points];
}

/**
 * Every back end of the route against the binary and the CPU options (`cpus`
 * … `timeslice`: a back end of the route that cannot take them — `--pcpus`
 * with bare anywhere on it, more CPUs than one runs — is refused here, not
 * when the guest reaches it).
 */
export function checkRoute(image: ElfImage, route: readonly string[], file?: string, cpu: CpuOptions = {}): void {
  if (route.length < 2) throw new UserError("a route needs at least two back ends");
  for (const name of route) {
    const backend = getBackend(name);
    const monitorOptions = checkCpuOptions(backend, cpu);
    const rewrite = prepareImage(backend, image, file);
    // Its monitor made (not attached) only to be asked whether it can take part.
    checkMigratable(backend, backend.createMonitor?.(rewrite, monitorOptions));
  }
}

/**
 * The route's moves, one after the other, as steps for drive.ts: each point,
 * then the end, is a guest running to a cycle (a move runs to its point
 * anyway: running there first changes nothing).
 */
function* routeSteps(elf: Uint8Array, image: ElfImage, route: readonly string[], points: readonly number[], options: RouteOptions): RunSteps<RouteResult> {
  checkRoute(image, route, options.file, options);
  const at = routePoints(route.length - 1, points);
  let guest = bootGuest(elf, image, route[0], options);
  const reports: MigrationReport[] = [];
  for (let hop = 0; hop + 1 < route.length; hop++) {
    // Interrupted on the way: no move, and no report of one (the run's diagnosis says where it stopped).
    if (yield { machine: guest.machine, until: at[hop] }) return { reports, result: guest.machine.outcome!, guest };
    // A move the target refuses (a page it reserves, a site the guest rewrote, a state it cannot restore) throws: the
    // source goes back first (routeSteps made it — booted, or the hop before's target — and the caller gets only the error).
    const moved = giveBackIfThrows(guest, () => (options.live ? liveMigrate(guest, route[hop + 1], at[hop], { maxCycles: options.maxCycles }) : stopAndCopy(guest, route[hop + 1], at[hop], options.maxCycles)));
    reports.push(moved.report);
    if (moved.guest) {
      // The source is dropped here, so its RAM goes back for the next machine of the process (PhysicalMemory.recycle;
      // no simulated result changes: a recycled buffer is zeroed). Ownership: routeSteps booted it (or made it as the
      // target of the hop before), and nothing else holds it — the caller gets only the guest the route ends on,
      // onHop and the result only the report (plain numbers), and the target has copies of its pages and state (the
      // snapshot's page data, live.ts's received pages) and its disks, which are not RAM. A move that did not happen
      // keeps the source: the run ends there (below) and the caller reads it.
      guest.machine.memory.recycle();
      guest = moved.guest;
    }
    // An onHop that throws (the caller's) ends the route with its error alone: the guest held now — the target, or
    // the source a move did not happen from — goes back first, as after a refused move.
    giveBackIfThrows(guest, () => options.onHop?.(moved.report));
    if (!moved.guest) return { reports, result: guest.machine.outcome!, guest };
  }
  yield { machine: guest.machine, until: Infinity };
  return { reports, result: guest.machine.outcome!, guest };
}

export function migrateRoute(elf: Uint8Array, image: ElfImage, route: readonly string[], points: readonly number[], options: RouteOptions = {}): RouteResult {
  return driveAtOnce(routeSteps(elf, image, route, points, options), options.maxCycles);
}

/**
 * migrateRoute with the guest run in slices, `between` awaited after each
 * (`previrt migrate`'s Ctrl-C): when it gives a reason the run stops there —
 * reason "interrupted", status 130 — before the next move, or on the last
 * back end.
 */
export function migrateRouteSliced(elf: Uint8Array, image: ElfImage, route: readonly string[], points: readonly number[], options: RouteOptions, between: BetweenSlices): Promise<RouteResult> {
  return driveSliced(routeSteps(elf, image, route, points, options), options.maxCycles, between);
}
