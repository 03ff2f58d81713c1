// Ctrl-C during `previrt run --domains` / `--guest` (DomainHost.runSliced,
// cli/interrupt.ts): every guest still running stops with `previrt: error:
// [name] interrupted (SIGINT) after N cycles` and its diagnosis, --stats and
// --json are written, the disk images are closed; status 130. In-process:
// pausing between slices changes nothing, and a stop at a slice boundary
// gives the same result under the interpreter and the JIT. Then a real
// process, a driver and a client that spin for ever, sent SIGINT.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { interrupted as interruptedIn } from "../sigint-child.js";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { DomainHost, type DomainSpec, type HostOutcome } from "../../src/hypervisors/domains/host.js";
import { client, guest, server } from "./guests.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-domains-sigint-"));

const pair = (): DomainSpec[] => [
  { name: "client", image: guest("client", client), uses: { block: "server" } },
  { name: "server", image: guest("server", server), serves: ["block"] },
];

/** Two guests that never end: one prints "ready" and spins, the other just spins. */
const SPIN_READY = `    .text\n    .global _start\n_start:\n    la   a0, msg\n.Lp:\n    lbu  t0, 0(a0)\n    beqz t0, .Lspin\n    out  0x10, t0\n    addi a0, a0, 1\n    j    .Lp\n.Lspin:\n    addi t1, t1, 1\n    j    .Lspin\n    .rodata\nmsg: .asciz "ready\\n"\n`;
const SPIN = `    .text\n    .global _start\n_start:\n    addi t2, t2, 1\n    j    _start\n`;
const spinners = (): DomainSpec[] => [
  { name: "drv", image: guest("drv", SPIN), role: "driver", serves: ["block"] },
  { name: "app", image: guest("app", SPIN_READY), uses: { block: "drv" } },
];

/** Everything but the diagnoses' text (host facts there: none, but the last-instructions trace is long). */
const facts = (o: HostOutcome) => ({ ...o, domains: o.domains.map((d) => ({ ...d, result: d.result?.kind === "stopped" ? { ...d.result, diagnosis: "" } : d.result })) });

describe("DomainHost.runSliced", () => {
  it("a run that is never stopped is run()'s exactly (two guests meeting through the domain device)", async () => {
    const whole = new DomainHost(pair(), { backend: "xen", maxCycles: 5_000_000 }).run();
    let calls = 0;
    const sliced = await new DomainHost(pair(), { backend: "xen", maxCycles: 5_000_000 }).runSliced(async () => {
      calls++;
      return undefined;
    }, 7_000);
    expect(calls).toBeGreaterThan(1);
    expect(facts(sliced)).toEqual(facts(whole));
    expect(sliced.domains[0].result?.kind).toBe("poweroff");
  });

  it.each(["xen", "l4", "hvm"])("%s: a stop stops every guest still running at the same cycle, status 130, the same under the interpreter and the JIT", async (hv) => {
    const stopped = async (engine: "interp" | "jit") =>
      new DomainHost(spinners(), { backend: hv, engine }).runSliced(async () => "interrupted (SIGINT)", 50_000);
    const [interp, jit] = [await stopped("interp"), await stopped("jit")];
    expect(facts(jit)).toEqual(facts(interp));
    expect(jit.exitCode).toBe(130);
    expect(jit.cycles).toBe(50_000);
    for (const d of jit.domains) {
      expect(d.result).toMatchObject({ kind: "stopped", reason: "interrupted", exitCode: 130 });
      expect(d.result?.kind === "stopped" && d.result.message).toBe(`interrupted (SIGINT) after ${d.cycles} cycles`);
    }
    expect(jit.domains[1].console).toBe("ready\n");
  });
});

/** `previrt ARGS` in the scratch folder, sent SIGINT once it printed `ready`. */
const interrupted = (args: string[]) => interruptedIn(args, dir);

describe("Ctrl-C during previrt run --domains", () => {
  beforeAll(async () => {
    for (const [name, text] of [["spin", SPIN], ["ready", SPIN_READY]]) {
      writeFileSync(join(dir, `${name}.s`), text);
      const io = bufferIO();
      expect(await main(["build", join(dir, `${name}.s`), "-o", join(dir, `${name}.elf`)], io), io.stderr).toBe(0);
    }
    writeFileSync(join(dir, "drv.disk"), new Uint8Array(4096));
    const config = {
      guests: [
        { name: "drv", elf: "spin.elf", role: "driver", serves: ["block"], disk: "drv.disk" },
        { name: "app", elf: "ready.elf", uses: { block: "drv" } },
      ],
    };
    writeFileSync(join(dir, "spin.json"), JSON.stringify(config));
  }, 60_000);

  it.each(["jit", "interp"])("a driver and a client spinning for ever (%s): each one's diagnosis, --stats, --json, status 130", async (engine) => {
    const json = join(dir, `out-${engine}.json`);
    const r = await interrupted(["run", "--domains", "spin.json", "--engine", engine, "--stats", "--json", json]);
    expect(r.signal).toBe(null);
    expect(r.status).toBe(130);
    expect(r.stdout).toBe("[app] ready\n");
    expect(r.stderr).toMatch(/^previrt: error: \[drv\] interrupted \(SIGINT\) after \d+ cycles\n {2}pc +0x0000[0-9a-f]{4}/);
    expect(r.stderr).toMatch(/^previrt: error: \[app\] interrupted \(SIGINT\) after \d+ cycles$/m);
    expect(r.stderr).toMatch(/addi +t1, t1, 1/); // app's last instructions: its spin loop
    expect(r.stderr).toMatch(/^\[app\] guest, stopped: interrupted, generation 0/m); // --stats
    expect(r.stderr).toMatch(/^host: window=1000 /m);
    const doc = JSON.parse(readFileSync(json, "utf8"));
    expect(doc.exitCode).toBe(130);
    for (const d of doc.domains) expect(d.result).toMatchObject({ kind: "stopped", reason: "interrupted", exitCode: 130 });
    expect(doc.domains[0].restarts).toEqual([]); // an interrupted driver is not restarted
    expect(statSync(join(dir, "drv.disk")).size).toBe(4096);
  }, 60_000);
});
