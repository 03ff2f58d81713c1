// A guest's own protection domains (the memory supervisor's, docs/protection.md)
// travel with it in snapshots and moves (docs/migration.md):
//
// - The Mondrix kernel variant snapshotted after it isolated its driver,
//   through the file format, resumed on the same back end (bare, xen): the
//   uninterrupted run's console, ending, cycles and every counter
//   (protection.checks among them), interpreter = JIT.
// - Moved (stop-and-copy) bare→xen, xen→l4, l4→bare: bare's console and
//   ending, the driver's domain on the target (the guest's id for it still
//   names it although the target's monitor took other ids).
// - A hostile module moved after its domain was defined: its stray store to
//   a kernel word it may only read, after the move, is still cause 10.
// - A snapshot whose guest domains are malformed is refused with one line;
//   one whose guest id is 2^31 - 1 is taken, and the resumed guest's next
//   DEFINE still gets a positive id its own snapshot can hold;
//   so is a move to a back end one of whose rewritten sites a guest domain's
//   code range cuts (the rule: a guest domain encloses a site whole).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { MONDRIX_DISK_BYTES } from "../../src/cli/inject/fault-injection.js";
import { nodeZlib } from "../../src/cli/snapshot-files.js";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { getBackend, prepareImage } from "../../src/hypervisors/index.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import type { Engine } from "../../src/machine/machine.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { bootGuest, type Guest } from "../../src/migration/guest.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, parseSnapshot, restoreGuest, type Snapshot } from "../../src/migration/snapshot.js";
import { stopAndCopy } from "../../src/migration/stop-and-copy.js";
import { refusal } from "../refusal.js";

const ROOT = join(import.meta.dirname, "..", "..");
const MAX = 100_000_000;
const fixture = (name: string) => ({ file: `fixtures/mondrix/${name}`, text: readFileSync(join(ROOT, "fixtures", "mondrix", name), "utf8") });
const elfOf = (files: { file: string; text: string }[]) => {
  const elf = writeElf(buildSources(files).image);
  return { elf, image: readElf(elf) };
};
const mondrix = elfOf(["entry.s", "kernel.ts", "driver.ts"].map(fixture));

const boot = (k: typeof mondrix, hv: string, engine: Engine = "interp") =>
  bootGuest(k.elf, k.image, hv, { disk: memoryDisk(new Uint8Array(MONDRIX_DISK_BYTES)), engine, jitThreshold: 1 });
const guestDomains = (g: Guest) => {
  const p = g.machine.protection;
  return Array.from({ length: p.domainCount }, (_, i) => p.domainName(i)).filter((n) => n?.startsWith("guest-")).length;
};
const roundTrip = (s: Snapshot) => parseSnapshot(encodeSnapshot(s, nodeZlib), "d.snap", nodeZlib);

describe("the Mondrix variant snapshotted after it defined its driver's domain", () => {
  const bare = boot(mondrix, "bare");
  const bareResult = bare.finish(MAX);
  const half = Math.floor(bare.cycles / 2);

  it("bare: the reference", () => {
    expect(bare.console).toBe("selfcheck: ok\n");
    expect(bareResult).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(bare.machine.stats().counts["protection.checks"]).toBeGreaterThan(0);
  });

  for (const hv of ["bare", "xen"]) {
    it(`${hv}: resumed on ${hv}, the uninterrupted run's console, ending, cycles and counters; interpreter = JIT`, () => {
      const stats: unknown[] = [];
      for (const engine of ["interp", "jit"] as const) {
        // Each machine's RAM goes back once read (PhysicalMemory.recycle; test/recycle.ts says why).
        const ref = boot(mondrix, hv, engine);
        const refResult = ref.finish(MAX);
        const [refConsole, refStats] = [ref.console, ref.machine.stats()];
        ref.machine.memory.recycle();
        const g = boot(mondrix, hv, engine);
        expect(runToSafePoint(g, half).reached).toBe(true);
        expect(guestDomains(g)).toBe(1);
        const snap = roundTrip(captureSnapshot(g));
        g.machine.memory.recycle();
        const { guest, info } = restoreGuest(snap, hv, { engine, jitThreshold: 1 });
        expect(info.exact).toBe(true);
        expect(guestDomains(guest)).toBe(1);
        expect(guest.finish(MAX)).toEqual(refResult);
        expect(guest.console).toBe(refConsole);
        expect(guest.machine.stats()).toEqual(refStats);
        stats.push(guest.machine.stats());
        guest.machine.memory.recycle();
      }
      expect(stats[1]).toEqual(stats[0]);
    });
  }

  for (const [from, to] of [["bare", "xen"], ["xen", "l4"], ["l4", "bare"]]) {
    it(`${from}→${to} (stop-and-copy): bare's console and ending, the driver's domain on ${to}; interpreter = JIT`, () => {
      const stats: unknown[] = [];
      for (const engine of ["interp", "jit"] as const) {
        const source = boot(mondrix, from, engine);
        const moved = stopAndCopy(source, to, half);
        source.machine.memory.recycle(); // the moved guest is another machine (recycled as above)
        const g = moved.guest!;
        expect(guestDomains(g)).toBe(1);
        expect(g.finish(MAX)).toEqual(bareResult);
        expect(g.console).toBe(bare.console);
        expect(g.machine.stats().exceptions["protection-fault"]).toBeUndefined();
        stats.push(g.machine.stats());
        g.machine.memory.recycle();
      }
      expect(stats[1]).toEqual(stats[0]);
    });
  }
});

