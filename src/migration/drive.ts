// Running a migration command's guests from outside: `routeSteps` (route.ts)
// and `matrixSteps` (matrix.ts) are generators that yield each time a guest
// has to run to a cycle (a migration point, or — `until` Infinity — its
// end), and these run it there: at once (the library's migrateRoute and
// migrationMatrix), or in slices with `between` awaited after each (the
// CLI, whose between lets a Ctrl-C stop the run: cli/interrupt.ts), as
// run-image.ts runSliced runs one machine; `yield` tells the steps whether
// the user stopped it. Running to a point before the move
// that runs to it anyway, and pausing between slices, change nothing
// (test/machine/slicing.test.ts).

import type { Machine } from "../machine/machine.js";
import { SLICE_CYCLES, stopInterrupted, type BetweenSlices } from "../machine/run-image.js";

/** What a step asks: run `machine` to the first boundary at or after `until` (or to its end). */
export interface RunRequest {
  machine: Machine;
  until: number;
}

/** The steps; each `yield` gives back whether the user interrupted the run (then the steps end at once). */
export type RunSteps<T> = Generator<RunRequest, T, boolean>;

export function driveAtOnce<T>(steps: RunSteps<T>, maxCycles = Infinity): T {
  for (let s = steps.next(false); ; s = steps.next(false)) {
    if (s.done) return s.value;
    s.value.machine.runUntil(s.value.until, maxCycles);
  }
}

/**
 * driveAtOnce in slices of `slice` cycles, `between` awaited after each and
 * after each request (so that a command of many short runs hears it too):
 * when it gives a reason, the machine stops there — reason "interrupted",
 * status 130, unless its run had ended — and the steps are told.
 */
export async function driveSliced<T>(steps: RunSteps<T>, maxCycles: number | undefined, between: BetweenSlices, slice = SLICE_CYCLES): Promise<T> {
  for (let s = steps.next(false); ; ) {
    if (s.done) return s.value;
    const { machine, until } = s.value;
    let why: string | undefined;
    while (!machine.runUntil(Math.min(until, machine.cycles + slice), maxCycles) && machine.cycles < until) {
      why = await between();
      if (why !== undefined) break;
    }
    why ??= await between(); // once more at the request's end: runs shorter than a slice hear it too
    if (why !== undefined) stopInterrupted(machine, why);
    s = steps.next(why !== undefined);
  }
}
