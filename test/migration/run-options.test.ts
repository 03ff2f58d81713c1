// Snapshots keep run's contract (docs/design.md §7–8): a run stopped at a
// snapshot and resumed on the same back end ends with the uninterrupted run's
// cycles *and counters* — spin accounting (spinCycles, lockHolderPreemptions,
// ticket counts) included, under either engine — and `run --snapshot-at`
// honours what run's options ask (`--no-protect`, `--engine`; `resume` and
// `migrate` take them again, like --pcpus) or refuses what a snapshot cannot
// keep (`--spinlocks` other than native). Also the snapshot and migration
// lines: a deferral of one instruction, and a guest stopped by --max-cycles
// past N before any safe point.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { nodeZlib, readSnapshotFile } from "../../src/cli/snapshot-files.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { encodeSnapshot } from "../../src/migration/codec.js";
import { bootGuest } from "../../src/migration/guest.js";
import { parseSnapshot } from "../../src/migration/snapshot.js";
import { readElf } from "../../src/guest-isa/elf.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-run-options-"));
const f = (name: string) => join(dir, name);
const elfOf = (workload: "spinlock" | "ticketlock" | "syscall" | "smp" | "io") => {
  const file = f(`${workload}.elf`);
  writeFileSync(file, writeElf(buildKernel({ workload }).image));
  return file;
};
const spin = elfOf("spinlock");
const ticket = elfOf("ticketlock");
const io = elfOf("io");
const disk = () => {
  const file = f(`disk-${Math.random().toString(36).slice(2)}.img`);
  writeFileSync(file, kernelDisk());
  return file;
};

async function previrt(...args: string[]) {
  const cli = bufferIO();
  const status = await main(args, cli);
  return { status, out: cli.stdout, err: cli.stderr };
}

/** A run's --json document without the host's facts and the file name (not simulated). */
async function simulated(...args: string[]) {
  const r = await previrt(...args, "--json", f("out.json"));
  expect(r.status, r.err).toBe(0);
  const doc = JSON.parse(readFileSync(f("out.json"), "utf8"));
  delete doc.host;
  delete doc.file;
  return { doc, console: r.out };
}

