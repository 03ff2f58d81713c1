// The point of the project: ONE annotated ELF file runs on bare, hvm, xen
// and l4 with the same console output and exit status — the conformance
// suite, the compiler's programs and the rdpsr/wrpsr hole guest. On xen and
// l4 the sites really were rewritten (inline and calls into the in-place VMM).
import { describe, expect, it } from "vitest";
import { buildAsm, buildTs, ISA_TESTS, PROGRAMS, runBytes, sha, type Built } from "./helpers.js";

const BACKENDS = ["bare", "hvm", "xen", "l4"];

function sameEverywhere(built: Built) {
  const digest = sha(built.bytes);
  const runs = BACKENDS.map((b) => ({ backend: b, ...runBytes(built, b) }));
  expect(sha(built.bytes)).toBe(digest); // nothing wrote into the file's bytes
  for (const r of runs.slice(1)) {
    expect(r.verdict, r.backend).toBe(runs[0].verdict);
    expect(r.console, r.backend).toBe(runs[0].console);
  }
  return Object.fromEntries(runs.map((r) => [r.backend, r]));
}

describe("one pre-virtualized binary on bare, hvm, xen and l4", () => {
  it.each(ISA_TESTS)("fixtures/isa-tests/%s", (file) => {
    const runs = sameEverywhere(buildAsm(`fixtures/isa-tests/${file}`));
    expect(runs.bare.verdict).toBe("exit 0");
    for (const b of ["xen", "l4"]) expect(runs[b].rewrite.counts.native, b).toBe(0);
  });

  it.each(PROGRAMS)("fixtures/programs/%s", (file) => {
    const runs = sameEverywhere(buildTs([`fixtures/programs/${file}`, "fixtures/programs/lib/print.ts"]));
    expect(runs.bare.result.kind).toBe("poweroff");
  });

  it("the kernel fixture (TS _start, asm trap handler, privileged intrinsics)", () => {
    const runs = sameEverywhere(buildTs(["fixtures/programs/kernel/kernel.ts", "fixtures/programs/kernel/trap.s"]));
    expect(runs.bare.verdict).toBe("exit 42"); // its documented result (test/compiler/kernel.test.ts)
    expect(runs.bare.console).toBe("o");
    expect(runs.xen.rewrite.counts.inline).toBeGreaterThan(0);
  });

  it("closes the rdpsr/wrpsr hole without hardware help (xen and l4 run psr-hole.s correctly)", () => {
    const runs = sameEverywhere(buildAsm("fixtures/guests/psr-hole.s"));
    expect(runs.xen.console).toBe("supervisor\nthree ticks\n");
    expect(runs.xen.verdict).toBe("exit 0");
    for (const b of ["xen", "l4"]) {
      expect(runs[b].rewrite.counts.inline, b).toBeGreaterThan(0);
      // rdpsr and cli never reached the monitor: only hlt/out calls and events did.
      expect(runs[b].stats.counts[`${b}:trap.emulated`] ?? 0, b).toBe(0);
      // …and cost less than hvm's exit per rdpsr/wrpsr.
      expect(runs[b].stats.cycles, b).toBeLessThan(runs.hvm.stats.cycles);
    }
  });

  // traps.s checks IE with rdpsr in the kernel: unannotated, that is the hole (below).
  it.each(ISA_TESTS.filter((f) => f !== "traps.s"))("fixtures/isa-tests/%s unannotated: xen and l4 trap and emulate, same result", (file) => {
    const runs = sameEverywhere(buildAsm(`fixtures/isa-tests/${file}`, { annotate: false }));
    expect(runs.xen.rewrite.annotated).toBe(false);
  });

  it("runs a plain (unannotated) binary on xen and l4 by trapping, with the hole still open", () => {
    const plain = buildAsm("fixtures/isa-tests/timer.s", { annotate: false });
    const runs = sameEverywhere(plain);
    expect(runs.xen.stats.counts["xen:trap.emulated"]).toBeGreaterThan(0);
    const hole = runBytes(buildAsm("fixtures/guests/psr-hole.s", { annotate: false }), "xen", 5_000_000);
    expect(hole.console).toBe("user?\n");
  });
});
