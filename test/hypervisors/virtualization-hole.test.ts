// docs/design.md §4: trap-and-emulate cannot virtualize G32, because rdpsr and
// wrpsr are sensitive but do not trap. One real guest, three back ends.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";

const file = "fixtures/guests/psr-hole.s";
const image = assemble([{ file, text: readFileSync(new URL(`../../${file}`, import.meta.url), "utf8") }]);
const run = (backend: string) => runElf(image, { backend, maxCycles: 5_000_000 });

describe("the rdpsr/wrpsr virtualization hole", () => {
  it("is invisible on bare metal and under hvm, where rdpsr/wrpsr exit", () => {
    for (const backend of ["bare", "hvm"]) {
      const out = run(backend);
      expect(out.console, backend).toBe("supervisor\nthree ticks\n");
      expect(out.result, backend).toEqual({ kind: "poweroff", exitCode: 0 });
    }
    // hvm paid for it: each rdpsr/wrpsr of the loop was a VM exit.
    const hvm = run("hvm");
    expect(hvm.stats.counts["exit:rdpsr"]).toBeGreaterThanOrEqual(4);
    expect(hvm.stats.counts["exit:wrpsr"]).toBeGreaterThanOrEqual(3);
  });

  it("makes the same kernel go wrong under trap-and-emulate, without hurting the host", () => {
    const out = run("trap");
    // rdpsr shows the deprivileged kernel the real psr: user mode.
    expect(out.console).toBe("user?\n");
    // wrpsr could not restore IE: the tick stays masked, hlt returns at once
    // (a masked pending line wakes the CPU) and the kernel spins until the
    // cycle limit, having counted no tick at all.
    expect(out.result.kind).toBe("stopped");
    if (out.result.kind === "stopped") {
      expect(out.result.reason).toBe("max-cycles");
      expect(out.result.diagnosis).toMatch(/pc +0x/);
    }
    expect(out.stats.interrupts[0] ?? 0).toBe(0); // the first critical section came before the first tick
  });
});
