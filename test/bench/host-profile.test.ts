// bench/host-profile.ts: a V8 CPU profile's self time summed by part of the
// emulator — on a made-up profile whose every function's part is known, and
// on a real profile of an interpreter run of the bundled kernel (a child
// process under `node --cpu-prof`), which must put time in the interpreter's
// loop and none in translated code. A file that is not a profile is refused.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { besidesEngine, formatProfile, PARTS, readProfile, summarize } from "../../bench/host-profile.js";
import { buildKernel } from "../../src/cli/bundled-kernel.js";
import { writeElf } from "../../src/guest-isa/elf.js";

const bin = fileURLToPath(new URL("../../bin/previrt.js", import.meta.url));
const file = (part: string) => `file:///x/dist/src/${part}`;

describe("host-profile", () => {
  it("sums each sample's time into the part its function belongs to", () => {
    const frames = [
      ["exec", file("machine/cpu.js")], // 1: the interpreter's loop
      ["dataSlow", file("machine/cpu.js")], // 2: a memory slow path
      ["block", ""], // 3: a translation
      ["wasm-function[0]", "wasm://x"], // 4: its WebAssembly
      ["dispatchLoop", file("machine/jit/engine.js")], // 5
      ["fill", file("machine/mmu/mmu.js")], // 6
      ["allows", file("machine/protection/protection.js")], // 7
      ["onHcall", file("hypervisors/common/wedge-monitor.js")], // 8
      ["runUntil", file("machine/machine.js")], // 9
      ["lookupInstruction", file("guest-isa/isa-table.js")], // 10
      ["(garbage collector)", ""], // 11
      ["compileSourceTextModule", "node:internal/modules/esm/utils"], // 12
    ];
    const nodes = frames.map(([functionName, url], i) => ({ id: i + 1, callFrame: { functionName, url } }));
    const samples = [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const h = summarize({ nodes, samples, timeDeltas: samples.map(() => 2000) }); // 2 ms each
    expect(h.parts).toEqual({
      "instructions, interpreted": 4,
      "instructions, translated": 4,
      "JIT engine": 2,
      "memory slow paths and MMU": 4,
      "protection checks": 2,
      "monitor (back end)": 2,
      "machine loop and devices": 2,
      "ISA table, toolchain, loader, CLI": 2,
      "garbage collection": 2,
      "Node, start-up and the rest": 2,
    });
    expect(h.totalMs).toBe(26);
    expect(besidesEngine(h)).toBe(16);
    expect(formatProfile(h)).toHaveLength(PARTS.length + 2);
  });

  it("refuses what is not a CPU profile", () => {
    expect(() => summarize({ nodes: [] })).toThrow(/^not a V8 CPU profile/);
    expect(() => summarize(null)).toThrow(/^not a V8 CPU profile/);
    const dir = mkdtempSync(join(tmpdir(), "previrt-host-profile-"));
    expect(() => readProfile(dir)).toThrow(/^no \.cpuprofile in /);
  });

  it("finds the interpreter's loop in a real interpreter run's profile", { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-host-profile-"));
    const elf = join(dir, "k.elf");
    writeFileSync(elf, writeElf(buildKernel({ workload: "compute", scale: 20 }).image));
    const r = spawnSync(process.execPath, ["--cpu-prof", "--cpu-prof-dir", join(dir, "prof"), bin, "run", elf, "--hv", "xen", "--engine", "interp"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const h = summarize(readProfile(join(dir, "prof")));
    expect(h.parts["instructions, interpreted"]).toBeGreaterThan(0);
    expect(h.parts["monitor (back end)"]).toBeGreaterThan(0);
    expect(h.parts["instructions, translated"]).toBe(0);
    expect(besidesEngine(h)).toBeLessThan(h.totalMs);
  });
});
