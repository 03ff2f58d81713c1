// Issue 18, several guests on one hypervisor (src/hypervisors/domains):
// guests side by side print and count exactly what they do alone; a client
// and a server meet through the domain device (ports) on xen, l4 and hvm and
// through xen's hypercalls; a multi-guest run is deterministic (twice the
// same, interpreter and JIT the same). Real guests on the real emulator:
// the bundled kernel, and small G32 guests (guests.ts).
import { describe, expect, it } from "vitest";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { checkSpecs, DomainHost, type DomainSpec, type HostOutcome } from "../../src/hypervisors/domains/host.js";
import { runElf } from "../../src/hypervisors/index.js";
import { client, guest, printer, server, viaHcall } from "./guests.js";
import { refusal } from "../refusal.js";

const pair = (c: string, s: string, o: { annotate?: boolean } = {}): DomainSpec[] => [
  { name: "client", image: guest("client", c, o), uses: { block: "server" } },
  { name: "server", image: guest("server", s, o), serves: ["block"] },
];

/** What must be equal between two runs: every domain's console, ending and counters, and the host's. */
const facts = (o: HostOutcome) => ({ ...o, domains: o.domains.map((d) => ({ ...d, result: d.result?.kind === "stopped" ? { ...d.result, diagnosis: "" } : d.result })) });