describe("resume on the same back end: the uninterrupted run's counters", () => {
  const cases: [string, string, string[], number][] = [
    ["spinlock, xen, --pcpus 2", spin, ["--hv", "xen", "--cpus", "4", "--pcpus", "2"], 700_000],
    ["ticketlock, l4, --pcpus 1", ticket, ["--hv", "l4", "--cpus", "4", "--pcpus", "1", "--quantum", "1000"], 2_000_000],
  ];
  for (const [what, elf, opts, at] of cases) {
    it(`${what}: spinCycles, lockHolderPreemptions and the rest equal, under both engines`, async () => {
      const whole = await simulated("run", elf, ...opts);
      expect(whole.doc.counts.spinCycles).toBeGreaterThan(0);
      expect(whole.doc.counts.lockHolderPreemptions).toBeGreaterThan(0);
      const snap = f("spin.snap");
      const first = await previrt("run", elf, ...opts, "--snapshot-at", String(at), "--snapshot", snap);
      expect(first.status, first.err).toBe(0);
      // resume takes the CPUs from the snapshot and the rest of run's options again
      const again = opts.filter((_, i) => opts[i] !== "--cpus" && opts[i - 1] !== "--cpus" && opts[i] !== "--hv" && opts[i - 1] !== "--hv");
      for (const engine of ["interp", "jit"]) {
        const resumed = await simulated("resume", snap, "--hv", opts[1], ...again, "--engine", engine);
        expect(first.out + resumed.console).toBe(whole.console);
        expect(resumed.doc).toEqual(whole.doc);
      }
    });
  }

  /**
   * `run` with `opts` (its back end first: --hv X) whole, and the same run snapshotted at cycle 700,000 into
   * `name` and resumed on X with no options: the same console and --json document.
   */
  async function resumedAlone(opts: string[], name: string) {
    const whole = await simulated("run", spin, ...opts);
    const snap = f(name);
    const first = await previrt("run", spin, ...opts, "--snapshot-at", "700000", "--snapshot", snap);
    expect(first.status, first.err).toBe(0);
    const resumed = await simulated("resume", snap, "--hv", opts[1]);
    expect(first.out + resumed.console).toBe(whole.console);
    expect(resumed.doc).toEqual(whole.doc);
    return { whole, first, snap };
  }

  it("resume on the same back end without --pcpus continues the snapshot's schedule; --pcpus of its own starts another", async () => {
    const { whole, first, snap } = await resumedAlone(["--hv", "xen", "--cpus", "4", "--pcpus", "2", "--timeslice", "40000"], "schedule.snap");
    // Given --pcpus, the resume runs that schedule (here every vCPU on a physical CPU of its own: nothing descheduled later).
    const own = await simulated("resume", snap, "--hv", "xen", "--pcpus", "4");
    expect(own.doc.counts.descheduledCycles).toBeLessThan(whole.doc.counts.descheduledCycles);
    expect(first.out + own.console).toBe(whole.console);
    // Given --timeslice alone: the snapshot's two physical CPUs, sliced afresh (not refused for want of --pcpus).
    const sliced = await simulated("resume", snap, "--hv", "xen", "--timeslice", "20000");
    expect(sliced.doc.counts.descheduledCycles).toBeGreaterThan(own.doc.counts.descheduledCycles);
    expect(sliced.doc).not.toEqual(whole.doc);
    expect(first.out + sliced.console).toBe(whole.console);
  });

  it("a snapshot taken with --no-protect resumes on the same back end without the VMM's domain: the uninterrupted run's counters", async () => {
    const { whole } = await resumedAlone(["--hv", "l4", "--cpus", "4", "--no-protect"], "unprotected.snap");
    expect(whole.doc.counts["protection.checks"]).toBeUndefined();
  });

  it("a damaged spin state is refused when the snapshot is read", async () => {
    const snap = f("spin-damaged.snap");
    expect((await previrt("run", spin, "--hv", "xen", "--cpus", "4", "--snapshot-at", "500000", "--snapshot", snap)).status).toBe(0);
    const good = readSnapshotFile(snap);
    expect(good.machine.spin).toBeDefined();
    const bad = { ...good, machine: { ...good.machine, spin: { ...good.machine.spin!, owner: Int32Array.of(1, 2, 3) } } };
    expect(() => parseSnapshot(encodeSnapshot(bad, nodeZlib), "x.snap", nodeZlib)).toThrow(/^x\.snap: malformed snapshot: spin\.owner is not pairs$/);
    const wild = { ...good, machine: { ...good.machine, spin: { ...good.machine.spin!, owner: Int32Array.of(0, 9) } } };
    expect(() => parseSnapshot(encodeSnapshot(wild, nodeZlib), "x.snap", nodeZlib)).toThrow(/spin\.owner names a word or CPU that does not exist/);
  });

  it("a damaged monitor state: one line naming the snapshot, as the reader's errors do", async () => {
    const snap = f("exact.snap");
    expect((await previrt("run", spin, "--hv", "xen", "--cpus", "4", "--snapshot-at", "500000", "--snapshot", snap)).status).toBe(0);
    const good = readSnapshotFile(snap);
    writeFileSync(snap, encodeSnapshot({ ...good, exact: { ...good.exact, su: "x" } }, nodeZlib));
    const r = await previrt("resume", snap, "--hv", "xen");
    expect(r.status).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(new RegExp(`^previrt: error: ${snap.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: malformed snapshot: the xen monitor's state \\([^\n]*\\)\n$`));
  });
});

