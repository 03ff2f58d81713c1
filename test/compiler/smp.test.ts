// The multiprocessor intrinsics (atomicSwap, atomicAdd, cpuPause, cpuId,
// cpuCount, startCpu, sendIpi, spinLock, spinUnlock): their lowering (the
// assembly text), misuse as `file:line:col: error:`, the start-up that gives
// each started CPU a stack, the host runtime's one-CPU semantics, and a
// program on 1, 2 and 4 CPUs of the machine.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyImage } from "../../src/annotator/verify.js";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { backends, runElf } from "../../src/hypervisors/index.js";
import { compile } from "../../src/compiler/index.js";
import { formatDiagnostic } from "../../src/guest-isa/diagnostics.js";
import { paravirtTarget } from "../../src/hypervisors/paravirt.js";
import { runtimeSources, SMP_STARTUP_FILE } from "../../src/compiler/startup.js";
import * as guest from "../../guest/index.js";
import { asmOf, compileDiagnostics, functionBody, programFiles, PROGRAMS, runOnHost } from "./helpers.js";

const IMPORTS = `import { addressOf, atomicAdd, atomicSwap, cpuCount, cpuId, cpuPause, load32, sendIpi, spinLock, spinUnlock, startCpu, store32 } from "previrt/guest";\n`;
const errors = (text: string): string[] => compileDiagnostics(IMPORTS + text, "g.ts").map((d) => formatDiagnostic(d, false));

describe("lowering", () => {
  it("atomicSwap and atomicAdd are one amoswap/amoadd each, returning the old word; base + small constant folds", () => {
    const asm = asmOf(IMPORTS + "const w = new Int32Array(4);\nexport function f(v: number): number { const a = addressOf(w); return atomicAdd(a + 8, v) + atomicSwap(a, 7); }\n");
    const body = functionBody(asm, "f");
    expect(body.filter((l) => /^amo/.test(l))).toEqual([expect.stringMatching(/^amoadd t\d, a0, 8\(\w+\)$/), expect.stringMatching(/^amoswap t\d, t\d, 0\(\w+\)$/)]);
  });

  it("an offset beyond amo's signed 14 bits is added to the base first (not folded)", () => {
    const body = functionBody(asmOf(IMPORTS + "export function f(a: number): number { return atomicAdd(a + 8192, 1) + atomicAdd(a - 8193, 1) + atomicAdd(a - 8192, 1); }\n"), "f");
    const amos = body.filter((l) => l.startsWith("amoadd"));
    expect(amos[0]).toMatch(/, 0\(t\d\)$/);
    expect(amos[1]).toMatch(/, 0\(t\d\)$/);
    expect(amos[2]).toMatch(/, -8192\(a0\)$/);
  });

  it("cpuPause, cpuId, cpuCount, sendIpi are pause and the CPU ports", () => {
    const body = functionBody(asmOf(IMPORTS + "export function f(): number { cpuPause(); sendIpi(cpuId() + 1); return cpuCount(); }\n"), "f");
    expect(body).toEqual(["pause", "in t0, 0x40", "addi t0, t0, 1", "out 0x44, t0", "in a0, 0x41", "ret"]);
  });

  it("spinLock is a test-and-set loop around one `.sensitive lock` amoswap (rd = rs2), with pause; spinUnlock one `.sensitive unlock` sw zero", () => {
    const asm = asmOf(IMPORTS + "const l = new Int32Array(2);\nlet n = 0;\nexport function f(): void { spinLock(addressOf(l) + 4); n++; spinUnlock(addressOf(l) + 4); }\n");
    const lines = asm.split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter(Boolean);
    const at = lines.indexOf(".sensitive lock");
    expect(at).toBeGreaterThan(1);
    const retry = lines[at - 2];
    expect(retry).toMatch(/^\.L\w+:$/);
    const r = /^li (t\d), 1$/.exec(lines[at - 1])![1];
    expect(lines[at + 1]).toBe(`amoswap ${r}, ${r}, 4(s0)`.replace("s0", /\((\w+)\)/.exec(lines[at + 1])![1]));
    expect(lines[at + 2]).toMatch(new RegExp(`^beqz ${r}, (\\.L\\w+)$`));
    const done = /(\.L\w+)$/.exec(lines[at + 2])![1];
    expect(lines.slice(at + 3, at + 6)).toEqual(["pause", `j ${retry.slice(0, -1)}`, `${done}:`]);
    const u = lines.indexOf(".sensitive unlock");
    expect(lines[u + 1]).toMatch(/^sw zero, 4\(\w+\)$/);
  });

  it("the lock's scratch register is none of the address's registers (even when the address is computed)", () => {
    const asm = asmOf(IMPORTS + "export function f(a: number, b: number): void { spinLock(a * 4 + b); }\n");
    const amo = asm.split("\n").find((l) => l.includes("amoswap"))!.trim();
    const [, rd, rs2, base] = /^amoswap (\w+), (\w+), -?\d+\((\w+)\)$/.exec(amo)!;
    expect(rd).toBe(rs2);
    expect(base).not.toBe(rd);
  });

  it("each spinLock gets its own labels", () => {
    const asm = asmOf(IMPORTS + "export function f(a: number): void { spinLock(a); spinLock(a + 4); }\n");
    const labels = asm.split("\n").filter((l) => /^\.LspinLock/.test(l));
    expect(labels.length).toBe(4);
    expect(new Set(labels).size).toBe(4);
  });

  it("startCpu(n, fn) passes n in a0 and fn's address in a1 to the start-up routine, and pulls the start-up in", () => {
    const asm = asmOf(IMPORTS + "function go(): void { for (;;) cpuPause(); }\nexport function f(n: number): void { startCpu(n + 1, go); }\n");
    const body = functionBody(asm, "f");
    expect(body).toContain("la a1, go");
    expect(body).toContain("call __previrt_start_cpu");
    const extra = runtimeSources([{ file: "f.s", text: asm }]);
    const smp = extra.find((s) => s.file === SMP_STARTUP_FILE)!;
    expect(smp.text).toMatch(/out\s+0x43, t0/);
    expect(smp.text).toMatch(/out\s+0x42, a0/);
    expect(smp.text).toMatch(/in\s+t0, 0x40/);
    // Not pulled in when nothing starts a CPU.
    expect(runtimeSources([{ file: "g.s", text: asmOf(IMPORTS + "export function main(): number { return cpuId(); }\n") }]).map((s) => s.file)).not.toContain(SMP_STARTUP_FILE);
  });
});

