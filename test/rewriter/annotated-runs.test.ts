// Annotated binaries on the back ends that leave sites native: the same
// console and exit status as the plain binary, and on bare metal a cost of
// one jump per executed site with padding.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";

const dir = new URL("../../fixtures/isa-tests/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".s")).sort();
const header = (text: string, key: string) => new RegExp(`^# ${key}: ?(.*)$`, "m").exec(text)?.[1];

describe("annotated conformance programs", () => {
  it.each(files)("%s: plain on bare = annotated on bare = annotated on hvm", (f) => {
    const text = readFileSync(new URL(f, dir), "utf8");
    const file = `fixtures/isa-tests/${f}`;
    const plain = assemble([{ file, text }]);
    const annotated = assemble([{ file, text: annotate(file, text).text }]);
    const sectors = Number(header(text, "disk-sectors") ?? 0);
    const go = (image: typeof plain, backend: string) =>
      runElf(image, { backend, maxCycles: 200_000_000, stdin: header(text, "input") ?? "", disk: sectors ? new Uint8Array(sectors * 512) : undefined });
    const ref = go(plain, "bare");
    expect(ref.result).toEqual({ kind: "poweroff", exitCode: 0 });
    for (const [img, backend] of [[annotated, "bare"], [annotated, "hvm"]] as const) {
      const out = go(img, backend);
      expect(out.result, `${backend}`).toEqual(ref.result);
      expect(out.console, `${backend}`).toBe(ref.console);
    }
    // On bare metal every site stays native.
    const bareAnnotated = go(annotated, "bare");
    expect(bareAnnotated.rewrite.counts.native).toBe(bareAnnotated.rewrite.sites.length);
    expect(bareAnnotated.stats.instructions).toBeGreaterThanOrEqual(ref.stats.instructions);
  });
});

describe("the cost of annotation on bare metal", () => {
  it("is exactly one jump per executed site that has padding", () => {
    const file = "fixtures/guests/psr-hole.s";
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    const plain = assemble([{ file, text }]);
    const annotated = assemble([{ file, text: annotate(file, text).text }]);
    const run = (image: typeof plain, backend: string) => runElf(image, { backend, maxCycles: 5_000_000 });
    // hvm counts every sensitive instruction executed (each one exits).
    const executed = run(plain, "hvm").stats.counts;
    const bareAnnotated = run(annotated, "bare");
    const slotWords = new Map(bareAnnotated.rewrite.sites.map((s) => [s.kindName, s.record.length / 4]));
    let jumps = 0;
    for (const [key, n] of Object.entries(executed)) {
      const m = /^exit:(.+)$/.exec(key);
      if (m && m[1] !== "interrupt" && m[1] !== "pagefault" && (slotWords.get(m[1]) ?? 1) > 1) jumps += n;
    }
    expect(jumps).toBeGreaterThan(0);
    expect(bareAnnotated.stats.instructions - run(plain, "bare").stats.instructions).toBe(jumps);
  });
});

describe("previrt load", () => {
  it("shows what every site became, and the counts", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeElf } = await import("../../src/guest-isa/elf.js");
    const file = "fixtures/guests/psr-hole.s";
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    const elf = join(mkdtempSync(join(tmpdir(), "previrt-")), "hole.elf");
    writeFileSync(elf, writeElf(assemble([{ file, text: annotate(file, text).text }])));
    const io = bufferIO();
    expect(await main(["load", elf, "--hv", "bare", "--show-sites"], io)).toBe(0);
    const lines = io.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^address\s+kind\s+source\s+strategy\s+before\s+after$/);
    const sti = lines.find((l) => /^0x[0-9a-f]{8}\s+sti\b/.test(l))!;
    expect(sti).toMatch(/^0x[0-9a-f]{8}\s+sti\s+fixtures\/guests\/psr-hole\.s:29\s+native\s+sti\s+sti; j \S+(; nop)*$/);
    expect(lines.at(-1)).toMatch(/^bare: \d+ sites rewritten: \d+ native, 0 inline, 0 call, 0 stub$/);
  });
});
