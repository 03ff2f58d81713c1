// The multiprocessor options on the command line, in-process: `run --cpus`
// (console, --stats per-CPU lines, --json perCpu), a snapshot of a 4-CPU
// guest resumed by `resume` (which takes the snapshot's CPUs), and bad
// input — --cpus 0 or 9, --pcpus above --cpus, --pcpus on bare, a bad
// --quantum — as one `previrt: error:` line and status 1 on every command
// that takes the options.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { buildAsm } from "../hypervisors/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-smp-"));
const counter = join(dir, "counter-lock.elf");
writeFileSync(counter, buildAsm("fixtures/smp/counter-lock.s", { annotate: false }).bytes);

async function cli(...args: string[]) {
  const io = bufferIO(new Uint8Array());
  const status = await main(args, io);
  return { status, stdout: io.stdout, stderr: io.stderr };
}

describe("previrt run --cpus", () => {
  it("runs every CPU: the exact counter, a --stats line per CPU, perCpu in --json", async () => {
    const r = await cli("run", counter, "--hv", "bare", "--cpus", "4", "--stats");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("counter 40000\n");
    for (const n of [0, 1, 2, 3]) expect(r.stderr).toMatch(new RegExp(`^cpu ${n} +cycles=\\d+ instructions=\\d+ idle=\\d+ descheduled=0$`, "m"));
    const j = await cli("run", counter, "--hv", "bare", "--cpus", "3", "--quantum", "2500", "--json");
    const doc = JSON.parse(j.stdout);
    expect(doc.perCpu).toHaveLength(3);
    expect(doc.cycles).toBe(Math.max(...doc.perCpu.map((c: { cycles: number }) => c.cycles)));
  });

  it("snapshot at cycle 200,000 and resume: the same console and status as the whole run", async () => {
    const whole = await cli("run", counter, "--hv", "bare", "--cpus", "4", "--json", join(dir, "whole.json"));
    const snap = join(dir, "c.snap");
    const s = await cli("run", counter, "--hv", "bare", "--cpus", "4", "--snapshot-at", "200000", "--snapshot", snap);
    expect(s.status).toBe(0);
    expect(s.stderr).toMatch(/snapshot of bare at cycle 2\d\d\d\d\d/);
    const r = await cli("resume", snap, "--hv", "bare");
    expect(r.status).toBe(whole.status);
    expect(s.stdout + r.stdout).toBe(whole.stdout);
    expect((await cli("resume", snap, "--hv", "bare", "--pcpus", "2")).stderr).toBe("previrt: error: --pcpus needs a hypervisor back end (bare has one physical CPU per CPU)\n");
  });
});

describe("bad multiprocessor options: one line, status 1", () => {
  const cases: [string[], string][] = [
    [["run", counter, "--hv", "bare", "--cpus", "0"], "--cpus must be a whole number from 1 to 8, not 0"],
    [["run", counter, "--hv", "bare", "--cpus", "9"], "--cpus must be a whole number from 1 to 8, not 9"],
    [["run", counter, "--hv", "bare", "--cpus", "2", "--pcpus", "3"], "--pcpus must be a whole number from 1 to --cpus (2), not 3"],
    [["run", counter, "--hv", "bare", "--cpus", "2", "--pcpus", "1"], "--pcpus needs a hypervisor back end (bare has one physical CPU per CPU)"],
    [["run", counter, "--hv", "bare", "--cpus", "2", "--quantum", "0"], "--quantum must be a whole number of cycles from 1 to 1000000000, not 0"],
    [["run", counter, "--hv", "bare", "--cpus", "9", "--snapshot-at", "10", "--snapshot", join(dir, "x.snap")], "--cpus must be a whole number from 1 to 8, not 9"],
    [["matrix", counter, "--hv", "bare", "--cpus", "9", "--jobs", "1"], "--cpus must be a whole number from 1 to 8, not 9"],
    [["matrix", counter, "--hv", "bare", "--cpus", "2", "--pcpus", "1", "--jobs", "1"], "--pcpus needs a hypervisor back end (bare has one physical CPU per CPU)"],
    [["bench", "--cpus", "0", "--jobs", "1"], "--cpus must be a whole number from 1 to 8, not 0"],
    [["bench", "--cpus", "2", "--pcpus", "4", "--jobs", "1"], "--pcpus must be a whole number from 1 to --cpus (2), not 4"],
    [["migrate", counter, "--from", "bare", "--to", "bare", "--at", "1000", "--cpus", "0"], "--cpus must be a whole number from 1 to 8, not 0"],
  ];
  it.each(cases)("%j", async (args, message) => {
    const r = await cli(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`previrt: error: ${message}\n`);
    expect(r.stdout).toBe("");
  });
});
