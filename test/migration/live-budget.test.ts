// Live pre-copy's stop condition (src/migration/live.ts): pre-copy ends as
// soon as what is left to send fits the downtime budget, so the final stop
// takes no more than the budget; a larger budget ends it sooner. Sent whole,
// ctxsw's writable working set never fits (its steady ping-pong: the kernel
// data page, the kernel stack and both processes' pages are all rewritten
// within every page-transfer time), and pre-copy ends past Xen's limits at a
// point no worse than the best one seen; re-sent as XBZRLE deltas the same
// pages cost a fraction of a page each, and the downtime is within the
// issue's goal. Each run is
// deterministic, and the moved guest prints what bare prints.
import { describe, expect, it } from "vitest";
import { PAGE_SIZE } from "../../src/machine/memory.js";
import { BUDGET_PAGES, MAX_ROUNDS, liveMigrate } from "../../src/migration/live.js";
import { STATE_PAGES } from "../../src/migration/stop-and-copy.js";
import { boot, kernel, MAX_CYCLES } from "./helpers.js";

/**
 * liveMigrate from a freshly booted guest; with `finish`, the moved guest run to its end (its ending and console).
 * Both machines' RAM then goes back for the next (PhysicalMemory.recycle; test/recycle.ts says why).
 */
function move(k: ReturnType<typeof kernel>, from: string, to: string, at: number, options?: Parameters<typeof liveMigrate>[3], finish = false) {
  const source = boot(k, from);
  const moved = liveMigrate(source, to, at, options);
  source.machine.memory.recycle();
  const g = moved.guest;
  const ended = finish && g ? { result: g.finish(MAX_CYCLES), console: g.console } : undefined;
  g?.machine.memory.recycle();
  return { report: moved.report, ended };
}

/** The cost model a guest of `k` on `backend` runs under. */
function costModelOf(k: ReturnType<typeof kernel>, backend: string) {
  const g = boot(k, backend);
  g.machine.memory.recycle();
  return g.costModel;
}

const ENDED = { result: { kind: "poweroff", exitCode: 0 } };

describe("live pre-copy: the downtime budget", () => {
  it("mixed xen -> l4: the stop takes no more than the budget, priced by its bytes, and the same move twice is the same move", () => {
    const k = kernel("mixed");
    const at = Math.floor(k.bare.cycles / 4);
    const moved = move(k, "xen", "l4", at, undefined, true);
    const r = moved.report;
    const { pageTransfer, deltaEncode } = costModelOf(k, "xen");
    expect(r.precopyStop).toBe("budget");
    expect(r.budgetPages).toBe(BUDGET_PAGES);
    expect(r.budgetCycles).toBe(BUDGET_PAGES * pageTransfer);
    expect(r.downtimeCycles).toBeLessThanOrEqual(r.budgetCycles!);
    // The stop: the state page, then each page's encoder pass and its bytes' share of the link.
    const pages = r.downtimePages - STATE_PAGES;
    expect(r.downtimeBytes).toBeLessThan(r.downtimePages * PAGE_SIZE); // some went as deltas
    expect(r.downtimeCycles).toBeGreaterThanOrEqual(STATE_PAGES * pageTransfer + pages * deltaEncode + Math.ceil(((r.downtimeBytes - STATE_PAGES * PAGE_SIZE) * pageTransfer) / PAGE_SIZE));
    expect(r.downtimeCycles).toBeLessThanOrEqual(STATE_PAGES * pageTransfer + pages * (deltaEncode + pageTransfer));
    expect(r.totalBytes).toBe(r.rounds.reduce((n, x) => n + x.bytes, 0) + r.downtimeBytes);
    expect(r.downtimeCycles * 10).toBeLessThanOrEqual(r.stopAndCopy.downtimeCycles); // the goal, on this move
    expect(move(k, "xen", "l4", at).report).toEqual(r);
    expect(moved.ended).toEqual({ ...ENDED, console: k.bare.console });
  });

  it("a larger budget ends pre-copy sooner and is still respected", () => {
    const k = kernel("mixed");
    const at = Math.floor(k.bare.cycles / 2);
    const cost = costModelOf(k, "bare").pageTransfer;
    const tight = move(k, "bare", "hvm", at).report;
    const loose = move(k, "bare", "hvm", at, { downtimeBudget: 12 * cost }, true);
    const r = loose.report;
    expect(r.precopyStop).toBe("budget");
    expect(r.budgetPages).toBe(12);
    expect(r.downtimePages).toBeLessThanOrEqual(12);
    expect(r.downtimePages).toBeGreaterThan(tight.downtimePages);
    expect(r.rounds.length).toBeLessThan(tight.rounds.length);
    expect(r.totalCycles).toBeLessThan(tight.totalCycles);
    expect(loose.ended).toEqual({ ...ENDED, console: k.bare.console });
  });

  it("whole pages: ctxsw's steady working set never fits; past the limits, the stop is no worse than any round's end", () => {
    const k = kernel("ctxsw");
    const moved = move(k, "bare", "hvm", Math.floor(k.bare.cycles / 2), { deltas: false }, true);
    const r = moved.report;
    expect(r.deltaCompression).toBe(false);
    expect(r.deltaPages).toBe(0);
    expect(r.downtimeCycles).toBe(r.downtimePages * costModelOf(k, "bare").pageTransfer);
    expect(r.downtimeBytes).toBe(r.downtimePages * PAGE_SIZE);
    expect(r.precopyStop).toBe("best-seen");
    expect(r.rounds.length).toBeGreaterThanOrEqual(MAX_ROUNDS);
    expect(r.downtimePages).toBeGreaterThan(BUDGET_PAGES);
    expect(r.downtimePages).toBeLessThanOrEqual(Math.min(...r.rounds.map((x) => x.dirtied)) + STATE_PAGES);
    expect(moved.ended).toEqual({ ...ENDED, console: k.bare.console });
  });

  it.each([
    ["bare", "hvm", 4],
    ["bare", "hvm", 2],
    ["xen", "l4", 4],
    ["xen", "l4", 2],
  ])("deltas: ctxsw %s -> %s at 1/%i of the run stops the guest for at most 1/10 of stop-and-copy's downtime; whole pages do not", (from, to, part) => {
    const k = kernel("ctxsw");
    const at = Math.floor(k.bare.cycles / part);
    const whole = move(k, from, to, at, { deltas: false }).report;
    const moved = move(k, from, to, at, undefined, true);
    const r = moved.report;
    expect(whole.downtimeCycles * 10).toBeGreaterThan(whole.stopAndCopy.downtimeCycles); // the writable working set's floor
    expect(r.deltaCompression).toBe(true);
    expect(r.deltaPages).toBeGreaterThan(0);
    expect(r.downtimeBytes).toBeLessThan(r.downtimePages * PAGE_SIZE); // the stop's pages went as deltas
    expect(r.stopAndCopy).toEqual(whole.stopAndCopy);
    expect(r.downtimeCycles * 10).toBeLessThanOrEqual(r.stopAndCopy.downtimeCycles); // the goal
    expect(r.totalCycles).toBeLessThan(whole.totalCycles); // and pre-copy itself is shorter
    expect(moved.ended).toEqual({ ...ENDED, console: k.bare.console });
  });
});
