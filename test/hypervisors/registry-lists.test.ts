// The places that must name every registered back end but cannot take the
// registry's list (src/hypervisors/backend-names.ts) themselves, checked
// against it — README "Adding a back end" names this test: a back end added
// to the registry and not to one of these fails here, saying where.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIGURATIONS } from "../../src/cli/bench/configurations.js";
import { driverBenchBackends } from "../../src/cli/bench/driver-bench.js";
import { smpBenchBackends } from "../../src/cli/bench/smp-bench.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { BACKEND_NAMES, backends, countVmmEntries, hostingBackends, passthroughBackends, runElf, type Backend } from "../../src/hypervisors/index.js";

const doc = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), "utf8");

/** The first column of the table in `section` of a markdown document, the backquotes stripped. */
function tableNames(text: string, section: string): string[] {
  const start = text.indexOf(`\n${section}`);
  expect(start, `${section} exists`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start + 1).split(/\n## /)[0];
  return body
    .split("\n")
    .filter((l) => /^\| `[^`]+` \|/.test(l))
    .map((l) => /^\| `([^`]+)`/.exec(l)![1]);
}

describe("every registered back end is where the registry's list cannot reach", () => {
  it("has a row in docs/design.md §4's table, in registry order", () => {
    expect(tableNames(doc("docs/design.md"), "## 4. Back ends")).toEqual([...BACKEND_NAMES]);
  });

  it("has a configuration in `previrt bench` (src/cli/bench/configurations.ts)", () => {
    for (const name of BACKEND_NAMES) expect(CONFIGURATIONS.some((c) => c.backend === name), name).toBe(true);
    for (const c of CONFIGURATIONS) expect(BACKEND_NAMES, c.id).toContain(c.backend);
  });
});

// What used to be lists by name, now derived from what each back end states
// (Backend.passthrough, unfaithful, inPlaceVmm, maxCpus): the five built-in
// back ends must give the lists (and their order) the help texts and the
// benches' tables have always shown.
describe("the lists derived from the back ends' own fields", () => {
  const names = (list: readonly Backend[]) => list.map((b) => b.name);
  it("several guests: xen, l4, hvm (not bare: no hypervisor; not trap: unfaithful)", () => {
    expect(names(hostingBackends(backends.values()))).toEqual(["xen", "l4", "hvm"]);
  });
  it("--passthrough and bench --drivers: xen, l4, hvm", () => {
    expect(names(passthroughBackends(backends.values()))).toEqual(["xen", "l4", "hvm"]);
    expect(driverBenchBackends()).toEqual(["xen", "l4", "hvm"]);
  });
  it("bench --smp: bare, hvm, xen, l4", () => {
    expect(smpBenchBackends()).toEqual(["bare", "hvm", "xen", "l4"]);
  });
  // The benches' hcalls/exits and VMM entries: what each back end names must be what its monitor counts.
  const mixed = buildKernel({ workload: "mixed" }).image;
  for (const b of backends.values()) {
    it(`${b.name}'s VMM entries (vmmEntries) are counters its monitor counts on the bundled kernel`, () => {
      const { counts } = runElf(mixed, { backend: b.name, maxCycles: 400_000_000, disk: kernelDisk() }).stats;
      const calls = countVmmEntries(b, counts, "calls");
      if (!b.createMonitor) return expect(countVmmEntries(b, counts, "all")).toBe(0);
      expect(calls, "its calls into the VMM").toBeGreaterThan(0);
      expect(countVmmEntries(b, counts, "all")).toBeGreaterThanOrEqual(calls);
    });
  }
});
