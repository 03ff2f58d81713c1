// `previrt run` in-process: exit statuses, console, --stats/--json, errors
// as one line with no stack trace; and the cost model's validation and docs.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { COST_KEYS, parseCostModel } from "../../src/machine/cost-model.js";
import { R, image, li, powerOff } from "./program.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-run-"));
function elf(name: string, img: ReturnType<typeof image>): string {
  const p = join(dir, name);
  writeFileSync(p, writeElf(img));
  return p;
}
const hello = elf("hello.elf", image([
  ["in", { a: R.a0, imm: 0x10 }], ["out", { imm: 0x10, b: R.a0 }],
  ["addi", { a: R.t0, b: R.zero, imm: 0x0a }], ["out", { imm: 0x10, b: R.t0 }],
  ...li(R.a0, 7), powerOff(R.a0),
]));

describe("previrt run", () => {
  it("runs the guest: console on stdout, exit status = power-off code", async () => {
    const io = bufferIO(new TextEncoder().encode("Q"));
    expect(await main(["run", hello, "--hv", "bare"], io)).toBe(7);
    expect(io.stdout).toBe("Q\n");
    expect(io.stderr).toBe("");
  });

  it("--stats prints counters to stderr; --json the document to stdout (the console then to stderr)", async () => {
    const io = bufferIO(new Uint8Array());
    expect(await main(["run", hello, "--hv", "bare", "--stats", "--json"], io)).toBe(7);
    expect(io.stderr).toMatch(/instructions\s+7/);
    const json = JSON.parse(io.stdout);
    expect(json).toMatchObject({ backend: "bare", instructions: 7, deviceAccesses: 4, result: { kind: "poweroff", exitCode: 7 } });
  });

  it("a runaway stops at --max-cycles: status 124, one error line, the diagnosis, no stack", async () => {
    const io = bufferIO(new Uint8Array());
    const f = elf("loop.elf", image([["jal", { a: R.zero, imm: 0 }]]));
    expect(await main(["run", f, "--hv", "bare", "--max-cycles", "1000"], io)).toBe(124);
    expect(io.stderr).toMatch(/^previrt: error: stopped after 10\d\d cycles \(--max-cycles 1000\)\n/);
    expect(io.stderr).toContain("last instructions:");
    expect(io.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it("a crash exits 125 with the diagnosis", async () => {
    const io = bufferIO(new Uint8Array());
    const f = elf("crash.elf", image([["jalr", { a: R.zero, b: R.zero, imm: 0x4000 }]]));
    expect(await main(["run", f, "--hv", "bare"], io)).toBe(125);
    expect(io.stderr).toMatch(/^previrt: error: illegal-instruction with no trap vector \(tvec = 0\)\n  pc     0x00004000/);
  });

  it("bad input is one error line", async () => {
    const bad = join(dir, "bad.elf");
    writeFileSync(bad, "not an elf");
    for (const [args, re] of [
      [["run", bad, "--hv", "bare"], /^previrt: error: .+\n$/],
      [["run", join(dir, "missing.elf"), "--hv", "bare"], /^previrt: error: .*missing\.elf: no such file or directory\n$/],
      [["run", hello, "--hv", "nope"], /^previrt: error: unknown back end 'nope' \(valid: bare.*\)\n$/],
    ] as [string[], RegExp][]) {
      const io = bufferIO(new Uint8Array());
      expect(await main(args, io)).not.toBe(0);
      expect(io.stderr).toMatch(re);
    }
  });

  it("--cost-model overrides entries and rejects unknown keys", async () => {
    const good = join(dir, "cm.json");
    writeFileSync(good, JSON.stringify({ alu: 5, deviceAccess: 0 }));
    const io = bufferIO(new Uint8Array());
    expect(await main(["run", hello, "--hv", "bare", "--json", "--cost-model", good], io)).toBe(7);
    expect(JSON.parse(io.stdout).cycles).toBe(3 * 5 + 4 * 2); // addi, lui, ori + in, out, out, out (system)
    const bad = join(dir, "cm-bad.json");
    writeFileSync(bad, JSON.stringify({ aluu: 5 }));
    const io2 = bufferIO(new Uint8Array());
    expect(await main(["run", hello, "--hv", "bare", "--cost-model", bad], io2)).toBe(1);
    expect(io2.stderr).toMatch(/^previrt: error: .*cm-bad\.json: unknown entry 'aluu'/);
  });
});

describe("cost model", () => {
  it("validates overrides", () => {
    expect(parseCostModel({ vmExit: 100 }).vmExit).toBe(100);
    expect(parseCostModel({ ipc: { cycles: 9 } }).ipc).toBe(9);
    expect(() => parseCostModel({ vmExit: "fast" })).toThrow(/must be a non-negative number/);
    expect(() => parseCostModel({ bogus: 1 })).toThrow(/unknown entry 'bogus'/);
    expect(() => parseCostModel([1])).toThrow(/JSON object/);
  });

  it("docs/cost-model.md lists every entry", () => {
    const doc = readFileSync(new URL("../../docs/cost-model.md", import.meta.url), "utf8");
    for (const k of COST_KEYS) expect(doc, k).toContain(`\`${k}\``);
  });
});
