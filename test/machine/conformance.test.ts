// The conformance suite: every fixtures/isa-tests/*.s assembled and run on
// --hv bare; each powers off with 0 on success or the number of its first
// failed check. Header comments give console input (`# input:`), expected
// output (`# expect-output:`) and a disk size (`# disk-sectors:`).
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";

const dir = new URL("../../fixtures/isa-tests/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".s")).sort();

function header(text: string, key: string): string | undefined {
  const m = new RegExp(`^# ${key}: ?(.*)$`, "m").exec(text);
  return m?.[1];
}

describe("conformance (fixtures/isa-tests)", () => {
  it("has a program for every instruction group", () => {
    for (const g of ["alu-reg", "alu-imm", "load-store", "branch", "jump", "traps", "privilege", "paging", "timer", "disk", "console", "power", "atomic"]) {
      expect(files).toContain(`${g}.s`);
    }
  });

  it.each(files)("%s powers off with 0", (file) => {
    const text = readFileSync(new URL(file, dir), "utf8");
    const image = assemble([{ file: `fixtures/isa-tests/${file}`, text }]);
    const sectors = Number(header(text, "disk-sectors") ?? 0);
    const out = runElf(image, {
      backend: "bare",
      maxCycles: 50_000_000,
      stdin: header(text, "input") ?? "",
      disk: sectors ? new Uint8Array(sectors * 512) : undefined,
    });
    const result = out.result.kind === "poweroff" ? out.result : { kind: out.result.kind, message: out.result.message, diagnosis: out.result.diagnosis };
    expect(result).toEqual({ kind: "poweroff", exitCode: 0 });
    const expected = header(text, "expect-output");
    if (expected !== undefined) expect(out.console).toBe(expected + "\n");
    expect(out.stats.instructions).toBeGreaterThanOrEqual(2); // ran real code (power.s is two instructions)
  });
});
