// The command's published contract for bad input (docs/design.md §6–10: one
// line `previrt: error: …`, a non-zero status) where an audit found it
// broken: whole-number options given blank or negative (the line names the
// option), a JSON file whose parse error quotes several lines, single-guest
// device options given to a multi-guest run (refused, not ignored), and the
// matrix's multiprocessor options (bare, the reference, refused --pcpus and
// so the whole matrix; --migrate ignored --pcpus and --spinlocks), and
// every run's counters naming spinCycles and lockHolderPreemptions (0 for a
// binary without lock sites).
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { stdinInput } from "../../src/cli/host-devices.js";
import { bufferIO } from "../../src/cli/io.js";
import { UserError } from "../../src/guest-isa/diagnostics.js";
import { main } from "../../src/cli/main.js";
import { readElf } from "../../src/guest-isa/elf.js";
import { runMatrix } from "../../src/hypervisors/matrix.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-contract-"));
const f = (name: string) => join(dir, name);
const hello = f("hello.elf");

async function previrt(...args: string[]) {
  const io = bufferIO();
  const status = await main(args, io);
  return { status, out: io.stdout, err: io.stderr };
}

/** One error line, naming what is wrong, and nothing run. */
function oneLine(r: { status: number; out: string; err: string }, msg: RegExp) {
  expect(r.status).not.toBe(0);
  expect(r.err).toMatch(/^previrt: error: [^\n]+\n$/);
  expect(r.err).toMatch(msg);
  expect(r.out).toBe("");
}

beforeAll(async () => {
  expect((await previrt("build", join(import.meta.dirname, "../../fixtures/guests/hello.s"), "-o", hello)).status).toBe(0);
  // A snapshot of it, which tests give where other files belong (made here too, so that each test runs alone).
  expect((await previrt("run", hello, "--hv", "xen", "--snapshot-at", "10", "--snapshot", f("hello.snap"))).status).toBe(0);
});

describe("whole-number options", () => {
  it("a blank value is refused, not read as 0 (--max-cycles '' stopped the guest at once)", async () => {
    oneLine(await previrt("run", hello, "--hv", "bare", "--max-cycles", ""), /--max-cycles: not a non-negative integer: ''/);
    oneLine(await previrt("run", hello, "--hv", "bare", "--cpus", " "), /--cpus: not a non-negative integer: ' '/);
    oneLine(await previrt("resume", f("none.snap"), "--hv", "bare", "--snapshot-at", ""), /--snapshot-at: not a non-negative integer/);
  });

  it("the error names the option", async () => {
    for (const [cmd, opt] of [
      ["run", "--cpus"],
      ["run", "--pcpus"],
      ["run", "--quantum"],
      ["run", "--timeslice"],
      ["run", "--max-cycles"],
      ["run", "--watchdog"],
      ["matrix", "--jobs"],
      ["migrate", "--cpus"],
    ]) {
      oneLine(await previrt(cmd, hello, "--hv", "bare", opt, "-1"), new RegExp(`^previrt: error: ${opt}: not a non-negative integer: '-1'`));
    }
    oneLine(await previrt("bench", "--cpus", "1.5"), /--cpus: not a non-negative integer: '1\.5'/);
  });

  it("decimal digits only: a value Number() would read is still refused", async () => {
    for (const v of [" 2", "2 ", "0x2", "1e0", "2.0", "+2", "0b10"]) {
      oneLine(await previrt("run", hello, "--hv", "bare", "--cpus", v), new RegExp(`--cpus: not a non-negative integer: '${v.replace(/[.+]/g, "\\$&")}'`));
    }
  });

  it("a good value still works", async () => {
    const r = await previrt("run", hello, "--hv", "bare", "--max-cycles", "1000000", "--cpus", "1");
    expect(r.status).toBe(0);
    expect(r.out).toBe("hello from G32\n");
  });
});

describe("JSON files", () => {
  // V8's message quotes the text, line breaks included.
  const broken = '{"alu": x\n,\n "b": 2}\n';

  it("--cost-model: a parse error is one line", async () => {
    writeFileSync(f("cost.json"), broken);
    oneLine(await previrt("run", hello, "--hv", "bare", "--cost-model", f("cost.json")), /cost\.json: not valid JSON: /);
  });

  it("--domains: a parse error is one line", async () => {
    writeFileSync(f("domains.json"), broken);
    oneLine(await previrt("run", "--domains", f("domains.json")), /domains\.json: not valid JSON: /);
  });
});

