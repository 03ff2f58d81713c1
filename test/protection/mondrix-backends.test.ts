// The memory supervisor on every back end (docs/protection.md, "Guest-visible
// domains"): one binary, built as `previrt build` builds it (annotated, so
// xen and l4 rewrite its `in`/`out` into sites that the in-place VMM
// emulates), gives bare metal's console and exit status everywhere.
//
// - The Mondrix kernel variant (fixtures/mondrix) on bare, hvm, trap, xen
//   and l4, protection on and off, interpreter and JIT: bare's console and
//   ending, its driver's domain at work (protection.checks), and the same
//   simulated results in both engines.
// - A hostile module (test-only sources below, with the variant's entry.s)
//   on every back end: its own supervisor call is refused (−1), a GRANT
//   naming any domain but the kernel's and the module's — on xen and l4 the
//   VMM's among them — is refused (−4); its store to a kernel word it may
//   only read, at an mmio site, is a protection fault everywhere (xen and
//   l4: the VMM performs it, and checks it for the module's domain); on xen
//   and l4 its MMU_UPDATE of that word and its MULTICALL with its result
//   slot there are refused (the VMM's writes for a hypercall are checked
//   for the caller's domain); and the module reading the VMM's shared-info
//   page is a protection fault (a domain the guest defines has domain 0's
//   limits on the VMM's pages).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { MONDRIX_DISK_BYTES } from "../../src/cli/inject/fault-injection.js";
import { CAUSE } from "../../src/guest-isa/registers.js";
import { runElf } from "../../src/hypervisors/index.js";
import { MODULE_HYPERCALLS, PUT_SMALL, supervisorCall } from "./guest-snippets.js";
import { released } from "../recycle.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BACKENDS = ["bare", "hvm", "trap", "xen", "l4"] as const;
const fixture = (name: string) => ({ file: `fixtures/mondrix/${name}`, text: readFileSync(join(ROOT, "fixtures", "mondrix", name), "utf8") });

/** The variant as `previrt build entry.s kernel.ts driver.ts` builds it. */
const mondrix = buildSources(["entry.s", "kernel.ts", "driver.ts"].map(fixture)).image;

/** A run, with the names of its protection domains; its machine's RAM goes back for the next run (test/recycle.ts). */
const run = (image: typeof mondrix, backend: string, protect: boolean, engine: "interp" | "jit" = "interp") => {
  const out = runElf(image, { backend, protect, engine, jitThreshold: 1, disk: new Uint8Array(MONDRIX_DISK_BYTES), maxCycles: 100_000_000 });
  const p = out.machine.protection;
  const domainNames = Array.from({ length: p.domainCount }, (_, i) => p.domainName(i));
  return { ...released(out), domainNames };
};

describe("the Mondrix kernel variant on every back end", () => {
  const bare = run(mondrix, "bare", true);
  it("bare: the reference (self-check passed, the driver's domain checked)", () => {
    expect(bare.console).toBe("selfcheck: ok\n");
    expect(bare.result).toEqual({ kind: "poweroff", exitCode: 0 });
  });
  for (const hv of BACKENDS) {
    it(`${hv}: bare's console and ending with protection on and off; the driver's domain at work; interpreter = JIT`, () => {
      for (const protect of [true, false]) {
        const out = run(mondrix, hv, protect);
        expect(out.console).toBe(bare.console);
        expect(out.result).toEqual(bare.result);
        if (protect) {
          // The driver's domain: one guest domain besides the kernel's (and the VMM's on xen and l4) ...
          expect(out.domainNames.filter((n) => n?.startsWith("guest-"))).toHaveLength(1);
          // ... whose restricted words are checked as on bare metal (xen and l4 check their sites' too).
          expect(out.stats.counts["protection.checks"]).toBeGreaterThanOrEqual(bare.stats.counts["protection.checks"]);
          expect(out.stats.exceptions["protection-fault"]).toBeUndefined();
        } else {
          expect(out.stats.counts["protection.checks"]).toBeUndefined();
        }
        expect(run(mondrix, hv, protect, "jit").stats).toEqual(out.stats);
      }
    });
  }
});

/**
 * What the hostile module does after its supervisor call: nothing; read the
 * VMM's shared-info page (xen and l4; bare: no memory there); or store to a
 * kernel word it may only read, through an mmio site (xen and l4: the VMM
 * performs the store — and must check it as the CPU checks a direct one).
 */
type Act = "none" | "peek" | "poke" | "mmu" | "multi";
const ACTS: Record<Act, string> = {
  none: "return 0;",
  peek: "return load32(0xfffe1000);",
  poke: "mmioWrite32(addr, 7);\n  return 0;",
  mmu: "pairs[0] = addr;\n  pairs[1] = 7;\n  return mmuUpdate(addressOf(pairs), 1);",
  multi: "return multicall(addr, 1);",
};

