// The body of the every-workload × every-ordered-pair test, shared by the
// two files that split the workloads (vitest runs files in parallel).
import { describe, expect, it } from "vitest";
import type { Workload } from "../../src/cli/bundled-kernel.js";
import { finishOn, kernel, PAIR_BACKENDS, snapshotsAt } from "./helpers.js";

/** Points as fractions of the bare run's length: early and late in every source's run. */
export const FRACTIONS = [0.3, 0.8];

export function pairsSuite(workloads: readonly Workload[]): void {
  describe.each(workloads)("%s: migrated at two points, for every ordered pair among bare, hvm, xen, l4", (workload) => {
    it.each(PAIR_BACKENDS)("from %s to each other back end: bare's console and exit status", (from) => {
      const k = kernel(workload);
      const snaps = snapshotsAt(k, from, FRACTIONS.map((f) => Math.floor(k.bare.cycles * f)));
      expect(snaps.length).toBe(FRACTIONS.length); // every point came before the guest ended
      for (const snap of snaps) {
        expect(snap.backend).toBe(from);
        for (const to of PAIR_BACKENDS.filter((b) => b !== from)) {
          const out = finishOn(snap, to, k.image);
          expect(out.info.exact).toBe(false);
          expect({ to, at: snap.cycle, console: out.console }).toEqual({ to, at: snap.cycle, console: k.bare.console });
          expect(out.result).toEqual({ kind: "poweroff", exitCode: k.bare.exitCode });
        }
      }
    });
  });
}
