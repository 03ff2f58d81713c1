// What the xen and l4 back ends add beyond "same output": batched
// page-table updates, inline sites, isolation of the soft-layer window,
// robustness against a guest that scribbles over it, the CLI's view.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { backends } from "../../src/hypervisors/index.js";
import { buildAsm, buildTs, runBytes } from "./helpers.js";

const pvKernel = buildTs(["fixtures/guests/pv-kernel.ts"]);

describe("xen", () => {
  it("batches the kernel's page-table writes: several updates per mmu_update", () => {
    const out = runBytes(pvKernel, "xen");
    expect(out.verdict).toBe("exit 0");
    const c = out.stats.counts;
    expect(c["xen:mmu_update.entries"]).toBeGreaterThan(1000);
    // Updates per batch: the queue holds 32; flush points (ptbr, tlbinv, pte-load) cut a few batches short.
    expect(c["xen:mmu_update.entries"] / c["xen:mmu_update.batches"]).toBeGreaterThan(20);
    expect(c["xen:hcall.MMU_UPDATE"]).toBeLessThan(c["xen:mmu_update.entries"] / 16);
    expect(c["xen:mmu_update.refused"] ?? 0).toBe(0);
    // Kernel-to-kernel trap returns are done by the VMM without a hypercall.
    expect(c["xen:hcall.IRET"] ?? 0).toBe(0);
    expect(c["xen:event.delivered"]).toBe(3);
  });

  it("rewrites most sites inline, the rest into calls and stubs", () => {
    const out = runBytes(pvKernel, "xen");
    expect(out.rewrite.counts.inline).toBeGreaterThan(0);
    expect(out.rewrite.counts.call).toBeGreaterThan(0);
    expect(out.rewrite.counts.native).toBe(0);
  });

  it("emulates a direct (unannotated) page-table write: correct, and charged as a trap", () => {
    const out = runBytes(buildAsm("fixtures/isa-tests/paging.s"), "xen");
    expect(out.verdict).toBe("exit 0");
    expect(out.stats.counts["xen:ptwrite.emulated"]).toBeGreaterThan(0);
  });
});

describe("l4", () => {
  it("grants memory with map on first touch and unmaps on the guest's TLB operations", () => {
    const out = runBytes(pvKernel, "l4");
    expect(out.verdict).toBe("exit 0");
    expect(out.stats.events.map).toBeGreaterThan(0);
    expect(out.stats.events.unmap).toBeGreaterThan(0);
    expect(out.stats.events.ipc).toBeGreaterThan(0);
    expect(out.stats.events.hypercall ?? 0).toBe(0);
  });
});

describe.each(["xen", "l4"])("the soft-layer window on %s", (hv) => {
  it("faults for a user process (read, write, jump, hypercall), delivered to its kernel, which survives", () => {
    const out = runBytes(buildAsm("fixtures/guests/window-poke.s"), hv, 5_000_000);
    // cause 5 (load), 6 (store), 4 (fetch), each with badva in the window; the user's hcall: 1; then the syscall.
    expect(out.console).toBe("5w\n6w\n4w\n1\nkernel survived\n");
    expect(out.verdict).toBe("exit 0"); // the user's psr: SU=0 — the forged write did not stick
  });

  it("survives a guest scribbling garbage over its shared-info page and queue", () => {
    const out = runBytes(buildAsm("fixtures/guests/scribble.s"), hv, 5_000_000);
    expect(out.verdict).toBe("exit 3");
    expect(out.stats.counts[`${hv}:mmu_update.bad_count`]).toBeGreaterThan(0);
  });
});

describe("the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "previrt-wedge-"));
  const elf = join(dir, "psr-hole.elf");
  writeFileSync(elf, buildAsm("fixtures/guests/psr-hole.s").bytes);

  it("previrt load --hv xen --show-sites shows inline, call and stub strategies", async () => {
    const io = bufferIO();
    expect(await main(["load", elf, "--hv", "xen", "--show-sites"], io)).toBe(0);
    for (const s of ["inline", "call", "stub"]) expect(io.stdout).toMatch(new RegExp(`\\b${s}\\b`));
  });

  it.each(["xen", "l4"])("previrt run --hv %s --stats shows the back end's counters", async (hv) => {
    const io = bufferIO();
    expect(await main(["run", elf, "--hv", hv, "--stats"], io)).toBe(0);
    expect(io.stdout).toBe("supervisor\nthree ticks\n");
    expect(io.stderr).toMatch(new RegExp(`${hv}:event\\.delivered`));
  });

  it("lists xen and l4 among the back ends", () => {
    expect([...backends.keys()]).toEqual(expect.arrayContaining(["bare", "hvm", "trap", "xen", "l4"]));
  });
});