describe("resume --json", () => {
  it("names the file as run's document does (the snapshot), before backend's counters", async () => {
    const snap = f("file.snap");
    expect((await previrt("run", io, "--hv", "xen", "--disk", disk(), "--snapshot-at", "300000", "--snapshot", snap)).status).toBe(0);
    const r = await previrt("resume", snap, "--hv", "l4", "--json");
    expect(r.status, r.err).toBe(0);
    expect(Object.keys(JSON.parse(r.out)).slice(0, 3)).toEqual(["backend", "file", "result"]);
    expect(JSON.parse(r.out).file).toBe(snap);
    const never = await previrt("run", io, "--hv", "xen", "--disk", disk(), "--snapshot-at", "999999999", "--snapshot", f("never.snap"), "--json");
    expect(JSON.parse(never.out).file).toBe(io);
  });
});

describe("run --snapshot-at takes run's options", () => {
  it("--no-protect: the snapshot is of the unprotected run, and resume --no-protect ends as it does", async () => {
    const whole = await simulated("run", io, "--hv", "xen", "--disk", disk(), "--no-protect");
    expect(whole.doc.counts["protection.checks"]).toBeUndefined();
    const snap = f("np.snap");
    const first = await previrt("run", io, "--hv", "xen", "--disk", disk(), "--no-protect", "--snapshot-at", "400000", "--snapshot", snap);
    expect(first.status, first.err).toBe(0);
    const resumed = await simulated("resume", snap, "--hv", "xen", "--no-protect");
    expect(first.out + resumed.console).toBe(whole.console);
    expect(resumed.doc).toEqual(whole.doc);
  });

  it("--engine and --no-protect reach the migration code's machine and monitor", () => {
    const elf = new Uint8Array(readFileSync(io));
    for (const engine of ["interp", "jit"] as const) {
      const g = bootGuest(elf, readElf(elf), "xen", { engine, protect: false });
      expect(g.machine.engine).toBe(engine);
      expect(g.finish(300_000).kind).toBe("stopped");
      expect(g.machine.stats().counts["protection.checks"]).toBeUndefined();
    }
  });

  it("--spinlocks other than native is refused in one line (a snapshot keeps native lock sites)", async () => {
    const r = await previrt("run", spin, "--hv", "xen", "--cpus", "4", "--pcpus", "2", "--spinlocks", "pv", "--snapshot-at", "500000", "--snapshot", f("pv.snap"));
    expect(r.status).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe("previrt: error: --spinlocks pv cannot be used with --snapshot-at: snapshots and migration keep the native lock sites (docs/migration.md)\n");
    const native = await previrt("run", spin, "--hv", "xen", "--cpus", "4", "--spinlocks", "native", "--snapshot-at", "500000", "--snapshot", f("native.snap"));
    expect(native.status, native.err).toBe(0);
  });
});

describe("the snapshot and migration lines", () => {
  it("one instruction of deferral is '1 instruction'", async () => {
    // Cycle 358,923 finds the kernel one instruction into a site (pc 0x43d4, inside the site at 0x43cc).
    const r = await previrt("run", elfOf("syscall"), "--hv", "xen", "--snapshot-at", "358923", "--snapshot", f("one.snap"));
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/: snapshot of xen at cycle \d+ \(1 instruction past 358,?923: pc 0x43d4 is inside the site at 0x43cc\)/);
  });

  it("stopped by --max-cycles past N before a safe point: the line does not say it ended before N", async () => {
    const smp = elfOf("smp");
    const opts = ["--cpus", "2", "--max-cycles", "1000"];
    const m = await previrt("migrate", smp, "--from", "xen", "--to", "bare", "--at", "500", ...opts);
    expect(m.status).toBe(124);
    expect(m.err).toMatch(/^previrt: no migration xen -> bare: the guest ended at cycle 1,\d{3}, before a safe point at or after cycle 500\n/m);
    const s = await previrt("run", smp, "--hv", "xen", "--snapshot-at", "500", "--snapshot", f("none.snap"), ...opts);
    expect(s.status).toBe(124);
    expect(s.err).toMatch(/^previrt: no snapshot written: the guest ended at cycle 1\d{3}, before a safe point at or after cycle 500\n/m);
  });
});
