// The conformance suite on every back end that runs unmodified binaries:
// hvm must match bare exactly (console, exit status); trap must finish with
// a result — whatever the guest does, the host never throws.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { runElf } from "../../src/hypervisors/index.js";

const dir = new URL("../../fixtures/isa-tests/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".s")).sort();
const header = (text: string, key: string) => new RegExp(`^# ${key}: ?(.*)$`, "m").exec(text)?.[1];

function runOn(backend: string, file: string) {
  const text = readFileSync(new URL(file, dir), "utf8");
  const image = assemble([{ file: `fixtures/isa-tests/${file}`, text }]);
  const sectors = Number(header(text, "disk-sectors") ?? 0);
  const out = runElf(image, {
    backend,
    maxCycles: 200_000_000,
    stdin: header(text, "input") ?? "",
    disk: sectors ? new Uint8Array(sectors * 512) : undefined,
  });
  const r = out.result;
  return { verdict: r.kind === "poweroff" ? `exit ${r.exitCode}` : `${r.reason}: ${r.message}`, console: out.console, stats: out.stats };
}

describe("conformance suite across back ends", () => {
  it.each(files)("%s: hvm gives the same console and exit status as bare", (file) => {
    const bare = runOn("bare", file);
    const hvm = runOn("hvm", file);
    expect(hvm.verdict).toBe(bare.verdict);
    expect(hvm.console).toBe(bare.console);
  });

  it.each(files)("%s: trap runs to a result without a host exception", (file) => {
    const t = runOn("trap", file);
    expect(t.verdict).toMatch(/^(exit \d+|[a-z-]+: .+)$/);
  });
});
