// `previrt run` in-process: exit statuses, console, --stats/--json, errors
// as one line with no stack trace; and the cost model's validation and docs.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { COST_KEYS, defaultCostModel, parseCostModel, type CostModel } from "../../src/machine/cost-model.js";
import { costTable } from "../../src/machine/decode.js";
import { Machine } from "../../src/machine/machine.js";
import { OP } from "../../src/guest-isa/isa-table.js";
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

/** `loop: addi t0, t0, 1; jal zero, loop` — runs until the cycle budget. */
const spin = elf("spin.elf", image(["loop", ["addi", { a: R.t0, b: R.t0, imm: 1 }], ["jal", { a: R.zero, to: "loop" }]]));

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
    writeFileSync(good, JSON.stringify({ alu: 5, deviceAccess: 1 }));
    const io = bufferIO(new Uint8Array());
    expect(await main(["run", hello, "--hv", "bare", "--json", "--cost-model", good], io)).toBe(7);
    expect(JSON.parse(io.stdout).cycles).toBe(3 * 5 + 4 * 2 + 4 * 1); // addi, lui, ori + in, out, out, out (system) + 4 device accesses
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
    expect(() => parseCostModel({ vmExit: "fast" })).toThrow(/entry 'vmExit' must be a whole number of cycles from 1 to 1000000/);
    expect(() => parseCostModel({ bogus: 1 })).toThrow(/unknown entry 'bogus'/);
    // A key read from a file is quoted when it has control characters: the message stays one line.
    expect(() => parseCostModel({ "bo\ngus": 1 })).toThrow(/unknown entry "bo\\ngus" \(known: [^\n]*$/);
    expect(() => parseCostModel([1])).toThrow(/JSON object/);
  });

  it("refuses a price of 0, negative, fractional, huge or not finite", () => {
    for (const bad of [0, -1, 0.5, 2.5, 1e7, 2 ** 53, Infinity, NaN, null, true, { cycles: 0 }]) {
      expect(() => parseCostModel({ alu: bad }), String(bad)).toThrow(/entry 'alu' must be a whole number of cycles from 1 to 1000000/);
    }
    expect(parseCostModel({ alu: 1, vmExit: 1_000_000 }).vmExit).toBe(1_000_000);
  });

  it("a machine refuses a model built in code with a 0-cycle price", () => {
    expect(() => new Machine({ costModel: { ...defaultCostModel(), branch: 0 } })).toThrow(/entry 'branch' must be a whole number/);
  });

  it("a 0-cycle cost model file is a clean error, not a run that never ends (issue 12 item 9)", async () => {
    const zero = join(dir, "cm-zero.json");
    writeFileSync(zero, JSON.stringify({ branch: 0, jump: 0, alu: 0 }));
    const io = bufferIO(new Uint8Array());
    expect(await main(["run", spin, "--hv", "bare", "--max-cycles", "1000", "--cost-model", zero], io)).toBe(1);
    expect(io.stderr).toMatch(/^previrt: error: .*cm-zero\.json: entry '(branch|jump|alu)' must be a whole number of cycles from 1 to 1000000\n$/);
  });

  it("every instruction costs at least one cycle in the CPU, whatever the table says", () => {
    const model = { ...defaultCostModel(), alu: 0 } as CostModel;
    const t = costTable(model);
    expect(t[OP.addi]).toBe(1);
    expect(t[OP.lw]).toBe(model.load);
  });

  it("docs/cost-model.md lists every entry", () => {
    const doc = readFileSync(new URL("../../docs/cost-model.md", import.meta.url), "utf8");
    for (const k of COST_KEYS) expect(doc, k).toContain(`\`${k}\``);
  });
});
