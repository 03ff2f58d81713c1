// `previrt run --guest … / --domains FILE` (src/cli/commands/run-domains.ts):
// prefixed consoles, the exit status rule, --json, and every bad input one
// error line with a non-zero status. In-process CLI on real guests.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { writeElf } from "../../src/guest-isa/elf.js";
import { HC_ERROR } from "../../src/hypervisors/common/hypercalls.js";
import { client, guest, peer, printer, server, victim } from "./guests.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-domains-"));
const f = (name: string) => join(dir, name);

async function cli(argv: string[]) {
  const io = bufferIO(new Uint8Array());
  return { status: await main(argv, io), ...io };
}

beforeAll(() => {
  writeFileSync(f("a.elf"), writeElf(guest("a", printer("alpha", 2))));
  writeFileSync(f("b.elf"), writeElf(guest("b", printer("beta", 3))));
  writeFileSync(f("c.elf"), writeElf(guest("c", client)));
  writeFileSync(f("s.elf"), writeElf(guest("s", server)));
  writeFileSync(f("v.elf"), writeElf(guest("v", victim)));
  writeFileSync(f("h.elf"), writeElf(guest("h", peer(true, HC_ERROR))));
  writeFileSync(f("hostile.json"), JSON.stringify({ guests: [{ name: "victim", elf: "v.elf", uses: { block: "peer" } }, { name: "peer", elf: "h.elf", serves: ["block"], disk: "memory" }] }));
  writeFileSync(f("d.json"), JSON.stringify({ hv: "l4", guests: [{ name: "cli", elf: "c.elf", uses: { block: "srv" } }, { name: "srv", elf: "s.elf", serves: ["block"], role: "driver", memory: "1M" }] }));
});

