// Devirtualization (Microvisor: "0 % devirtualized"): a guest that leaves its
// hypervisor for bare metal continues at bare-metal cost — moved off xen, l4
// or hvm at the first safe point, the rest of the run takes exactly the
// cycles the unmigrated bare run takes from the same point (the sites are
// re-patched to bare's form, no monitor remains), with bare's console.
import { describe, expect, it } from "vitest";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { guestPages, STATE_PAGES, stopAndCopy } from "../../src/migration/stop-and-copy.js";
import { boot, kernel, MAX_CYCLES } from "./helpers.js";

describe("devirtualization costs nothing after the move", () => {
  it.each(["xen", "l4", "hvm"])("mixed, %s → bare at the first safe point: the remaining cycles are bare's, cycle for cycle", (from) => {
    const k = kernel("mixed");
    const bare = boot(k, "bare");
    expect(runToSafePoint(bare, 1).reached).toBe(true);
    const bareAt = bare.machine.stats();
    bare.finish(MAX_CYCLES);
    const bareEnd = bare.machine.stats();

    const source = boot(k, from);
    const moved = stopAndCopy(source, "bare", 1);
    // What the stop sent: every non-zero page of the source's guest RAM (its monitor's reserved pages stay), and the state.
    expect(moved.report.totalPages).toBe(guestPages(source).length + STATE_PAGES);
    const g = moved.guest!;
    const at = g.machine.stats();
    expect(at.instructions).toBe(bareAt.instructions); // the same guest progress
    g.finish(MAX_CYCLES);
    const end = g.machine.stats();
    expect(end.cycles - at.cycles).toBe(bareEnd.cycles - bareAt.cycles);
    expect(end.instructions - at.instructions).toBe(bareEnd.instructions - bareAt.instructions);
    expect(g.console).toBe(k.bare.console);
  });
});
