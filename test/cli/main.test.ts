// The command itself: --version from package.json, and --help listing every
// registered back end with its own description (src/hypervisors/index.ts);
// an error line that stays one line whatever the user typed.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { BACKEND_NAMES, backends } from "../../src/hypervisors/index.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("previrt", () => {
  it("--version and -V print the package's version", async () => {
    for (const flag of ["--version", "-V"]) {
      const io = bufferIO();
      expect(await main([flag], io)).toBe(0);
      expect(io.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it("--help lists every back end with its registry description", async () => {
    const io = bufferIO();
    expect(await main(["--help"], io)).toBe(0);
    for (const b of backends.values()) expect(io.stdout).toMatch(new RegExp(`^  ${b.name}\\s+${b.description.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
  });

  it("each --hv option names the registered back ends", async () => {
    for (const cmd of ["run", "load", "matrix"]) {
      const io = bufferIO();
      expect(await main([cmd, "--help"], io)).toBe(0);
      expect(io.stdout.replace(/\s+/g, " ")).toContain([...backends.keys()].join(", ")); // help wraps long lines
    }
  });

  it("an error stays one line when the input holds a control character (a file name or a value with a newline)", async () => {
    for (const [argv, line] of [
      [["run", "a\nb.elf", "--hv", "bare"], "previrt: error: a\\nb.elf: no such file or directory\n"],
      [["run", "a\x1b[2J.elf", "--hv", "bare"], "previrt: error: a\\x1b[2J.elf: no such file or directory\n"],
      [["matrix", "k.elf", "--hv", "x\ny"], `previrt: error: unknown back end 'x\\ny' (valid: ${BACKEND_NAMES.join(", ")})\n`],
      [["run", "--x\ny"], "previrt: error: unknown option '--x\\ny'\n"],
    ] as const) {
      const io = bufferIO();
      expect(await main([...argv], io)).not.toBe(0);
      expect(io.stderr).toBe(line);
    }
  });
});
