// The engine oracle (scripts/fuzz/generators/engines.ts) on real guests: the
// `guests` campaign's selfmod units — code rewritten in the running block,
// in another page between calls, in a running loop, by disk DMA, and a page
// remapped under the pc — run alone on every back end under the default
// engine, the interpreter and the JIT translating every page at once, and
// must agree; so must the smp campaign's shared function, called and
// rewritten by 2 and 4 CPUs at once; and a planted difference (a run with
// another cycle bound, another register or another RAM byte at the end) is
// reported as one, naming the run.
// Inputs are built by hand in the campaign's own shape (units, aux).

import { describe, expect, it } from "vitest";
import { runInput } from "../../scripts/fuzz/campaign.js";
import { engineProblem } from "../../scripts/fuzz/generators/engines.js";
import { Rng } from "../../scripts/fuzz/generators/rng.js";
import { SELFMOD_KINDS, selfmodSmpUnit, type SelfmodKind } from "../../scripts/fuzz/generators/selfmod.js";
import { configOf, guestImage, guestsCampaign, PD, PT_LOW } from "../../scripts/fuzz/guests.js";
import { smpCampaign, type SmpConfig } from "../../scripts/fuzz/smp.js";
import { BACKEND_NAMES, runElf } from "../../src/hypervisors/index.js";
import { smpAuxes } from "./smp-aux.js";

/** The campaign's back ends: every registered one, in registry order (guests.ts, smp.ts). */
const BACKENDS = BACKEND_NAMES;
/** The aux of back end b with the engines compared (the digit after the back end's is 1). */
const comparedAux = (b: number) => b + BACKENDS.length;
const LIMITS = { maxCycles: 200_000 };

describe("guests campaign: selfmod units agree under both engines", () => {
  it("the aux used here asks for the comparison", () => {
    for (let b = 0; b < BACKENDS.length; b++) expect(configOf(comparedAux(b))).toEqual({ backend: expect.objectContaining({ name: BACKENDS[b] }), engines: true });
  });

  it.each(Object.keys(SELFMOD_KINDS).filter((k) => k !== "random"))("%s, on every back end", { timeout: 120_000 }, (kind) => {
    const make = SELFMOD_KINDS[kind as SelfmodKind][1];
    for (let seed = 0; seed < 4; seed++) {
      const words = make(new Rng(2035, seed), { pd: PD, ptLow: PT_LOW });
      for (let b = 0; b < BACKENDS.length; b++) {
        const input = { base: "selfmod", units: [{ words }], aux: comparedAux(b) };
        expect(runInput(guestsCampaign, input, LIMITS), `${kind} seed ${seed} on ${BACKENDS[b]}`).toEqual({ class: "accepted", message: "" });
      }
    }
  });
});

describe("smp campaign: code one CPU rewrites while another runs it agrees under both engines", () => {
  const RUNS = [[2, 10_000], [4, 7], [2, 7]] as const;
  const wants = BACKENDS.flatMap((backend) => RUNS.map(([cpus, quantum]) => ({ backend, cpus, quantum, nvdisk: false, annotated: true, engines: true })));
  const auxes = smpAuxes(wants);
  const smpAux = (want: Partial<SmpConfig>) => auxes[wants.findIndex((w) => w.backend === want.backend && w.cpus === want.cpus && w.quantum === want.quantum)];

  it.each(BACKENDS)("%s, 2 and 4 CPUs, quanta of 10,000 and 7 cycles", { timeout: 120_000 }, (backend) => {
    for (const [cpus, quantum] of RUNS) {
      const r = new Rng(2035, cpus * quantum);
      const units = [...Array.from({ length: cpus - 1 }, (_, k) => ({ cpu: 0, lines: ["    li   t1, " + (k + 1), "    out  0x42, t1"] }))];
      for (let k = 0; k < cpus; k++) units.push({ cpu: k, lines: selfmodSmpUnit(r).map((w) => `    .word 0x${w.toString(16)}`) });
      const aux = smpAux({ backend, cpus, quantum, nvdisk: false, annotated: true, engines: true });
      expect(runInput(smpCampaign, { base: "hostile-selfmod", units, aux }, LIMITS), `${cpus} CPUs, quantum ${quantum}`).toEqual({ class: "accepted", message: "" });
    }
  });
});

describe("the engine oracle reports a difference", () => {
  const image = guestImage({ base: "selfmod", units: [{ words: SELFMOD_KINDS["rewrite-next"][1](new Rng(2035, 1), { pd: PD, ptLow: PT_LOW }) }], aux: 0 });
  const options = { backend: "xen", maxCycles: 200_000, ramSize: 4 * 1024 * 1024 };
  const byDefault = runElf(image, options);

  it("none when the runs agree", () => {
    expect(engineProblem((choice) => runElf(image, { ...options, ...choice }), byDefault)).toBeUndefined();
  });

  it("in the JIT's run (here: stopped earlier), with where", () => {
    const p = engineProblem((choice) => runElf(image, { ...options, ...choice, maxCycles: choice.engine === "jit" ? 50 : options.maxCycles }), byDefault);
    expect(p).toMatch(/^jit \(threshold 1\) differs from the interpreter at …\{"result":\{"kind":"poweroff".*… vs …\{"result":\{"kind":"stopped"/);
  });

  it("in the default run's registers alone", () => {
    const out = runElf(image, options);
    out.machine.cpu.regs[7] ^= 1; // t2: nothing else differs
    const p = engineProblem((choice) => runElf(image, { ...options, ...choice }), out);
    expect(p).toMatch(/^the default engine differs from the interpreter at ….*"regs":\[.*… vs ….*"regs":\[/);
    expect(p!.split(" vs ")[0]).toContain(`"regs":[${Array.from(runElf(image, options).machine.cpu.regs).slice(0, 8).join(",")}`);
  });

  it("in the default run's RAM alone", () => {
    const out = runElf(image, options);
    out.machine.memory.write8(0x3f001, 0x80); // a page no unit writes
    expect(engineProblem((choice) => runElf(image, { ...options, ...choice }), out)).toBe("the default engine differs from the interpreter in RAM at 0x3f000: 0x0 vs 0x8000");
  });
});
