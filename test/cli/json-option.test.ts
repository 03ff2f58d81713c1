// `--json [file]`, one meaning on every reporting command (src/cli/json-option.ts):
// without a file (or with `-`) the document goes alone to stdout and what the
// command prints there — the guest console, the table, the summary — to
// stderr; right before a command's positional argument it is the flag, not a
// file name; a file that cannot be written is one `previrt: error:` line
// before anything runs. Real guests on the real machine, in process.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSmallGuest, cli } from "./small-guest.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-json-option-"));
const elf = join(dir, "hi.elf"); // the small guest: prints "h\n", exit 3
const snap = join(dir, "hi.snap");

beforeAll(async () => {
  expect(await buildSmallGuest(dir)).toBe(elf);
  // Taken before the guest printed anything: the resumed run prints "h\n".
  const taken = await cli("run", elf, "--hv", "xen", "--snapshot-at", "0", "--snapshot", snap);
  expect(taken.status, taken.err).toBe(0);
});

/**
 * Each reporting command: its arguments with `--json` last (no file), the
 * same with `--json` before the positional argument where it has one, its
 * status, what the document holds, and what went to stderr instead of stdout.
 */
const COMMANDS: { name: string; argv: string[]; before?: string[]; status: number; doc: object; moved: RegExp }[] = [
  { name: "run", argv: ["run", elf, "--hv", "xen"], before: ["run", "--json", elf, "--hv", "xen"], status: 3, doc: { backend: "xen", result: { kind: "poweroff", exitCode: 3 } }, moved: /^h\n$/ },
  { name: "resume", argv: ["resume", snap, "--hv", "l4"], before: ["resume", "--json", snap, "--hv", "l4"], status: 3, doc: { backend: "l4", file: snap, result: { kind: "poweroff", exitCode: 3 } }, moved: /^h\n$/ },
  {
    name: "migrate",
    argv: ["migrate", elf, "--from", "xen", "--to", "l4", "--at", "0"],
    before: ["migrate", "--json", elf, "--from", "xen", "--to", "l4", "--at", "0"],
    status: 3,
    doc: { from: "xen", to: "l4", migrated: true },
    moved: /^migration xen -> l4 at cycle [\d,]+: .*\nh\n$/,
  },
  { name: "matrix", argv: ["matrix", elf, "--hv", "bare,xen"], before: ["matrix", "--json", elf, "--hv", "bare,xen"], status: 0, doc: { matrix: "backends", runs: [{ backend: "bare" }, { backend: "xen", verdict: { kind: "same" } }] }, moved: /^back end +verdict/ },
  { name: "matrix --migrate", argv: ["matrix", elf, "--migrate", "--hv", "bare,xen", "--at", "0"], before: ["matrix", "--json", elf, "--migrate", "--hv", "bare,xen", "--at", "0"], status: 0, doc: { matrix: "migration", runs: [{ from: "bare", to: "xen" }, { from: "xen", to: "bare" }] }, moved: /^migration matrix: reference bare/ },
  { name: "bench", argv: ["bench", "--workloads", "syscall", "--hv", "bare", "--scale", "1", "--repeats", "1", "--jobs", "1"], status: 0, doc: { workloads: ["syscall"] }, moved: /\[2\/2\] done\nOverhead over bare/ },
  { name: "inject", argv: ["inject", "--runs", "1"], status: 0, doc: { hv: "bare", runs: 1, firstSeed: 1 }, moved: /^fault injection into the Mondrix kernel/ },
  { name: "drivers", argv: ["drivers", "--crashes", "1"], status: 0, doc: { backend: "xen", workload: "io", summary: { runs: 1 } }, moved: /^driver restarts under the client.s io on xen/ },
];

describe("--json without a file: the document alone on stdout", () => {
  for (const c of COMMANDS) {
    it(`${c.name} --json`, async () => {
      const r = await cli(...c.argv, "--json");
      expect(r.status, r.err).toBe(c.status);
      expect(JSON.parse(r.out)).toMatchObject(c.doc);
      expect(r.err).toMatch(c.moved);
      const dash = await cli(...c.argv, "--json", "-");
      expect(Object.keys(JSON.parse(dash.out))).toEqual(Object.keys(JSON.parse(r.out))); // `-` is the same
    });
    if (c.before) {
      it(`${c.name}: --json right before the positional argument is the flag`, async () => {
        const r = await cli(...c.before!);
        expect(r.status, r.err).toBe(c.status);
        expect(JSON.parse(r.out)).toMatchObject(c.doc);
      });
    }
  }

  it("a missing positional argument is commander's error, --json or not", async () => {
    for (const argv of [["matrix", "--json"], ["migrate", "--from", "xen", "--to", "l4", "--at", "0", "--json"]]) {
      const r = await cli(...argv);
      expect(r.status).toBe(2);
      expect(r.err).toBe("previrt: error: missing required argument 'elf'\n");
    }
  });
});

describe("--json FILE that cannot be written: one error line, nothing run", () => {
  const folder = join(dir, "a-folder");
  mkdirSync(folder);
  for (const c of COMMANDS) {
    it(`${c.name}: a directory, a missing folder`, async () => {
      for (const [path, reason] of [[folder, "is a directory"], [join(dir, "no-such", "r.json"), "no such file or directory"]]) {
        const r = await cli(...c.argv, "--json", path);
        expect(r.status).toBe(1);
        expect(r.err).toBe(`previrt: error: ${path}: ${reason}\n`);
        expect(r.out).toBe(""); // no console, no table: nothing ran
      }
    });
  }

  it.each(COMMANDS.map((c) => [c.name, c] as const))("%s: an existing ELF file or snapshot is not written over", async (_name, c) => {
    // Copies, not the command's inputs (an input is refused as such): a report over a binary is a slip.
    for (const [from, kind] of [[elf, "an ELF file"], [snap, "a previrt snapshot"]]) {
      const other = join(dir, `other-${c.name.replace(/ /g, "")}${from === elf ? ".elf" : ".snap"}`);
      copyFileSync(from, other);
      const r = await cli(...c.argv, "--json", other);
      expect(r.status).toBe(1);
      expect(r.err).toBe(`previrt: error: ${other}: ${kind}; --json would overwrite it with a report (give the report another name)\n`);
      expect(r.out).toBe("");
      expect(readFileSync(other).equals(readFileSync(from))).toBe(true);
    }
  });

  it.skipIf(process.getuid?.() === 0)("a folder that cannot be written: permission denied (not testable as root)", async () => {
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      for (const c of COMMANDS) {
        const r = await cli(...c.argv, "--json", join(locked, "r.json"));
        expect(r.status).toBe(1);
        expect(r.err).toBe(`previrt: error: ${join(locked, "r.json")}: permission denied\n`);
        expect(r.out).toBe("");
      }
    } finally {
      chmodSync(locked, 0o700);
    }
  });
});
