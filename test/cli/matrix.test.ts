// `previrt matrix`: one ELF, every back end, one table; verdicts against bare
// and the exit status with and without --allow-diverge. On the bundled
// kernel, whose local_irq_restore (wrpsr) trap-and-emulate cannot virtualize.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { formatMatrix, hostMips } from "../../src/cli/commands/matrix.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { compareRuns, describeProblem, describeVerdict, isDivergence, runMatrix, type MatrixRow } from "../../src/hypervisors/matrix.js";
import { runMatrixJobs } from "../../src/hypervisors/parallel/matrix-jobs.js";
import { workersAvailable } from "../../src/hypervisors/parallel/pool.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-matrix-"));
const elf = join(dir, "kernel.elf");
writeFileSync(elf, writeElf(buildKernel({ workload: "syscall" }).image));

async function matrix(...args: string[]) {
  const io = bufferIO();
  const status = await main(["matrix", elf, ...args], io);
  return { status, out: io.stdout, err: io.stderr };
}

const row = (table: string, backend: string) => table.split("\n").find((l) => l.startsWith(backend + " ")) ?? "";

describe("previrt matrix", () => {
  it("prints one table: verdict, ending, cycles, overhead, exits/hypercalls/IPCs, sites, host speed", async () => {
    const { status, out } = await matrix("--hv", "bare,hvm", "--allow-diverge", "trap");
    expect(status).toBe(0);
    const [header, rule] = out.split("\n");
    expect(header.split(/\s{2,}/)).toEqual(["back end", "verdict", "ending", "cycles", "vs bare", "exits", "hcalls", "IPCs", "traps", "sites i/c/s", "host MIPS"]);
    expect(rule).toMatch(/^-+( +-+)+$/);
    expect(row(out, "bare")).toMatch(/^bare +reference +exit 0 +[\d,]+ +1\.00× /);
    expect(row(out, "hvm")).toMatch(/^hvm +same +exit 0 +[\d,]+ +\d+\.\d\d× +[1-9][\d,]* /); // hvm pays VM exits
  });

  it("fails when a back end diverges, unless it is allowed to", async () => {
    const strict = await matrix("--hv", "bare,hvm,trap");
    expect(strict.status).toBe(1);
    expect(row(strict.out, "trap")).toMatch(/^trap +diverged at line 3 +exit 1 /);
    expect(strict.err).toBe("previrt: error: trap diverged from bare: diverged at line 3\n");

    const allowed = await matrix("--hv", "bare,hvm,trap", "--allow-diverge", "trap");
    expect(allowed.status).toBe(0);
    expect(allowed.err).toBe("");
    expect(row(allowed.out, "trap")).toMatch(/diverged at line 3/);
  });

  it("puts bare first: it is the reference", async () => {
    const { status, out } = await matrix("--hv", "hvm,bare", "--allow-diverge", "trap");
    expect(status).toBe(0);
    expect(out.split("\n").slice(2, 4).map((l) => l.split(" ")[0])).toEqual(["bare", "hvm"]);
  });

  it("refuses unknown back ends", async () => {
    const { status, err } = await matrix("--hv", "bare,vmware");
    expect(status).toBe(1);
    expect(err).toMatch(/^previrt: error: unknown back end 'vmware' \(valid: bare, hvm, trap/);
  });

  it("gives every back end its own copy of --disk", async () => {
    const ioElf = join(dir, "io.elf");
    const disk = join(dir, "disk.img");
    expect(await main(["kernel", "--workload", "io", "-o", ioElf, "--disk", disk], bufferIO())).toBe(0);
    const io = bufferIO();
    expect(await main(["matrix", ioElf, "--hv", "bare,hvm", "--disk", disk], io)).toBe(0);
    expect(row(io.stdout, "hvm")).toMatch(/same +exit 0/);
    expect(readFileSync(disk).every((b) => b === 0)).toBe(true); // the file itself was never written
  });

  it("compares console first (the first differing line), then the ending", () => {
    const ok = { kind: "poweroff", exitCode: 0 } as const;
    expect(compareRuns({ console: "a\nb\n", result: ok }, { console: "a\nb\n", result: ok })).toEqual({ kind: "same" });
    expect(compareRuns({ console: "a\nb\nc\n", result: ok }, { console: "a\nx\nc\n", result: ok })).toMatchObject({ kind: "diverged", line: 2, expected: "b", actual: "x" });
    expect(compareRuns({ console: "a\n", result: ok }, { console: "a\n", result: { kind: "poweroff", exitCode: 1 } })).toEqual({
      kind: "ended-differently", expected: "exit 0", actual: "exit 1",
    });
  });

  it("calls a run the cycle limit stopped with the other's output so far unfinished, not diverged where it stopped", () => {
    const ok = { kind: "poweroff", exitCode: 0 } as const;
    const cut = { kind: "stopped", reason: "max-cycles", message: "stopped after 2000001064 cycles (--max-cycles 2000000000)", exitCode: 124, diagnosis: "" } as const;
    const run = compareRuns({ console: "a\nb\nc\n", result: ok }, { console: "a\nb\n", result: cut });
    expect(run).toEqual({ kind: "unfinished", who: "run", message: cut.message });
    expect(describeVerdict(run)).toBe("unfinished, same so far");
    expect(describeProblem(run, "bare")).toBe("was not compared to the end: it stopped after 2000001064 cycles (--max-cycles 2000000000) with the same output so far (give a larger --max-cycles)");
    expect(isDivergence(run)).toBe(true); // still a non-zero status unless allowed
    // The same output, the reference ended: unfinished too (was "ended differently").
    expect(compareRuns({ console: "a\n", result: ok }, { console: "a\n", result: cut })).toMatchObject({ kind: "unfinished", who: "run" });
    // The reference stopped, the run went on with the same output and more.
    expect(compareRuns({ console: "a\n", result: cut }, { console: "a\nb\n", result: ok })).toMatchObject({ kind: "unfinished", who: "reference" });
    // Both stopped, one further: unfinished; both stopped alike: the same.
    expect(compareRuns({ console: "a\nb\n", result: cut }, { console: "a\n", result: cut })).toMatchObject({ kind: "unfinished", who: "run" });
    expect(compareRuns({ console: "a\n", result: cut }, { console: "a\n", result: cut })).toEqual({ kind: "same" });
    // Output that differs before the limit is a divergence, limit or not.
    expect(compareRuns({ console: "a\nb\n", result: ok }, { console: "a\nx\n", result: cut })).toMatchObject({ kind: "diverged", line: 2 });
  });

  it("shows host MIPS only for runs long enough to measure", () => {
    const stats = { instructions: 5_000_000 } as never;
    expect(hostMips({ stats, seconds: 0.01 })).toBe("-");
    expect(hostMips({ stats, seconds: 0.1 })).toBe("50.0");
    const rows = runMatrix(buildKernel({ workload: "compute" }).image, { backends: ["bare", "hvm"], disk: () => kernelDisk() });
    expect(formatMatrix(rows).split("\n")).toHaveLength(5);
  });
});

describe("previrt matrix --jobs", () => {
  // Host facts (seconds, the emulator's counters and memory) are the only thing a worker thread may change.
  const simulated = (rows: MatrixRow[]) => rows.map(({ seconds: _s, host: _h, ...r }) => r);
  const bin = join(import.meta.dirname, "..", "..", "bin", "previrt.js");
  const withoutMips = (table: string) => table.split("\n").map((l) => l.replace(/ +(\d+\.\d|-)$/, "")).join("\n");

  it("runs the back ends in worker threads with exactly the rows of a serial run", async () => {
    expect(workersAvailable(new URL("../../src/hypervisors/matrix-cell.ts", import.meta.url).href)).toBe(true); // not silently serial (the workers run matrix-cell.ts)
    const image = buildKernel({ workload: "io" }).image;
    const options = { backends: ["bare", "hvm", "xen", "l4", "trap"], disk: () => kernelDisk() };
    const serial = runMatrix(image, options);
    const done: string[] = [];
    const parallel = await runMatrixJobs(image, { ...options, jobs: 2, onDone: (b) => done.push(b) });
    expect(simulated(parallel)).toEqual(simulated(serial));
    expect(parallel.map((r) => r.backend)).toEqual(["bare", "hvm", "xen", "l4", "trap"]);
    expect([...done].sort()).toEqual(["bare", "hvm", "l4", "trap", "xen"]);
    expect(serial[4].verdict.kind).toBe("diverged"); // trap: the comparison happened, in order
  });

  it("prints the same table from the compiled CLI with --jobs 1 and --jobs 2", () => {
    const run = (jobs: string) =>
      execFileSync(process.execPath, [bin, "matrix", elf, "--hv", "bare,hvm,xen,l4,trap", "--allow-diverge", "trap", "--jobs", jobs], { encoding: "utf8" });
    const one = run("1");
    expect(one).toMatch(/^xen +same +exit 0/m);
    expect(withoutMips(run("2"))).toBe(withoutMips(one));
  });

  it("refuses --jobs 0", async () => {
    const { status, err } = await matrix("--jobs", "0");
    expect(status).toBe(1);
    expect(err).toBe("previrt: error: --jobs must be a positive integer, not 0\n");
  });
});

describe("previrt demo", () => {
  it("builds the bundled kernel once, runs the matrix with trap allowed to diverge, and explains the table", async () => {
    const io = bufferIO();
    expect(await main(["demo"], io)).toBe(0);
    expect(io.stderr).toBe("");
    expect(io.stdout).toMatch(/^Built the bundled kernel \(fixtures\/kernel, workload 'mixed'\) once from source/);
    expect(io.stdout).toMatch(/\d+ annotated sites in the kernel \(/);
    expect(row(io.stdout, "bare")).toMatch(/reference +exit 0/);
    expect(row(io.stdout, "hvm")).toMatch(/same +exit 0/);
    expect(row(io.stdout, "trap")).toMatch(/diverged at line 3/);
    expect(io.stdout).toContain("'same' = identical console output and exit status to bare metal");
    expect(io.stdout).toContain("trap diverged at line 3, as it must: classic trap-and-emulate cannot virtualize rdpsr/wrpsr");
  });
});
