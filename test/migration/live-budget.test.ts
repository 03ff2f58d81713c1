// Live pre-copy's stop condition (src/migration/live.ts): pre-copy ends as
// soon as what is left to send fits the downtime budget, so the final stop
// copies at most the budget's pages; a larger budget ends it sooner; a
// writable working set that never fits (ctxsw's steady ping-pong: the kernel
// data page, the kernel stack and both processes' pages are all rewritten
// within every page-transfer time) ends it past Xen's limits at a point no
// worse than the best one seen. Each run is deterministic, and the moved
// guest prints what bare prints.
import { describe, expect, it } from "vitest";
import { BUDGET_PAGES, MAX_ROUNDS, liveMigrate } from "../../src/migration/live.js";
import { STATE_PAGES } from "../../src/migration/stop-and-copy.js";
import { boot, kernel, MAX_CYCLES } from "./helpers.js";

describe("live pre-copy: the downtime budget", () => {
  it("mixed xen -> l4: the stop sends at most the budget's pages, and the same move twice is the same move", () => {
    const k = kernel("mixed");
    const at = Math.floor(k.bare.cycles / 4);
    const moved = liveMigrate(boot(k, "xen"), "l4", at);
    const r = moved.report;
    expect(r.precopyStop).toBe("budget");
    expect(r.budgetPages).toBe(BUDGET_PAGES);
    expect(r.downtimePages).toBeLessThanOrEqual(BUDGET_PAGES);
    expect(r.downtimeCycles).toBe(r.downtimePages * boot(k, "xen").costModel.pageTransfer);
    expect(r.downtimeCycles * 10).toBeLessThanOrEqual(r.stopAndCopy.downtimeCycles); // the goal, on this move
    expect(liveMigrate(boot(k, "xen"), "l4", at).report).toEqual(r);
    expect(moved.guest!.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(moved.guest!.console).toBe(k.bare.console);
  });

  it("a larger budget ends pre-copy sooner and is still respected", () => {
    const k = kernel("mixed");
    const at = Math.floor(k.bare.cycles / 2);
    const g = boot(k, "bare");
    const cost = g.costModel.pageTransfer;
    const tight = liveMigrate(g, "hvm", at).report;
    const loose = liveMigrate(boot(k, "bare"), "hvm", at, { downtimeBudget: 12 * cost });
    const r = loose.report;
    expect(r.precopyStop).toBe("budget");
    expect(r.budgetPages).toBe(12);
    expect(r.downtimePages).toBeLessThanOrEqual(12);
    expect(r.downtimePages).toBeGreaterThan(tight.downtimePages);
    expect(r.rounds.length).toBeLessThan(tight.rounds.length);
    expect(r.totalCycles).toBeLessThan(tight.totalCycles);
    expect(loose.guest!.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(loose.guest!.console).toBe(k.bare.console);
  });

  it("ctxsw's steady working set never fits: past the limits, the stop is no worse than any round's end", () => {
    const k = kernel("ctxsw");
    const moved = liveMigrate(boot(k, "bare"), "hvm", Math.floor(k.bare.cycles / 2));
    const r = moved.report;
    expect(r.precopyStop).toBe("best-seen");
    expect(r.rounds.length).toBeGreaterThanOrEqual(MAX_ROUNDS);
    expect(r.downtimePages).toBeGreaterThan(BUDGET_PAGES);
    expect(r.downtimePages).toBeLessThanOrEqual(Math.min(...r.rounds.map((x) => x.dirtied)) + STATE_PAGES);
    expect(moved.guest!.finish(MAX_CYCLES)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(moved.guest!.console).toBe(k.bare.console);
  });
});
