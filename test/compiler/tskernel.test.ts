// fixtures/guests/tskernel: a kernel written the way a user would, from the
// docs alone — several TypeScript modules and an assembly entry: trap stub and
// TypeScript handler, timer ticks, paging with writePte, a user-mode task with
// system calls, a port-disk transfer, an enum and a const object for its
// numbers. The same console and exit status on every back end, and the same
// cycles under the interpreter and the JIT, also when moved between back ends
// mid-run; its multiprocessor variant on 2 CPUs.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { backends, runElf } from "../../src/hypervisors/index.js";
import { readFileSync } from "node:fs";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { migrateRoute } from "../../src/migration/route.js";
import { ROOT } from "./helpers.js";

const DIR = join(ROOT, "fixtures/guests/tskernel");
const sources = (names: string[]) => names.map((n) => ({ file: join(DIR, n), text: readFileSync(join(DIR, n), "utf8") }));

/** Sector 0 holds a pattern the user task and the kernel both fold into their checksum. */
function disk(): Uint8Array {
  const d = new Uint8Array(512 * 8);
  for (let i = 0; i < 512; i++) d[i] = (i * 13 + 5) & 0xff;
  return d;
}

const KERNEL_CONSOLE = [
  "kernel: boot",
  "kernel: timer ok",
  "kernel: disk sum 65280",
  "user: hello",
  "kernel: user exit 11", // fold7 of the work below: computed in user mode on the sector it read by system call
  "trap: cause 0x00000005 badva 0x00500000",
  "kernel: faulty exit 133",
  "kernel: sector 0 work 0xbeea382f", // 303 primes, then × 31 + each word of the pattern
  "kernel: syscalls 3",
  "kernel: frames 5",
  "checksum 0x0010efbf",
  "selfcheck: ok",
  "",
].join("\n");

describe("a user's TypeScript kernel (fixtures/guests/tskernel)", () => {
  const image = buildSources(sources(["entry.s", "kernel.ts", "mm.ts", "console.ts", "disk.ts"])).image;

  for (const backend of backends.keys()) {
    it(`${backend}: the console of bare, exit 0, the same cycles under both engines`, () => {
      // jitThreshold 1: the JIT translates every block it reaches, not only the hot ones.
      const runs = (["interp", "jit"] as const).map((engine) => runElf(image, { backend, engine, jitThreshold: 1, disk: disk(), maxCycles: 50_000_000 }));
      expect(runs[1].host.jit?.translations).toBeGreaterThan(0);
      for (const r of runs) {
        expect(r.console).toBe(KERNEL_CONSOLE);
        expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
      }
      expect(runs[1].stats.cycles).toBe(runs[0].stats.cycles);
      expect(runs[1].stats.instructions).toBe(runs[0].stats.instructions);
    });
  }

  it("built para-virtualized for xen (--paravirt xen), it prints the same on xen", () => {
    const pv = buildSources(sources(["entry.s", "kernel.ts", "mm.ts", "console.ts", "disk.ts"]), { paravirt: "xen" }).image;
    const r = runElf(pv, { backend: "xen", disk: disk(), maxCycles: 50_000_000 });
    expect(r.console).toBe(KERNEL_CONSOLE);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
  });

  it("moves bare -> xen -> l4 -> hvm -> bare mid-run (stop-and-copy, then live) with the console of an unmoved run", () => {
    const elf = writeElf(image);
    for (const live of [false, true]) {
      const moved = migrateRoute(elf, readElf(elf), ["bare", "xen", "l4", "hvm", "bare"], [200_000], { live, disk: memoryDisk(disk()), maxCycles: 50_000_000 });
      expect(moved.reports.map((r) => r.migrated)).toEqual([true, true, true, true]);
      expect(moved.guest.console).toBe(KERNEL_CONSOLE);
      expect(moved.result).toEqual({ kind: "poweroff", exitCode: 0 });
    }
  });

  const smp = buildSources(sources(["smp.ts", "mm.ts", "console.ts"])).image;
  const multi = [...backends.values()].filter((b) => (b.maxCpus ?? 1) >= 2).map((b) => b.name);
  for (const backend of multi) {
    it(`${backend}, 2 CPUs: the locked and the atomic counts are exact, the same cycles under both engines`, () => {
      const runs = (["interp", "jit"] as const).map((engine) => runElf(smp, { backend, engine, jitThreshold: 1, cpus: 2, maxCycles: 50_000_000 }));
      expect(runs[1].host.jit?.translations).toBeGreaterThan(0);
      for (const r of runs) {
        expect(r.console).toBe("cpus 2\ncounter 1000\natomic 1000\ncpu0 done\n");
        expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
      }
      expect(runs[1].stats.cycles).toBe(runs[0].stats.cycles);
    });
  }
});
