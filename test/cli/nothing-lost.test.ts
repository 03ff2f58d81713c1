// "Bad input gets a clear error, and nothing is lost" (docs/design.md §6),
// attacked the way a careless user would: an output that names an input
// (`as a.s -o a.s`, `run k.elf --json k.elf`), two options naming one file,
// an output folder that does not exist (refused before the guest runs, so a
// --disk image is not changed for a result that cannot be written), a
// refused command that would have written some of its outputs (`kernel
// --user-programs U --disk D -o K --cpus 0`), and a write that fails half
// way (the file that was there stays as it was: src/cli/files.ts writes a
// temporary and renames it; resume writes a snapshot's disk only once the
// guest is restored; /dev/stdout is written as -). Then values the option
// parsers let through: empty lists (`matrix --hv ,` was an internal error),
// `--at 0x10`, `-D X=`, a -D or --timer-period too big for the 32-bit word it
// becomes, an empty file name. In-process through main(), on real guests; a
// real process where its stdout matters.
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeOutputChunks } from "../../src/cli/files.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-lost-"));
const p = (name: string) => join(dir, name);
const fixture = (name: string) => join(import.meta.dirname, "../../fixtures/guests", name);

async function cli(...argv: string[]) {
  const io = bufferIO(new Uint8Array());
  const status = await main(argv, io);
  return { status, out: io.stdout, err: io.stderr };
}

/** One error line, status 1. */
function refused(r: { status: number; err: string }, message: string) {
  expect(r.err).toBe(`previrt: error: ${message}\n`);
  expect(r.status).toBe(1);
}

const bytes = (f: string) => readFileSync(f);

beforeAll(async () => {
  copyFileSync(fixture("hello.s"), p("hello.s"));
  writeFileSync(p("main.ts"), "export function main(): number { return 3; }\n");
  expect((await cli("build", p("hello.s"), "-o", p("hello.elf"))).status).toBe(0);
  // A guest that writes sector 0 of its disk and powers off: a run changes the image.
  writeFileSync(
    p("disk.s"),
    "    .text\n    .global _start\n_start:\n    li t0, 0x80000\n    li t1, 0x5a5a5a5a\n    sw t1, 0(t0)\n" +
      "    out 0x30, zero\n    out 0x31, t0\n    li t2, 2\n    out 0x32, t2\nwait:\n    in t3, 0x33\n    andi t3, t3, 2\n    beqz t3, wait\n    out 0xF0, zero\n",
  );
  expect((await cli("build", p("disk.s"), "-o", p("disk.elf"))).status).toBe(0);
  writeFileSync(p("disk.img"), new Uint8Array(4096));
  // The snapshots several tests resume, made here so that each test also runs alone (-t). h.snap: hello on
  // xen, no disk. d7.snap: a guest that writes sector 7 of its disk, waits for the transfer and powers off
  // with the disk's status (2 DONE, 6 DONE|ERROR: no sector 7), stopped at its first safe point on bare
  // with an 8-sector disk.
  expect((await cli("run", p("hello.elf"), "--hv", "xen", "--snapshot-at", "100", "--snapshot", p("h.snap"))).status).toBe(0);
  writeFileSync(
    p("disk7.s"),
    "    .text\n    .global _start\n_start:\n    li t0, 0x80000\n    li t1, 0x5a5a5a5a\n    sw t1, 0(t0)\n    li t2, 7\n    out 0x30, t2\n" +
      "    out 0x31, t0\n    li t2, 2\n    out 0x32, t2\nwait:\n    in t3, 0x33\n    andi t4, t3, 2\n    beqz t4, wait\n    out 0xF0, t3\n",
  );
  expect((await cli("build", p("disk7.s"), "-o", p("disk7.elf"))).status).toBe(0);
  writeFileSync(p("d8.img"), new Uint8Array(8 * 512));
  expect((await cli("run", p("disk7.elf"), "--hv", "bare", "--disk", p("d8.img"), "--snapshot-at", "1", "--snapshot", p("d7.snap"))).status).toBe(0);
});