describe("previrt run with several guests", () => {
  it("--guest A --guest B: each console's lines prefixed with its name, status 0", async () => {
    const r = await cli(["run", "--guest", f("a.elf"), "--guest", f("b.elf")]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("[a] "))).toEqual(["[a] alpha", "[a] alpha"]);
    expect(lines.filter((l) => l.startsWith("[b] "))).toEqual(["[b] beta", "[b] beta", "[b] beta"]);
    expect(lines).toHaveLength(5);
  });

  it("--domains FILE: the file's back end and roles; --json - puts the document alone on stdout", async () => {
    const r = await cli(["run", "--domains", f("d.json"), "--json", "-", "--stats"]);
    expect(r.status).toBe(42);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ backend: "l4", exitCode: 42, window: 1000 });
    expect(doc.domains.map((d: { name: string; role: string; result: { kind: string } }) => [d.name, d.role, d.result.kind])).toEqual([
      ["cli", "guest", "poweroff"],
      ["srv", "driver", "serving"],
    ]);
    expect(r.stderr).toContain("[cli] answered\n");
    expect(r.stderr).toContain("host: window=1000");
    expect(doc.domains.map((d: { refused: object }) => d.refused)).toEqual([{}, {}]);
    expect(r.stderr).toMatch(/^\[cli\] guest, power-off 42, generation 0, \d+ cycles executed$/m);
  });

  it("--stats and --json name the guest whose ops were refused", async () => {
    const r = await cli(["run", "--domains", f("hostile.json"), "--json", "-", "--stats"]);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc.refused).length).toBeGreaterThan(5);
    expect(doc.domains[0].refused).toEqual({});
    expect(doc.domains[1].refused).toEqual(doc.refused);
    expect(r.stderr).toMatch(/^\[victim\] guest, power-off 0, generation 0, \d+ cycles executed$/m);
    expect(r.stderr).toMatch(/^\[peer\] guest, .*, \d+ cycles executed, refused \{"[A-Z_]+\.E[A-Z]+":\d+,/m);
  });

  const errors: [string, string[], RegExp][] = [
    ["bare has no hypervisor", ["--hv", "bare"], /^previrt: error: several guests need a hypervisor: bare has none to share \(use xen, l4 or hvm\)\n/],
    ["no snapshots", ["--snapshot-at", "5", "--snapshot", "x"], /^previrt: error: --snapshot-at cannot be used with several guests/],
    ["no --disk", ["--disk", "x.img"], /^previrt: error: --disk cannot be used with several guests/],
    ["no --pcpus", ["--pcpus", "1"], /^previrt: error: --pcpus cannot be used with several guests/],
    ["bad window", ["--window", "0"], /^previrt: error: the window must be a whole number/],
  ];
  for (const [what, extra, msg] of errors) {
    it(`one error line: ${what}`, async () => {
      const r = await cli(["run", "--guest", f("a.elf"), "--guest", f("b.elf"), ...extra]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    });
  }

  const configs: [string, unknown, RegExp][] = [
    ["not JSON", "{", /not valid JSON/],
    ["unknown key", { guests: [{ elf: "a.elf", colour: 1 }] }, /guests\[0\]: unknown key 'colour'/],
    ["elf and kernel", { guests: [{ elf: "a.elf", kernel: "io" }] }, /exactly one of "elf"/],
    ["unknown workload", { guests: [{ kernel: "nope" }] }, /"kernel" must be a bundled-kernel workload/],
    ["missing ELF", { guests: [{ elf: "missing.elf" }] }, /missing\.elf/],
    ["uses an unknown guest", { guests: [{ elf: "a.elf", uses: { block: "ghost" } }] }, /uses block from 'ghost', which is not a guest/],
    ["uses from a non-server", { guests: [{ elf: "a.elf", uses: { block: "b" } }, { elf: "b.elf" }] }, /which does not serve block/],
    ["duplicate names", { guests: [{ elf: "a.elf", name: "x" }, { elf: "b.elf", name: "x" }] }, /bad\.json: guests\[1\]: the name 'x' is guests\[0\]'s too\n/],
    ["the same ELF twice, unnamed", { guests: [{ elf: "a.elf" }, { elf: "a.elf" }] }, /bad\.json: guests\[1\]: the name 'a' is guests\[0\]'s too \(named after its ELF file: give each a "name"\)/],
    ["the same workload twice, unnamed", { guests: [{ kernel: "compute" }, { kernel: "compute" }] }, /guests\[1\]: the name 'compute' is guests\[0\]'s too \(named after its workload: give each a "name"\)/],
    ["a bad name", { guests: [{ elf: "a.elf", name: "a b" }] }, /bad\.json: guests\[0\]: the name 'a b' must be 1-32 letters/],
    ["memory too small for the VMM's window", { guests: [{ elf: "a.elf", memory: "100K" }] }, /^previrt: error: guest 'a': guest RAM of 102400 bytes leaves no room for the in-place VMM's/],
    ["a kernel that does not fit its memory", { guests: [{ kernel: "io", name: "k", memory: "256K" }] }, /^previrt: error: guest 'k': section \.bss at 0x[0-9a-f]+ \(\d+ bytes\) does not fit/],
    ["bad memory", { guests: [{ elf: "a.elf", memory: "3K" }] }, /"memory" must be bytes/],
    ["bad role", { guests: [{ elf: "a.elf", role: "king" }] }, /"role" must be/],
    // A name every object has was a device kind ("constructor" in DEVICE_KIND): the guest ran, serving nothing.
    ["serves a name every object has", { guests: [{ elf: "a.elf", serves: ["constructor"] }] }, /bad\.json: guests\[0\]: "serves": unknown device kind 'constructor' \(valid: block, nvdisk\)/],
    ["serves a kind twice", { guests: [{ elf: "a.elf", serves: ["block", "nvdisk", "block"] }] }, /bad\.json: guests\[0\]: "serves": 'block' named twice/],
    ["uses a name every object has", { guests: [{ elf: "a.elf", uses: { toString: "b" } }, { elf: "b.elf", serves: ["block"] }] }, /bad\.json: guests\[0\]: "uses": unknown device kind 'toString'/],
    ["bare from the file", { hv: "bare", guests: [{ elf: "a.elf" }] }, /^previrt: error: several guests need a hypervisor: bare has none to share/],
    ["an unknown back end", { hv: "qemu", guests: [{ elf: "a.elf" }] }, /bad\.json: "hv" must be a back-end name \(bare, hvm, trap, xen, l4\)/],
    ["an empty file name", { guests: [{ elf: "" }] }, /bad\.json: guests\[0\]: "elf" must be a file name/],
    ["an empty disk name", { guests: [{ elf: "a.elf", disk: "" }] }, /bad\.json: guests\[0\]: "disk" must be an image file name or "memory"/],
  ];
  it("--domains FILE with an ELF argument: the guests are in the file", async () => {
    const r = await cli(["run", f("a.elf"), "--domains", f("d.json")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`previrt: error: with --domains, every guest is in the file (unexpected argument '${f("a.elf")}')\n`);
  });

  for (const [what, config, msg] of configs) {
    it(`--domains: one error line for ${what}`, async () => {
      writeFileSync(f("bad.json"), typeof config === "string" ? config : JSON.stringify(config));
      const r = await cli(["run", "--domains", f("bad.json")]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/^previrt: error: /);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    });
  }

  it("--domains: bundled-kernel guests, one on a passed-through nvdisk, one on its port disk", async () => {
    writeFileSync(f("nv.json"), JSON.stringify({ guests: [{ name: "fast", kernel: "io", nvdisk: "memory", passthrough: true }, { name: "plain", kernel: "io", disk: "memory" }] }));
    const r = await cli(["run", "--domains", f("nv.json")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("[fast] selfcheck: ok\n");
    expect(r.stdout).toContain("[plain] selfcheck: ok\n");
    writeFileSync(f("nv.json"), JSON.stringify({ guests: [{ kernel: "io", passthrough: true }] }));
    expect((await cli(["run", "--domains", f("nv.json")])).stderr).toMatch(/^previrt: error: [^\n]*"passthrough" needs an "nvdisk"\n$/);
    // As run --nvdisk: an empty image is refused, with run's reason.
    writeFileSync(f("empty.img"), "");
    writeFileSync(f("nv.json"), JSON.stringify({ guests: [{ kernel: "io", nvdisk: "empty.img" }] }));
    const empty = await cli(["run", "--domains", f("nv.json")]);
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toMatch(/^previrt: error: [^\n]*"nvdisk" empty\.img: an nvdisk image must hold at least one 512-byte sector\n$/);
  });

  it("a single-guest run still needs --hv, and refuses the multi-guest options", async () => {
    expect((await cli(["run", f("a.elf")])).stderr).toMatch(/^previrt: error: required option '--hv <backend>' not specified/);
    expect((await cli(["run", f("a.elf"), "--hv", "xen", "--window", "5"])).stderr).toMatch(/^previrt: error: --window is for several guests/);
  });
});
