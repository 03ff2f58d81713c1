// README "Adding a back end", played by a user: a back end written here, in
// the test file, as the README's skeleton has it — a Backend with a Monitor
// of its own — run through the functions the CLI uses (runElfOn, as
// `previrt run` and the matrix's cells do; the multi-guest host, as
// `previrt run --guest` does; bootGuest, captureSnapshot and restoreGuest,
// as `--snapshot-at`, `resume` and `migrate` do). The bundled kernel must
// print what it prints on bare metal and end the same, under both engines,
// on two CPUs, resumed from a snapshot and moved onto it, and the counters
// must show the monitor at work. So the README's skeleton and the
// Backend/Monitor interfaces it names cannot drift apart unnoticed.
//
// "mine" is hardware-assisted virtualization with nested paging: every
// sensitive instruction exits to the monitor, which counts it, charges a VM
// exit and has the hardware execute it; the guest's own page tables are the
// MMU's (no shadow paging), so the guest's virtual state is the CPU's.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { INSTRUCTIONS, OP, type Mnemonic } from "../../src/guest-isa/isa-table.js";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { bareExport, bareImport, type MigratableMonitor, type NeutralState } from "../../src/hypervisors/common/neutral-state.js";
import { DomainHost } from "../../src/hypervisors/domains/host.js";
import { countVmmEntries, getBackend, prepareGuestOn, runElf, runElfOn, type Backend, type MonitorOptions } from "../../src/hypervisors/index.js";
import { guestRegistersApart } from "../../src/machine/diagnosis.js";
import { buildMachine } from "../../src/machine/run-image.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import type { Machine } from "../../src/machine/machine.js";
import type { ExitAction, Monitor, TrapDisposition, TrapInfo } from "../../src/machine/monitor.js";
import { EVENT_ID } from "../../src/machine/stats.js";
import { bootGuest, checkMigratable } from "../../src/migration/guest.js";
import { runToSafePoint } from "../../src/migration/safe-point.js";
import { captureSnapshot, restoreGuest } from "../../src/migration/snapshot.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { buildAsm } from "./helpers.js";

/** Every sensitive instruction exits (the hardware closes the virtualization hole). */
const EXITS: readonly Mnemonic[] = INSTRUCTIONS.filter((r) => r.sensitive).map((r) => r.mnemonic as Mnemonic);

class MineMonitor implements Monitor, MigratableMonitor {
  readonly name = "mine";
  readonly exits = EXITS;
  private machine!: Machine;
  /** `exit:MNEMONIC` counter ids by opcode, looked up once (no string lookup per exit). */
  private readonly exitIds = new Int32Array(64);
  private interruptId = 0;

  constructor(readonly options: MonitorOptions) {}

  attach(machine: Machine): void {
    this.machine = machine;
    for (const m of EXITS) this.exitIds[OP[m]] = machine.counterId(`exit:${m}`);
    this.interruptId = machine.counterId("exit:interrupt");
  }

  onExit(_mnemonic: Mnemonic, word: number): ExitAction {
    this.machine.countAt(this.exitIds[word & 63]);
    this.machine.chargeAt(EVENT_ID.vmExit);
    return "native"; // the hardware executes it, privilege checks and all
  }

  onException(trap: TrapInfo): TrapDisposition {
    if (trap.cause >= CAUSE.INTERRUPT_BASE) {
      // An external interrupt exits; the monitor injects it.
      this.machine.countAt(this.interruptId);
      this.machine.chargeAt(EVENT_ID.vmExit);
      this.machine.chargeAt(EVENT_ID.interruptInjection);
    }
    return "deliver";
  }

  // Snapshots and migration (src/hypervisors/common/neutral-state.ts): the guest's state is the CPU's.
  exportNeutral(): NeutralState {
    return bareExport(this.machine);
  }
  importNeutral(s: NeutralState): void {
    bareImport(this.machine, s);
  }
  saveExact(): Record<string, unknown> {
    return {};
  }
  restoreExact(): void {}
}

const mine: Backend = {
  name: "mine",
  description: "hardware-assisted with nested paging: every sensitive instruction exits; the guest's page tables are the MMU's",
  // Every site stays native: the monitor catches the instructions themselves.
  target: { name: "mine", replacements: {} },
  // Its state is the CPU's, so one vCPU per machine CPU needs nothing per vCPU.
  maxCpus: 8,
  // Its VMM is entered by VM exits only, counted `exit:KIND` (MineMonitor).
  vmmEntries: { calls: ["exit:"], others: [] },
  createMonitor: (_rewrite, options) => new MineMonitor(options),
};

const MAX_CYCLES = 400_000_000;
const mixed = buildKernel({ workload: "mixed" }).image;
/** What must agree across back ends and engines: the console, the ending, the simulated cycles and counters. */
const facts = (o: ReturnType<typeof runElf>) => ({ console: o.console, result: o.result, cycles: o.stats.cycles, counts: o.stats.counts, events: o.stats.events });

