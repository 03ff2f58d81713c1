// The commands (in process, as the CLI runs them): `run --snapshot-at N
// --snapshot F`, `resume F --hv Y`, `migrate ELF --from X --to Y --at N
// [--live] [--json F] [--route …]`, and their answers to bad input — --at
// beyond the end, an unknown back end, a para-virtualized binary to a back
// end that refuses it, a plain binary to xen/l4 (allowed: it traps), a
// damaged snapshot — each one line `previrt: error: …` or a normal ending.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { BACKEND_NAMES } from "../../src/hypervisors/index.js";
import { kernel } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-migration-"));
const k = kernel("io");
const elf = join(dir, "io.elf");
writeFileSync(elf, k.elf);
const disk = () => {
  const f = join(dir, `disk-${Math.random().toString(36).slice(2)}.img`);
  writeFileSync(f, kernelDisk());
  return f;
};

async function previrt(...args: string[]) {
  const io = bufferIO();
  const status = await main(args, io);
  return { status, out: io.stdout, err: io.stderr };
}

describe("previrt run --snapshot-at / resume", () => {
  it("snapshot on xen, resume on l4: the two consoles make bare's; same back end: the uninterrupted run's cycles", async () => {
    const snap = join(dir, "a.snap");
    const d = disk();
    const first = await previrt("run", elf, "--hv", "xen", "--disk", d, "--snapshot-at", "700000", "--snapshot", snap);
    expect(first.status).toBe(0);
    expect(first.err).toMatch(new RegExp(`^${snap.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: snapshot of xen at cycle 7\\d{5}.*, \\d+ pages, \\d+ bytes\\n$`));
    const second = await previrt("resume", snap, "--hv", "l4", "--disk", disk());
    expect(second.status).toBe(0);
    expect(first.out + second.out).toBe(k.bare.console);

    const whole = await previrt("run", elf, "--hv", "xen", "--disk", disk(), "--json");
    const resumed = await previrt("resume", snap, "--hv", "xen", "--json");
    // --json alone: the document on stdout, the console on stderr (run's rule).
    expect(resumed.err).toBe(k.bare.console.slice(first.out.length));
    expect(JSON.parse(resumed.out).cycles).toBe(JSON.parse(whole.out).cycles);
    expect(JSON.parse(resumed.out).result).toEqual({ kind: "poweroff", exitCode: 0 });
  });

  it("--snapshot-at beyond the end: the guest ends normally and no snapshot is written", async () => {
    const snap = join(dir, "never.snap");
    const r = await previrt("run", elf, "--hv", "bare", "--disk", disk(), "--snapshot-at", "999999999", "--snapshot", snap);
    expect(r.status).toBe(0);
    expect(r.out).toBe(k.bare.console);
    expect(r.err).toMatch(/^previrt: no snapshot written: the guest ended at cycle \d+, before cycle 999999999\n$/);
    expect(() => readFileSync(snap)).toThrow();
  });

  it("a damaged snapshot: one line, nothing runs", async () => {
    const snap = join(dir, "b.snap");
    await previrt("run", elf, "--hv", "bare", "--disk", disk(), "--snapshot-at", "300000", "--snapshot", snap);
    const bytes = readFileSync(snap);
    bytes[bytes.length - 7] ^= 1;
    writeFileSync(snap, bytes);
    const r = await previrt("resume", snap, "--hv", "hvm");
    expect(r.status).not.toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toBe(`previrt: error: ${snap}: corrupted snapshot (checksum mismatch)\n`);
    writeFileSync(snap, bytes.subarray(0, 100));
    expect((await previrt("resume", snap, "--hv", "hvm")).err).toMatch(/^previrt: error: .*: truncated snapshot \(100 of \d+ bytes\)\n$/);
  });
});