describe("para-virtualized lowering (--paravirt xen)", () => {
  it("the CPU ports become port hypercalls; atomics and locks are the native code", () => {
    const text = IMPORTS + "export function f(a: number): number { spinLock(a); sendIpi(2); spinUnlock(a); return cpuId() + cpuCount() + atomicAdd(a + 4, 1); }\n";
    const asm = compile([{ file: "p.ts", text }], { paravirt: paravirtTarget("xen") })[0].asm;
    const body = functionBody(asm, "f");
    expect(body).toContain("hcall __xen_HC_PORT_WRITE");
    expect(body.filter((l) => l === "hcall __xen_HC_PORT_READ").length).toBe(2);
    expect(body).toContain("addi a0, zero, 64"); // port 0x40
    expect(body).toContain("addi a0, zero, 65"); // port 0x41
    expect(body).toContain("addi a0, zero, 68"); // port 0x44
    expect(asm).toContain(".sensitive lock");
    expect(asm).toContain(".sensitive unlock");
    expect(body.some((l) => l.startsWith("amoadd "))).toBe(true);
    expect(body.some((l) => /^(in|out) /.test(l))).toBe(false);
  });
});

describe("misuse is a file:line:col error", () => {
  it("wrong arity", () => {
    expect(errors("export function main(): number { spinLock(); return atomicAdd(4); }\n")).toEqual([
      "g.ts:2:34: error: 'spinLock' expects 1 argument, got 0",
      "g.ts:2:53: error: 'atomicAdd' expects 2 arguments, got 1",
    ]);
  });

  it("startCpu's function: a name of a function with no parameters", () => {
    expect(errors("function two(a: number, b: number): void {}\nexport function main(): number { const x = 3; startCpu(1, x); startCpu(1, two); return 0; }\n")).toEqual([
      "g.ts:3:59: error: the second argument of 'startCpu' must be the name of a function",
      "g.ts:3:75: error: the function passed to 'startCpu' must take no parameters (it starts on a fresh CPU), not 2",
    ]);
  });

  it("cpuId and cpuCount compose in expressions with no error", () => {
    expect(errors("export function main(): number { return cpuId() + cpuCount(); }\n")).toEqual([]);
  });
});

