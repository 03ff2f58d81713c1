// A reader that goes away (`previrt objdump -d k.elf | head -1`) ends any
// command quietly: no stack trace, no error line, status 141 (128 + SIGPIPE,
// what a shell reports for a Unix tool stopped by a closed pipe). Run as a
// real process in a real shell pipeline, on outputs far larger than a pipe's
// buffer, so the write after `head` exits always fails with EPIPE.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "previrt-epipe-"));

/** Runs `previrt ARGS | head -1` in bash with pipefail: previrt's status and its stderr. */
function pipedToHead(args: string[]): { status: number | null; stderr: string; first: string } {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const r = spawnSync("bash", ["-c", `set -o pipefail; node '${bin}' ${quoted} | head -1`], { encoding: "utf8", cwd: dir, timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, first: r.stdout };
}

async function build(name: string, source: string, extra: string[] = []): Promise<string> {
  writeFileSync(join(dir, `${name}.s`), source);
  const io = bufferIO();
  expect(await main(["build", join(dir, `${name}.s`), "-o", join(dir, `${name}.elf`), ...extra], io), io.stderr).toBe(0);
  return join(dir, `${name}.elf`);
}

describe("a closed stdout", () => {
  let kernel: string, manySites: string, chatty: string;
  beforeAll(async () => {
    kernel = join(dir, "k.elf");
    const io = bufferIO();
    expect(await main(["kernel", "-o", kernel], io), io.stderr).toBe(0);
    // 4,000 sites: `load --show-sites` prints a line per site (hundreds of KB).
    const body = Array.from({ length: 2000 }, () => "    cli\n    sti\n").join("");
    manySites = await build("sites", `    .text\n    .global _start\n_start:\n${body}    out 0xF0, zero\n`);
    // A guest that prints forever: only the closed pipe (or the cycle limit) stops it.
    chatty = await build("chatty", "    .text\n    .global _start\n_start:\n    addi t0, zero, 0x41\n    addi t1, zero, 0x0a\n.Lloop:\n    out 0x10, t0\n    out 0x10, t1\n    j .Lloop\n", ["--no-annotate"]);
  }, 120_000);

  it("objdump -d | head -1: the first line, then a quiet stop with status 141", () => {
    const r = pipedToHead(["objdump", "-d", kernel]);
    expect(r.stderr).toBe("");
    expect(r.first).not.toBe("");
    expect(r.status).toBe(141);
  });

  it("load --show-sites | head -1", () => {
    const r = pipedToHead(["load", manySites, "--hv", "xen", "--show-sites"]);
    expect(r.stderr).toBe("");
    expect(r.first).toMatch(/^address\s+kind/);
    expect(r.status).toBe(141);
  });

  it("run | head -1 stops the guest at the failed write, long before the cycle limit", () => {
    const r = pipedToHead(["run", chatty, "--hv", "bare", "--max-cycles", "20000000000"]);
    expect(r.stderr).toBe("");
    expect(r.first).toBe("A\n");
    expect(r.status).toBe(141);
  });

  it("--version and --help into a pipe already closed: no stack trace, 141 (or 0 if the write won the race)", () => {
    for (const flag of ["--version", "--help"]) {
      const r = spawnSync("bash", ["-c", `set -o pipefail; node '${bin}' ${flag} | true`], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect([0, 141]).toContain(r.status);
    }
  });
});
