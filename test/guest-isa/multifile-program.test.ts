// A guest written in G32 assembly over three files (fixtures/guests/asm-multi), as a user writes
// one from docs/assembly.md: built with `previrt build` (annotated) and with `previrt as` (plain),
// run on every back end under both engines with the result computed by hand (console "asm demo",
// 89, exit 0), and `objdump -d` of it re-assembled to the same bytes. The files share local
// `.equ` names (CONSOLE in main.s and lib.s), which the listing once defined twice.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { bufferIO } from "../../src/cli/io.js";
import { readElf } from "../../src/guest-isa/elf.js";
import type { ElfImage } from "../../src/guest-isa/elf-types.js";
import { BACKEND_NAMES } from "../../src/hypervisors/backend-names.js";
import { runElf } from "../../src/hypervisors/index.js";

const FILES = ["main.s", "lib.s", "data.s"].map((f) => fileURLToPath(new URL(`../../fixtures/guests/asm-multi/${f}`, import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), "previrt-asm-multi-"));

async function cli(argv: string[]): Promise<string> {
  const io = bufferIO();
  const status = await main(argv, io);
  expect(status, `${argv.join(" ")}: ${io.stderr}`).toBe(0);
  return io.stdout;
}

const elfAt = (path: string): ElfImage => readElf(new Uint8Array(readFileSync(path)));

describe("a multi-file assembly guest (fixtures/guests/asm-multi)", () => {
  for (const [how, command] of [["previrt build", "build"], ["previrt as", "as"]] as const) {
    it(`${how}: every back end, both engines, the result worked out by hand`, async () => {
      const out = join(dir, `${command}.elf`);
      await cli([command, ...FILES, "-o", out]);
      const image = elfAt(out);
      for (const backend of BACKEND_NAMES) {
        const runs = (["interp", "jit"] as const).map((engine) => runElf(image, { backend, engine, maxCycles: 10_000_000 }));
        for (const r of runs) {
          expect(r.result, backend).toEqual({ kind: "poweroff", exitCode: 0 });
          expect(r.console, backend).toBe("asm demo\n89\n");
        }
        expect(runs[0].stats.cycles, backend).toBeGreaterThan(0);
        expect(runs[1].stats, `${backend}: the counters under the JIT`).toEqual(runs[0].stats);
        expect(runs[1].host.engine, backend).toBe("jit");
      }
    });
  }

  it("objdump -d re-assembles to the same bytes and symbols' values", async () => {
    const elf = join(dir, "rt.elf");
    await cli(["build", ...FILES, "-o", elf]);
    const listing = join(dir, "rt.dis.s");
    writeFileSync(listing, await cli(["objdump", "-d", elf]));
    await cli(["as", listing, "-o", `${listing}.elf`]);
    const [before, after] = [elfAt(elf), elfAt(`${listing}.elf`)];
    const sections = (img: ElfImage) => img.sections.filter((s) => s.size > 0).map((s) => `${s.name}@${s.addr.toString(16)}:${s.size}:${[...s.data].join(",")}`);
    expect(sections(after)).toEqual(sections(before));
    expect(after.entry).toBe(before.entry);
    expect(runElf(after, { backend: "xen" }).console).toBe("asm demo\n89\n");
  });
});