/** README's section "Adding a back end". */
const README = (() => {
  const text = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  return text.slice(text.indexOf("## Adding a back end\n"), text.indexOf("\n## ", text.indexOf("## Adding a back end\n") + 1));
})();

describe("README 'Adding a back end' and this file agree", () => {
  it("the skeleton's fields are the fields of the back end here", () => {
    const block = /```ts\n([\s\S]*?)```/.exec(README)![1];
    const fields = [...block.matchAll(/^\s+(\w+): /gm)].map((m) => m[1]);
    expect(fields).toEqual(Object.keys(mine));
  });

  it("every file and folder it names exists (but the example's own)", () => {
    const paths = [...README.matchAll(/\b(?:src|test|docs)\/[\w./{},-]*\w/g)].map((m) => m[0]).filter((p) => !p.includes("/mine/"));
    // test/hypervisors/{a,b}.test.ts: each.
    const expanded = paths.flatMap((p) => {
      const m = /^(.*)\{([^}]*)\}(.*)$/.exec(p);
      return m ? m[2].split(",").map((x) => m[1] + x + m[3]) : [p];
    });
    expect(expanded.length).toBeGreaterThan(10);
    for (const p of expanded) expect(existsSync(new URL(`../../${p}`, import.meta.url)), p).toBe(true);
  });
});

