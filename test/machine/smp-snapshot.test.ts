// Snapshots of a multiprocessor (MachineState.cpus, snapshot format 2): a
// 4-CPU guest stopped mid-run (CPUs spinning on a lock, halted, with
// interrupts in flight), written, read back and resumed on bare finishes
// exactly as the run that never stopped — console, every counter, every
// CPU's clock — and migrating it bare → bare with the migration machinery
// (stop-and-copy, and live) does too. The snapshot keeps the CPU count and
// the quantum.
import { describe, expect, it } from "vitest";
import { readElf } from "../../src/guest-isa/elf.js";
import { bootGuest } from "../../src/migration/guest.js";
import { migrateRoute } from "../../src/migration/route.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest } from "../../src/migration/snapshot.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { buildAsm } from "../hypervisors/helpers.js";

const elfOf = (name: string) => buildAsm(`fixtures/smp/${name}.s`, { annotate: false }).bytes;

function observe(g: { machine: import("../../src/machine/machine.js").Machine; console: string }, result: unknown) {
  return { result, console: g.console, stats: g.machine.stats(), cpu: g.machine.cpuId, pc: g.machine.pc };
}

describe("multiprocessor snapshots", () => {
  for (const [name, at] of [["counter-lock", 300_000], ["timer", 60_000], ["ipi", 15_000]] as const) {
    it(`${name}.s on 4 CPUs: stopped at cycle ${at}, resumed from the file's bytes, = the uninterrupted run`, () => {
      const elf = elfOf(name);
      const image = readElf(elf);
      const whole = bootGuest(elf, image, "bare", { cpus: 4, quantum: 5000 });
      const reference = observe(whole, whole.finish(50_000_000));

      const g = bootGuest(elf, image, "bare", { cpus: 4, quantum: 5000 });
      const sp = runToSafePoint(g, at);
      expect(sp.reached).toBe(true);
      const snap = parseSnapshot(encodeSnapshot(captureSnapshot(g), nodeZlib), "test", nodeZlib);
      expect(snap.machine.cpus).toHaveLength(4);
      expect(snap.machine.quantum).toBe(5000);
      expect(new Set(snap.machine.cpus.map((c) => c.run)).has("running")).toBe(true);
      const { guest, info } = restoreGuest(snap, "bare", {});
      expect(info.exact).toBe(true);
      expect(guest.machine.cpuCount).toBe(4);
      expect(observe(guest, guest.finish(50_000_000))).toEqual(reference);
    });
  }

  it("bare → bare migration (stop-and-copy and live) of a 4-CPU guest ends like the run that stayed", () => {
    const elf = elfOf("counter-lock");
    const image = readElf(elf);
    const stay = bootGuest(elf, image, "bare", { cpus: 4 });
    const reference = observe(stay, stay.finish(50_000_000));
    for (const live of [false, true]) {
      const r = migrateRoute(elf, image, ["bare", "bare"], [250_000], { cpus: 4, live, maxCycles: 50_000_000 });
      expect(r.guest.machine.cpuCount).toBe(4);
      expect(r.guest.console).toBe(reference.console);
      expect(r.result).toEqual(reference.result);
      if (!live) expect(observe(r.guest, r.result).stats.perCpu).toEqual(reference.stats.perCpu);
    }
  });
});