describe("host runtime (guest/index.js): one CPU", () => {
  it("cpuId() is 0, cpuCount() 1, the atomics read-modify-write and return the old word, locks take and release", () => {
    const src = {
      file: "h.ts",
      text:
        IMPORTS +
        `export function main(): number {
  const a = 1024;
  store32(a, 5);
  const old = atomicAdd(a, 3);
  const swapped = atomicSwap(a, 40);
  spinLock(a + 4);
  const held = load32(a + 4);
  spinUnlock(a + 4);
  cpuPause();
  return old * 1000 + swapped * 10 + held + load32(a + 4) + load32(a) + 100 * cpuId() + cpuCount();
}
`,
    };
    // 5 * 1000 + 8 * 10 + 1 + 0 + 40 + 0 + 1
    expect(runOnHost([src]).exitCode).toBe((5000 + 80 + 1 + 40 + 1) & 0xff);
  });

  it("startCpu and sendIpi say the host has one CPU; a held spinLock says it would spin forever", () => {
    expect(() => guest.startCpu(1, () => {})).toThrow(/host has one CPU/);
    expect(() => guest.sendIpi(0)).toThrow(/one CPU/);
    guest.host.reset();
    guest.spinLock(64);
    expect(() => guest.spinLock(64)).toThrow(/already held/);
    guest.spinUnlock(64);
    guest.spinLock(64);
    expect(guest.inPort(guest.PORT.cpuId)).toBe(0);
    expect(guest.inPort(guest.PORT.cpuCount)).toBe(1);
  });
});

describe("on the multiprocessor machine (fixtures/programs/smp/counter.ts)", () => {
  const image = () => buildSources(programFiles(join(PROGRAMS, "smp/counter.ts"))).image;
  const run = (cpus: number, backend = "bare") => runElf(image(), { backend, cpus, maxCycles: 50_000_000 });

  it("startCpu starts every CPU on its own stack; 10,000 atomicAdds and 10,000 locked increments per CPU are exact", () => {
    for (const cpus of [1, 2, 4]) {
      const out = run(cpus);
      const total = cpus * 10000;
      expect(out.console, `${cpus} CPUs`).toBe(`cpus x increments ${total}\natomic ${total}\nlocked ${total}\n`);
      // Bits 0 and 1: the exact totals; bit 2: the unlocked increment lost updates — only with company.
      expect(out.result, `${cpus} CPUs`).toEqual({ kind: "poweroff", exitCode: cpus === 1 ? 0 : 4 });
      if (cpus > 1) for (const [n, c] of (out.stats.perCpu ?? []).entries()) expect(c.instructions, `cpu ${n}`).toBeGreaterThan(30000);
    }
  });

  it("the lock sites are rewritten (natively) and the verifier accepts the image", () => {
    const img = image();
    expect(verifyImage(img).problems).toEqual([]);
    const out = runElf(img, { backend: "bare", cpus: 2, maxCycles: 50_000_000 });
    expect(out.rewrite.sites.filter((s) => s.kindName === "lock").map((s) => s.strategy)).toEqual(["native"]);
    expect(out.rewrite.sites.filter((s) => s.kindName === "unlock").map((s) => s.strategy)).toEqual(["native"]);
  });
});

// Back ends join when they run N-CPU guests (Backend.maxCpus ≥ 4: hw/smp-backends).
const MULTI = [...backends.values()].filter((b) => b.name !== "bare" && (b.maxCpus ?? 1) >= 4).map((b) => b.name);

describe.runIf(MULTI.length > 0)("the counter on every back end that runs N CPUs", () => {
  it("4 CPUs: the atomic and the locked totals are exact everywhere", () => {
    const image = buildSources(programFiles(join(PROGRAMS, "smp/counter.ts"))).image;
    for (const backend of MULTI) {
      const out = runElf(image, { backend, cpus: 4, maxCycles: 200_000_000 });
      expect(out.console, backend).toBe("cpus x increments 40000\natomic 40000\nlocked 40000\n");
      expect(out.result.kind, backend).toBe("poweroff");
      expect(out.result.kind === "poweroff" ? out.result.exitCode & 3 : -1, backend).toBe(0);
    }
  });
});
