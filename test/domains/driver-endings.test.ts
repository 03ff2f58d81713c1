// How a driver domain's last ending reads (src/hypervisors/domains/host.ts):
// a restarted driver stopped by --max-cycles is reported in global cycles
// (its new machine's clock starts at 0, which said "stopped after 957045
// cycles (--max-cycles 957000)" for a user's --max-cycles 1000000); a driver
// that ends once more after its last allowed restart says it stays down
// (`previrt run --domains` prints a line for one that powered off with a code).
// Real guests on the real emulator, interpreter and JIT.
import { describe, expect, it } from "vitest";
import { DomainHost, type DomainSpec } from "../../src/hypervisors/domains/host.js";
import { guest } from "./guests.js";

const SPIN = `    .text\n    .global _start\n_start:\n    addi t2, t2, 1\n    j    _start\n`;
// A load far above its RAM with no trap vector: a crash at once.
const CRASH = `    .text\n    .global _start\n_start:\n    li   t0, 0x7ffff000\n    lw   t1, 0(t0)\n    out  0xF0, zero\n`;

const specs = (driver: string): DomainSpec[] => [
  { name: "drv", image: guest("drv", driver), role: "driver", serves: ["block"] },
  { name: "app", image: guest("app", SPIN), uses: { block: "drv" } },
];

describe("a driver domain's last ending", () => {
  it.each(["interp", "jit"] as const)("restarted, then stopped by --max-cycles: the cycles are global (%s)", (engine) => {
    const out = new DomainHost(specs(SPIN), {
      backend: "xen",
      engine,
      maxCycles: 1_000_000,
      crashes: [{ domain: "drv", at: 43_000, kind: "wild-store", seed: 1 }],
    }).run();
    const drv = out.domains[0];
    expect(drv.generation).toBe(1);
    const at = drv.restarts[0].at;
    expect(drv.result).toMatchObject({ kind: "stopped", reason: "max-cycles", exitCode: 124 });
    expect(drv.result?.kind === "stopped" && drv.result.message).toBe(`stopped after ${drv.cycles} cycles (--max-cycles 1000000; generation 1 started at cycle ${at})`);
    expect(drv.cycles).toBeGreaterThanOrEqual(1_000_000);
    expect(out.domains[1].result?.kind === "stopped" && out.domains[1].result.message).toMatch(/^stopped after \d+ cycles \(--max-cycles 1000000\)$/);
  });

  it.each(["interp", "jit"] as const)("crashing after its last allowed restart: it stays down, and says so (%s)", (engine) => {
    const out = new DomainHost(specs(CRASH), { backend: "xen", engine, maxCycles: 2_000_000, maxRestarts: 3 }).run();
    const drv = out.domains[0];
    expect(drv.generation).toBe(3);
    expect(drv.result).toMatchObject({ kind: "stopped", exitCode: 125 });
    expect(drv.result?.kind === "stopped" && drv.result.message).toMatch(/bus-error.*; restarted 3 times already, it stays down$/);
    // A restart's reason is the ending alone.
    expect(drv.restarts[2].reason).not.toMatch(/stays down/);
    expect(drv.staysDown).toBe(true);
  });

  it("powering off with a code after its last allowed restart: it stays down, which the outcome says (a power-off has no message)", () => {
    const PANIC = `    .text\n    .global _start\n_start:\n    li   a0, 3\n    out  0xF0, a0\n`;
    const out = new DomainHost(specs(PANIC), { backend: "xen", maxCycles: 2_000_000, maxRestarts: 2 }).run();
    const drv = out.domains[0];
    expect(drv.restarts.map((r) => r.reason)).toEqual(["powered off with code 3", "powered off with code 3"]);
    expect(drv.result).toEqual({ kind: "poweroff", exitCode: 3 });
    expect(drv.staysDown).toBe(true);
    // A driver that is still restartable does not stay down: restarted 14 times by --max-cycles, far from its
    // 1,000 (a machine per restart: 200,000 cycles made 140 of them, 9 s of the suite, for the same question).
    const restartable = new DomainHost(specs(PANIC), { backend: "xen", maxCycles: 20_000, maxRestarts: 1_000 }).run().domains[0];
    expect(restartable.restarts.length).toBeGreaterThan(2);
    expect(restartable.staysDown).toBe(false);
  });
});