describe("a back end of one's own, as README 'Adding a back end' writes it", () => {
  it("runs the bundled kernel as bare metal does, and its monitor's exits are counted and charged", () => {
    const ref = runElf(mixed, { backend: "bare", maxCycles: MAX_CYCLES, disk: kernelDisk() });
    const out = runElfOn(mine, mixed, { maxCycles: MAX_CYCLES, disk: kernelDisk() });
    expect(ref.console).toMatch(/selfcheck: ok\n$/);
    expect(out.console).toBe(ref.console);
    expect(out.result).toEqual(ref.result);
    expect(out.rewrite.counts).toMatchObject({ inline: 0, call: 0, stub: 0 });
    const counts = out.stats.counts;
    // The kernel's interrupt flag, page tables and devices all pass through the monitor.
    for (const m of ["wrpsr", "rdpsr", "cli", "mtcr", "mfcr", "iret", "out", "in", "interrupt"]) expect(counts[`exit:${m}`] ?? 0, m).toBeGreaterThan(0);
    const exits = Object.entries(counts).filter(([k]) => k.startsWith("exit:")).reduce((n, [, v]) => n + v, 0);
    expect(out.stats.events.vmExit).toBe(exits);
    expect(out.stats.cycles).toBeGreaterThan(ref.stats.cycles);
  });

  it("gives the same cycles, counters and console under the interpreter and the JIT (translating every block: threshold 1)", () => {
    const run = (engine: "interp" | "jit") => runElfOn(mine, mixed, { maxCycles: MAX_CYCLES, disk: kernelDisk(), engine, jitThreshold: 1 });
    const interp = run("interp");
    const jit = run("jit");
    expect(jit.host.jit?.translations ?? 0, "the JIT translated the kernel").toBeGreaterThan(0);
    expect(facts(jit)).toEqual(facts(interp));
  });

  it("runs on two CPUs (maxCpus) as bare metal does; one past maxCpus is refused", () => {
    const smp = buildKernel({ workload: "smp" }).image;
    const ref = runElf(smp, { backend: "bare", maxCycles: MAX_CYCLES, disk: kernelDisk(), cpus: 2 });
    const out = runElfOn(mine, smp, { maxCycles: MAX_CYCLES, disk: kernelDisk(), cpus: 2 });
    expect(ref.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(out.console).toBe(ref.console);
    expect(out.result).toEqual(ref.result);
    expect(() => runElfOn({ ...mine, maxCpus: undefined }, smp, { cpus: 2 })).toThrow(new UserError("--hv mine runs at most 1 CPU (asked for --cpus 2)"));
  });

  it("hosts several guests (previrt run --guest): each prints what it prints alone on bare metal", () => {
    const hello = readElf(buildAsm("fixtures/guests/hello.s", { annotate: false }).bytes);
    const syscall = buildKernel({ workload: "syscall" }).image;
    const out = new DomainHost([{ name: "hello", image: hello }, { name: "k", image: syscall }], { backend: mine, maxCycles: MAX_CYCLES }).run();
    expect(out.domains.map((d) => d.console)).toEqual([runElf(hello).console, runElf(syscall, { maxCycles: MAX_CYCLES }).console]);
    expect(out.exitCode).toBe(0);
  });

  it("is snapshotted and resumed on itself cycle-exactly, and takes a running guest moved from hvm (its MigratableMonitor)", () => {
    // Through the functions `previrt run --snapshot-at`, `resume` and `migrate` use. (Moving a guest away
    // from it needs it registered: a snapshot names its back end, whose sites the target restores.)
    const elf = writeElf(mixed);
    const at = 2_000_000;
    const unbroken = bootGuest(elf, mixed, mine, { disk: memoryDisk(kernelDisk()) });
    const ending = unbroken.finish(MAX_CYCLES);
    const stopped = bootGuest(elf, mixed, mine, { disk: memoryDisk(kernelDisk()) });
    expect(runToSafePoint(stopped, at).reached).toBe(true);
    const resumed = restoreGuest(captureSnapshot(stopped), mine, { image: mixed });
    expect(resumed.info.exact).toBe(true);
    expect(resumed.guest.finish(MAX_CYCLES)).toEqual(ending);
    expect(resumed.guest.console).toBe(unbroken.console);
    expect(resumed.guest.cycles).toBe(unbroken.cycles);

    const bare = runElf(mixed, { backend: "bare", maxCycles: MAX_CYCLES, disk: kernelDisk() });
    const source = bootGuest(elf, mixed, "hvm", { disk: memoryDisk(kernelDisk()) });
    expect(runToSafePoint(source, at).reached).toBe(true);
    const moved = restoreGuest(captureSnapshot(source), mine, { image: mixed });
    expect(moved.info.exact).toBe(false);
    expect(moved.guest.finish(MAX_CYCLES)).toEqual(bare.result);
    expect(moved.guest.console).toBe(bare.console);
  });

  it("is counted as the benches count a back end's VMM entries (its vmmEntries: bench --smp's hcalls/exits, --drivers' VMM entries)", () => {
    const out = runElfOn(mine, mixed, { maxCycles: MAX_CYCLES, disk: kernelDisk() });
    const exits = Object.entries(out.stats.counts).filter(([k]) => k.startsWith("exit:")).reduce((n, [, v]) => n + v, 0);
    expect(exits).toBeGreaterThan(0);
    expect(countVmmEntries(mine, out.stats.counts, "calls")).toBe(exits);
    expect(countVmmEntries(mine, out.stats.counts, "all")).toBe(exits);
    // Without it, the default is the wedge monitors' `mine:hcall.*`, which this monitor never counts.
    expect(countVmmEntries({ ...mine, vmmEntries: undefined }, out.stats.counts, "all")).toBe(0);
  });

  it("shows no virtual CPU apart from the real one (no guestRegisters), as a deprivileging back end would", () => {
    const { rewrite } = prepareGuestOn(mine, mixed);
    const monitor = mine.createMonitor!(rewrite, { cpus: 1 });
    const { machine } = buildMachine(rewrite.image, { monitor, disk: kernelDisk() });
    expect(guestRegistersApart(machine)).toBeUndefined();
    // A deprivileged kernel's virtual CPU is apart: xen's, from its first instruction (virtual supervisor, real user).
    const xen = getBackend("xen");
    const prepared = prepareGuestOn(xen, mixed);
    const onXen = buildMachine(prepared.rewrite.image, { monitor: xen.createMonitor!(prepared.rewrite, { cpus: 1 }), disk: kernelDisk() }).machine;
    expect(guestRegistersApart(onXen)?.psr).toBe(bareExport(machine).psr);
  });

  it("offers no --passthrough unless it says so; an unfaithful back end hosts no guests", () => {
    const nvdisk = memoryDisk(kernelDisk());
    expect(() => runElfOn(mine, mixed, { nvdisk, passthrough: true })).toThrow(
      new UserError("--hv mine cannot pass a device through (it offers none: previrt run --help names the back ends that do)"),
    );
    const hello = readElf(buildAsm("fixtures/guests/hello.s", { annotate: false }).bytes);
    const specs = [{ name: "a", image: hello }, { name: "b", image: hello }];
    expect(() => new DomainHost(specs, { backend: { ...mine, unfaithful: "its psr reads are the real psr" } })).toThrow(new UserError("several guests run on xen, l4 or hvm, not mine"));
  });

  it("is refused in one line for snapshots and moves when its monitor is no MigratableMonitor", () => {
    const { rewrite } = prepareGuestOn(mine, mixed);
    expect(() => checkMigratable(mine, mine.createMonitor!(rewrite, { cpus: 1 }))).not.toThrow();
    const plain: Backend = { ...mine, createMonitor: () => ({ name: "plain", exits: EXITS, onExit: () => "native" }) };
    expect(() => checkMigratable(plain, plain.createMonitor!(rewrite, { cpus: 1 }))).toThrow(
      new UserError("--hv mine cannot snapshot or move a guest: its monitor is no MigratableMonitor (src/hypervisors/common/neutral-state.ts)"),
    );
  });
});
