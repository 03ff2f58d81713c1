// `previrt bench --smp` (src/cli/bench/smp-bench.ts): the rows it promises
// (every cure the back end offers at --pcpus 4, 2, 1, plus bare), figures
// consistent with a direct run, the console checked against bare, the HTML
// report's chart, and the options it refuses.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { buildKernel, kernelDisk } from "../../src/cli/bundled-kernel.js";
import { BACKEND_NAMES, runElf } from "../../src/hypervisors/index.js";

const cli = async (...argv: string[]) => {
  const io = bufferIO(new Uint8Array());
  const status = await main(argv, io);
  return { status, out: io.stdout, err: io.stderr };
};

describe("previrt bench --smp", () => {
  it("smp on xen: bare + 3 cures × 3 --pcpus, as a table, JSON and HTML", async () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-bench-smp-"));
    const html = join(dir, "r.html");
    const r = await cli("bench", "--smp", "--workloads", "smp", "--hv", "xen", "--json", "-", "--html", html);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.out);
    const cells = doc.rows.map((x: { backend: string; spinlocks: string; pcpus: number | null }) => `${x.backend}/${x.spinlocks}/${x.pcpus}`);
    expect(cells).toEqual(["bare/native/null", ...["native", "pv", "delayed"].flatMap((c) => [4, 2, 1].map((p) => `xen/${c}/${p}`))]);
    for (const row of doc.rows) {
      expect(row.matchesBare, JSON.stringify(row)).toBe(true);
      expect(row.spinShare).toBeCloseTo(row.spinCycles / row.executed, 12);
    }
    // One cell against a direct run: the same simulated figures.
    const direct = runElf(buildKernel({ workload: "smp" }).image, { backend: "xen", cpus: 4, pcpus: 2, spinlocks: "pv", disk: kernelDisk(), maxCycles: 4e9 });
    const row = doc.rows.find((x: { spinlocks: string; pcpus: number }) => x.spinlocks === "pv" && x.pcpus === 2);
    expect(row.cycles).toBe(direct.stats.cycles);
    expect(row.spinCycles).toBe(direct.stats.counts.spinCycles);
    expect(row.lockHolderPreemptions).toBe(direct.stats.counts.lockHolderPreemptions ?? 0);
    expect(r.err).toMatch(/^workload +back end +spinlocks +pcpus +cycles +spin cycles +spin share +LHP +LWP +hcalls\/exits +output$/m);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<svg");
    expect(page).toContain("smp: spin share per cure");
  }, 300_000);

  it("refuses options it does not take, and unknown back ends, in one line", async () => {
    for (const [args, msg] of [
      [["--cpus", "2"], "previrt: error: bench --smp chooses its own CPUs (--cpus 4, --pcpus 4/2/1); --cpus does not apply\n"],
      [["--hv", "nope"], `previrt: error: unknown back end 'nope' (valid: ${BACKEND_NAMES.join(", ")})\n`],
      [["--workloads", "nope"], `previrt: error: unknown workload 'nope' (known: syscall, ctxsw, pagetable, io, compute, mixed, faults, smp, spinlock, ticketlock, blkback)\n`],
    ] as const) {
      const r = await cli("bench", "--smp", ...args);
      expect(r.status).not.toBe(0);
      expect(r.err).toBe(msg);
    }
  });
});
