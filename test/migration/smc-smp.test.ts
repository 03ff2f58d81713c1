// A guest of our own that the kernel fixtures do not cover
// (fixtures/guests/smc-smp.s): every CPU rewrites one shared instruction
// under a lock and executes it, between a cli and an sti site, round after
// round. Moved along chains through bare, xen, l4 and hvm, stop-and-copy and
// live, on 1 and 2 CPUs, it prints what bare prints, and the interpreter and
// the JIT give the same reports (a move lands between a store into code and
// its execution; the sites are re-patched while the CPUs run through them).
// One move is made where a CPU holds the lock and the shared instruction is
// not the binary's. And on hvm, where each cli/sti is an exit that ends the CPU's turn right
// after the native instruction (pc on the site's jump over its padding), a
// 2-CPU guest is moved within an epoch of the point: before, the search for
// a safe point stepped epoch after epoch until the loop ended (178 epochs
// past 381,975), or found none.
import { describe, expect, it } from "vitest";
import { readElf } from "../../src/guest-isa/elf.js";
import { bootGuest } from "../../src/migration/guest.js";
import { migrateRoute } from "../../src/migration/route.js";
import { resumeAfterSite, runToSafePoint, SiteMap, unsafeReason } from "../../src/migration/safe-point.js";
import { captureSnapshot, restoreGuest, type Snapshot } from "../../src/migration/snapshot.js";
import { buildAsm } from "../hypervisors/helpers.js";

const elf = buildAsm("fixtures/guests/smc-smp.s").bytes;
const image = readElf(elf);
const MAX = 100_000_000;

function bare(cpus: number) {
  const g = bootGuest(elf, image, "bare", { cpus });
  const r = g.finish(MAX);
  g.machine.memory.recycle(); // read: its RAM goes back for the next machine (test/recycle.ts)
  return { console: g.console, exitCode: r.exitCode };
}

function move(route: string[], at: number[], o: { cpus: number; live?: boolean; engine?: "interp" | "jit" }) {
  let console = "";
  const r = migrateRoute(elf, image, route, at, { cpus: o.cpus, live: o.live, engine: o.engine, maxCycles: MAX, onOutput: (t) => (console += t) });
  // The route gave back the RAM of each machine it moved from; the one it ended on goes back here (test/recycle.ts).
  r.guest.machine.memory.recycle();
  return { console, exitCode: r.result.exitCode, reports: r.reports };
}

describe("smc-smp.s: self-modifying code on every CPU, moved", () => {
  for (const cpus of [1, 2]) {
    const reference = bare(cpus);
    it(`${cpus} CPU(s): bare prints the exact total`, () => {
      expect(reference).toEqual({ console: `smc counter ${11_000 * cpus}\n`, exitCode: 0 });
    });
    for (const route of [["bare", "xen", "l4", "hvm", "bare"], ["hvm", "l4", "xen", "bare"]]) {
      for (const live of [false, true]) {
        it(`${cpus} CPU(s), ${route.join(" -> ")}, ${live ? "live" : "stop-and-copy"}: bare's console, every move made, the same reports under both engines`, () => {
          const at = route.slice(1).map((_, i) => 50_000 + 70_000 * i);
          const interp = move(route, at, { cpus, live, engine: "interp" });
          const jit = move(route, at, { cpus, live, engine: "jit" });
          expect(interp.reports.map((r) => r.migrated)).toEqual(route.slice(1).map(() => true));
          expect({ console: interp.console, exitCode: interp.exitCode }).toEqual(reference);
          expect(jit).toEqual(interp);
        });
      }
    }
  }

  it("2 CPUs on hvm, cli/sti exits ending their turns: moved within an epoch of the point, to every back end", () => {
    const reference = bare(2);
    for (const to of ["bare", "xen", "l4"]) {
      for (const at of [100_000, 250_000, 381_975]) {
        const r = move(["hvm", to], [at], { cpus: 2 });
        const [report] = r.reports;
        expect(report.migrated).toBe(true);
        expect(report.deferredSteps, `hvm -> ${to} at ${at}: ${report.deferredBecause}`).toBeLessThanOrEqual(1);
        expect(report.stoppedAt).toBeLessThan(at + 20_000); // two quanta
        expect({ console: r.console, exitCode: r.exitCode }).toEqual(reference);
      }
    }
  });

  it("2 CPUs on xen, stopped where one CPU holds the lock and the shared instruction is not the binary's: every other back end ends as bare", () => {
    const reference = bare(2);
    const addr = (name: string) => image.symbols.find((x) => x.name === name)!.value;
    const unrun = bootGuest(elf, image, "bare", {}).machine.memory;
    const original = unrun.read32(addr("slot"));
    unrun.recycle();
    const g = bootGuest(elf, image, "xen", { cpus: 2 });
    let snap: Snapshot | undefined;
    for (let at = 20_000; at < 400_000 && !snap; at += 10_000) {
      expect(runToSafePoint(g, at).reached).toBe(true);
      const m = g.machine;
      if (m.memory.read32(addr("lock")) === 1 && m.memory.read32(addr("slot")) !== original) snap = captureSnapshot(g);
    }
    expect(snap, "no point with the lock held and the code rewritten").toBeDefined();
    g.machine.memory.recycle(); // the snapshot holds copies of its pages and state
    for (const to of ["bare", "hvm", "l4", "trap"]) {
      const { guest } = restoreGuest(snap!, to, { image });
      const r = guest.finish(MAX);
      guest.machine.memory.recycle();
      expect({ console: guest.console, exitCode: r.exitCode }, to).toEqual(reference);
    }
  });

  it("a CPU on a site's final jump is safe only with its monitor's own reasons gone (a queue of page-table updates)", () => {
    const g = bootGuest(elf, image, "hvm", { cpus: 2 });
    const sites = new SiteMap(g);
    const m = g.machine;
    const onFinalJump = () => [0, 1].find((c) => m.inCpu(c, () => m.cpuState(c) === "running" && resumeAfterSite(g, sites) !== undefined));
    let cpu: number | undefined;
    for (let at = 100_000; cpu === undefined && at < 400_000; at += 10_000) {
      m.runUntil(at);
      cpu = onFinalJump();
    }
    expect(cpu, "no epoch ended with a CPU on a site's final jump").toBeDefined();
    expect(unsafeReason(g, sites)).toBeUndefined();
    // As xen's queue would object (the pre-virtualized hvm guest has none): the CPU is no longer safe.
    const monitor = g.monitor as unknown as { unsafeReason?: () => string | undefined };
    monitor.unsafeReason = () => (m.cpuId === cpu ? "2 page-table updates queued" : undefined);
    expect(unsafeReason(g, sites)).toBe(`cpu ${cpu}: 2 page-table updates queued`);
  });
});
