// Which engine runs when nobody says (issue 16: "the JIT is the default where
// it is exact"): defaultEngine() in machine.ts, read by every Machine and so by
// `previrt run`, `matrix` and `bench`. The JIT unless PREVIRT_ENGINE or
// --engine asks for the interpreter; the interpreter wherever the JIT is not
// exact (the reference slicing mode), whatever was asked. Each case sets
// PREVIRT_ENGINE itself, so the suite means the same run under any value of it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { Machine, defaultEngine } from "../../src/machine/machine.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";
import { aluLoop } from "../../bench/machine.bench.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-default-engine-"));
const loop = join(dir, "loop.elf");
// Long enough that the JIT, at its default threshold and past the process's start budget
// (cache.ts START_INSNS, 8 M instructions), translates the loop.
writeFileSync(loop, writeElf(aluLoop(2_000_000)));

afterEach(() => {
  vi.unstubAllEnvs();
});

/** `previrt run loop.elf --hv bare --json -` with more arguments: the JSON's host section and simulated part. */
async function run(...extra: string[]) {
  const io = bufferIO(new Uint8Array());
  expect(await main(["run", loop, "--hv", "bare", "--json", "-", ...extra], io)).toBe(0);
  const { host, ...simulated } = JSON.parse(io.stdout.trim().split("\n").pop()!);
  return { host, simulated };
}

describe("the default engine", () => {
  it("is the JIT when PREVIRT_ENGINE is unset or empty; PREVIRT_ENGINE picks either; anything else is refused", () => {
    vi.stubEnv("PREVIRT_ENGINE", undefined);
    expect(defaultEngine()).toBe("jit");
    expect(new Machine({ ramSize: 1024 * 1024 }).engine).toBe("jit");
    vi.stubEnv("PREVIRT_ENGINE", "");
    expect(defaultEngine()).toBe("jit");
    vi.stubEnv("PREVIRT_ENGINE", "interp");
    expect(defaultEngine()).toBe("interp");
    expect(new Machine({ ramSize: 1024 * 1024 }).engine).toBe("interp");
    vi.stubEnv("PREVIRT_ENGINE", "jit");
    expect(new Machine({ ramSize: 1024 * 1024 }).engine).toBe("jit");
    vi.stubEnv("PREVIRT_ENGINE", "fast");
    expect(() => defaultEngine()).toThrow(/^PREVIRT_ENGINE must be interp or jit, not 'fast'$/);
  });

  it("an explicit engine wins over PREVIRT_ENGINE", () => {
    vi.stubEnv("PREVIRT_ENGINE", "jit");
    expect(new Machine({ ramSize: 1024 * 1024, engine: "interp" }).engine).toBe("interp");
    vi.stubEnv("PREVIRT_ENGINE", "interp");
    expect(new Machine({ ramSize: 1024 * 1024, engine: "jit" }).engine).toBe("jit");
  });

  it("is the interpreter where the JIT is not exact: the reference slicing mode, whatever was asked", () => {
    vi.stubEnv("PREVIRT_ENGINE", undefined);
    expect(new Machine({ ramSize: 1024 * 1024, referenceSlicing: true }).engine).toBe("interp");
    expect(new Machine({ ramSize: 1024 * 1024, referenceSlicing: true, engine: "jit" }).engine).toBe("interp");
    vi.stubEnv("PREVIRT_ENGINE", "jit");
    expect(new Machine({ ramSize: 1024 * 1024, referenceSlicing: true }).engine).toBe("interp");
    // Fractional costs, the other case the JIT would not be exact for, are refused before any engine runs.
    expect(() => new Machine({ ramSize: 1024 * 1024, costModel: { ...defaultCostModel(), alu: 1.5 } })).toThrow(/whole number/);
    expect(new Machine({ ramSize: 1024 * 1024, costModel: { ...defaultCostModel(), alu: 3 } }).engine).toBe("jit");
  });
});

describe("previrt run without --engine", () => {
  it("runs the JIT (translating the loop), with the interpreter's counters; PREVIRT_ENGINE=interp or --engine interp run the interpreter", async () => {
    vi.stubEnv("PREVIRT_ENGINE", undefined);
    const byDefault = await run();
    expect(byDefault.host.engine).toBe("jit");
    expect(byDefault.host.jit.translations).toBeGreaterThan(0);
    const asked = await run("--engine", "interp");
    expect(asked.host.engine).toBe("interp");
    expect(asked.host.jit).toBeUndefined();
    vi.stubEnv("PREVIRT_ENGINE", "interp");
    const fromEnv = await run();
    expect(fromEnv.host.engine).toBe("interp");
    // --engine over the environment, as for the machine.
    expect((await run("--engine", "jit")).host.engine).toBe("jit");
    expect(byDefault.simulated).toEqual(asked.simulated);
    expect(fromEnv.simulated).toEqual(asked.simulated);
    expect(asked.simulated.instructions).toBe(7 * 2_000_000 + 3);
  });
});
