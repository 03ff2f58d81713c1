// Chains of migrations (`migrate --route`): through all four back ends and
// back — bare → xen → l4 → hvm → bare, and the other way round from hvm —
// the console is bare's and the exit status 0; every hop happened.
import { describe, expect, it } from "vitest";
import { kernelDisk } from "../../src/cli/bundled-kernel.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { migrateRoute } from "../../src/migration/route.js";
import { kernel } from "./helpers.js";

describe("a chain through all four back ends", () => {
  it.each([
    ["mixed", ["bare", "xen", "l4", "hvm", "bare"]],
    ["io", ["hvm", "l4", "xen", "bare", "hvm"]],
  ] as const)("%s along %j: bare's console and exit status", (workload, route) => {
    const k = kernel(workload);
    const step = Math.floor(k.bare.cycles / 5);
    const r = migrateRoute(k.elf, k.image, route, [step], { disk: memoryDisk(kernelDisk()) });
    expect(r.reports.map((x) => [x.from, x.to, x.migrated])).toEqual(route.slice(1).map((to, i) => [route[i], to, true]));
    expect(r.reports.map((x) => x.stoppedAt >= x.at)).toEqual([true, true, true, true]);
    expect(r.guest.console).toBe(k.bare.console);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.guest.backend.name).toBe(route[route.length - 1]);
  });
});