describe("several guests", () => {
  it("--nvdisk and --passthrough are refused, as --disk is (they were ignored)", async () => {
    writeFileSync(f("nv.img"), new Uint8Array(4096));
    oneLine(await previrt("run", "--guest", hello, "--guest", hello, "--nvdisk", f("nv.img")), /--nvdisk cannot be used with several guests \(give each guest its nvdisk in the --domains file\)/);
    oneLine(await previrt("run", "--guest", hello, "--guest", hello, "--nvdisk", f("nv.img"), "--passthrough"), /--nvdisk cannot be used with several guests/);
    oneLine(await previrt("run", "--guest", hello, "--guest", hello, "--passthrough"), /--passthrough cannot be used with several guests/);
  });
});

describe("matrix with a multiprocessor's options", () => {
  const spin = f("spin.elf");
  beforeAll(async () => {
    expect((await previrt("kernel", "--workload", "spinlock", "-o", spin)).status).toBe(0);
  });

  it("--pcpus: bare, the reference, keeps a physical CPU per CPU (it refused the whole matrix); the hypervisors time-slice", async () => {
    const r = await previrt("matrix", spin, "--hv", "bare,xen", "--cpus", "4", "--pcpus", "2", "--jobs", "1");
    expect(r.status, r.err).toBe(0);
    expect(r.out.split("\n")[0]).toBe("4 CPUs (2 physical); bare, one physical CPU per CPU");
    const cycles = (hv: string) => Number(r.out.split("\n").find((l) => l.startsWith(`${hv} `))!.split(/\s+/)[4].replace(/,/g, ""));
    const alone = async (...opts: string[]) => {
      const x = await previrt("run", spin, "--cpus", "4", ...opts, "--json", f("m.json"));
      expect(x.status, x.err).toBe(0);
      return JSON.parse(readFileSync(f("m.json"), "utf8")).cycles as number;
    };
    expect(cycles("bare")).toBe(await alone("--hv", "bare"));
    expect(cycles("xen")).toBe(await alone("--hv", "xen", "--pcpus", "2"));
    expect(cycles("xen")).not.toBe(await alone("--hv", "xen"));
    // the library's serial matrix (playground, demo) does the same
    const rows = runMatrix(readElf(readFileSync(spin)), { backends: ["bare", "xen"], cpus: 4, pcpus: 2 });
    expect(rows.map((x) => x.stats.cycles)).toEqual([cycles("bare"), cycles("xen")]);
  });

  it("a para-virtualized binary: the error names it, as run's does", async () => {
    const pv = f("pv.elf");
    expect((await previrt("kernel", "--workload", "syscall", "--paravirt", "xen", "-o", pv)).status).toBe(0);
    oneLine(await previrt("matrix", pv, "--jobs", "1"), new RegExp(`^previrt: error: ${pv.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: para-virtualized for xen`));
  });

  it("--at without --migrate is refused (it was ignored)", async () => {
    oneLine(await previrt("matrix", hello, "--at", "1000"), /^previrt: error: --at is for --migrate \(the migration points\)\n$/);
  });

  it("--migrate refuses --pcpus and a --spinlocks cure in one line (they were ignored)", async () => {
    oneLine(await previrt("matrix", spin, "--migrate", "--hv", "bare,xen", "--cpus", "4", "--pcpus", "2"), /--pcpus cannot be used with --migrate/);
    oneLine(await previrt("matrix", spin, "--migrate", "--hv", "bare,xen", "--cpus", "4", "--spinlocks", "pv"), /--spinlocks pv cannot be used with --migrate/);
  });
});