const hostileModule = (act: Act) => `
import { addressOf, asm, inPort, load32, mmioWrite32, outPort } from "previrt/guest";

/** An mmu_update batch: (address, value) pairs. */
const pairs = new Int32Array(2);

${MODULE_HYPERCALLS}

/** The module's own GRANT (read-write on [addr, addr + 16) for its domain): the supervisor's answer. */
export function modGrant(self: number, addr: number): number {
  outPort(0x50, self);
  outPort(0x51, addr);
  outPort(0x52, 16);
  outPort(0x53, 3);
  outPort(0x54, 2);
  return inPort(0x54);
}

export function modAct(addr: number): number {
  ${ACTS[act]}
}

export function modEnd(): number {
  return 0;
}
`;

const HOSTILE_KERNEL = `
import { addressOf, inPort, outPort, PORT } from "previrt/guest";
import { modAct, modBegin, modEnd, modGrant } from "./module.js";

const words = new Int32Array(4);
${supervisorCall(3)}
${PUT_SMALL}

export function main(): number {
  const mod = call(1, addressOf(modBegin), addressOf(modEnd), 0);
  put(mod > 0 ? 1 : mod);
  // Every other domain id but the kernel's and the module's (xen, l4: the VMM's is 1): not yours.
  for (let d = 1; d < 4; d++) if (d !== mod) put(call(2, d, addressOf(words), 16));
  // The module may only read the kernel's words: {TLB_FLUSH, 3}, a MULTICALL entry whose result slot holds 3.
  words[0] = 5;
  words[1] = 3;
  perm = 1;
  put(call(2, mod, addressOf(words), 16));
  // The module's own supervisor call: wrong domain.
  put(modGrant(mod, addressOf(words)));
  put(modAct(addressOf(words)) === 0 ? words[0] : 9);
  put(words[1]);
  outPort(PORT.console, 10);
  return 0;
}
`;

const hostile = (act: Act) =>
  buildSources([fixture("entry.s"), { file: "kernel.ts", text: HOSTILE_KERNEL }, { file: "module.ts", text: hostileModule(act) }]).image;

describe("a hostile module on every back end", () => {
  const image = hostile("none");
  for (const hv of BACKENDS) {
    it(`${hv}: its own supervisor call is refused (-1), a GRANT naming any other domain is refused (-4)`, () => {
      for (const engine of ["interp", "jit"] as const) {
        const out = run(image, hv, true, engine);
        expect(out.result).toEqual({ kind: "poweroff", exitCode: 0 });
        // define ok, two GRANTs naming other domains: −4 each, the module's read-only grant: 0, its own call: −1, the words untouched.
        expect(out.console).toBe("1 -4 -4 0 -1 5 3 \n");
        if (hv === "xen" || hv === "l4") expect(out.domainNames[1]).toBe("vmm");
      }
    });
  }

  const poking = hostile("poke");
  for (const hv of BACKENDS) {
    it(`${hv}: the module's store to a kernel word it may only read, at an mmio site, is a protection fault (--no-protect: it stores)`, () => {
      for (const engine of ["interp", "jit"] as const) {
        const on = run(poking, hv, true, engine);
        expect(on.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
        expect(on.console).toBe("1 -4 -4 0 -1 ");
        const off = run(poking, hv, false, engine);
        expect(off.result).toEqual({ kind: "poweroff", exitCode: 0 });
        expect(off.console).toBe("1 0 0 0 0 7 3 \n"); // every call succeeds and does nothing
      }
    });
  }

  const updating = hostile("mmu");
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: the module's MMU_UPDATE of a kernel word it may only read is refused (--no-protect: the VMM writes it)`, () => {
      for (const engine of ["interp", "jit"] as const) {
        const on = run(updating, hv, true, engine);
        expect(on.result).toEqual({ kind: "poweroff", exitCode: 0 });
        expect(on.console).toBe("1 -4 -4 0 -1 5 3 \n");
        expect(on.stats.counts[`${hv}:mmu_update.refused`]).toBe(1);
        expect(run(updating, hv, false, engine).console).toBe("1 0 0 0 0 7 3 \n");
      }
    });
  }

  const multi = hostile("multi");
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: the module's MULTICALL whose result slot is a kernel word it may only read is refused (--no-protect: the VMM writes it)`, () => {
      for (const engine of ["interp", "jit"] as const) {
        const on = run(multi, hv, true, engine);
        expect(on.result).toEqual({ kind: "poweroff", exitCode: 0 });
        expect(on.console).toBe("1 -4 -4 0 -1 5 3 \n");
        expect(on.stats.counts[`${hv}:multicall.TLB_FLUSH`]).toBeUndefined();
        expect(run(multi, hv, false, engine).console).toBe("1 0 0 0 0 5 0 \n");
      }
    });
  }

  const peeking = hostile("peek");
  for (const hv of ["xen", "l4"]) {
    it(`${hv}: the module reading the VMM's shared-info page is a protection fault (--no-protect: it reads it)`, () => {
      for (const engine of ["interp", "jit"] as const) {
        const on = run(peeking, hv, true, engine);
        expect(on.result).toEqual({ kind: "poweroff", exitCode: 100 + CAUSE.PROTECTION_FAULT });
        expect(on.console).toBe("1 -4 -4 0 -1 ");
        expect(run(peeking, hv, false, engine).result).toEqual({ kind: "poweroff", exitCode: 0 });
      }
    });
  }
});
