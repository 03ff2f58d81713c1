// A --domains file may give each of up to 64 guests 1 GiB of RAM; when the
// host cannot allocate a guest's RAM, that is the configuration's doing:
// one error line naming the guest, status 1 — it was `previrt: error:
// internal error: Array buffer allocation failed`, status 70. A real
// process whose address space is limited (ulimit -v, Linux) runs eight
// 1 GiB guests.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeElf } from "../../src/guest-isa/elf.js";
import { guest, printer } from "./guests.js";

const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;

describe.runIf(process.platform === "linux")("the host out of memory for the guests' RAM", () => {
  it("eight guests of 1024M under a 4 GB address-space limit: one error line naming the guest, status 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-domains-mem-"));
    writeFileSync(join(dir, "p.elf"), writeElf(guest("p", printer("hi", 1))));
    const guests = Array.from({ length: 8 }, (_, i) => ({ name: `g${i}`, elf: "p.elf", memory: "1024M" }));
    writeFileSync(join(dir, "big.json"), JSON.stringify({ guests }));
    const r = spawnSync("sh", ["-c", `ulimit -v 4000000 && exec "${process.execPath}" "${bin}" run --domains big.json`], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toMatch(/^previrt: error: guest 'g\d': the host cannot allocate its 1024 MiB of RAM beside the guests before it \(give less "memory"\)\n$/);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
  }, 60_000);
});
