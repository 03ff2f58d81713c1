// `previrt bench --jobs 2` starts its worker threads before it checks the
// --cpus/--pcpus options (bench/environment.ts startBenchWorkers, issue 16:
// they load their modules meanwhile). A refused option must still end the
// process at once with its one-line error: the workers are closed, not left
// keeping it alive. Runs the compiled CLI (bin/previrt.js → dist/) in a child.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;

describe("previrt bench with workers started ahead", () => {
  it.each([
    [["--cpus", "0"], "--cpus must be a whole number from 1 to 8, not 0"],
    [["--cpus", "2", "--pcpus", "4"], "--pcpus must be a whole number from 1 to --cpus (2), not 4"],
  ])("refuses %j with one line and ends", (args, message) => {
    const r = spawnSync(process.execPath, [bin, "bench", "--jobs", "2", ...args], { encoding: "utf8", timeout: 60_000 });
    expect(r.signal).toBe(null); // not killed by the timeout
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`previrt: error: ${message}\n`);
    expect(r.stdout).toBe("");
  });
});
