// Every path a command reads or writes goes through src/cli/files.ts: a
// directory, a missing file or an unreadable one is one line
// `previrt: error: PATH: …` with status 1 for every command and option that
// takes a file; `-o -` (and every other output option given `-`) writes to
// standard output. In-process, through main(), on real guests.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { readElf } from "../../src/guest-isa/elf.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-files-"));
const adir = join(dir, "adir");
const p = (name: string) => join(dir, name);
mkdirSync(adir);
mkdirSync(p("d.ts"));
mkdirSync(p("d.s"));
const hello = "    .text\n    .global _start\n_start:\n    addi t0, zero, 0x68\n    out 0x10, t0\n    out 0xF0, zero\n";
writeFileSync(p("hello.s"), hello);
writeFileSync(p("main.ts"), "export function main(): number { return 3; }\n");

async function cli(argv: string[]) {
  const io = bufferIO(new Uint8Array());
  const status = await main(argv, io);
  return { status, ...io, bytes: io.stdoutBytes() };
}

describe("files a command is given", () => {
  beforeAll(async () => {
    expect((await cli(["build", p("hello.s"), "-o", p("hello.elf")])).status).toBe(0);
  });

  const reads: [string, (bad: string) => string[]][] = [
    ["run", (f) => ["run", f, "--hv", "bare"]],
    ["verify", (f) => ["verify", f]],
    ["objdump", (f) => ["objdump", f]],
    ["objdump -d", (f) => ["objdump", "-d", f]],
    ["load", (f) => ["load", f, "--hv", "xen"]],
    ["matrix", (f) => ["matrix", f]],
    ["annotate", (f) => ["annotate", f, "-o", p("x.s")]],
    ["as", (f) => ["as", f, "-o", p("x.elf")]],
    ["run --disk", (f) => ["run", p("hello.elf"), "--hv", "bare", "--disk", f]],
    ["matrix --disk", (f) => ["matrix", p("hello.elf"), "--disk", f]],
    ["run --cost-model", (f) => ["run", p("hello.elf"), "--hv", "bare", "--cost-model", f]],
    ["matrix --cost-model", (f) => ["matrix", p("hello.elf"), "--cost-model", f]],
    ["bench --cost-model", (f) => ["bench", "--cost-model", f]],
  ];

  it("a name that is not UTF-8 (Node reads it with U+FFFD) is named, with why it cannot be found", async () => {
    // Latin-1 `é` (0xE9) in a name: what the shell passes reaches the command as U+FFFD, so a real file of that
    // name is never found; the error says why rather than leaving the user to look for a typo.
    const hint = " (a name that is not UTF-8 reaches previrt with U+FFFD in place of its bad bytes, as Node reads the command line: rename such a file)";
    for (const argv of [["run", p("f\uFFFD.elf"), "--hv", "bare"], ["cc", p("f\uFFFD.ts"), "-o", p("x.s")], ["as", p("g\uFFFD.s"), "-o", p("x.elf")]]) {
      const r = await cli(argv);
      expect(r.stderr).toBe(`previrt: error: ${argv[1]}: no such file or directory${hint}\n`);
      expect(r.status).toBe(1);
    }
  });

  it("an argument whose bytes are not UTF-8 is refused by name, \\xE9 for the bad byte: input or output, any command (it was 'no such file' for an input, an output written under another name)", () => {
    // A real process: only its command line has the bytes (bin/previrt.js reads them; process.argv has U+FFFD).
    const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;
    writeFileSync(Buffer.concat([Buffer.from(p("h")), Buffer.from([0xe9]), Buffer.from(".s")]), readFileSync(join(import.meta.dirname, "../../fixtures/guests/hello.s")));
    writeFileSync(p("hello.s"), readFileSync(join(import.meta.dirname, "../../fixtures/guests/hello.s")));
    // sh passes printf's bytes on as they are: `\351` is 0xE9.
    const shell = (args: string) => spawnSync("sh", ["-c", `exec "${process.execPath}" "${bin}" ${args}`], { encoding: "utf8" });
    const bad = (name: string) => `"$(printf '${p(name)}')"`;
    for (const [args, named] of [
      [`as ${bad("h\\351.s")} -o ${p("x.elf")}`, "h\\xE9.s"],
      [`as ${p("hello.s")} -o ${bad("out\\351.elf")}`, "out\\xE9.elf"],
      [`build ${p("hello.s")} -o ${bad("out\\351\\342\\202.elf")}`, "out\\xE9\\xE2\\x82.elf"],
      [`objdump ${bad("h\\351.elf")}`, "h\\xE9.elf"],
      [`run --hv bare ${bad("h\\351.elf")}`, "h\\xE9.elf"],
    ]) {
      const r = shell(args);
      expect(r.stderr, args).toBe(`previrt: error: '${p(named)}': not UTF-8; Node reads the command line as UTF-8 and would give previrt another name (rename the file)\n`);
      expect(r.status).toBe(2);
    }
    expect(existsSync(p("out\uFFFD.elf"))).toBe(false);
    expect(existsSync(p("x.elf"))).toBe(false);
    // A name that holds U+FFFD itself, in UTF-8, is a name like any other.
    writeFileSync(p("r\uFFFD.s"), readFileSync(p("hello.s")));
    const r = shell(`as ${p("r\uFFFD.s")} -o ${p("r\uFFFD.elf")}`);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(p("r\uFFFD.elf"))).toBe(true);
  });

  for (const [what, argv] of reads) {
    it(`${what}: a directory, a missing file`, async () => {
      for (const [bad, reason] of [[adir, "is a directory"], [p("nosuch"), "no such file or directory"]]) {
        const r = await cli(argv(bad));
        expect(r.stderr).toBe(`previrt: error: ${bad}: ${reason}\n`);
        expect(r.status).toBe(1);
      }
    });
  }

  it("cc and build: a directory named like a source", async () => {
    for (const argv of [["cc", p("d.ts"), "-o", p("x.s")], ["build", p("d.s"), "-o", p("x.elf")], ["build", p("d.ts"), "-o", p("x.elf")]]) {
      const r = await cli(argv);
      expect(r.stderr).toBe(`previrt: error: ${argv[1]}: is a directory\n`);
      expect(r.status).toBe(1);
    }
  });

  it("an output path that is a directory", async () => {
    for (const argv of [["as", p("hello.s"), "-o", adir], ["build", p("hello.s"), "-o", adir], ["cc", p("main.ts"), "-o", adir], ["kernel", "-o", adir], ["annotate", p("hello.s"), "-o", adir]]) {
      const r = await cli(argv);
      expect(r.stderr).toBe(`previrt: error: ${adir}: is a directory\n`);
      expect(r.status).toBe(1);
    }
  });

  it("a file too large to read whole (a sparse 3 GiB file): one line saying so, not 'err_fs_file_too_large'", async () => {
    writeFileSync(p("huge.elf"), "");
    truncateSync(p("huge.elf"), 3 * 2 ** 30);
    try {
      for (const argv of [["run", p("huge.elf"), "--hv", "bare"], ["as", p("huge.elf"), "-o", p("x.elf")], ["matrix", p("hello.elf"), "--disk", p("huge.elf")]]) {
        const r = await cli(argv);
        expect(r.stderr).toBe(`previrt: error: ${p("huge.elf")}: too large to read whole (2 GiB at most)\n`);
        expect(r.status).toBe(1);
      }
    } finally {
      unlinkSync(p("huge.elf"));
    }
  });

  it("a source or JSON file that is not UTF-8 is refused at its first bad byte, not assembled as U+FFFD's bytes", async () => {
    // Latin-1 `é` (0xE9) in a string: a lenient decoder stored EF BF BD in .rodata and the build succeeded.
    writeFileSync(p("latin1.s"), Buffer.concat([Buffer.from("    .global _start\n_start:\n    out 0xF0, zero\n\t.ascii \"caf"), Buffer.from([0xe9]), Buffer.from("\"\n")]));
    writeFileSync(p("latin1.ts"), Buffer.concat([Buffer.from('const s = "\u00e9t'), Buffer.from([0xe9]), Buffer.from('";\nexport function main(): number { return 3; }\n')]));
    // A surrogate's encoding (ED A0 80) and a sequence cut short by the end of the file: invalid too.
    writeFileSync(p("surrogate.json"), Buffer.concat([Buffer.from('{"alu": 1,\n "x'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('": 2}')]));
    writeFileSync(p("cut.s"), Buffer.concat([Buffer.from("\ufeff    .word 1 # "), Buffer.from([0xc3])]));
    // The very first byte bad (a UTF-16 file starts FF FE), with lines after it: line 1, not the last line.
    writeFileSync(p("utf16.s"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("nop\nnop\nnop\n")]));
    const cases: [string[], string, string][] = [
      [["as", p("latin1.s"), "-o", p("x.elf")], `${p("latin1.s")}:4:13: error: not UTF-8 text: byte 0xE9 (save the file as UTF-8)`, '> 4 | \t.ascii "caf\ufffd"'],
      [["build", p("latin1.s"), "-o", p("x.elf")], `${p("latin1.s")}:4:13: error: not UTF-8 text: byte 0xE9 (save the file as UTF-8)`, '> 4 | \t.ascii "caf\ufffd"'],
      [["annotate", p("latin1.s"), "-o", p("x.s")], `${p("latin1.s")}:4:13: error: not UTF-8 text: byte 0xE9 (save the file as UTF-8)`, '> 4 | \t.ascii "caf\ufffd"'],
      [["cc", p("latin1.ts"), "-o", p("x.s")], `${p("latin1.ts")}:1:14: error: not UTF-8 text: byte 0xE9 (save the file as UTF-8)`, '> 1 | const s = "\u00e9t\ufffd";'],
      [["as", p("cut.s"), "-o", p("x.elf")], `${p("cut.s")}:1:15: error: not UTF-8 text: byte 0xC3 (save the file as UTF-8)`, "> 1 |     .word 1 # \ufffd"],
      [["as", p("utf16.s"), "-o", p("x.elf")], `${p("utf16.s")}:1:1: error: not UTF-8 text: byte 0xFF (save the file as UTF-8)`, "> 1 | \ufffd\ufffdnop"],
    ];
    for (const [argv, head, frame] of cases) {
      const r = await cli(argv);
      expect(r.stderr.split("\n").slice(0, 2), argv.join(" ")).toEqual([head, frame]);
      expect(r.status).toBe(1);
    }
    // A JSON file is the CLI's: one line, the position in it.
    const json = await cli(["run", p("hello.elf"), "--hv", "bare", "--cost-model", p("surrogate.json")]);
    expect(json.stderr).toBe(`previrt: error: ${p("surrogate.json")}: line 2, column 4: not UTF-8 text: byte 0xED (save the file as UTF-8)\n`);
    expect(json.status).toBe(1);
    // UTF-8 itself, with a BOM and CRLF line endings, still assembles.
    writeFileSync(p("bom.s"), "\ufeff    .global _start\r\n_start:\r\n    out 0xF0, zero\r\n\t.ascii \"caf\u00e9\"\r\n");
    expect((await cli(["as", p("bom.s"), "-o", p("bom.elf")])).status).toBe(0);
  });

  it.skipIf(process.getuid?.() === 0)("an unreadable file: permission denied (not testable as root)", async () => {
    writeFileSync(p("locked.elf"), readFileSync(p("hello.elf")));
    chmodSync(p("locked.elf"), 0);
    const r = await cli(["run", p("locked.elf"), "--hv", "bare"]);
    expect(r.stderr).toBe(`previrt: error: ${p("locked.elf")}: permission denied\n`);
    expect(r.status).toBe(1);
  });
});

describe("- as standard output", () => {
  it("cc -o - writes the assembly to stdout and no file named -", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await cli(["cc", "main.ts", "-o", "-"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^# Generated by previrt cc from main\.ts/);
      expect(r.stdout).toMatch(/^main:/m);
      expect(existsSync(join(dir, "-"))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  it("as, build and kernel -o - write the ELF's bytes; annotate -o - the annotated assembly", async () => {
    for (const argv of [["as", p("hello.s"), "-o", "-"], ["build", p("main.ts"), "-o", "-"], ["kernel", "-o", "-"]]) {
      const r = await cli(argv);
      expect(r.status).toBe(0);
      expect(readElf(r.bytes).entry).toBeGreaterThan(0);
    }
    const a = await cli(["annotate", p("hello.s"), "-o", "-"]);
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/\.softlayer/);
  });
});
