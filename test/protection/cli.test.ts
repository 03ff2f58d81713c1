// The CLI's side of protection domains: `run --no-protect` against the
// default on xen (the scribbling guest), and `previrt inject` (its table,
// its --no-protect arm, --hv, its errors).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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

  it("--hv: the campaign under a hypervisor (named in the title); with protection no silent corruption, some faults caught; an unknown back end refused", async () => {
    const io = bufferIO();
    const json = join(mkdtempSync(join(tmpdir(), "previrt-inject-")), "x.json");
    expect(await main(["inject", "--runs", "6", "--hv", "xen", "--json", json], io)).toBe(0);
    expect(io.stdout).toMatch(/^fault injection into the Mondrix kernel's disk driver on xen: 6 runs per arm/);
    const c = JSON.parse(readFileSync(json, "utf8"));
    expect(c.hv).toBe("xen");
    expect(c.arms.on.total.silent).toBe(0);
    expect(c.arms.on.total.protection).toBeGreaterThan(0);
    expect(c.arms.off.total.protection).toBe(0);
    const bad = bufferIO();
    expect(await main(["inject", "--runs", "1", "--hv", "foo"], bad)).not.toBe(0);
    expect(bad.stderr).toBe("previrt: error: unknown back end 'foo' (valid: bare, hvm, trap, xen, l4)\n");
  });

  it("refuses a bad --runs in one line", async () => {
    const io = bufferIO();
    expect(await main(["inject", "--runs", "0"], io)).not.toBe(0);
    expect(io.stderr).toBe("previrt: error: --runs must be an integer from 1 to 1000000, not 0\n");
  });
});
