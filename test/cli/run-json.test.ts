// `previrt run --json`: one JSON document a script can parse whatever the
// guest did — powered off, crashed, stopped by --max-cycles — with --stats
// and the crash diagnosis beside it. Bare `--json` (or `--json -`): the
// document alone on stdout, the guest console on stderr; `--json FILE`: the
// document in FILE, the console on stdout. Real guests on the real machine.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-json-"));
const GUESTS = {
  // prints "hi\n", powers off with status 5
  poweroff: "_start:\n    addi t0, zero, 0x68\n    out 0x10, t0\n    addi t0, zero, 0x69\n    out 0x10, t0\n    addi t0, zero, 0x0a\n    out 0x10, t0\n    addi a0, zero, 5\n    out 0xF0, a0\n",
  // prints "x", then jumps to an illegal instruction with no trap vector
  crash: "_start:\n    addi t0, zero, 0x78\n    out 0x10, t0\n    jalr zero, 0x4000(zero)\n",
  // prints "x", then loops forever
  runaway: "_start:\n    addi t0, zero, 0x78\n    out 0x10, t0\n.Lspin:\n    j .Lspin\n",
};
const ENDINGS: [keyof typeof GUESTS, number, object][] = [
  ["poweroff", 5, { kind: "poweroff", exitCode: 5 }],
  ["crash", 125, { kind: "stopped", exitCode: 125 }],
  ["runaway", 124, { kind: "stopped", reason: "max-cycles", exitCode: 124 }],
];
const elf = (name: string) => join(dir, `${name}.elf`);

async function cli(argv: string[]) {
  const io = bufferIO(new Uint8Array());
  return { status: await main(argv, io), ...io };
}

beforeAll(async () => {
  for (const [name, body] of Object.entries(GUESTS)) {
    writeFileSync(join(dir, `${name}.s`), `    .text\n    .global _start\n${body}`);
    const r = await cli(["build", join(dir, `${name}.s`), "-o", elf(name), "--no-annotate"]);
    expect(r.status, r.stderr).toBe(0);
  }
});

describe("previrt run --json", () => {
  for (const [guest, status, result] of ENDINGS) {
    for (const hv of ["bare", "xen"]) {
      it(`${guest} on ${hv}: bare --json puts the document alone on stdout, with --stats`, async () => {
        const r = await cli(["run", elf(guest), "--hv", hv, "--json", "--stats", "--max-cycles", "100000"]);
        expect(r.status).toBe(status);
        const doc = JSON.parse(r.stdout);
        expect(doc).toMatchObject({ backend: hv, file: elf(guest), result });
        expect(doc.cycles).toBeGreaterThan(0);
        expect(r.stderr).toMatch(guest === "poweroff" ? /^hi\n/ : /^x/); // the console, on stderr
        expect(r.stderr).toMatch(/instructions\s+\d+/); // --stats
        if (guest !== "poweroff") expect(r.stderr).toContain("previrt: error: ");
      });
    }

    it(`${guest}: --json - is the same as bare --json`, async () => {
      const r = await cli(["run", elf(guest), "--hv", "bare", "--json", "-", "--max-cycles", "100000"]);
      expect(r.status).toBe(status);
      expect(JSON.parse(r.stdout)).toMatchObject({ result });
    });

    it(`${guest}: --json FILE writes the document there; the console stays on stdout`, async () => {
      const out = join(dir, `${guest}.json`);
      const r = await cli(["run", elf(guest), "--hv", "bare", "--json", out, "--stats", "--max-cycles", "100000"]);
      expect(r.status).toBe(status);
      expect(r.stdout).toBe(guest === "poweroff" ? "hi\n" : "x");
      expect(JSON.parse(readFileSync(out, "utf8"))).toMatchObject({ backend: "bare", result });
    });
  }

  it("--json right before the ELF is the flag, not a file name", async () => {
    const r = await cli(["run", "--json", elf("poweroff"), "--hv", "bare"]);
    expect(r.status).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: { kind: "poweroff", exitCode: 5 } });
  });

  it("a crash's message is in the document", async () => {
    const r = await cli(["run", elf("crash"), "--hv", "bare", "--json"]);
    expect(JSON.parse(r.stdout).result.message).toMatch(/illegal-instruction/);
  });

  it("no ELF at all is still a one-line error, with the status of every missing argument (2, as objdump's)", async () => {
    const r = await cli(["run", "--hv", "bare", "--json"]);
    expect(r.stderr).toBe("previrt: error: missing required argument 'elf'\n");
    expect(r.status).toBe(2);
    const s = await cli(["resume", "--hv", "bare", "--json"]);
    expect(s.stderr).toBe("previrt: error: missing required argument 'snapshot'\n");
    expect(s.status).toBe(2);
    const o = await cli(["objdump"]);
    expect(o.stderr).toBe("previrt: error: missing required argument 'elf'\n");
    expect(o.status).toBe(2);
  });
});

describe("run and resume report alike", () => {
  // The guest's last console line is open ("x"): with the console on stderr, previrt's error line starts a line of its own.
  it("--json: an unterminated console line on stderr, then the error line on a line of its own", async () => {
    const r = await cli(["run", elf("crash"), "--hv", "bare", "--json"]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^x\nprevirt: error: illegal-instruction/);
    const snap = join(dir, "crash.snap");
    expect((await cli(["run", elf("crash"), "--hv", "xen", "--snapshot-at", "1", "--snapshot", snap])).status).toBe(0);
    const s = await cli(["resume", snap, "--hv", "xen", "--json"]);
    expect(s.status).toBe(125);
    expect(s.stderr).toMatch(/^x\nprevirt: error: illegal-instruction/);
    expect((await cli(["run", elf("crash"), "--hv", "bare"])).stdout).toBe("x"); // the console itself is unchanged
  });

  it("resume --stats ends with the host line and --json has the host object, as run's do", async () => {
    const snap = join(dir, "poweroff.snap");
    expect((await cli(["run", elf("poweroff"), "--hv", "xen", "--snapshot-at", "1", "--snapshot", snap])).status).toBe(0);
    for (const [cmd, argv] of [["run", ["run", elf("poweroff")]], ["resume", ["resume", snap]]] as const) {
      const r = await cli([...argv, "--hv", "xen", "--stats", "--json", "--engine", "interp"]);
      expect(r.status, cmd).toBe(5);
      expect(r.stderr, cmd).toMatch(/\nhost \(not simulated\): engine=interp residentMiB=\d+\n$/);
      expect(JSON.parse(r.stdout).host, cmd).toMatchObject({ engine: "interp" });
    }
  });
});
