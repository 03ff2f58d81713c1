// The worked example of docs/driver-vms.md ("A worked example"):
// fixtures/guests/domains/ — an echo server and its client meeting through
// the domain device (a granted page, event channels both ways), the client
// reading sector 0 through the bundled kernel's blkback in a driver domain
// with the block ring protocol, and a guest that writes into the in-place
// VMM's shared-info page beside them. Real guests, assembled as `previrt as
// lib.s X.s` does, on the real emulator: the consoles the docs show, the
// poking guest stopped by the VMM's protection domain (a protection fault
// naming it) while the others run on unchanged, and the interpreter and the
// JIT giving the same run on xen, l4 and hvm.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildKernel } from "../../src/cli/bundled-kernel.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { DomainHost, type DomainSpec, type HostOutcome } from "../../src/hypervisors/domains/host.js";

const dir = new URL("../../fixtures/guests/domains/", import.meta.url).pathname;
const build = (name: string) => assemble(["lib.s", `${name}.s`].map((file) => ({ file, text: readFileSync(dir + file, "utf8") })));
const echoServer = build("echo-server");
const echoClient = build("echo-client");
const vmmPoke = build("vmm-poke");
const blkback = buildKernel({ workload: "blkback" }).image;

/** A 64 KiB disk whose sector 0 holds a string, as the docs' `printf … > drv.img; truncate -s 64K drv.img`. */
function disk(): Uint8Array {
  const d = new Uint8Array(65536);
  d.set(new TextEncoder().encode("sector zero says hi\n"));
  return d;
}

/** example.json's guests (memory 1M for the small ones), poke optional. */
function specs(poke: boolean): DomainSpec[] {
  const config = JSON.parse(readFileSync(dir + "example.json", "utf8")) as { guests: { name: string }[] };
  expect(config.guests.map((g) => g.name)).toEqual(["drv", "echo", "cli", "poke"]);
  const s: DomainSpec[] = [
    { name: "drv", image: blkback, role: "driver", serves: ["block"], disk: disk() },
    { name: "echo", image: echoServer, serves: ["nvdisk"], ramSize: 1 << 20 },
    { name: "cli", image: echoClient, uses: { block: "drv", nvdisk: "echo" }, ramSize: 1 << 20 },
  ];
  if (poke) s.push({ name: "poke", image: vmmPoke, ramSize: 1 << 20 });
  return s;
}

const facts = (o: HostOutcome) => ({ ...o, domains: o.domains.map((d) => ({ ...d, result: d.result?.kind === "stopped" ? { ...d.result, diagnosis: "" } : d.result })) });

describe("fixtures/guests/domains: the worked example", () => {
  it.each(["xen", "l4", "hvm"])("%s: the echo pair and the read through the driver VM print what the docs show, the same under the interpreter and the JIT", (hv) => {
    const run = (engine: "interp" | "jit") => new DomainHost(specs(false), { backend: hv, engine, maxCycles: 20_000_000 }).run();
    const [interp, jit] = [run("interp"), run("jit")];
    expect(facts(jit)).toEqual(facts(interp));
    expect(jit.exitCode).toBe(0);
    const [drv, echo, cli] = jit.domains;
    expect(echo.console).toBe("echo server up\nclient bound on port 00000001\nclient said stop\n");
    expect(cli.console).toBe("000003e9\n000003ea\n000003eb\n00000000\nsector zero says hi\n");
    expect(cli.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(drv.console).toContain("blkback: domain 2 connected\n");
    expect(drv.result).toBe(undefined); // a service still serving
  });

  it.each(["xen", "l4"])("%s: the guest writing into the VMM's words is stopped by a protection fault; the others run on unchanged (interpreter = JIT)", (hv) => {
    const calm = new DomainHost(specs(false), { backend: hv, maxCycles: 20_000_000 }).run();
    const run = (engine: "interp" | "jit") => new DomainHost(specs(true), { backend: hv, engine, maxCycles: 20_000_000 }).run();
    const [interp, jit] = [run("interp"), run("jit")];
    expect(facts(jit)).toEqual(facts(interp));
    const poke = jit.domains[3];
    expect(poke.console).toBe("now writing the VMM's VPSR\n");
    expect(poke.result).toMatchObject({ kind: "stopped", reason: "crash", exitCode: 125 });
    expect(poke.result?.kind === "stopped" && poke.result.diagnosis).toMatch(/cause {2}10 \(protection-fault\) {4}badva 0xfffe1000/);
    expect(jit.exitCode).toBe(125);
    for (const i of [0, 1, 2]) {
      expect(jit.domains[i].console).toBe(calm.domains[i].console);
      expect(jit.domains[i].result).toEqual(calm.domains[i].result);
    }
    // It is the protection domain that stops it: without, the write lands (in the guest's own VMM state) and it runs on.
    const unprotected = new DomainHost(specs(true), { backend: hv, protect: false, maxCycles: 20_000_000 }).run();
    expect(unprotected.domains[3].result?.kind === "stopped" && unprotected.domains[3].result.diagnosis).not.toMatch(/protection-fault/);
  });
});
