// The CLI's side of protection domains: `run --no-protect` against the
// default on xen (the scribbling guest), and `previrt inject` (its table,
// its --no-protect arm, its errors).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { buildAsm } from "../hypervisors/helpers.js";

describe("previrt run --no-protect", () => {
  const dir = mkdtempSync(join(tmpdir(), "previrt-protect-"));
  const elf = join(dir, "scribble.elf");
  writeFileSync(elf, buildAsm("fixtures/guests/scribble.s").bytes);

  it("xen: the VMM's domain stops the scribbler at its first store; --no-protect lets it scribble", async () => {
    const on = bufferIO();
    expect(await main(["run", elf, "--hv", "xen"], on)).not.toBe(3);
    expect(on.stderr).toContain("previrt: error: protection-fault with no trap vector");
    expect(on.stderr).toMatch(/cause {2}10 \(protection-fault\) {4}badva 0xfffe1000/);
    const off = bufferIO();
    expect(await main(["run", elf, "--hv", "xen", "--no-protect"], off)).toBe(3);
  });
});

describe("previrt inject", () => {
  it("prints the outcome table for both arms, or only the unprotected one with --no-protect", async () => {
    const io = bufferIO();
    expect(await main(["inject", "--runs", "3", "--seed", "7"], io)).toBe(0);
    expect(io.stdout).toMatch(/^fault injection into the Mondrix kernel's disk driver: 3 runs per arm \(seeds 7–9/);
    expect(io.stdout).toContain("protection on");
    expect(io.stdout).toContain("protection off");
    expect(io.stdout).toMatch(/caught by protection fault/);
    const off = bufferIO();
    expect(await main(["inject", "--runs", "3", "--no-protect"], off)).toBe(0);
    expect(off.stdout).not.toContain("protection on");
  });

  it("refuses a bad --runs in one line", async () => {
    const io = bufferIO();
    expect(await main(["inject", "--runs", "0"], io)).not.toBe(0);
    expect(io.stderr).toBe("previrt: error: --runs must be an integer from 1 to 1000000, not 0\n");
  });
});