describe("guests side by side", () => {
  const compute = buildKernel({ workload: "compute" }).image;
  const io = buildKernel({ workload: "io" }).image;
  const smp = buildKernel({ workload: "smp" }).image;
  const specs = (): DomainSpec[] => [
    { name: "compute", image: compute },
    { name: "io", image: io, disk: kernelDisk() },
    { name: "smp", image: smp, cpus: 2 },
  ];
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: three bundled kernels (compute, io with its disk, smp on 2 CPUs) each print and count exactly what they do alone`, () => {
      const out = new DomainHost(specs(), { backend: hv, maxCycles: 100_000_000 }).run();
      specs().forEach((spec, i) => {
        // Alone under the host (the kernel probes the domain device at boot, so it does the same ops)…
        const alone = new DomainHost([spec], { backend: hv, maxCycles: 100_000_000 }).run().domains[0];
        expect(alone.console).toContain("selfcheck: ok");
        expect(out.domains[i].console).toBe(alone.console);
        expect(out.domains[i].result).toEqual(alone.result);
        expect(out.domains[i].stats).toEqual(alone.stats);
        // …and alone on the back end, with no host at all: the same console (a multiprocessor's epochs are the windows).
        const bare = runElf(spec.image, { backend: hv, cpus: spec.cpus, quantum: spec.cpus ? 1000 : undefined, disk: spec.disk, maxCycles: 100_000_000 });
        expect(out.domains[i].console).toBe(bare.console);
      });
      expect(out.exitCode).toBe(0);
    });
  }

  it("the first guest's power-off code is the status; a crashed guest's wins", () => {
    const a = guest("a", printer("a", 2).replace("li   a0, 0\n    out  0xF0, a0", "li   a0, 7\n    out  0xF0, a0"));
    const b = guest("b", printer("b", 3));
    expect(new DomainHost([{ name: "a", image: a }, { name: "b", image: b }], { backend: "xen" }).run().exitCode).toBe(7);
    // No trap vector: an illegal instruction is a crash of that guest's machine.
    const crash = guest("c", "    .text\n    .global _start\n_start:\n    li   t0, 0x63\n    out  0x10, t0\n    jalr zero, 0x4000(zero)\n", { annotate: false });
    const out = new DomainHost([{ name: "a", image: a }, { name: "c", image: crash }], { backend: "xen" }).run();
    expect(out.domains[1].result).toMatchObject({ kind: "stopped" });
    expect(out.exitCode).toBe(out.domains[1].result!.exitCode);
    expect(out.domains[0].console).toBe("a\na\n");
    expect(out.domains[1].console).toBe("c");
  });
});

describe("a client and a server", () => {
  for (const hv of ["xen", "l4", "hvm"]) {
    it(`${hv}: meet through the domain device, share a page, notify each other`, () => {
      const out = new DomainHost(pair(client, server), { backend: hv, maxCycles: 5_000_000 }).run();
      expect(out.domains[0].console).toBe("answered\n");
      expect(out.exitCode).toBe(42);
      expect(out.domains[1].result).toBeUndefined(); // a service, still serving when its client was done
      expect(out.ops).toMatchObject({ DEV_LOOKUP: 1, GNT_GRANT: 1, EVT_ALLOC: 1, DEV_PUBLISH: 1, DEV_ACCEPT: 1, EVT_BIND: 1, GNT_MAP: 1, EVT_SEND: 1 });
      expect(out.pageCopies).toBe(1); // the answer, server → client (the map itself copies the request)
    });
  }

  it("xen: the same through hypercalls (HC 18-28)", () => {
    const out = new DomainHost(pair(viaHcall(client), viaHcall(server), { annotate: false }), { backend: "xen", maxCycles: 5_000_000 }).run();
    expect(out.exitCode).toBe(42);
    expect(out.domains[0].stats.counts["xen:hcall.DEV_PUBLISH"]).toBe(1);
    expect(out.domains[1].stats.counts["xen:hcall.GNT_MAP"]).toBe(1);
  });

  it("without the host the domain ports read open bus and the hypercalls are ENOSYS", () => {
    const probe = guest("probe", `${viaHcall(printer("x", 1))}`.replace("main:", "main:\n    in   a0, 0x60\n    li   t0, -1\n    bne  a0, t0, fail\n    li   a3, HC_DEV_LOOKUP\n    call domop\n    li   t0, -38\n    bne  a0, t0, fail") + "    .text\nfail:\n    li   a0, 99\n    out  0xF0, a0\n", { annotate: false });
    expect(runElf(probe, { backend: "xen" }).result).toEqual({ kind: "poweroff", exitCode: 0 });
  });

  it("a guest waiting for a peer that never answers: idle, then a deadlock of the whole run, not a hang", () => {
    const lonely = guest("lonely", server); // waits on its control port for a client that never comes
    const out = new DomainHost([{ name: "lonely", image: lonely }], { backend: "xen", maxCycles: 5_000_000 }).run();
    expect(out.domains[0].result).toMatchObject({ kind: "stopped", reason: "hlt-deadlock" });
    expect(out.cycles).toBeLessThan(5_000_000);
  });
});

describe("determinism", () => {
  it("the same run twice, and the interpreter and the JIT, give the same consoles, cycles and counters", () => {
    const kernel = buildKernel({ workload: "syscall" }).image;
    const specs = (): DomainSpec[] => [...pair(client, server), { name: "k", image: kernel }];
    const runs = (["interp", "interp", "jit"] as const).map((engine) => facts(new DomainHost(specs(), { backend: "xen", engine, maxCycles: 50_000_000 }).run()));
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(runs[0].domains[2].console).toContain("selfcheck: ok");
  });
});

describe("checkSpecs: a refusal quotes what it names, on one line", () => {
  it("a guest name, a device kind and a server that are not what they must be", () => {
    const image = guest("p", printer("p", 1));
    const refused = (specs: DomainSpec[]) => refusal(() => checkSpecs(specs));
    expect(refused([{ name: "a\nb", image }])).toBe(`guest name "a\\nb" must be 1-32 letters, digits, '_', '.' or '-'`);
    expect(refused([{ name: "a", image, uses: { ["blk\n" as "block"]: "b" } }])).toMatch(/^guest 'a' uses unknown device kind "blk\\n" \(valid: /);
    expect(refused([{ name: "a", image, uses: { block: "x\ny" } }])).toBe(`guest 'a' uses block from "x\\ny", which is not a guest`);
    expect(refused([{ name: "a", image, serves: ["n\r" as "block"] }])).toBe(`guest 'a' serves unknown device kind "n\\r"`);
    // Names every object has: `"constructor" in DEVICE_KIND` took them for kinds (serves: ["constructor"] ran).
    expect(refused([{ name: "a", image, serves: ["constructor" as "block"] }])).toBe(`guest 'a' serves unknown device kind 'constructor'`);
    expect(refused([{ name: "a", image, uses: { ["toString" as "block"]: "b" } }])).toMatch(/^guest 'a' uses unknown device kind 'toString' \(valid: /);
  });
});
