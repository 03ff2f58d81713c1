// Migration at the awkward moments, for every ordered pair among bare, hvm,
// xen and l4 on the `mixed` workload: with a timer interrupt pending (not
// yet taken), inside the kernel's trap path, and during a disk transfer; and
// with page-table updates queued (not a safe point, so the move is deferred
// to the next one) — only a para-virtualized kernel queues them now: the
// pre-virtualized one writes page tables in place on xen (writable page
// tables) and on l4. Each point is found
// by pausing the source run every 1,000 cycles (pauses change nothing); the
// migrated run must print what the unmigrated bare run prints and end alike.
import { describe, expect, it } from "vitest";
import { isMigratable } from "../../src/hypervisors/common/neutral-state.js";
import { DISK_STATUS } from "../../src/machine/devices/disk.js";
import { CR } from "../../src/guest-isa/registers.js";
import type { Guest } from "../../src/migration/guest.js";
import { getBackend, prepareImage } from "../../src/hypervisors/index.js";
import { exportNeutral } from "../../src/migration/snapshot.js";
import { buildKernel } from "../../src/cli/bundled-kernel.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { finishOn, kernel, PAIR_BACKENDS, scan } from "./helpers.js";

const k = kernel("mixed");
const sym = (name: string) => k.image.symbols.find((s) => s.name === name)!.value >>> 0;
const trapEntry = sym("trap_cpu0"); // the first per-CPU trap entry: the trap path runs from there to resume_frame
const resumeFrame = sym("resume_frame");

const CONDITIONS: Record<string, (g: Guest) => boolean> = {
  "timer interrupt pending": (g) => (g.machine.lines.pending & 1) !== 0,
  "inside the kernel's trap path": (g) => g.machine.pc >>> 0 > trapEntry && g.machine.pc >>> 0 < resumeFrame,
  "during a disk transfer": (g) => (g.machine.disk.saveState().status & DISK_STATUS.BUSY) !== 0,
};
const QUEUED = { "page-table updates queued": (g: Guest) => isMigratable(g.monitor) && /queued/.test(g.monitor.unsafeReason?.() ?? "") };

describe("migration at awkward points (mixed)", () => {
  it.each(PAIR_BACKENDS)("from %s: every point found, and every other back end finishes like bare", (from) => {
    const points = scan(k, from, CONDITIONS);
    expect(points.map((p) => p.kind).sort()).toEqual(Object.keys(CONDITIONS).sort());
    for (const p of points) {
      if (p.kind === "timer interrupt pending") expect(p.snapshot.machine.cpus[0].lines & 1).toBe(1);
      if (p.kind === "during a disk transfer") expect(p.snapshot.machine.disk.completesAt).toBeGreaterThan(p.snapshot.cycle);
      for (const to of PAIR_BACKENDS.filter((b) => b !== from)) {
        const out = finishOn(p.snapshot, to, k.image);
        expect({ point: p.kind, to, console: out.console }).toEqual({ point: p.kind, to, console: k.bare.console });
        expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
      }
    }
  });
});

describe("page-table updates queued (the para-virtualized mixed kernel, xen to xen)", () => {
  it("the move is deferred past the queue, and the run finishes like bare", () => {
    const elf = writeElf(buildKernel({ workload: "mixed", paravirt: "xen" }).image);
    const pv = { elf, image: readElf(elf), bare: k.bare };
    const [p] = scan(pv, "xen", QUEUED);
    expect(p).toBeDefined();
    expect(p.deferredBecause).toMatch(/queued/); // the queue made the point unsafe
    expect(p.snapshot.cycle).toBeGreaterThan(p.found);
    const out = finishOn(p.snapshot, "xen", pv.image);
    expect(out.console).toBe(k.bare.console);
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
  });
});

describe("an interrupt taken right after a native site (io: the idle loop's sti)", () => {
  // On bare and hvm the sites stay native: an interrupt taken just after the idle loop's `sti`
  // saves epc = site + 4, the jump over the padding. On xen and l4 that word is inside the
  // rewritten sti; the kernel's iret must continue after the site (regression: it ran the
  // middle of the template and ended in a crash).
  const io = kernel("io");
  const xenSites = prepareImage(getBackend("xen"), io.image).sites;
  const after = new Set(xenSites.filter((s) => s.kindName === "sti" && s.record.length > 4).map((s) => (s.record.addr + 4) >>> 0));
  // (hvm: its exits widen the window between cli and sti, so a tick lands there; on bare it may never.)
  it.each(["hvm"])("from %s to xen and l4", (from) => {
    const [p] = scan(io, from, { "epc just after a native sti": (g) => after.has(exportNeutral(g)[0].cr[CR.epc] >>> 0) }, 50);
    expect(p).toBeDefined();
    for (const to of ["xen", "l4"]) {
      const out = finishOn(p.snapshot, to, io.image);
      expect(out.stats.counts[`${to}:migration.resumeFixup`] ?? 0).toBeGreaterThan(0);
      expect(out.console).toBe(io.bare.console);
      expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
    }
  });
});
