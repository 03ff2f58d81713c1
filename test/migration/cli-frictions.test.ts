// What a researcher met using `previrt migrate` from the docs alone (the
// command in process, as the CLI runs it), each fixed:
// - `--pcpus` with bare anywhere on a --route was refused only when the
//   guest reached bare, after it had run and printed on the hypervisors
//   before; now before it runs, as every other check of the route;
// - a live move whose guest ended while pre-copy was still sending memory
//   said it ended "before a safe point at or after cycle N", though it ran
//   far past N; now it says it ended during pre-copy, from where;
// - a live move after an earlier live one that ended past its point
//   compared itself with a stop-and-copy "from cycle N" (the requested point)
//   while pre-copy, and the comparison, began where the guest was;
// - "1 pages";
// - `--max-cycles` below the point (migrate) or not past the snapshot's
//   clock (resume: it counts from reset) stopped the guest before it moved
//   or ran, with a register dump; now one line saying so;
// - `run`/`resume --snapshot-at N --snapshot F` ignored --json and --stats
//   (no file, status 0): now the counters up to the snapshot, with the
//   result `{kind: "snapshot", cycle, snapshot}`;
// - `run` and `resume` take the memory-mapped disk (--nvdisk, --passthrough)
//   but `migrate` did not: now it does, the nvdisk moving with the guest;
// - `resume -` (after `run --snapshot -`) said "-: no such file or
//   directory": now why standard input is not read;
// - a guest that rewrote one of its sites is refused a move (no test did
//   it); the line now names the move and the cycle.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { formatReport } from "../../src/migration/report.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { buildAsm } from "../hypervisors/helpers.js";
import { expectSameBytes } from "../same-bytes.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-migrate-frictions-"));
const elf = join(dir, "smc-smp.elf");
writeFileSync(elf, buildAsm("fixtures/guests/smc-smp.s").bytes);

async function previrt(...args: string[]) {
  const io = bufferIO();
  const status = await main(args, io);
  return { status, out: io.stdout, err: io.stderr };
}

