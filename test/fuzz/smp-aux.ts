// The smp fuzz campaign's aux for configurations the tests build inputs for
// (test/fuzz/smp.test.ts, engines.test.ts): the campaign draws a
// configuration from an aux (scripts/fuzz/smp.ts configOf); a test looks up
// the first aux that gives the fields it asks for, with no --pcpus,
// --timeslice or --spinlocks unless it asks for them. The configurations the
// tests ask for lie ~270,000 auxes in, so a file finds all of its own in one
// pass instead of a pass each (it was seconds per file).
import { configOf, type SmpConfig } from "../../scripts/fuzz/smp.js";

/** Every aux the campaign draws from. */
const AUXES = 5 * 7 * 8 * 8 * 6 * 5 * 2 * 2 * 4;

/** The first aux of each configuration asked for, in the order asked. */
export function smpAuxes(wants: readonly Partial<SmpConfig>[]): number[] {
  const asked = wants.map((want) => Object.entries(want) as [keyof SmpConfig, unknown][]);
  const found: (number | undefined)[] = wants.map(() => undefined);
  let left = wants.length;
  for (let a = 0; a < AUXES && left > 0; a++) {
    const c = configOf(a);
    for (let w = 0; w < wants.length; w++) {
      if (found[w] !== undefined) continue;
      const want = wants[w];
      if (!asked[w].every(([k, v]) => c[k] === v)) continue;
      if ((want.pcpus === undefined && c.pcpus !== undefined) || (want.timeslice === undefined && c.timeslice !== undefined) || (want.spinlocks === undefined && c.spinlocks !== undefined)) continue;
      found[w] = a;
      left--;
    }
  }
  return found.map((a, w) => {
    if (a === undefined) throw new Error(`no aux gives ${JSON.stringify(wants[w])}`);
    return a;
  });
}
