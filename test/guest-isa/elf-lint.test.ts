// Issue 12: every ELF previrt writes passes binutils' readelf and elfutils'
// eu-elflint with no complaint but the unavoidable "unknown machine type"
// (G32's e_machine 0x3347 is not in the ELF registry). The files are made
// the way a user makes them: `previrt as`, `previrt build`, `previrt kernel`.
// Each tool's test is skipped, saying so, where the tool is not installed
// (.ci/run installs binutils and elfutils).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

const has = (tool: string, arg: string) => spawnSync(tool, [arg]).status === 0;
const READELF = has("readelf", "--version");
const ELFLINT = has("eu-elflint", "--version");
const dir = mkdtempSync(join(tmpdir(), "previrt-lint-"));

const SOURCES: Record<string, string> = {
  "hello.s": readFileSync(new URL("../../fixtures/guests/hello.s", import.meta.url), "utf8"),
  "data-bss.s": "_start: la a0, buf\n\tsw a0, 0(a0)\n\thlt\n.data\nv: .word 1, 2\n.bss\nbuf: .space 4096\n",
  "bss-only.s": "_start: la a0, buf\n\thlt\n.bss\n.align 16\nbuf: .space 100\n",
  "custom.s": "_start: hlt\n.section .mydata\nx: .word 1\n.bss\n.space 8\n.rodata\n.byte 1\n.section .bss_label_only\n",
  "empty-bss.s": "_start: hlt\n.bss\nend:\n",
  "no-code.s": ".data\n_start: .word 0\n",
};

/** Every kind of ELF previrt writes, as files: name → path (made once, for both tools). */
let made: Promise<Record<string, string>> | undefined;
const outputs = () => (made ??= makeOutputs());
async function makeOutputs(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const run = async (argv: string[]) => {
    const io = bufferIO();
    const status = await main(argv, io);
    expect(status, `${argv.join(" ")}: ${io.stderr}`).toBe(0);
  };
  for (const [name, text] of Object.entries(SOURCES)) {
    const src = join(dir, name);
    writeFileSync(src, text);
    files[`as ${name}`] = join(dir, `${name}.elf`);
    await run(["as", src, "-o", files[`as ${name}`]]);
  }
  files["build hello.s (annotated)"] = join(dir, "hello-annotated.elf");
  await run(["build", join(dir, "hello.s"), "-o", files["build hello.s (annotated)"]]);
  files["build fib.ts"] = join(dir, "fib.elf");
  await run(["build", "fixtures/programs/fib.ts", "fixtures/programs/lib/print.ts", "-o", files["build fib.ts"]]);
  for (const args of [[], ["--paravirt", "xen"]]) {
    const name = `kernel ${args.join(" ")}`.trim();
    files[name] = join(dir, `k${Object.keys(files).length}.elf`);
    await run(["kernel", ...args, "-o", files[name]]);
  }
  return files;
}

describe("the ELF files previrt writes pass the standard tools", () => {
  const readelfTitle = "readelf -a: no warning, no error";
  it.skipIf(!READELF)(READELF ? readelfTitle : `${readelfTitle} (skipped: readelf, from binutils, is not installed)`, async () => {
    for (const [name, file] of Object.entries(await outputs())) {
      const r = spawnSync("readelf", ["-a", "-W", file], { encoding: "utf8" });
      expect(r.status, name).toBe(0);
      expect(r.stderr, name).toBe("");
      expect(r.stdout, name).not.toMatch(/warning|error/i);
    }
  }, 60_000);

  const lintTitle = "eu-elflint and eu-elflint --gnu-ld: only 'unknown machine type'";
  it.skipIf(!ELFLINT)(ELFLINT ? lintTitle : `${lintTitle} (skipped: eu-elflint, from elfutils, is not installed)`, async () => {
    for (const [name, file] of Object.entries(await outputs())) {
      for (const flags of [[], ["--gnu-ld"], ["--strict"]]) {
        const r = spawnSync("eu-elflint", [...flags, file], { encoding: "utf8" });
        expect(`${r.stdout}${r.stderr}`, `${name} ${flags.join(" ")}`).toBe("unknown machine type 13127\n");
      }
    }
  }, 60_000);
});