describe("previrt migrate: what a user met", () => {
  it("--pcpus with bare on the route: one line before the guest runs, whichever move reaches bare", async () => {
    for (const route of ["xen,bare", "xen,l4,bare", "bare,xen"]) {
      const r = await previrt("migrate", elf, "--cpus", "2", "--pcpus", "1", "--route", route, "--at", "1000");
      expect(r, route).toEqual({ status: 1, out: "", err: "previrt: error: --pcpus needs a hypervisor back end (bare has one physical CPU per CPU)\n" });
    }
    const ok = await previrt("migrate", elf, "--cpus", "2", "--pcpus", "1", "--route", "xen,l4", "--at", "1000");
    expect(ok.status).toBe(0);
    expect(ok.out).toBe("smc counter 22000\n");
  });

  it("a live move the guest ends during: says it ended during pre-copy, from which cycle, after how many rounds", async () => {
    const r = await previrt("migrate", elf, "--cpus", "2", "--from", "bare", "--to", "xen", "--at", "400000", "--live", "--json", "-");
    expect(r.status).toBe(0);
    expect(r.err).toBe("smc counter 22000\nprevirt: no migration bare -> xen: the guest ended at cycle 429,832, during live pre-copy (2 rounds from cycle 400,000), before it could be stopped and moved\n");
    expect(JSON.parse(r.out)).toMatchObject({ migrated: false, precopyStart: 400_000, stoppedAt: 429_832 });
    expect(JSON.parse(r.out).rounds).toHaveLength(2);
  });

  it("a live move that starts past its point: pre-copy, and stop-and-copy's comparison, from where the guest was", async () => {
    const r = await previrt("migrate", elf, "--route", "xen,l4,bare", "--at", "1000,2000", "--live", "--json", "-");
    expect(r.status).toBe(0);
    const [first, second] = JSON.parse(r.out);
    expect(first.stoppedAt).toBeGreaterThan(2000);
    expect(second.precopyStart).toBe(first.stoppedAt);
    const lines = r.err.split("\n").filter((l) => l.startsWith("  stop-and-copy from cycle "));
    expect(lines.map((l) => l.split(" would ")[0])).toEqual([
      `  stop-and-copy from cycle ${first.precopyStart.toLocaleString("en-US")}`,
      `  stop-and-copy from cycle ${second.precopyStart.toLocaleString("en-US")}`,
    ]);
  });

  it("one page is '1 page'", () => {
    const live = { from: "bare", to: "xen", mode: "live" as const, at: 10, precopyStart: 10, migrated: true, stoppedAt: 20, deferredSteps: 0, rounds: [{ pages: 1, bytes: 4096, deltas: 0, cycles: 6554, dirtied: 0 }], precopyStop: "budget" as const, budgetPages: 2, budgetCycles: 13_108, deltaCompression: true, deltaPages: 0, totalPages: 2, totalBytes: 8192, downtimePages: 1, downtimeBytes: 4096, downtimeCycles: 6554, totalCycles: 13_108, sitesRepatched: 0, stopAndCopy: { pages: 1, bytes: 4096, downtimeCycles: 6554 } };
    const text = formatReport(live);
    expect(text).toContain("live, 1 round (pages 1), 2 pages in all, downtime 6,554 cycles (1 page, 4,096 bytes)");
    expect(text).toContain("would stop the guest for 6,554 cycles (1 page, 4,096 bytes)");
    expect(formatReport({ ...live, mode: "stop-and-copy", rounds: [], totalPages: 1 })).toBe("migration bare -> xen at cycle 20: stop-and-copy, 1 page, downtime 6,554 cycles\n");
  });

  it("--max-cycles before the last move (migrate) or not past the snapshot's cycle (resume): one line, nothing runs", async () => {
    expect(await previrt("migrate", elf, "--route", "xen,l4,bare", "--at", "100000", "--max-cycles", "150000")).toEqual({ status: 1, out: "", err: "previrt: error: --max-cycles 150000 would stop the guest before its move at cycle 200000\n" });
    const snap = join(dir, "at100k.snap");
    expect((await previrt("run", elf, "--hv", "xen", "--snapshot-at", "100000", "--snapshot", snap)).status).toBe(0);
    expect(await previrt("resume", snap, "--hv", "l4", "--max-cycles", "50000")).toEqual({ status: 1, out: "", err: "previrt: error: --max-cycles 50000 is not past the snapshot's cycle 100003: it counts from the guest's reset (--max-cycles 150003 runs 50000 more)\n" });
    const more = await previrt("resume", snap, "--hv", "l4", "--max-cycles", "150000");
    expect(more.status).toBe(124);
    expect(more.err).toMatch(/^previrt: error: stopped after 1500\d\d cycles \(--max-cycles 150000\)\n/);
  });

  it("--snapshot-at with --json and --stats: the counters up to the snapshot", async () => {
    const snap = join(dir, "counted.snap");
    const json = join(dir, "counted.json");
    const r = await previrt("run", elf, "--hv", "xen", "--snapshot-at", "100000", "--snapshot", snap, "--json", json, "--stats");
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/^.*counted\.snap: snapshot of xen at cycle 100003, \d+ pages, \d+ bytes\ninstructions +\d+\ncycles +100003\n/);
    const doc = JSON.parse(readFileSync(json, "utf8"));
    expect(doc).toMatchObject({ backend: "xen", file: elf, result: { kind: "snapshot", cycle: 100_003, snapshot: snap, exitCode: 0 }, cycles: 100_003 });
    const again = await previrt("resume", snap, "--hv", "l4", "--snapshot-at", "200000", "--snapshot", join(dir, "counted2.snap"), "--json");
    expect(again.status).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ backend: "l4", file: snap, result: { kind: "snapshot", cycle: 200_005 } });
  });

  it("--nvdisk [--passthrough]: the nvdisk moves with the guest; the console and the image are bare's", async () => {
    const io = join(dir, "io.elf");
    writeFileSync(io, writeElf(buildKernel({ workload: "io" }).image));
    const image = (name: string) => {
      writeFileSync(join(dir, name), kernelDisk());
      return join(dir, name);
    };
    const bare = await previrt("run", io, "--hv", "bare", "--nvdisk", image("nv-bare.img"));
    expect(bare.status).toBe(0);
    for (const extra of [["--passthrough", "--live"], []]) {
      const nv = image(`nv-${extra.join("")}.img`);
      const r = await previrt("migrate", io, "--route", "xen,hvm,bare,l4", "--at", "300000", "--nvdisk", nv, ...extra);
      expect(r.status, r.err).toBe(0);
      expect(r.err.split("\n").filter((l) => l.startsWith("migration "))).toHaveLength(3);
      expect(r.out).toBe(bare.out);
      expectSameBytes(readFileSync(nv), readFileSync(join(dir, "nv-bare.img")), extra.join(" "));
    }
    expect((await previrt("migrate", io, "--route", "bare,xen", "--at", "1000", "--nvdisk", image("nv-x.img"), "--passthrough")).err).toBe("previrt: error: --hv bare cannot pass a device through (bare metal has no hypervisor to bypass)\n");
  });

  it("resume -: says why standard input is not read", async () => {
    expect(await previrt("resume", "-", "--hv", "xen")).toEqual({ status: 1, out: "", err: "previrt: error: -: resume reads a snapshot from a file, not standard input (the resumed guest's console input): save it with --snapshot FILE\n" });
  });

  it("a guest that rewrote one of its sites: the move is refused in one line naming it (migrate, live too, and resume elsewhere)", async () => {
    // Loops over a cli/sti pair, then overwrites the cli site's first word and spins (prints O at the end).
    const src = join(dir, "site-smc.s");
    writeFileSync(
      src,
      "    .text\n    .global _start\n_start:\n    li   s0, 0\n.Lloop:\n    cli\n    sti\n    addi s0, s0, 1\n    li   t0, 2000\n    bne  s0, t0, .Lloop\n" +
        "    la   t0, _start\n    lw   t1, 0(t0)\n    la   t2, .Lloop\n    sw   t1, 0(t2)\n    li   s0, 0\n.Lspin:\n    addi s0, s0, 1\n    li   t0, 20000\n    bne  s0, t0, .Lspin\n" +
        "    li   t0, 79\n    out  0x10, t0\n    out  0xF0, zero\n",
    );
    const bin = join(dir, "site-smc.elf");
    expect((await previrt("build", src, "-o", bin)).status).toBe(0);
    const refused = "cannot move the guest from xen to l4 at cycle 100000: the site at 0x1004 was modified while it ran (self-modifying code), which re-patching it would lose";
    expect(await previrt("migrate", bin, "--from", "xen", "--to", "l4", "--at", "100000")).toEqual({ status: 1, out: "", err: `previrt: error: ${refused}\n` });
    expect((await previrt("migrate", bin, "--from", "xen", "--to", "l4", "--at", "90000", "--live")).err).toMatch(/^previrt: error: cannot move the guest from xen to l4 at cycle 9\d{4}: the site at 0x1004 was modified/);
    const snap = join(dir, "site-smc.snap");
    expect((await previrt("run", bin, "--hv", "xen", "--snapshot-at", "100000", "--snapshot", snap)).status).toBe(0);
    expect((await previrt("resume", snap, "--hv", "l4")).err).toBe(`previrt: error: ${refused}\n`);
    expect(await previrt("resume", snap, "--hv", "xen")).toMatchObject({ status: 0, out: "O" });
  });
});