describe("the Mondrix variant snapshotted before it defined its driver's domain", () => {
  // The kernel defines the domain within its first 0.5 % (about 27,000 cycles on xen): at 5,000 none exists yet,
  // and the guest defines it after the resume or the move, on the target's protection unit.
  for (const [from, to] of [["xen", "xen"], ["xen", "l4"], ["bare", "xen"], ["l4", "bare"]]) {
    it(`${from} → ${to}: the domain is defined after the move, bare's console and ending; interpreter = JIT`, () => {
      const ref = boot(mondrix, "bare");
      const refResult = ref.finish(MAX);
      const refConsole = ref.console;
      ref.machine.memory.recycle(); // each machine's RAM back once read, as above
      const stats: unknown[] = [];
      for (const engine of ["interp", "jit"] as const) {
        const g = boot(mondrix, from, engine);
        expect(runToSafePoint(g, 5_000).reached).toBe(true);
        expect(guestDomains(g)).toBe(0);
        const snap = roundTrip(captureSnapshot(g));
        g.machine.memory.recycle();
        const { guest } = restoreGuest(snap, to, { engine, jitThreshold: 1 });
        expect(guest.finish(MAX)).toEqual(refResult);
        expect(guest.console).toBe(refConsole);
        expect(guestDomains(guest)).toBe(1);
        expect(guest.machine.stats().counts["protection.checks"]).toBeGreaterThan(0);
        stats.push(guest.machine.stats());
        guest.machine.memory.recycle();
      }
      expect(stats[1]).toEqual(stats[0]);
    });
  }
});

