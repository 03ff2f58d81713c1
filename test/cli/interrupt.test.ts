// Ctrl-C during `previrt run`, `resume`, `migrate`, `matrix`, `matrix --migrate`, `bench`, `inject` or `drivers` (cli/interrupt.ts): a guest that would run for
// ever — here one that prints a line and then spins, and one whose trap
// handler faults again at every entry, walking its stack down, which no
// fault-loop rule catches — ends with `previrt: error: interrupted (SIGINT)
// after N cycles`, the diagnosis, --json and --stats, status 130; the disk
// image is closed. Run as a real process: the signal is sent once the guest
// has printed, so the handler is in place.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { interrupted as interruptedIn } from "../sigint-child.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-sigint-"));

async function build(name: string, source: string): Promise<string> {
  writeFileSync(join(dir, `${name}.s`), source);
  const io = bufferIO();
  expect(await main(["build", join(dir, `${name}.s`), "-o", join(dir, `${name}.elf`)], io), io.stderr).toBe(0);
  return join(dir, `${name}.elf`);
}

/** `previrt ARGS` in the scratch folder, sent SIGINT once it printed `ready`. */
const interrupted = (args: string[]) => interruptedIn(args, dir);

// Prints "ready", then "r" with the trap vector set, then a load outside RAM (a bus error):
// the handler's first store, 16 bytes below a stack pointer outside RAM, faults again, and again.
const READY = "    la   a0, msg\n.Lp:\n    lbu  t0, 0(a0)\n    beqz t0, .Ld\n    out  0x10, t0\n    addi a0, a0, 1\n    j    .Lp\n.Ld:\n";
const SPIN = `    .text\n    .global _start\n_start:\n${READY}.Lspin:\n    addi t1, t1, 1\n    j    .Lspin\n    .rodata\nmsg: .asciz "ready\\n"\n`;
const RECURSIVE_FAULT =
  `    .text\n    .global _start\n_start:\n${READY}    la   t0, handler\n    mtcr tvec, t0\n    li   sp, 0x7ffffff0\n    lw   t2, 0(sp)\n    out  0xF0, zero\n` +
  `handler:\n    addi sp, sp, -16\n    sw   lr, 0(sp)\n    iret\n    .rodata\nmsg: .asciz "ready\\n"\n`;