describe("an output never overwrites an input", () => {
  it("-o naming the source: as, build, cc, annotate (and --map)", async () => {
    const s = bytes(p("hello.s"));
    const ts = bytes(p("main.ts"));
    for (const argv of [["as", p("hello.s"), "-o", p("hello.s")], ["build", p("hello.s"), "-o", p("hello.s")], ["annotate", p("hello.s"), "-o", p("hello.s")]]) {
      refused(await cli(...argv), `${p("hello.s")}: -o would overwrite an input`);
    }
    refused(await cli("cc", p("main.ts"), "-o", p("main.ts")), `${p("main.ts")}: -o would overwrite an input`);
    refused(await cli("annotate", p("hello.s"), "-o", p("x.s"), "--map", p("hello.s")), `${p("hello.s")}: --map would overwrite an input`);
    // Another spelling of the same file, and the second of several inputs.
    refused(await cli("as", p("main.ts"), p("hello.s"), "-o", `${dir}/./hello.s`), `${`${dir}/./hello.s`}: -o would overwrite the input ${p("hello.s")}`);
    expect(bytes(p("hello.s"))).toEqual(s);
    expect(bytes(p("main.ts"))).toEqual(ts);
  });

  it("--json and --snapshot naming the ELF, the disk or the snapshot a command reads", async () => {
    const elf = bytes(p("hello.elf"));
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--json", p("hello.elf")), `${p("hello.elf")}: --json would overwrite an input`);
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--snapshot-at", "1", "--snapshot", p("hello.elf")), `${p("hello.elf")}: --snapshot would overwrite an input`);
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--disk", p("disk.img"), "--json", p("disk.img")), `${p("disk.img")}: --json would overwrite an input`);
    refused(await cli("migrate", p("hello.elf"), "--from", "bare", "--to", "xen", "--at", "10", "--json", p("hello.elf")), `${p("hello.elf")}: --json would overwrite an input`);
    refused(await cli("run", "--guest", p("hello.elf"), "--guest", p("hello.elf"), "--json", p("hello.elf")), `${p("hello.elf")}: --json would overwrite an input`);
    expect(bytes(p("hello.elf"))).toEqual(elf);
    expect((await cli("run", p("hello.elf"), "--hv", "xen", "--snapshot-at", "100", "--snapshot", p("h.snap"))).status).toBe(0);
    const snap = bytes(p("h.snap"));
    refused(await cli("resume", p("h.snap"), "--hv", "xen", "--snapshot-at", "200", "--snapshot", p("h.snap")), `${p("h.snap")}: --snapshot would overwrite an input`);
    refused(await cli("resume", p("h.snap"), "--hv", "xen", "--json", p("h.snap")), `${p("h.snap")}: --json would overwrite an input`);
    expect(bytes(p("h.snap"))).toEqual(snap);
  });

  it("--json naming a file a --domains configuration names (a guest's ELF, disk or nvdisk), or the configuration itself", async () => {
    const elf = bytes(p("hello.elf"));
    writeFileSync(p("nv.img"), new Uint8Array(4096).fill(7));
    // Paths relative to the configuration's folder, as a configuration usually has them.
    const config = JSON.stringify({ guests: [{ name: "a", elf: "hello.elf", disk: "disk.img" }, { name: "b", elf: "disk.elf", nvdisk: "nv.img" }] });
    writeFileSync(p("c.json"), config);
    for (const f of ["disk.img", "nv.img", "c.json"]) {
      refused(await cli("run", "--domains", p("c.json"), "--json", `${dir}/./${f}`), `${dir}/./${f}: --json would overwrite the input ${p(f)}`);
    }
    // An ELF is refused as one before the configuration is read (a report never goes over a binary).
    for (const f of ["hello.elf", "disk.elf"]) {
      refused(await cli("run", "--domains", p("c.json"), "--json", `${dir}/./${f}`), `${dir}/./${f}: an ELF file; --json would overwrite it with a report (give the report another name)`);
    }
    expect(bytes(p("hello.elf"))).toEqual(elf);
    expect([...bytes(p("nv.img"))].every((b) => b === 7)).toBe(true);
    expect(bytes(p("c.json")).toString()).toBe(config);
  });

  // `build p.ts -o main.ts` (a slip for main.elf) replaced the source main.ts with an ELF; `cc -o` over an ELF replaced it with assembly.
  it("a binary output over a file that is no ELF or snapshot, and a text output over one, are refused", async () => {
    const source = "export function f(): number {\n  return 1;\n}\n";
    writeFileSync(p("kept.ts"), source);
    const elf = bytes(p("hello.elf"));
    const notBinary = (flag: string) => `${p("kept.ts")}: not an ELF file or previrt snapshot; ${flag} would overwrite it (give the output another name, or remove the file first)`;
    refused(await cli("as", p("hello.s"), "-o", p("kept.ts")), notBinary("-o"));
    refused(await cli("build", p("hello.s"), "-o", p("kept.ts")), notBinary("-o"));
    refused(await cli("kernel", "-o", p("kept.ts")), notBinary("-o"));
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--snapshot-at", "1", "--snapshot", p("kept.ts")), notBinary("--snapshot"));
    expect(bytes(p("kept.ts")).toString()).toBe(source);
    const overElf = (flag: string) => `${p("hello.elf")}: an ELF file; ${flag} would overwrite it with text (give the output another name)`;
    writeFileSync(p("prog.ts"), "export function main(): number {\n  return 0;\n}\n");
    refused(await cli("cc", p("prog.ts"), "-o", p("hello.elf")), overElf("-o"));
    refused(await cli("annotate", p("hello.s"), "-o", p("hello.elf")), overElf("-o"));
    refused(await cli("kernel", "-o", p("k2.elf"), "--user-programs", p("hello.elf")), overElf("--user-programs"));
    expect(bytes(p("hello.elf"))).toEqual(elf);
    // Nor is text written over a TypeScript source that is no input (`cc a.ts -o b.ts`, a slip for b.s).
    refused(await cli("cc", p("prog.ts"), "-o", p("kept.ts")), `${p("kept.ts")}: a TypeScript source; -o would overwrite it (give the output another name)`);
    refused(await cli("bench", "--json", p("kept.ts")), `${p("kept.ts")}: a TypeScript source; --json would overwrite it (give the output another name)`);
    expect(bytes(p("kept.ts")).toString()).toBe(source);
    // A binary over a binary (a rebuild) and over an empty file is written.
    writeFileSync(p("empty.elf"), "");
    expect((await cli("as", p("hello.s"), "-o", p("empty.elf"))).status).toBe(0);
    expect((await cli("as", p("hello.s"), "-o", p("empty.elf"))).status).toBe(0);
    expect(bytes(p("empty.elf")).subarray(0, 4)).toEqual(Buffer.from("\x7fELF", "latin1"));
  });

  it("two outputs naming one file", async () => {
    refused(await cli("annotate", p("hello.s"), "-o", p("a.s"), "--map", p("a.s")), `${p("a.s")}: given to both -o and --map`);
    refused(await cli("kernel", "-o", p("k.elf"), "--disk", p("k.elf")), `${p("k.elf")}: given to both -o and --disk`);
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--snapshot-at", "1", "--snapshot", p("j"), "--json", p("j")), `${p("j")}: given to both --json and --snapshot`);
    refused(await cli("bench", "--json", p("r"), "--html", p("r")), `${p("r")}: given to both --json and --html`);
    expect(existsSync(p("a.s")) || existsSync(p("k.elf")) || existsSync(p("j")) || existsSync(p("r"))).toBe(false);
  });

  it("a device is written in place and may take several outputs (-o /dev/null)", async () => {
    expect((await cli("as", p("hello.s"), "-o", "/dev/null")).status).toBe(0);
    expect((await cli("annotate", p("hello.s"), "-o", "/dev/null", "--map", "/dev/null")).status).toBe(0);
  });
});

