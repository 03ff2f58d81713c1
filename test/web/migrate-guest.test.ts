// The playground's Migrate view moves the guest with the header's run
// options, as `previrt migrate --cpus N --pcpus M --no-protect` does. It took
// the CPUs only: a move asked for with fewer physical CPUs or with the
// in-place VMM unprotected ran on one physical CPU per CPU, protected — other
// cycles, another safe point, other pre-copy rounds — under a command line
// that left those options out. Here migrate-guest.ts (the worker's move)
// moves the bundled kernel's smp workload on 2 CPUs time-sliced on 1, without
// protection, and its report and console are migrateRoute's (the CLI's move)
// with the same options; a route with bare is refused with --pcpus, as the CLI refuses it.
// A move of a guest that never ends says that the page's cycle limit stopped
// it (the command line then needs --max-cycles to give the same numbers).
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { migrateRoute } from "../../src/migration/route.js";
import { migrateGuest } from "../../src/web/migrate-guest.js";

const MAX = 400_000_000;

describe("the Migrate view's move takes the header's run options", () => {
  const { image } = buildKernel({ workload: "smp" });
  const elf = writeElf(image);

  for (const live of [true, false]) {
    it(`smp on 2 CPUs, --pcpus 1 --no-protect, xen → l4 ${live ? "live" : "stop-and-copy"} at 500,000: the CLI's move`, () => {
      const page = migrateGuest(image, { from: "xen", to: "l4", at: 500_000, live, cpus: 2, pcpus: 1, protect: false }, MAX, kernelDisk);
      const cli = migrateRoute(elf, readElf(elf), ["xen", "l4"], [500_000], { live, cpus: 2, pcpus: 1, protect: false, disk: memoryDisk(kernelDisk()), maxCycles: MAX });
      expect(page.report.migrated).toBe(true);
      expect(page.report).toEqual(cli.reports[0]);
      expect(page.consoleBefore + page.consoleAfter).toBe(cli.guest.console);
      expect(page.cycles).toBe(cli.guest.cycles);
      expect(page.verdict).toBe("same");
    });
  }

  it("--pcpus on a route with bare is the library's refusal", () => {
    expect(() => migrateGuest(image, { from: "bare", to: "xen", live: false, cpus: 2, pcpus: 1, protect: true }, MAX, kernelDisk)).toThrow(/pcpus/);
  });

  it("a guest that never ends: the move says it was stopped at the page's limit (previrt migrate has none by default)", () => {
    const { image: forever } = buildSources([{ file: "forever.s", text: "    .text\n    .global _start\n_start:\n    j _start\n" }]);
    const moved = migrateGuest(forever, { from: "xen", to: "hvm", live: false, cpus: 1, protect: true }, 1_000_000);
    expect(moved.report.migrated).toBe(true);
    expect(moved.atLimit).toBe(true);
    const hello = migrateGuest(buildSources([{ file: "hello.s", text: "    .text\n    .global _start\n_start:\n    out 0xF0, zero\n" }]).image, { from: "xen", to: "hvm", live: false, cpus: 1, protect: true }, 1_000_000);
    expect(hello.atLimit).toBe(false);
  });
});
