// `--engine interp|jit` on `previrt run` (in-process): the simulated counters
// are the same under both engines, the host section says which engine ran
// and is kept apart from them; a bad engine name is a one-line error.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { aluLoop } from "../../bench/machine.bench.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-jit-"));
const loop = join(dir, "loop.elf");
// 14 M instructions: past the process's start budget (cache.ts START_INSNS), so the JIT translates.
writeFileSync(loop, writeElf(aluLoop(2_000_000)));

async function runJson(engine: string) {
  const io = bufferIO(new Uint8Array());
  expect(await main(["run", loop, "--hv", "bare", "--json", "-", "--stats", "--engine", engine], io)).toBe(0);
  expect(io.stderr).toContain(`host (not simulated): engine=${engine}`);
  return JSON.parse(io.stdout.trim().split("\n").pop()!);
}

describe("previrt run --engine", () => {
  it("gives the same simulated counters under interp and jit; host facts apart", async () => {
    const interp = await runJson("interp");
    const jit = await runJson("jit");
    expect(interp.host.engine).toBe("interp");
    expect(jit.host.engine).toBe("jit");
    expect(jit.host.jit.translations).toBeGreaterThan(0);
    expect(jit.host.jit.dispatches).toBeGreaterThan(0);
    const { host: _a, ...simInterp } = interp;
    const { host: _b, ...simJit } = jit;
    expect(simJit).toEqual(simInterp);
    expect(simJit.instructions).toBe(14_000_003);
  });

  it("refuses an unknown engine with a one-line error", async () => {
    const io = bufferIO(new Uint8Array());
    expect(await main(["run", loop, "--hv", "bare", "--engine", "fast"], io)).not.toBe(0);
    expect(io.stderr).toMatch(/^previrt: error: .*--engine.*'fast'.*interp, jit/);
    expect(io.stderr.trim().split("\n")).toHaveLength(1);
  });
});