describe("- is standard output for every output, and only one output may take it", () => {
  it("run --snapshot-at N --snapshot -: the snapshot on stdout, the console on stderr (it wrote a file named -)", async () => {
    const io = bufferIO(new Uint8Array());
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await main(["run", p("hello.elf"), "--hv", "xen", "--snapshot-at", "100", "--snapshot", "-"], io)).toBe(0);
      expect(existsSync(p("-"))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
    expect(io.stderr).toMatch(/^h\nstandard output: snapshot of xen at cycle \d+/);
    writeFileSync(p("piped.snap"), io.stdoutBytes());
    const r = await cli("resume", p("piped.snap"), "--hv", "xen");
    expect(r.status).toBe(0);
    expect(r.out).toBe("ello from G32\n");
  });

  it("--json /dev/stdout with stdout redirected to a file: the console and the document both in it (a rename took the file from under the console)", () => {
    // A real process (bin/previrt.js runs dist/, as npm test builds it): its stdout is the file.
    const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;
    const fd = openSync(p("redirected.out"), "w");
    try {
      const r = spawnSync("node", [bin, "run", p("hello.elf"), "--hv", "bare", "--json", "/dev/stdout"], { stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      closeSync(fd);
    }
    const [consoleText, json] = readFileSync(p("redirected.out"), "utf8").split(/(?<=\n)/);
    expect(consoleText).toBe("hello from G32\n");
    expect(JSON.parse(json)).toMatchObject({ backend: "bare", result: { kind: "poweroff", exitCode: 0 } });
  });

  /** A real process (bin/previrt.js runs dist/) whose stdout is `file` opened to append, as the shell's `>>` does. */
  function appending(file: string, ...argv: string[]) {
    const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;
    const fd = openSync(file, "a");
    try {
      return spawnSync("node", [bin, ...argv], { stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
    } finally {
      closeSync(fd);
    }
  }

  it("-o /dev/stdout appended to a file is written as -o - is: `build x.ts -o /dev/stdout >> notes.ts` was refused as overwriting notes.ts", () => {
    // The file is appended to through standard output, never replaced: its own kind does not matter.
    const notes = "// notes, not previrt's\n";
    for (const [argv, tail] of [
      [["build", p("main.ts"), "-o", "/dev/stdout"], "\x7fELF"],
      [["as", p("hello.s"), "-o", "/dev/stdout"], "\x7fELF"],
      [["cc", p("main.ts"), "-o", "/dev/stdout"], "# Generated by previrt cc"],
    ] as const) {
      writeFileSync(p("notes.ts"), notes);
      const r = appending(p("notes.ts"), ...argv);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(p("notes.ts"), "latin1").startsWith(notes + tail), argv.join(" ")).toBe(true);
      // The same bytes as -o - writes.
      writeFileSync(p("notes2.ts"), notes);
      expect(appending(p("notes2.ts"), ...argv.slice(0, -1), "-").status).toBe(0);
      expect(bytes(p("notes.ts"))).toEqual(bytes(p("notes2.ts")));
    }
    // The input itself, appended to: read whole first, as with -o -.
    copyFileSync(p("main.ts"), p("self.ts"));
    const r = appending(p("self.ts"), "cc", p("self.ts"), "-o", "/dev/stdout");
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(p("self.ts"), "utf8")).toMatch(/^export function main\(\): number \{ return 3; \}\n# Generated by previrt cc/);
  });

  it("two outputs naming standard output are refused as two - are (they would interleave in the file)", () => {
    writeFileSync(p("two.out"), "");
    const r = appending(p("two.out"), "kernel", "-o", "-", "--user-programs", "/dev/stdout");
    expect(r.stderr).toBe("previrt: error: only one of -o and --user-programs can write to standard output (-o -, --user-programs /dev/stdout)\n");
    expect(r.status).toBe(1);
    expect(readFileSync(p("two.out"), "utf8")).toBe("");
  });

  it("two outputs to - are refused, and annotate --map has no name to take from -o -", async () => {
    refused(await cli("kernel", "-o", "-", "--disk", "-"), "only one of -o and --disk can be - (standard output)");
    refused(await cli("run", p("hello.elf"), "--hv", "xen", "--snapshot-at", "1", "--snapshot", "-", "--json", "-"), "only one of --json and --snapshot can be - (standard output)");
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      refused(await cli("annotate", p("hello.s"), "-o", "-", "--map"), "--map needs a file name when -o is - (standard output)");
      expect(existsSync(p("-.map"))).toBe(false);
      // Nor has a device: `-o /dev/null --map` wrote /dev/null.map (as root; else 'permission denied').
      try {
        refused(await cli("annotate", p("hello.s"), "-o", "/dev/null", "--map"), "--map needs a file name when -o is /dev/null (not a file)");
        expect(existsSync("/dev/null.map")).toBe(false);
      } finally {
        rmSync("/dev/null.map", { force: true });
      }
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("a result that cannot be written is refused before anything runs", () => {
  it("run --json and --snapshot into a missing folder: no console, the disk image unchanged", async () => {
    const image = bytes(p("disk.img"));
    const missing = p("no/such/dir/out");
    for (const extra of [["--json", missing], ["--snapshot-at", "5", "--snapshot", missing]]) {
      const r = await cli("run", p("disk.elf"), "--hv", "xen", "--disk", p("disk.img"), ...extra);
      refused(r, `${missing}: no such file or directory`);
      expect(r.out).toBe("");
      expect(bytes(p("disk.img"))).toEqual(image);
    }
    // The guest does write its disk when it runs (what the refusals above kept from happening).
    expect((await cli("run", p("disk.elf"), "--hv", "xen", "--disk", p("disk.img"))).status).toBe(0);
    expect(bytes(p("disk.img"))).not.toEqual(image);
  });

  it("every other command with a --json: refused at once, not after its runs", async () => {
    const missing = p("no/such/dir/out");
    for (const argv of [
      ["migrate", p("hello.elf"), "--from", "bare", "--to", "xen", "--at", "10", "--json", missing],
      ["bench", "--json", missing],
      ["bench", "--html", missing],
      ["inject", "--json", missing],
      ["drivers", "--json", missing],
      ["resume", p("h.snap"), "--hv", "xen", "--json", missing],
    ]) {
      const r = await cli(...argv);
      refused(r, `${missing}: no such file or directory`);
      expect(r.out).toBe("");
    }
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--json", join(p("hello.elf"), "x")), `${join(p("hello.elf"), "x")}: a component of the path is not a directory`);
  });

  it("kernel: a refused option leaves none of its outputs behind", async () => {
    const r = await cli("kernel", "--user-programs", p("u.s"), "--disk", p("kd.img"), "-o", p("kx.elf"), "--cpus", "0");
    refused(r, "--cpus must be an integer from 1 to 8, not 0");
    expect([existsSync(p("u.s")), existsSync(p("kd.img")), existsSync(p("kx.elf"))]).toEqual([false, false, false]);
  });
});

describe("resume --disk: the snapshot's image goes into the file only once the guest is restored", () => {
  const mine = new Uint8Array(512).map((_, i) => (i * 7 + 3) & 0xff);

  it("a refused resume leaves the --disk file as it was (the restore wrote the image, then refused --pcpus)", async () => {
    writeFileSync(p("mine.img"), mine);
    refused(await cli("resume", p("d7.snap"), "--hv", "bare", "--disk", p("mine.img"), "--pcpus", "1"), "--pcpus needs a hypervisor back end (bare has one physical CPU per CPU)");
    refused(await cli("resume", p("d7.snap"), "--hv", "xen", "--disk", p("mine.img"), "--snapshot-at", "9"), "--snapshot-at needs --snapshot FILE");
    expect(new Uint8Array(bytes(p("mine.img")))).toEqual(mine);
  });

  it("a file smaller than the snapshot's disk: the guest still has the disk it had (it got an ERROR, status 6)", async () => {
    writeFileSync(p("mine.img"), mine);
    const r = await cli("resume", p("d7.snap"), "--hv", "xen", "--disk", p("mine.img"));
    expect(r.status).toBe(2);
    const after = bytes(p("mine.img"));
    expect(after.length).toBe(8 * 512);
    expect([...after.subarray(0, 512)]).toEqual(new Array(512).fill(0)); // the snapshot's sector 0
    expect([...after.subarray(7 * 512, 7 * 512 + 4)]).toEqual([0x5a, 0x5a, 0x5a, 0x5a]); // the guest's write
  });

  it.skipIf(process.getuid?.() === 0)("a read-only --disk file is refused before the restore (not testable as root)", async () => {
    writeFileSync(p("ro.img"), mine);
    chmodSync(p("ro.img"), 0o444);
    refused(await cli("resume", p("d7.snap"), "--hv", "xen", "--disk", p("ro.img")), `${p("ro.img")}: permission denied`);
    expect(new Uint8Array(bytes(p("ro.img")))).toEqual(mine);
  });

  it("a snapshot without a disk refuses --disk, as one without an nvdisk refuses --nvdisk", async () => {
    writeFileSync(p("mine.img"), mine);
    refused(await cli("resume", p("h.snap"), "--hv", "xen", "--disk", p("mine.img")), `${p("h.snap")}: the snapshot has no disk to write into ${p("mine.img")}`);
    expect(new Uint8Array(bytes(p("mine.img")))).toEqual(mine);
  });
});

describe("one disk image, one device", () => {
  it("--disk and --nvdisk naming one file, and two --domains guests' images, are refused before anything runs", async () => {
    writeFileSync(p("one.img"), new Uint8Array(4096));
    refused(await cli("run", p("disk.elf"), "--hv", "xen", "--disk", p("one.img"), "--nvdisk", `${dir}/./one.img`), `${dir}/./one.img: given to both --disk and --nvdisk`);
    refused(await cli("resume", p("d7.snap"), "--hv", "xen", "--disk", p("one.img"), "--nvdisk", p("one.img")), `${p("one.img")}: given to both --disk and --nvdisk`);
    writeFileSync(p("two.json"), JSON.stringify({ guests: [{ name: "a", elf: p("hello.elf"), disk: p("one.img") }, { name: "b", elf: p("hello.elf"), nvdisk: p("one.img") }] }));
    refused(await cli("run", "--domains", p("two.json")), `${p("two.json")}: guests[1]: "nvdisk" is the image file of guests[0] "disk" too`);
    expect([...bytes(p("one.img"))].every((b) => b === 0)).toBe(true);
  });

  it("a disk image that is the ELF, the snapshot, the cost model or the --domains file is refused: the guest's writes would overwrite it", async () => {
    // disk.elf writes sector 0 of its disk: run on itself, it would overwrite its own ELF header.
    copyFileSync(p("disk.elf"), p("self.elf"));
    copyFileSync(p("d7.snap"), p("self.snap"));
    const elf = bytes(p("self.elf"));
    const snap = bytes(p("self.snap"));
    refused(await cli("run", p("self.elf"), "--hv", "xen", "--disk", p("self.elf")), `${p("self.elf")}: --disk would overwrite an input`);
    refused(await cli("run", p("self.elf"), "--hv", "xen", "--nvdisk", `${dir}/./self.elf`), `${dir}/./self.elf: --nvdisk would overwrite the input ${p("self.elf")}`);
    refused(await cli("migrate", p("self.elf"), "--from", "xen", "--to", "l4", "--at", "100", "--disk", p("self.elf")), `${p("self.elf")}: --disk would overwrite an input`);
    refused(await cli("resume", p("self.snap"), "--hv", "xen", "--disk", p("self.snap")), `${p("self.snap")}: --disk would overwrite an input`);
    writeFileSync(p("cost.json"), "{}\n");
    refused(await cli("run", p("self.elf"), "--hv", "xen", "--cost-model", p("cost.json"), "--disk", p("cost.json")), `${p("cost.json")}: --disk would overwrite an input`);
    writeFileSync(p("self.json"), JSON.stringify({ guests: [{ name: "a", elf: p("self.elf"), disk: p("self.elf") }] }));
    refused(await cli("run", "--domains", p("self.json")), `${p("self.json")}: guests[0] "disk" is the "elf" of guests[0]: the guest's writes would overwrite it`);
    writeFileSync(p("conf.json"), JSON.stringify({ guests: [{ name: "a", elf: p("hello.elf") }, { name: "b", elf: p("self.elf"), disk: p("conf.json") }] }));
    const conf = bytes(p("conf.json"));
    refused(await cli("run", "--domains", p("conf.json")), `${p("conf.json")}: guests[1] "disk" is the configuration file: the guest's writes would overwrite it`);
    expect(bytes(p("self.elf"))).toEqual(elf);
    expect(bytes(p("self.snap"))).toEqual(snap);
    expect(bytes(p("conf.json"))).toEqual(conf);
  });
});

describe("a write that fails half way leaves the file that was there", () => {
  it("writeOutputChunks: the old contents, its mode, and no temporary left", () => {
    writeFileSync(p("old.s"), "old contents\n");
    chmodSync(p("old.s"), 0o640);
    const before = readdirSync(dir).length;
    expect(() =>
      writeOutputChunks(p("old.s"), (write) => {
        write("new, half");
        throw new Error("the producer failed");
      }, bufferIO()),
    ).toThrow("the producer failed");
    expect(readFileSync(p("old.s"), "utf8")).toBe("old contents\n");
    expect(readdirSync(dir).length).toBe(before);
    writeOutputChunks(p("old.s"), (write) => write("new\n"), bufferIO());
    expect(readFileSync(p("old.s"), "utf8")).toBe("new\n");
    expect(statSync(p("old.s")).mode & 0o777).toBe(0o640);
  });

  it("an output that is a symbolic link is written through it (the link stays a link)", async () => {
    writeFileSync(p("target.elf"), ""); // empty: a binary output replaces only a binary or an empty file
    symlinkSync(p("target.elf"), p("link.elf"));
    expect((await cli("as", p("hello.s"), "-o", p("link.elf"))).status).toBe(0);
    expect(lstatSync(p("link.elf")).isSymbolicLink()).toBe(true);
    expect(bytes(p("target.elf")).subarray(0, 4)).toEqual(Buffer.from("\x7fELF", "latin1"));
  });
});

describe("values the option parsers let through", () => {
  it("an empty list is refused, naming the flag (matrix --hv , was an internal error)", async () => {
    refused(await cli("matrix", p("hello.elf"), "--hv", ","), "--hv: no value in ','");
    refused(await cli("matrix", p("hello.elf"), "--migrate", "--at", ""), "--at: no value in ''");
    refused(await cli("bench", "--workloads", ","), "--workloads: no value in ','");
    refused(await cli("migrate", p("hello.elf"), "--route", ",", "--at", "5"), "--route: no value in ','");
    refused(await cli("build", p("hello.s"), "-o", p("x.elf"), "-D", ""), "-D: no value in ''");
  });

  it("an empty file name (a shell's unset variable) is refused as such (-o '' said ': is a directory')", async () => {
    refused(await cli("as", p("hello.s"), "-o", ""), "-o: '' is not a file name");
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--json", ""), "--json: '' is not a file name");
    refused(await cli("as", "", "-o", p("x.elf")), "'' is not a file name");
    refused(await cli("run", p("hello.elf"), "--hv", "bare", "--disk", ""), "'' is not a file name");
  });

  it("--at: decimal digits, as every whole-number option (0x10 and 1e3 were read as numbers)", async () => {
    for (const v of ["0x10", "1e3", " 5", "5.0"]) {
      refused(await cli("migrate", p("hello.elf"), "--from", "bare", "--to", "xen", "--at", v), `--at: not a non-negative integer: '${v}'`);
      refused(await cli("matrix", p("hello.elf"), "--migrate", "--at", v), `--at: not a non-negative integer: '${v}'`);
    }
  });

  it("matrix --migrate needs two back ends (one gave an empty table and status 0)", async () => {
    refused(await cli("matrix", p("hello.elf"), "--migrate", "--hv", "xen"), "--migrate needs at least two back ends to move between (--hv xen)");
    refused(await cli("matrix", p("hello.elf"), "--migrate", "--hv", "xen,xen"), "--migrate needs at least two back ends to move between (--hv xen)");
  });

  // `as` had no -D, so cc → annotate → as could not build what build -D does.
  it("-D of build and as: a 32-bit integer, decimal or 0x (X= was 0, X=1e3 1000, X=99999999999 silently truncated)", async () => {
    writeFileSync(p("d.s"), "    .text\n    .global _start\n_start:\n    li a0, X\n    out 0xF0, a0\n");
    for (const command of ["build", "as"]) {
      for (const v of ["X=", "X=1e3", "X= 5", "X=99999999999", "X=-2147483649", "X=4294967296", "X=1.5"]) {
        refused(await cli(command, p("d.s"), "-o", p("d.elf"), "-D", v), `bad -D value '${v}' (expected NAME=INTEGER, a 32-bit value)`);
      }
      for (const [v, status] of [["X=0x2a", 42], ["X=-1", 255], ["X=4294967295", 255], ["X", 1]] as const) {
        expect((await cli(command, p("d.s"), "-o", p("d.elf"), "-D", v)).status).toBe(0);
        expect((await cli("run", p("d.elf"), "--hv", "bare")).status).toBe(status);
      }
    }
  });

  it("-D: a name given two values, or a register's name, is refused (the last value won; a0 could never be used); __proto__ is a name like any other", async () => {
    writeFileSync(p("d2.s"), "    .text\n    .global _start\n_start:\n    li a0, X\n    out 0xF0, a0\n");
    writeFileSync(p("proto.s"), "    .text\n    .global _start\n_start:\n    li a0, __proto__\n    out 0xF0, a0\n");
    for (const command of ["build", "as"]) {
      refused(await cli(command, p("d2.s"), "-o", p("d2.elf"), "-D", "X=1", "-D", "X=2"), "-D X given two values ('X=1' and 'X=2')");
      refused(await cli(command, p("d2.s"), "-o", p("d2.elf"), "-D", "X", "-D", "X=2"), "-D X given two values ('X' and 'X=2')");
      refused(await cli(command, p("d2.s"), "-o", p("d2.elf"), "-D", "X=1", "-D", "A0=2"), "bad -D name 'A0' (a register name cannot be a symbol)");
      // The same value twice is no conflict (-1 and 0xffffffff are one 32-bit value).
      expect((await cli(command, p("d2.s"), "-o", p("d2.elf"), "-D", "X=-1", "-D", "X=0xffffffff")).status).toBe(0);
      expect((await cli("run", p("d2.elf"), "--hv", "bare")).status).toBe(255);
      // It was assigned to the options object's prototype and lost: 'undefined symbol __proto__'.
      expect((await cli(command, p("proto.s"), "-o", p("proto.elf"), "-D", "__proto__=5")).status).toBe(0);
      expect((await cli("run", p("proto.elf"), "--hv", "bare")).status).toBe(5);
    }
  });

  it("kernel --timer-period: 32 bits (a larger period wrapped in the kernel's .word)", async () => {
    refused(await cli("kernel", "-o", p("kt.elf"), "--timer-period", "4294967296"), "--timer-period must be an integer from 0 to 4294967295 cycles, not 4294967296");
    refused(await cli("kernel", "--disk", p("kt.img"), "--scale", "0"), "--scale must be an integer from 1 to 1000, not 0");
    expect(existsSync(p("kt.elf")) || existsSync(p("kt.img"))).toBe(false);
  });
});
