// The commands: previrt annotate (output + --map), previrt verify (exit
// status and report), previrt objdump --sites (the listing).

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { annotate } from "../../src/annotator/annotate.js";
import { siteLength } from "../../src/annotator/padding.js";
import { generateScaleSource } from "../../bench/scale-source.js";
import { SITE_KINDS } from "../../src/guest-isa/softlayer.js";
import { FIXTURES } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-annotate-"));
const previrt = async (...args: string[]) => {
  const io = bufferIO();
  const status = await main(args, io);
  return { status, stdout: io.stdout, stderr: io.stderr };
};

describe("previrt annotate / verify / objdump --sites", () => {
  const src = join(FIXTURES, "kernel.s");
  const out = join(dir, "kernel.annotated.s");
  const elf = join(dir, "kernel.elf");
  // The annotated source and its ELF, which the first tests make: made here when a test runs without them (-t, a shuffle).
  const ensureAnnotated = async () => {
    if (!existsSync(out)) expect((await previrt("annotate", src, "-o", out)).status).toBe(0);
  };
  const ensureElf = async () => {
    await ensureAnnotated();
    if (!existsSync(elf)) expect((await previrt("as", out, "-o", elf)).status).toBe(0);
  };

  it("annotates to a file and writes the map next to it", async () => {
    expect(await previrt("annotate", src, "-o", out, "--map")).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(readFileSync(out, "utf8")).toContain(".L__sl_0: mtcr tvec, t0");
    const map = JSON.parse(readFileSync(`${out}.map`, "utf8"));
    expect(map).toMatchObject({ version: 3, file: "kernel.annotated.s" });
    expect(map.sources).toHaveLength(1);
    expect(map.sources[0]).toMatch(/test\/annotator\/fixtures\/kernel\.s$/);
    const named = join(dir, "other.map");
    expect((await previrt("annotate", src, "-o", out, "--map", named)).status).toBe(0);
    expect(JSON.parse(readFileSync(named, "utf8")).file).toBe("kernel.annotated.s");
  });

  it("verify: 0 for the annotated build, 1 with a list for a plain one", async () => {
    await ensureAnnotated();
    expect((await previrt("as", out, "-o", elf)).status).toBe(0);
    const ok = await previrt("verify", elf);
    expect(ok).toEqual({ status: 0, stdout: `${elf}: ok: 18 sites, 1 exempt region, 16 sensitive instructions in .text\n`, stderr: "" });
    const plainElf = join(dir, "plain.elf");
    expect((await previrt("as", src, "-o", plainElf)).status).toBe(0);
    const bad = await previrt("verify", plainElf);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain("0x00001008: mtcr is not covered by a site\n");
    expect(bad.stdout.trimEnd().split("\n").at(-1)).toBe(`${plainElf}: 17 problems (0 sites, 0 exempt regions, 16 sensitive instructions in .text)`);
  });

  it("verify: a file that is not an ELF is one error line", async () => {
    const junk = join(dir, "junk.elf");
    writeFileSync(junk, "nope");
    const r = await previrt("verify", junk);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^previrt: error: ${junk}: .*\\n$`));
  });

  it("objdump --sites lists each record with kind, length, operands and source line", async () => {
    await ensureElf();
    const r = await previrt("objdump", elf, "--sites");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(".softlayer: 19 site records (table version 1)");
    // Records name the input as it was given on the command line.
    expect(lines).toContain(`     0  0x00001008  mtcr             4  tvec, t0            ${src}:10`);
    // (Its address depends on the derived padding of the sites before it.)
    expect(lines.find((l) => l.includes("pte-store"))).toMatch(new RegExp(`^    10  0x0000[0-9a-f]{4}  pte-store        4  t1, 8\\(t0\\)           ${src.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:23$`));
    expect(lines.find((l) => l.includes("exempt"))).toMatch(/exempt\s+8\s+\(\.noannotate\)\s+\S*kernel\.s:36$/);
    // The padding is what the derived table gives the 18 sites (one of each kind, two mfcr and two out).
    const kinds = [...SITE_KINDS.keys()].flatMap((k) => (k === "mfcr" || k === "out" ? [k, k] : [k]));
    const padding = kinds.reduce((sum, k) => sum + siteLength(SITE_KINDS.get(k)!) - 4, 0);
    expect(lines.at(-2)).toBe(`18 sites (${lines.at(-2)!.match(/\((.*)\)/)![1]}), ${padding} bytes of padding, 1 exempt region`);
  });

  it("annotate errors are file:line:col diagnostics with a caret", async () => {
    const bad = join(dir, "bad.s");
    writeFileSync(bad, "\tmv k0, a0\n");
    const r = await previrt("annotate", bad, "-o", join(dir, "bad.out.s"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${bad}:1:5: error: k0 is reserved for the soft layer\n> 1 | \tmv k0, a0\n    | \t   ^\n`);
  });

  it("annotate writes its text chunk by chunk, exactly the text annotate() gives (non-ASCII across chunk ends too)", async () => {
    // Generated code (sites, padding, the table) around two runs of more than
    // 64 KiB with no edit in them, of characters outside the BMP (surrogate
    // pairs) at odd and even offsets: chunk ends fall inside those runs.
    const emoji = "\u{1F600}".repeat(40_000);
    const text = `${generateScaleSource(4_000)}\t.text\n# ${emoji}\n#x${emoji}\n\tcli\n`;
    const input = join(dir, "chunks.s");
    writeFileSync(input, text);
    const expected = annotate(input, text);
    const chunks: string[] = [];
    expected.writeText((c) => chunks.push(c));
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks.join("")).toBe(expected.text);
    for (const c of chunks) expect(c.length).toBeLessThan(70_000);
    const file = join(dir, "chunks.out.s");
    expect(await previrt("annotate", input, "-o", file)).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(readFileSync(file).equals(Buffer.from(expected.text, "utf8"))).toBe(true);
    const io = bufferIO();
    expect(await main(["annotate", input, "-o", "-"], io)).toBe(0);
    expect(Buffer.from(io.stdoutBytes()).equals(Buffer.from(expected.text, "utf8"))).toBe(true);
  });
});
