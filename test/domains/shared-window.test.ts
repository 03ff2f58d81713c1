// The coherence step compares only the shared pages that may have been
// written (docs/driver-vms.md "Shared pages"): each machine tracks writes to
// its shared frames, host-only (docs/machine.md "Host-only write
// tracking"). Two cooperating guests sharing 1,024 pages that nobody writes
// cost the host no page comparison at all — comparing every shared page
// after every turn made such a pair slow every guest's run a
// hundredfold — while a page one side writes is compared, and copied,
// once. The tracking changes nothing simulated: the runs with tracking, under
// the interpreter and the JIT, give the outcome — consoles, cycles, every
// counter, copies, restores — of the same run with the host comparing every
// shared page after every turn, tracking nothing (sharedPageOptions.tracked
// false), on xen, l4 and hvm. And a read-only mapped page its grantee wrote and
// made a page table (hvm's shadow paging write-protects it) is not restored
// into it: like a writable one, that sharing ends. A guest that maps, writes
// and unmaps a page over and over leaves nothing behind in its machine's
// list of written frames. Real guests on the real emulator.
import { afterEach, describe, expect, it } from "vitest";
import { buildKernel, kernelDiskBytes } from "../../src/cli/bundled-kernel.js";
import { DomainHost, type DomainSpec, type HostOptions } from "../../src/hypervisors/domains/host.js";
import { sharedPageOptions } from "../../src/hypervisors/domains/services.js";
import type { Engine } from "../../src/machine/machine.js";
import { guest, mapper, peer, prelude, sharer, spinThenOff, victim } from "./guests.js";
import { HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";

const PAGES = 1024;
const BASE = 0x100000;
const SPIN = 1_000_000;

afterEach(() => {
  sharedPageOptions.tracked = true;
});

/** Runs `specs` on the host, returning the outcome and the pages its coherence step compared. */
function run(specs: DomainSpec[], options: HostOptions) {
  const host = new DomainHost(specs, options);
  const outcome = host.run();
  return { outcome, compared: host.pagesCompared };
}

/**
 * The runs comparing every shared page after every turn, tracking nothing, by configuration: the reference of the
 * tests below, made once for both engines — simulated results never depend on the engine, so the interpreter's
 * run is the JIT's reference too (and the comparison then also holds the two engines to one outcome).
 */
const untracked = new Map<string, ReturnType<typeof run>>();

/** The run with write tracking (the host's default) under `options`, and the run comparing every shared page after every turn (`reference`'s, by the interpreter). */
function bothWays(reference: string, specs: () => DomainSpec[], options: HostOptions) {
  const tracked = run(specs(), options);
  let all = untracked.get(reference);
  if (all === undefined) {
    sharedPageOptions.tracked = false;
    try {
      untracked.set(reference, (all = run(specs(), { ...options, engine: "interp", jitThreshold: undefined })));
    } finally {
      sharedPageOptions.tracked = true;
    }
  }
  return { tracked, all };
}

/** The cooperating guests (guests.ts sharer, mapper) on `hv`: both must power off with 0. */
function cooperating(hv: string, engine: Engine, marker: boolean) {
  const r = run(
    [
      { name: "sharer", image: guest("sharer", sharer(PAGES, BASE, SPIN, marker)) },
      { name: "mapper", image: guest("mapper", mapper(PAGES, BASE, SPIN, marker)) },
    ],
    { backend: hv, engine },
  );
  expect(r.outcome.domains.map((d) => d.result)).toEqual([{ kind: "poweroff", exitCode: 0 }, { kind: "poweroff", exitCode: 0 }]);
  return r;
}

describe.each(["xen", "l4", "hvm"])("cooperating guests sharing 1,024 pages on %s", (hv) => {
  it.each(["interp", "jit"] as const)("nobody writes them: the host compares none, ever (%s)", (engine) => {
    const { outcome, compared } = cooperating(hv, engine, false);
    expect(outcome.ops).toEqual({ GNT_GRANT: PAGES, GNT_MAP: PAGES }); // all shared, to the end
    expect(outcome.cycles).toBeGreaterThan(2 * SPIN); // thousands of windows with 1,024 pages shared
    expect(compared).toBe(0);
    expect(outcome.pageCopies).toBe(0);
  });

  it.each(["interp", "jit"] as const)("the mapper writes one of them once: that page alone is compared, once, and reaches the sharer (%s)", (engine) => {
    // The sharer powers off with 0 only once the mapper's marker is in its own last page.
    const { outcome, compared } = cooperating(hv, engine, true);
    expect(compared).toBe(1);
    expect(outcome.pageCopies).toBe(1);
  });
});

const kernels = new Map<string, ReturnType<typeof buildKernel>["image"]>();
const kernel = (w: "io" | "blkback") => {
  if (!kernels.has(w)) kernels.set(w, buildKernel({ workload: w }).image);
  return kernels.get(w)!;
};

/** A driver domain (blkback) serving the io workload's disk, its client on `cpus` CPUs: ring and data pages shared, written both ways. */
const driverVm = (cpus = 1) => (): DomainSpec[] => [
  { name: "driver", image: kernel("blkback"), role: "driver", serves: ["block"], disk: new Uint8Array(kernelDiskBytes()) },
  { name: "client", image: kernel("io"), uses: { block: "driver" }, cpus },
];

/** The isolation test's pair: the peer writes the victim's secret, mapped read-only (restored and counted). */
const readOnlyWrite = (): DomainSpec[] => [
  { name: "victim", image: guest("victim", victim), uses: { block: "peer" } },
  { name: "peer", image: guest("peer", peer(true, HC_ERROR)), serves: ["block"], disk: new Uint8Array(4096) },
];

describe.each(["xen", "l4", "hvm"])("tracking writes changes nothing simulated, on %s", (hv) => {
  it.each(["interp", "jit"] as const)("a driver VM serving the io workload, its driver crashed and restarted once: the same outcome as comparing every page (%s)", (engine: Engine) => {
    const { tracked, all } = bothWays(`${hv} driver VM, crash`, driverVm(), {
      backend: hv,
      engine,
      jitThreshold: engine === "jit" ? 1 : undefined,
      maxCycles: 400_000_000,
      crashes: [{ domain: "driver", at: 1_200_000, kind: "wild-store", seed: 7 }],
    });
    expect(tracked.outcome.exitCode).toBe(0);
    expect(tracked.outcome.domains[0].restarts.length).toBe(1);
    expect(tracked.outcome.pageCopies).toBeGreaterThan(100); // rings and data pages, written both ways
    expect(JSON.stringify(tracked.outcome)).toBe(JSON.stringify(all.outcome));
    // Host work: the pages some side wrote, not every page after every turn.
    expect(tracked.compared).toBeLessThan(all.compared / 4);
  });

  it.each(["interp", "jit"] as const)("a driver VM serving a 2-CPU client (every CPU's TLB protects the shared frames): the same outcome as comparing every page (%s)", (engine: Engine) => {
    const { tracked, all } = bothWays(`${hv} driver VM, 2-CPU client`, driverVm(2), { backend: hv, engine, jitThreshold: engine === "jit" ? 1 : undefined, maxCycles: 400_000_000 });
    expect(tracked.outcome.exitCode).toBe(0);
    expect(tracked.outcome.domains[1].console).toContain("selfcheck: ok");
    expect(JSON.stringify(tracked.outcome)).toBe(JSON.stringify(all.outcome));
    expect(tracked.compared).toBeLessThan(all.compared / 4);
  });

  it.each(["interp", "jit"] as const)("a read-only mapped page written by its grantee: restored and counted as comparing every page does (%s)", (engine: Engine) => {
    const { tracked, all } = bothWays(`${hv} read-only write`, readOnlyWrite, { backend: hv, engine, jitThreshold: engine === "jit" ? 1 : undefined, maxCycles: 20_000_000 });
    expect(tracked.outcome.domains[0].console).toContain("victim: secret intact\n");
    expect(tracked.outcome.readOnlyWrites).toBe(1);
    expect(JSON.stringify(tracked.outcome)).toBe(JSON.stringify(all.outcome));
  });
});

/** Grants page 0x30000 (word 0: 0x5EC2E700) to domid 1 as ref 0, read-only (`ro`) or not; spins ~2 × `spin` cycles and powers off with 0. */
const granting = (ro: boolean, spin: number) => `${prelude}
main:
    li   t0, 0x30000
    li   t1, 0x5EC2E700
    sw   t1, 0(t0)
    li   a0, 1
    li   a1, 0x30000
    li   a2, ${ro ? 1 : 0}
    li   a3, HC_GNT_GRANT
    call domop
    bnez a0, fail
${spinThenOff(spin)}`;

/** From `label`: maps domid 0's ref 0 at `page`, again while it is not granted yet (ENOENT); another refusal goes to `fail`. */
const mapRef0 = (label: string, page: number) => `${label}:
    li   a0, 0
    li   a1, 0
    li   a2, ${page}
    li   a3, HC_GNT_MAP
    call domop
    li   t0, -2                 # ENOENT: not granted yet
    beq  a0, t0, ${label}
    bnez a0, fail`;

/**
 * Maps the read-only grant at 0x40000 and makes that page its page table:
 * identity for the first 4 MiB (PTE i = i << 12 | U|W|V), the directory at
 * 0x50000 (PDE 0 → 0x40000); paging on, so the monitor's shadow paging
 * write-protects the page. All in one window (the host's is large), so the
 * page first differs from the granter's when it already is a page table.
 * Spins past the window's end, then powers off with 0 when its page table
 * is still its own (PTE 0 and 1 as it wrote them), 98 otherwise.
 */
const roPageTable = `${prelude}
${mapRef0("main", 0x40000)}
    li   s1, 0x40000
    li   t1, 0
.Lfill:
    slli t2, t1, 12
    ori  t2, t2, 7
    slli t3, t1, 2
    add  t3, t3, s1
    sw   t2, 0(t3)
    addi t1, t1, 1
    li   t4, 1024
    bne  t1, t4, .Lfill
    li   s0, 0x50000
    ori  t0, s1, 1
    sw   t0, 0(s0)
    mtcr ptbr, s0
    li   t0, 1
    mtcr pgctl, t0
    li   t0, 1000000
.Lspin:
    addi t0, t0, -1
    bnez t0, .Lspin
    lw   t1, 0(s1)
    li   t2, 7
    bne  t1, t2, broken
    lw   t1, 4(s1)
    li   t2, 0x1007
    bne  t1, t2, broken
    li   a0, 0
    out  0xF0, a0
broken:
    li   a0, 98
    out  0xF0, a0
fail:
    li   a0, 99
    out  0xF0, a0
`;

describe("a read-only mapped page its grantee made a page table the monitor write-protects (hvm: shadow paging)", () => {
  it.each(["interp", "jit"] as const)("is not restored into the page table: the sharing ends, the guest's page table stays its own (%s)", (engine) => {
    const out = new DomainHost(
      [
        { name: "granter", image: guest("granter", granting(true, 3_000_000)) },
        { name: "grantee", image: guest("grantee", roPageTable) },
      ],
      { backend: "hvm", engine, window: 1_000_000, maxCycles: 50_000_000 },
    ).run();
    expect(out.domains.map((d) => d.result)).toEqual([{ kind: "poweroff", exitCode: 0 }, { kind: "poweroff", exitCode: 0 }]);
    expect(out.ops).toEqual({ GNT_GRANT: 1, GNT_MAP: 1, GNT_UNMAP: 1 }); // the host's, for the grantee
    expect(out.readOnlyWrites).toBe(0);
    expect(out.pageCopies).toBe(0);
  });
});

/** Maps ref 0 at 0x40000, stores to it and unmaps it, 100 times as fast as it can; then powers off with 0. */
const churner = `${prelude}
main:
    li   s0, 100
${mapRef0(".Lagain", 0x40000)}
    li   t0, 0x40000
    sw   s0, 0(t0)
    li   a0, 0x40000
    li   a3, HC_GNT_UNMAP
    call domop
    bnez a0, fail
    addi s0, s0, -1
    bnez s0, .Lagain
${spinThenOff(1000)}`;

describe("a guest that maps, writes and unmaps a page over and over", () => {
  it.each(["xen", "l4", "hvm"])("leaves nothing in its machine's list of written frames after any window (%s)", async (hv) => {
    const host = new DomainHost(
      [
        { name: "granter", image: guest("granter", granting(false, 4_000_000)) }, // past the churner's end
        { name: "churner", image: guest("churner", churner) },
      ],
      // Windows long enough for several rounds each: many end with nothing mapped after a store.
      { backend: hv, window: 50_000 },
    );
    let windows = 0;
    let left = 0;
    const out = await host.runSliced(async () => {
      windows++;
      for (const id of [0, 1]) left = Math.max(left, host.machineOf(id).memory.trackedWritten.length);
      return undefined;
    }, host.window);
    expect(out.domains.map((d) => d.result)).toEqual([{ kind: "poweroff", exitCode: 0 }, { kind: "poweroff", exitCode: 0 }]);
    expect(out.ops).toMatchObject({ GNT_MAP: 100, GNT_UNMAP: 100 });
    expect(windows).toBeGreaterThan(50);
    // Every window's coherence step took them all, shared or not at its end: the list never grows.
    expect(left).toBe(0);
  });
});