describe("every run's counters", () => {
  it("name spinCycles and lockHolderPreemptions, 0 for a binary without lock sites, on every back end and both engines", async () => {
    for (const hv of ["bare", "hvm", "trap", "xen", "l4"]) {
      for (const engine of ["interp", "jit"]) {
        const json = f(`hello-${hv}-${engine}.json`);
        const r = await previrt("run", hello, "--hv", hv, "--engine", engine, "--json", json);
        expect(r.status).toBe(0);
        const counts = JSON.parse(readFileSync(json, "utf8")).counts;
        expect(counts.spinCycles, `${hv} ${engine}`).toBe(0);
        expect(counts.lockHolderPreemptions, `${hv} ${engine}`).toBe(0);
      }
    }
  });
});

describe("a binary that does not fit in guest RAM", () => {
  // A .bss of 192 MiB: a well-formed ELF the loader refuses; its error names the file, as the ELF reader's and the rewriter's do.
  it("the loader's error names the file: run, run --snapshot-at, --guest, matrix, matrix --migrate, migrate, load", async () => {
    const big = f("big.elf");
    writeFileSync(f("big.s"), "    .text\n    .global _start\n_start:\n    out 0xF0, zero\n    .bss\nbig: .space 0x0c000000\n");
    expect((await previrt("as", f("big.s"), "-o", big)).status).toBe(0);
    const fits = new RegExp(`^previrt: error: ${big.replace(/[.]/g, "\\.")}: section \\.bss at 0x2000 \\(201326592 bytes\\) does not fit in \\d+ bytes of guest RAM\n`);
    for (const argv of [
      ["run", big, "--hv", "xen"],
      ["run", big, "--hv", "bare", "--snapshot-at", "5", "--snapshot", f("big.snap")],
      ["run", "--guest", big, "--guest", hello],
      ["matrix", big, "--hv", "bare,xen", "--jobs", "1"],
      ["matrix", big, "--migrate", "--hv", "bare,xen"],
      ["migrate", big, "--from", "bare", "--to", "xen", "--at", "5"],
      ["load", big, "--hv", "bare"],
      ["load", big, "--hv", "xen"],
    ]) {
      oneLine(await previrt(...argv), fits);
    }
  });

  it("load refuses what run refuses on that back end: RAM bare has, below xen's in-place VMM, fits bare only", async () => {
    const edge = f("edge.elf");
    // 64 MiB less 64 KiB from 0x2000: inside bare's 64 MiB, past the 128 KiB xen and l4 reserve at the top.
    writeFileSync(f("edge.s"), "    .text\n    .global _start\n_start:\n    out 0xF0, zero\n    .bss\nbig: .space 0x03fee000\n");
    expect((await previrt("as", f("edge.s"), "-o", edge)).status).toBe(0);
    expect((await previrt("load", edge, "--hv", "bare")).status).toBe(0);
    expect((await previrt("run", edge, "--hv", "bare")).status).toBe(0);
    const run = await previrt("run", edge, "--hv", "xen");
    oneLine(run, /does not fit in 66977792 bytes of guest RAM\n$/);
    expect(await previrt("load", edge, "--hv", "xen")).toEqual(run);
  });
});

