// The para-virtualized build (`previrt build --paravirt xen`): the same TS
// kernel, its intrinsics compiled straight to shared-memory operations and
// hypercalls — no sites — runs on xen with the same output as the
// pre-virtualized build everywhere, and is refused by every other back end.
import { paravirtTarget } from "../../src/hypervisors/paravirt.js";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { compile } from "../../src/compiler/index.js";
import { findSection, readElf } from "../../src/guest-isa/index.js";
import { buildTs, PROGRAMS, runBytes } from "./helpers.js";

const KERNEL = "fixtures/guests/pv-kernel.ts";
const pre = buildTs([KERNEL]);
const para = buildTs([KERNEL], { paravirt: "xen" });

describe("previrt build --paravirt xen", () => {
  it("has no sites and no sensitive instruction", () => {
    const image = readElf(para.bytes);
    expect(findSection(image, ".softlayer")).toBeUndefined();
    expect(image.symbols.some((s) => s.name === "__previrt_paravirt_xen")).toBe(true);
    const asm = compile([{ file: KERNEL, text: readFileSync(KERNEL, "utf8") }], { paravirt: paravirtTarget("xen") })[0].asm;
    const code = asm.split("\n").map((l) => l.replace(/#.*$/, "").trim().split(/\s+/)[0]);
    for (const m of ["cli", "sti", "rdpsr", "wrpsr", "mfcr", "mtcr", "hlt", "iret", "in", "out", "tlbflush", "tlbinv"]) expect(code, m).not.toContain(m);
    expect(asm).not.toMatch(/\.sensitive/);
  });

  it("gives on xen the output the pre-virtualized build gives everywhere", () => {
    const ref = runBytes(pre, "bare");
    expect(ref.verdict).toBe("exit 0");
    const out = runBytes(para, "xen");
    expect(out.verdict).toBe(ref.verdict);
    expect(out.console).toBe(ref.console);
    expect(out.rewrite.counts).toEqual({ native: 0, inline: 0, call: 0, stub: 0 });
    // Same batching, done by the guest itself; nothing trapped.
    expect(out.stats.counts["xen:mmu_update.entries"]).toBeGreaterThan(1000);
    expect(out.stats.counts["xen:trap.emulated"] ?? 0).toBe(0);
    expect(out.stats.counts["xen:hcall.EMULATE"] ?? 0).toBe(0);
  });

  it.each(["bare", "hvm", "trap", "l4"])("is refused by %s with a clear error", async (hv) => {
    expect(() => runBytes(para, hv)).toThrow(/para-virtualized for xen; run it with --hv xen/);
    const dir = mkdtempSync(join(tmpdir(), "previrt-pv-"));
    const file = join(dir, "k.elf");
    writeFileSync(file, para.bytes);
    const io = bufferIO();
    expect(await main(["run", file, "--hv", hv], io)).not.toBe(0);
    expect(io.stderr).toBe(`previrt: error: ${file}: para-virtualized for xen; run it with --hv xen\n`);
  });

  it("refuses an unknown hypervisor and assembly-only inputs", () => {
    expect(() => paravirtTarget("kvm")).toThrow(/unknown hypervisor 'kvm'/);
    expect(() => compile([{ file: "a.ts", text: "export function main(): number { return 0; }" }], { paravirt: { hypervisor: "kvm", abi: {} } })).toThrow(
      /no lowering for 'kvm'/,
    );
    expect(() => buildTs(["fixtures/guests/psr-hole.s"], { paravirt: "xen" })).toThrow(/cannot be para-virtualized automatically/);
  });

  it("previrt build --paravirt xen writes the same kind of file from the command line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-pv-"));
    const out = join(dir, "k.elf");
    const io = bufferIO();
    expect(await main(["build", "--paravirt", "xen", KERNEL, "-o", out], io)).toBe(0);
    const run = bufferIO();
    expect(await main(["run", out, "--hv", "xen"], run)).toBe(0);
    expect(run.stdout).toBe(runBytes(pre, "bare").console);
  });

  it.each(PROGRAMS)("fixtures/programs/%s: para-virtualized on xen = pre-virtualized on bare", (file) => {
    const files = [`fixtures/programs/${file}`, "fixtures/programs/lib/print.ts"];
    const ref = runBytes(buildTs(files), "bare");
    const out = runBytes(buildTs(files, { paravirt: "xen" }), "xen");
    expect(out.verdict).toBe(ref.verdict);
    expect(out.console).toBe(ref.console);
  });
});