describe("previrt migrate", () => {
  it("stop-and-copy: stdout is the whole run's console, the report on stderr and in --json", async () => {
    const json = join(dir, "m.json");
    const r = await previrt("migrate", elf, "--from", "hvm", "--to", "bare", "--at", "1000000", "--disk", disk(), "--json", json);
    expect(r.status).toBe(0);
    expect(r.out).toBe(k.bare.console);
    expect(r.err).toMatch(/^migration hvm -> bare at cycle [\d,]+.*: stop-and-copy, \d+ pages, downtime [\d,]+ cycles, \d+ sites re-patched\n$/);
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report).toMatchObject({ from: "hvm", to: "bare", mode: "stop-and-copy", migrated: true, rounds: [] });
    expect(report.downtimeCycles).toBe(report.downtimePages * 6554);
    expect(report.downtimeBytes).toBe(report.downtimePages * 4096); // stop-and-copy sends every page whole
  });

  it("--live: rounds on stderr and in --json, downtime below stop-and-copy's", async () => {
    const json = join(dir, "live.json");
    const r = await previrt("migrate", elf, "--from", "xen", "--to", "l4", "--at", "300000", "--live", "--disk", disk(), "--json", json);
    expect(r.status).toBe(0);
    expect(r.out).toBe(k.bare.console);
    expect(r.err).toMatch(/: live, \d+ rounds? \(pages [\d, ]+\), [\d,]+ pages in all, downtime [\d,]+ cycles \(\d+ pages, [\d,]+ bytes\)/);
    expect(r.err).toMatch(/\n  [\d,]+ bytes sent; [\d,]+ pages? sent before went again as XBZRLE deltas\n/);
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report.rounds.length).toBeGreaterThan(0);
    expect(report.downtimeCycles).toBeLessThan(report.stopAndCopy.downtimeCycles);
    expect(report).toMatchObject({ deltaCompression: true, budgetCycles: 13108, stopAndCopy: { bytes: report.stopAndCopy.pages * 4096 } });
    expect(report.totalBytes).toBe(report.rounds.reduce((n: number, x: { bytes: number }) => n + x.bytes, 0) + report.downtimeBytes);
  });

  it("--route: a chain through all four, one report line per move", async () => {
    const r = await previrt("migrate", elf, "--route", "bare,xen,l4,hvm,bare", "--at", "250000", "--disk", disk());
    expect(r.status).toBe(0);
    expect(r.out).toBe(k.bare.console);
    expect(r.err.split("\n").filter((l) => l.startsWith("migration ")).map((l) => l.split(" at ")[0])).toEqual([
      "migration bare -> xen", "migration xen -> l4", "migration l4 -> hvm", "migration hvm -> bare",
    ]);
  });

  it("--at beyond the end of the run: says so, exits with the guest's status", async () => {
    const r = await previrt("migrate", elf, "--from", "xen", "--to", "bare", "--at", "999999999", "--disk", disk());
    expect(r.status).toBe(0);
    expect(r.out).toBe(k.bare.console);
    expect(r.err).toMatch(/^previrt: no migration xen -> bare: the guest ended at cycle [\d,]+, before cycle 999,999,999\n$/);
  });

  it("an unknown back end: one line, nothing runs", async () => {
    const r = await previrt("migrate", elf, "--from", "bare", "--to", "vmware", "--at", "1000");
    expect(r.status).not.toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toBe(`previrt: error: unknown back end 'vmware' (valid: ${BACKEND_NAMES.join(", ")})\n`);
  });

  it("a para-virtualized binary to a back end that refuses it: one line, nothing runs", async () => {
    const pv = join(dir, "pv.elf");
    writeFileSync(pv, writeElf(buildKernel({ workload: "syscall", paravirt: "xen" }).image));
    const r = await previrt("migrate", pv, "--from", "xen", "--to", "l4", "--at", "1000");
    expect(r.status).not.toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toBe(`previrt: error: ${pv}: para-virtualized for xen; run it with --hv xen\n`);
  });

  it("a plain (unannotated) binary to xen and l4: allowed, its privileged instructions trap", async () => {
    const plain = join(dir, "plain.elf");
    writeFileSync(plain, kernel("io", { annotate: false }).elf);
    for (const to of ["xen", "l4"]) {
      const r = await previrt("migrate", plain, "--from", "bare", "--to", to, "--at", "500000", "--disk", disk(), "--stats");
      expect(r.err).toMatch(new RegExp(`^migration bare -> ${to} at cycle [\\d,]+: stop-and-copy, \\d+ pages, downtime [\\d,]+ cycles\\n`));
      expect(r.err).toMatch(new RegExp(`${to}:trap\\.emulated=[1-9]`));
      expect(r.err).not.toMatch(/internal error/);
      expect(r.out.startsWith(k.bare.console.slice(0, k.bare.console.indexOf("workload:")))).toBe(true);
    }
  });
});

describe("previrt matrix --migrate", () => {
  it("every ordered pair at each point, verdict against bare; trap's divergence fails unless allowed", async () => {
    const ok = await previrt("matrix", elf, "--migrate", "--hv", "bare,xen,l4,trap", "--at", "300000,900000", "--allow-diverge", "trap", "--max-cycles", "40000000", "--disk", disk());
    expect(ok.status).toBe(0);
    const rows = ok.out.split("\n").slice(3).filter(Boolean);
    expect(rows.length).toBe(12);
    for (const r of rows.filter((x) => !x.includes("trap"))) expect(r).toMatch(/^\w+ +\w+ +same +same$/);
    const strict = await previrt("matrix", elf, "--migrate", "--hv", "bare,trap", "--at", "300000", "--max-cycles", "40000000", "--disk", disk());
    expect(strict.status).toBe(1);
    expect(strict.err).toMatch(/^previrt: error: trap -> bare at 300000 diverged from bare: diverged at line \d+\n/);
  });

});

describe("a snapshot's bytes", () => {
  // The TLB's empty slots kept the frame and permissions they last held, and were saved so: a guest restored
  // and saved again at a cycle gave other bytes than the uninterrupted run did there (the same results).
  it("a snapshot is the guest's state alone: restored and saved again at a cycle, the bytes of the uninterrupted run's", async () => {
    const cases = [
      ["syscall", "xen", []],
      ["syscall", "hvm", []],
      ["smp", "l4", ["--cpus", "2"]],
    ] as const;
    for (const [workload, hv, extra] of cases) {
      const e = join(dir, `${workload}.elf`);
      writeFileSync(e, kernel(workload).elf);
      const [whole, early, again] = ["whole", "early", "again"].map((n) => join(dir, `${workload}-${hv}-${n}.snap`));
      expect((await previrt("run", e, "--hv", hv, ...extra, "--snapshot-at", "600000", "--snapshot", whole)).status).toBe(0);
      expect((await previrt("run", e, "--hv", hv, ...extra, "--snapshot-at", "200000", "--snapshot", early)).status).toBe(0);
      expect((await previrt("resume", early, "--hv", hv, "--snapshot-at", "600000", "--snapshot", again)).status).toBe(0);
      expect(Buffer.compare(readFileSync(again), readFileSync(whole)), `${workload} on ${hv}`).toBe(0);
    }
  });
});