describe("a file given where another kind is wanted, an empty nvdisk, options that cannot mean anything", () => {
  it("a snapshot for an ELF and an ELF for a snapshot: one line saying which command takes it", async () => {
    const snap = f("hello.snap");
    expect((await previrt("run", hello, "--hv", "xen", "--snapshot-at", "10", "--snapshot", snap)).status).toBe(0);
    for (const argv of [["run", snap, "--hv", "xen"], ["objdump", snap], ["matrix", snap], ["migrate", snap, "--from", "bare", "--to", "xen", "--at", "5"]]) {
      oneLine(await previrt(...argv), new RegExp(`^previrt: error: ${snap.replace(/[.]/g, "\\.")}: a previrt snapshot, not an ELF file \\(previrt resume continues it\\)\n$`));
    }
    oneLine(await previrt("resume", hello, "--hv", "xen"), new RegExp(`^previrt: error: ${hello.replace(/[.]/g, "\\.")}: an ELF file, not a previrt snapshot \\(previrt run runs it\\)\n$`));
  });

  it("an ELF or a snapshot given as a source or a JSON file is named as such (its bytes were parsed and echoed)", async () => {
    const snap = f("hello.snap");
    copyFileSync(hello, f("elf.s"));
    copyFileSync(hello, f("elf.ts"));
    for (const [argv, file, what] of [
      [["as", f("elf.s"), "-o", f("x.elf")], f("elf.s"), "an ELF file, not a source file"],
      [["build", f("elf.s"), "-o", f("x.elf")], f("elf.s"), "an ELF file, not a source file"],
      [["cc", f("elf.ts"), "-o", f("x.s")], f("elf.ts"), "an ELF file, not a source file"],
      [["annotate", snap, "-o", f("x.s")], snap, "a previrt snapshot, not a source file"],
      [["run", hello, "--hv", "bare", "--cost-model", hello], hello, "an ELF file, not a JSON file"],
      [["run", "--domains", snap], snap, "a previrt snapshot, not a JSON file"],
    ] as const) {
      const r = await previrt(...argv);
      expect(r.err).toBe(`previrt: error: ${file}: ${what}\n`);
      expect(r.status).toBe(1);
    }
  });

  it("an nvdisk image without a whole sector is refused (run --snapshot-at wrote a snapshot resume could not read)", async () => {
    writeFileSync(f("short.img"), new Uint8Array(200));
    const msg = new RegExp(`short\\.img: an nvdisk image must hold at least one 512-byte sector\n$`);
    oneLine(await previrt("run", hello, "--hv", "xen", "--nvdisk", f("short.img")), msg);
    oneLine(await previrt("run", hello, "--hv", "xen", "--nvdisk", f("short.img"), "--snapshot-at", "10", "--snapshot", f("short.snap")), msg);
    writeFileSync(f("short.json"), JSON.stringify({ guests: [{ name: "a", elf: hello, nvdisk: f("short.img") }, { name: "b", elf: hello }] }));
    oneLine(await previrt("run", "--domains", f("short.json")), msg);
  });

  it("a --domains guest's memory too small for xen's in-place VMM is refused in one line (it was an internal error)", async () => {
    for (const [memory, bytes] of [["64K", 65536], ["128K", 131072]]) {
      writeFileSync(f("small.json"), JSON.stringify({ hv: "xen", guests: [{ name: "a", elf: hello, memory }, { name: "b", elf: hello }] }));
      oneLine(await previrt("run", "--domains", f("small.json")), new RegExp(`^previrt: error: guest 'a': guest RAM of ${bytes} bytes leaves no room for the in-place VMM's 131072-byte window at its top\n$`));
    }
  });

  it("an option a mode ignores is refused: matrix --migrate --jobs, run --domains --cpus", async () => {
    oneLine(await previrt("matrix", hello, "--migrate", "--jobs", "2", "--hv", "bare,xen"), /^previrt: error: --jobs cannot be used with --migrate \(the migration matrix runs in this thread\)\n$/);
    writeFileSync(f("two.json"), JSON.stringify({ guests: [{ name: "a", elf: hello }, { name: "b", elf: hello }] }));
    oneLine(await previrt("run", "--domains", f("two.json"), "--cpus", "2"), /^previrt: error: --cpus cannot be used with --domains \(give each guest its "cpus" in the file\)\n$/);
  });

  it("bench --repeats 0 and playground --port with --export are refused (each was run or ignored)", async () => {
    oneLine(await previrt("bench", "--repeats", "0"), /^previrt: error: --repeats must be an integer from 1 to 1000, not 0\n$/);
    oneLine(await previrt("playground", "--port", "0", "--export", f("site")), /^previrt: error: --port is for serving; --export writes the files instead: give one\n$/);
  });

  it("playground --export '' and --export - are refused as every output option refuses them ('': no such file or directory; -: a folder named '-')", async () => {
    oneLine(await previrt("playground", "--export", ""), /^previrt: error: --export: '' is not a folder name\n$/);
    oneLine(await previrt("playground", "--export", "-"), /^previrt: error: --export: the playground is several files, which standard output cannot hold: give a folder\n$/);
  });
});

describe("standard input", () => {
  it("a directory as the guest's console input is one line, not an internal error (EISDIR)", async () => {
    const fd = openSync(dir, "r");
    try {
      const input = stdinInput(fd);
      expect(() => input.read()).toThrow(new UserError("standard input: is a directory"));
    } finally {
      closeSync(fd);
    }
  });
});

