// The `smp` fuzz campaign's oracles (scripts/fuzz/smp.ts, docs/reliability.md)
// are not vacuous: a race-free program that breaks the rule (a shared counter
// incremented without its lock) is a wrong result on a back end whose
// interleaving differs from bare's, the same program with the lock is
// accepted, and hostile starts of secondary CPUs end in a diagnosed stop.
// Inputs are built by hand in the campaign's own shape (units, aux).

import { describe, expect, it } from "vitest";
import { runInput } from "../../scripts/fuzz/campaign.js";
import { smpCampaign, type SmpConfig, type SmpUnit } from "../../scripts/fuzz/smp.js";
import { smpAuxes } from "./smp-aux.js";

/** The configurations the tests below run (the campaign draws them from an aux; the tests look it up once). */
const RACE: Partial<SmpConfig> = { backend: "xen", cpus: 4, quantum: 7, nvdisk: false, annotated: true, pcpus: 2, timeslice: 4004 * 5 / 2 };
const CURES = ["native", "pv", "delayed"] as const;
const HOSTILE = ["bare", "hvm", "trap", "xen", "l4"] as const;
const WANTS: Partial<SmpConfig>[] = [
  { ...RACE, engines: false },
  ...CURES.map((spinlocks) => ({ ...RACE, engines: spinlocks === "pv", spinlocks })),
  ...HOSTILE.map((backend) => ({ backend, cpus: 4, quantum: 10_000, nvdisk: false, annotated: true, engines: true })),
];
const AUXES = smpAuxes(WANTS);
/** The aux of a configuration of WANTS. */
function auxOf(want: Partial<SmpConfig>): number {
  const same = (w: Partial<SmpConfig>) => Object.keys(w).length === Object.keys(want).length && Object.entries(w).every(([k, v]) => want[k as keyof SmpConfig] === v);
  const i = WANTS.findIndex(same);
  if (i < 0) throw new Error(`not looked up: ${JSON.stringify(want)} (add it to WANTS)`);
  return AUXES[i];
}

/** 200 increments of counterA by each of CPUs 0–3, with the test-and-set lock around them or not. */
function counterUnits(locked: boolean): SmpUnit[] {
  return [0, 1, 2, 3].map((cpu) => ({
    cpu,
    lines: [
      "    li   s1, 200",
      `.Lt${cpu}_loop:`,
      "    la   a3, lockA",
      ...(locked ? [`.Lt${cpu}_w:`, "    li   t0, 1", "    .sensitive lock", "    amoswap t0, t0, 0(a3)", `    beqz t0, .Lt${cpu}_in`, "    pause", `    j    .Lt${cpu}_w`, `.Lt${cpu}_in:`] : []),
      "    la   t2, counterA",
      "    lw   t1, 0(t2)",
      "    addi t1, t1, 1",
      ...Array.from({ length: 8 }, () => "    pause"), // a long read-modify-write: other CPUs' turns fall inside it
      "    sw   t1, 0(t2)",
      ...(locked ? ["    .sensitive unlock", "    sw   zero, 0(a3)"] : []),
      "    addi s1, s1, -1",
      `    bnez s1, .Lt${cpu}_loop`,
    ],
  }));
}

const LIMITS = { maxCycles: 200_000 };

describe("smp campaign: the race-free oracle", () => {
  const aux = auxOf({ backend: "xen", cpus: 4, quantum: 7, nvdisk: false, annotated: true, engines: false, pcpus: 2, timeslice: 4004 * 5 / 2 });

  it("flags a shared counter updated without its lock (bare at the default quantum and xen at --quantum 7 --pcpus 2 interleave differently)", () => {
    const o = runInput(smpCampaign, { base: "race-free", units: counterUnits(false), aux }, LIMITS);
    expect(o.class).toBe("wrong");
    expect(o.message).toMatch(/^--hv xen --cpus 4 --pcpus 2 --quantum 7 .*differs from bare: exit \d+ vs \d+, console differs$/);
  });

  it("accepts the same program with the lock, under every cure xen offers", () => {
    for (const spinlocks of ["native", "pv", "delayed"]) {
      const withCure = auxOf({ backend: "xen", cpus: 4, quantum: 7, nvdisk: false, annotated: true, engines: spinlocks === "pv", pcpus: 2, timeslice: 4004 * 5 / 2, spinlocks });
      expect(runInput(smpCampaign, { base: "race-free", units: counterUnits(true), aux: withCure }, LIMITS), spinlocks).toEqual({ class: "accepted", message: "" });
    }
  });
});

describe("smp campaign: hostile secondary starts end in a result", () => {
  it.each(["bare", "hvm", "trap", "xen", "l4"])("%s: CPUs started in the window, misaligned, past RAM, twice, and CPU 9", (backend) => {
    const starts = ["0xfffe0000", "secondary+2", "0x400000", "secondary", "secondary"].map((pc, n) => ({ cpu: 0, lines: [`    la   t0, ${pc}`, "    out  0x43, t0", `    li   t1, ${n === 4 ? 9 : n + 1}`, "    out  0x42, t1"] }));
    const aux = auxOf({ backend, cpus: 4, quantum: 10_000, nvdisk: false, annotated: true, engines: true });
    expect(runInput(smpCampaign, { base: "hostile-abi", units: starts, aux }, LIMITS)).toEqual({ class: "accepted", message: "" });
  });
});