describe("the Mondrix variant under --no-protect, snapshotted and moved", () => {
  // A run with protection off has no memory supervisor either: resume and migrate build their machine so too
  // (they left the supervisor on, so the driver's domain was defined after a resume and the counters changed).
  const unprotected = (hv: string) => bootGuest(mondrix.elf, mondrix.image, hv, { disk: memoryDisk(new Uint8Array(MONDRIX_DISK_BYTES)), protect: false });

  it("xen: resumed without the option, the uninterrupted unprotected run's counters (no protection counters at all)", () => {
    const ref = unprotected("xen");
    const refResult = ref.finish(MAX);
    expect(ref.machine.stats().counts["protection.checks"]).toBeUndefined();
    const g = unprotected("xen");
    expect(runToSafePoint(g, Math.floor(ref.cycles / 2)).reached).toBe(true);
    const { guest, info } = restoreGuest(roundTrip(captureSnapshot(g)), "xen");
    expect(info.exact).toBe(true);
    expect(guest.finish(MAX)).toEqual(refResult);
    expect(guest.machine.stats()).toEqual(ref.machine.stats());
  });

  it("xen → l4 with --no-protect: the driver's domain is never defined", () => {
    const moved = stopAndCopy(unprotected("xen"), "l4", 1_000_000); // the source's options (protect: false) go with it
    const g = moved.guest!;
    expect(g.finish(MAX)).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(guestDomains(g)).toBe(0);
    expect(g.machine.stats().counts["protection.checks"]).toBeUndefined();
  });

  it("a protected snapshot whose guest defined domains: --no-protect on the same back end is refused in words that say why", () => {
    const g = boot(mondrix, "xen");
    expect(runToSafePoint(g, 1_000_000).reached).toBe(true);
    expect(guestDomains(g)).toBe(1);
    expect(refusal(() => restoreGuest(roundTrip(captureSnapshot(g)), "xen", { protect: false }))).toMatch(/^snapshot taken with the VMM's protection domain, whose guest numbered domains of its own after it: --no-protect cannot resume it on xen/);
  });
});

// A module that may only read the kernel's words; after a long wait (the
// move happens in it) it stores to one of them.
const HOSTILE_MODULE = `
import { store32 } from "previrt/guest";
export function modBegin(): number {
  return 0;
}
export function modPoke(addr: number): number {
  store32(addr, 7);
  return 0;
}
export function modEnd(): number {
  return 0;
}
`;
const HOSTILE_KERNEL = `
import { addressOf, inPort, outPort, PORT } from "previrt/guest";
import { modBegin, modEnd, modPoke } from "./module.js";

const words = new Int32Array(4);

export function main(): number {
  words[0] = 5;
  // DEFINE the module's domain, then GRANT it read-only access to the words.
  outPort(0x50, addressOf(modBegin));
  outPort(0x51, addressOf(modEnd));
  outPort(0x54, 1);
  const mod = inPort(0x54);
  outPort(0x50, mod);
  outPort(0x51, addressOf(words));
  outPort(0x52, 16);
  outPort(0x53, 1);
  outPort(0x54, 2);
  const ok = inPort(0x54);
  outPort(PORT.console, mod > 0 && ok === 0 ? 121 : 110);
  let x = 0;
  for (let i = 0; i < 200000; i++) x = (x * 3 + i) | 0;
  modPoke(addressOf(words));
  outPort(PORT.console, 48 + words[0]);
  outPort(PORT.console, 10);
  return x & 0;
}
`;
const hostile = elfOf([fixture("entry.s"), { file: "kernel.ts", text: HOSTILE_KERNEL }, { file: "module.ts", text: HOSTILE_MODULE }]);

describe("a hostile module moved after its domain was defined", () => {
  const bare = boot(hostile, "bare");
  const bareResult = bare.finish(MAX);
  const mid = Math.floor(bare.cycles / 2);

  it("bare: its store is a protection fault", () => {
    expect(bareResult).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
    expect(bare.console).toBe("y");
  });

  for (const [from, to] of [["bare", "xen"], ["xen", "l4"], ["l4", "bare"], ["bare", "bare"]]) {
    it(`${from}→${to}: the store after the move is still a protection fault`, () => {
      for (const engine of ["interp", "jit"] as const) {
        const g = boot(hostile, from, engine);
        const moved = from === to ? { guest: (expect(runToSafePoint(g, mid).reached).toBe(true), restoreGuest(roundTrip(captureSnapshot(g)), to, { engine, jitThreshold: 1 }).guest) } : stopAndCopy(g, to, mid);
        g.machine.memory.recycle(); // each machine's RAM back once read, as above
        const r = moved.guest!;
        expect(r.finish(MAX)).toEqual(bareResult);
        expect(r.console).toBe(bare.console);
        r.machine.memory.recycle();
      }
    });
  }
});

describe("a snapshot whose guest domains are malformed is refused before anything runs", () => {
  const g = boot(mondrix, "bare");
  runToSafePoint(g, 2_000_000);
  const good = captureSnapshot(g);
  const domains = () => structuredClone(good.machine.protection!.guest!);
  const refuse = (change: (d: NonNullable<NonNullable<Snapshot["machine"]["protection"]>["guest"]>) => unknown) => {
    const s = structuredClone(good);
    const d = domains();
    change(d);
    s.machine.protection!.guest = d;
    return refusal(() => parseSnapshot(encodeSnapshot(s, nodeZlib), "x.snap", nodeZlib));
  };

  it("the good one reads back and holds the kernel's and the driver's domain", () => {
    expect(domains().map((d) => d.handle)).toEqual([0, 1]);
    expect(parseSnapshot(encodeSnapshot(good, nodeZlib), "x.snap", nodeZlib).machine.protection!.guest).toEqual(domains());
  });
  it.each([
    ["a permission of 4", (d: ReturnType<typeof domains>) => (d[1].perms[2] = 4), /permission/],
    ["an unaligned grant", (d: ReturnType<typeof domains>) => (d[1].perms[0] += 2), /word-aligned/],
    ["grants out of order", (d: ReturnType<typeof domains>) => (d[1].perms = Uint32Array.from([...d[1].perms.subarray(3, 6), ...d[1].perms.subarray(0, 3)])), /ascending/],
    ["a grant beyond guest memory", (d: ReturnType<typeof domains>) => (d[1].perms = Uint32Array.from([0x7fff_f000, 4096, 1])), /guest memory/],
    ["an empty code range", (d: ReturnType<typeof domains>) => (d[1].ranges[1] = d[1].ranges[0]), /code range/],
    ["overlapping code ranges", (d: ReturnType<typeof domains>) => d.push({ ...d[1], id: 2, handle: 2 }), /overlap/],
    ["two domains with one guest id", (d: ReturnType<typeof domains>) => d.push({ ...d[1], id: 2, ranges: Uint32Array.from([0x100, 0x104]) }), /id/],
    ["no kernel domain first", (d: ReturnType<typeof domains>) => d.shift(), /kernel/],
    ["too many domains", (d: ReturnType<typeof domains>) => { for (let i = 0; i < 70; i++) d.push({ ...d[1], id: 2 + i, handle: 2 + i }); }, /domains/],
  ])("%s", (_, change, why) => {
    const line = refuse(change);
    expect(line).toMatch(/^x\.snap: malformed snapshot: /);
    expect(line).toMatch(why);
  });
});

// A kernel that defines one domain, waits (the snapshot is taken there), then defines a second and prints whether it got a guest id.
const TWICE_KERNEL = `
import { addressOf, inPort, outPort, PORT } from "previrt/guest";
import { modBegin, modEnd, modPoke } from "./module.js";

export function main(): number {
  outPort(0x50, addressOf(modBegin));
  outPort(0x51, addressOf(modPoke));
  outPort(0x54, 1);
  let x = 0;
  for (let i = 0; i < 200000; i++) x = (x * 3 + i) | 0;
  outPort(0x50, addressOf(modPoke));
  outPort(0x51, addressOf(modEnd));
  outPort(0x54, 1);
  outPort(PORT.console, inPort(0x54) > 0 ? 121 : 110);
  outPort(PORT.console, 10);
  return x & 0;
}
`;
const twice = elfOf([fixture("entry.s"), { file: "kernel.ts", text: TWICE_KERNEL }, { file: "module.ts", text: HOSTILE_MODULE }]);

describe("a guest id so high that the guest's next DEFINE would pass 2^31 - 1", () => {
  const ref = boot(twice, "bare");
  ref.finish(MAX);
  const g = boot(twice, "bare");
  expect(runToSafePoint(g, Math.floor(ref.cycles / 2)).reached).toBe(true);
  const snap = captureSnapshot(g);
  const withHandle = (h: number) => {
    const s = structuredClone(snap);
    s.machine.protection!.guest![1].handle = h;
    return encodeSnapshot(s, nodeZlib);
  };

  it("the reference defines its second domain", () => {
    expect(ref.console).toBe("y\n");
    expect(snap.machine.protection!.guest!.map((d) => d.handle)).toEqual([0, 1]);
  });
  for (const high of [0x7fff_ffff, 0x7fff_ffff - 1]) {
    it(`guest id 0x${high.toString(16)}: the resumed guest's next DEFINE gets a positive id, and its own snapshot reads back`, () => {
      const { guest } = restoreGuest(parseSnapshot(withHandle(high), "x.snap", nodeZlib), "bare");
      expect(guest.finish(MAX)).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(guest.console).toBe("y\n");
      const again = parseSnapshot(encodeSnapshot(captureSnapshot(guest), nodeZlib), "again.snap", nodeZlib);
      expect(again.machine.protection!.guest!.map((d) => d.handle)).toEqual([0, high, high === 0x7fff_ffff ? 1 : 0x7fff_ffff]);
    });
  }
});

describe("a guest domain whose code range cuts one of the target's sites", () => {
  it("bare→xen: the move is refused with one line", () => {
    const g = boot(mondrix, "bare");
    expect(runToSafePoint(g, 2_000_000).reached).toBe(true);
    const snap = captureSnapshot(g);
    const site = prepareImage(getBackend("xen"), mondrix.image).sites[0].record;
    // The driver's code from the middle of xen's first site's first word.
    snap.machine.protection!.guest![1].ranges = Uint32Array.of(site.addr + 2, site.addr + site.length + 64);
    expect(refusal(() => restoreGuest(roundTrip(snap), "xen"))).toMatch(/^cannot move the guest to xen: its protection domains cannot be set up there \(.*overlaps domain vmm/);
    // On bare (no sites) the same range is taken.
    expect(guestDomains(restoreGuest(roundTrip(snap), "bare").guest)).toBe(1);
  });
});

describe("resuming exactly needs the domain ids the snapshot's PLB names", () => {
  const g = boot(mondrix, "xen");
  runToSafePoint(g, 2_000_000);
  const snap = captureSnapshot(g);

  it("xen: a guest domain saved as another id than xen gives it is refused with one line", () => {
    const s = structuredClone(snap);
    s.machine.protection!.guest![1].id = 3;
    expect(refusal(() => restoreGuest(roundTrip(s), "xen"))).toMatch(/^malformed snapshot: the guest's protection domains \(guest domain guest-2 was domain 3, here 2\)$/);
  });
  it("a snapshot without the field (written before it existed) loads: no guest domain", () => {
    const s = structuredClone(snap);
    delete s.machine.protection!.guest;
    expect(guestDomains(restoreGuest(roundTrip(s), "xen").guest)).toBe(0);
  });
});