describe("Ctrl-C during previrt run", () => {
  let spin: string, recursive: string;
  beforeAll(async () => {
    spin = await build("spin", SPIN);
    recursive = await build("recursive", RECURSIVE_FAULT);
  }, 60_000);

  it.each(["jit", "interp"])("a spinning guest (%s): the diagnosis, --stats, --json, status 130", async (engine) => {
    const json = join(dir, `spin-${engine}.json`);
    const disk = join(dir, `spin-${engine}.disk`);
    writeFileSync(disk, new Uint8Array(4096));
    const r = await interrupted(["run", spin, "--hv", "xen", "--engine", engine, "--stats", "--json", json, "--disk", disk]);
    expect(r.signal).toBe(null);
    expect(r.status).toBe(130);
    expect(r.stdout).toBe("ready\n");
    expect(r.stderr).toMatch(/^previrt: error: interrupted \(SIGINT\) after \d+ cycles\n {2}pc +0x0000[0-9a-f]{4}/);
    expect(r.stderr).toMatch(/addi +t1, t1, 1/); // the last instructions: the spin loop
    expect(r.stderr).toMatch(/^instructions +\d+$/m); // --stats
    const doc = JSON.parse(readFileSync(json, "utf8"));
    expect(doc.result).toMatchObject({ kind: "stopped", reason: "interrupted", exitCode: 130 });
    expect(doc.cycles).toBeGreaterThan(0);
    expect(statSync(disk).size).toBe(4096);
  }, 60_000);

  it("previrt resume too: a snapshot taken before the guest printed, resumed on another back end", async () => {
    const snap = join(dir, "spin.snap");
    const made = await interrupted(["run", spin, "--hv", "bare", "--snapshot-at", "1", "--snapshot", snap]);
    expect(made.status, made.stderr).toBe(0);
    const r = await interrupted(["resume", snap, "--hv", "l4", "--stats"]);
    expect(r.status).toBe(130);
    expect(r.stdout).toBe("ready\n");
    expect(r.stderr).toMatch(/^previrt: error: interrupted \(SIGINT\) after \d+ cycles\n {2}pc +0x/);
    expect(r.stderr).toMatch(/^instructions +\d+$/m);
  }, 60_000);

  it("previrt migrate, after the move: the move's report, then the diagnosis on the target, --json, status 130", async () => {
    const json = join(dir, "moved.json");
    const r = await interrupted(["migrate", spin, "--from", "xen", "--to", "l4", "--at", "1", "--json", json, "--stats"]);
    expect(r.signal).toBe(null);
    expect(r.status).toBe(130);
    expect(r.stdout).toBe("ready\n");
    expect(r.stderr).toMatch(/^migration xen -> l4 at cycle \d+: stop-and-copy, .*\nprevirt: error: interrupted \(SIGINT\) after \d+ cycles\n {2}pc +0x/);
    expect(r.stderr).toMatch(/addi +t1, t1, 1/);
    expect(r.stderr).toMatch(/^instructions +\d+$/m);
    expect(JSON.parse(readFileSync(json, "utf8"))).toMatchObject({ from: "xen", to: "l4", migrated: true });
  }, 60_000);

  it.each(["jit", "interp"])("previrt migrate, before the move (%s): no move and no report of one, the diagnosis on the source", async (engine) => {
    const json = join(dir, `unmoved-${engine}.json`);
    const r = await interrupted(["migrate", spin, "--route", "bare,hvm,xen", "--at", "900000000000", "--live", "--engine", engine, "--json", json]);
    expect(r.signal).toBe(null);
    expect(r.status).toBe(130);
    expect(r.stdout).toBe("ready\n");
    expect(r.stderr).toMatch(/^previrt: error: interrupted \(SIGINT\) after \d+ cycles\n {2}pc +0x/);
    expect(r.stderr).not.toMatch(/migration/);
    expect(JSON.parse(readFileSync(json, "utf8"))).toEqual([]);
  }, 60_000);

  it("previrt matrix --migrate (in process: it prints nothing to wait for), runs shorter than a slice: one line, no table, status 130", async () => {
    // The signal goes once the command's handler is in place (one more SIGINT listener); the matrix
    // awaits after each run, so this loop runs between its runs (each stopped by --max-cycles).
    const before = process.listenerCount("SIGINT");
    const io = bufferIO();
    let settled = false;
    const status = main(["matrix", spin, "--migrate", "--hv", "bare,xen,l4", "--max-cycles", "1000000"], io).finally(() => (settled = true));
    while (!settled && process.listenerCount("SIGINT") === before) await new Promise((r) => setImmediate(r));
    process.emit("SIGINT");
    expect(await status).toBe(130);
    expect(io.stdout).toBe("");
    expect(io.stderr).toMatch(/^previrt: error: interrupted \(SIGINT\) after \d+ of 18 migrated runs \(no table\)\n$/);
    expect(process.listenerCount("SIGINT")).toBe(before);
  }, 60_000);

  it.each(["1", "2"])("previrt matrix --jobs %s (in process), a guest that spins on every back end: one line, no table, status 130", async (jobs) => {
    // Serially the running cell stops within a slice; in worker threads the pool is closed at once.
    const before = process.listenerCount("SIGINT");
    const io = bufferIO();
    let settled = false;
    const status = main(["matrix", spin, "--hv", "bare,xen,l4", "--jobs", jobs], io).finally(() => (settled = true));
    while (!settled && process.listenerCount("SIGINT") === before) await new Promise((r) => setImmediate(r));
    process.emit("SIGINT");
    expect(await status).toBe(130);
    expect(io.stdout).toBe("");
    expect(io.stderr).toBe("previrt: error: interrupted (SIGINT) after 0 of 3 back ends (no table)\n");
    expect(process.listenerCount("SIGINT")).toBe(before);
  }, 60_000);

  it.each(["1", "2"])("previrt bench --jobs %s (in process): one line after the progress, no report, status 130", async (jobs) => {
    // Serially the cells run in this thread, which lets the signal in after each cell; in worker threads at once.
    const before = process.listenerCount("SIGINT");
    const io = bufferIO();
    let settled = false;
    const status = main(["bench", "--jobs", jobs, "--workloads", "syscall,mixed"], io).finally(() => (settled = true));
    while (!settled && process.listenerCount("SIGINT") === before) await new Promise((r) => setImmediate(r));
    process.emit("SIGINT");
    expect(await status).toBe(130);
    expect(io.stdout).toBe("");
    // After the progress so far (serially none yet: the signal comes before the first cell).
    expect(io.stderr).toMatch(/(^|\n)previrt: error: interrupted \(SIGINT\) after \d+ of \d+ cells \(no report\)\n$/);
    expect(process.listenerCount("SIGINT")).toBe(before);
  }, 60_000);

  it.each([
    ["inject", "--runs", "1000"],
    ["drivers", "--crashes", "200"],
    ["bench", "--smp"],
    ["bench", "--drivers", "--scale", "20"],
  ])("previrt %s %s (in process): one line after the runs done so far, no table, status 130", async (...args) => {
    // Their runs are in this thread, which lets the signal in after each run.
    const before = process.listenerCount("SIGINT");
    const io = bufferIO();
    let settled = false;
    const status = main(args, io).finally(() => (settled = true));
    while (!settled && process.listenerCount("SIGINT") === before) await new Promise((r) => setImmediate(r));
    process.emit("SIGINT");
    expect(await status).toBe(130);
    expect(io.stdout).toBe("");
    expect(io.stderr).toMatch(/(^|\n)previrt: error: interrupted \(SIGINT\) after \d+ of (2000|200|100|28) (runs|cells) \(no (table|report)\)\n$/);
    expect(process.listenerCount("SIGINT")).toBe(before);
  }, 60_000);

  it("a trap handler that faults at every entry, walking its stack down: stopped where it is", async () => {
    const r = await interrupted(["run", recursive, "--hv", "bare"]);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/^previrt: error: interrupted \(SIGINT\) after \d+ cycles\n/);
    expect(r.stderr).toMatch(/sw +lr, 0\(sp\)/);
  }, 60_000);
});
