// The machine's protection domains (src/machine/protection, docs/protection.md):
// the compressed table and the PLB agree with a plain per-word reference on
// random grants and lookups; real guest code doing random loads and stores
// from two domains faults (cause 10, badva) exactly where the reference says,
// identically in the interpreter and the JIT; bad definitions are refused.
import { describe, expect, it } from "vitest";
import { CAUSE, CR } from "../../src/guest-isa/registers.js";
import type { Machine } from "../../src/machine/machine.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { Plb } from "../../src/machine/protection/plb.js";
import { PERM, Protection, ProtectionError, type Perm } from "../../src/machine/protection/protection.js";
import { PermissionTable } from "../../src/machine/protection/table.js";
import { runImage } from "../../src/machine/run-image.js";
import { R, image, li, wordsToBytes, type Item } from "../machine/program.js";

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const FRAMES = 64;

describe("the compressed permissions table and the PLB", () => {
  it("agree with a per-word reference over random grants and lookups", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = rng(seed);
      const t = new PermissionTable(FRAMES);
      const ref = new Uint8Array(FRAMES * 1024).fill(PERM.RW);
      const plb = new Plb();
      const bad: string[] = [];
      for (let g = 0; g < 200; g++) {
        // Mostly short word runs, sometimes whole frames (which must fold back to uniform entries).
        const whole = rand() < 0.2;
        const word = whole ? Math.floor(rand() * FRAMES) * 1024 : Math.floor(rand() * FRAMES * 1024);
        const words = whole ? 1024 * (1 + Math.floor(rand() * 3)) : 1 + Math.floor(rand() * 40);
        const n = Math.min(words, FRAMES * 1024 - word);
        const perm = Math.floor(rand() * 4) as Perm;
        t.set(word * 4, n * 4, perm);
        ref.fill(perm, word, word + n);
        plb.flush();
        for (let k = 0; k < 200; k++) {
          const w = Math.floor(rand() * FRAMES * 1024);
          const pa = w * 4 + Math.floor(rand() * 4);
          if (t.get(pa) !== ref[w] || plb.lookup(0, t, pa) !== ref[w]) bad.push(`seed ${seed} grant ${g}: word 0x${(w * 4).toString(16)}`);
        }
      }
      expect(bad).toEqual([]);
      // The compression: every leaf is a frame whose words really differ.
      let mixed = 0;
      for (let f = 0; f < FRAMES; f++) {
        const slice = ref.subarray(f * 1024, (f + 1) * 1024);
        if (slice.some((p) => p !== slice[0])) mixed++;
      }
      expect(t.mixedFrames()).toBe(mixed);
      expect(t.bytes()).toBe(FRAMES * 4 + mixed * 256);
    }
  });

  it("a PLB hit costs no reference, a miss one (uniform frame) or two (mixed frame)", () => {
    const t = new PermissionTable(FRAMES);
    t.set(0x1000, 4096, PERM.R);
    t.set(0x2010, 8, PERM.NONE);
    const plb = new Plb();
    plb.lookup(0, t, 0x1000);
    expect(plb.refs).toBe(1);
    plb.lookup(0, t, 0x1ffc);
    expect(plb.refs).toBe(0);
    expect(plb.lookup(0, t, 0x2010)).toBe(PERM.NONE);
    expect(plb.refs).toBe(2);
    expect(plb.lookup(0, t, 0x2018)).toBe(PERM.RW);
    expect(plb.refs).toBe(0);
  });
});

describe("defining domains and grants", () => {
  const host = { memorySize: FRAMES * 4096, guestLimit: FRAMES * 4096 - 8192, framesChanged: () => {}, chargeRefs: () => {} };

  it("refuses code ranges that overlap another domain's, its own, or are empty", () => {
    const p = new Protection(host);
    p.defineDomain("a", [{ start: 0x1000, end: 0x1100 }]);
    expect(() => p.defineDomain("b", [{ start: 0x10fc, end: 0x1200 }])).toThrow(/overlaps domain a/);
    expect(() => p.defineDomain("c", [{ start: 0x2000, end: 0x2100 }, { start: 0x2080, end: 0x2200 }])).toThrow(/overlap/);
    expect(() => p.defineDomain("d", [{ start: 0x3000, end: 0x3000 }])).toThrow(/empty/);
    expect(p.defineDomain("e", [{ start: 0x1100, end: 0x1200 }])).toBe(2);
    expect(p.domainOf(0x10fc)).toBe(1);
    expect(p.domainOf(0x1100)).toBe(2);
    expect(p.domainOf(0x1200)).toBe(0);
  });

  it("refuses grants outside memory, unaligned or to an unknown domain", () => {
    const p = new Protection(host);
    expect(() => p.grant(0, FRAMES * 4096 - 4, 8, PERM.R)).toThrow(ProtectionError);
    expect(() => p.grant(0, host.guestLimit, 4, PERM.R, host.guestLimit)).toThrow(/outside memory/);
    expect(() => p.grant(0, 2, 4, PERM.R)).toThrow(/word-aligned/);
    expect(() => p.grant(5, 0, 4, PERM.R)).toThrow(/no protection domain/);
    p.grant(0, FRAMES * 4096 - 4, 4, PERM.R);
    expect(p.checked[FRAMES - 1]).toBe(1);
  });
});

// ---------------------------------------------------------------- real guest code

const TABLE = 0x20000;
const RESULTS = 0x30000;
const REGION = 0x40000;
const REGION_FRAMES = 8;

/**
 * Each table entry (addr, kind) is one access: kind bit 0 = store, bit 1 =
 * made by the code of domain "a" (else the kernel's), bit 2 = a byte access.
 * The handler writes the cause of a fault into RESULTS[i] and skips the access.
 */
function accessProgram(): Item[] {
  const access = (name: string): Item[] => [
    name,
    ["andi", { a: R.t0, b: R.a2, imm: 4 }],
    ["bne", { a: R.t0, b: R.zero, to: `${name}.byte` }],
    ["andi", { a: R.t0, b: R.a2, imm: 1 }],
    ["beq", { a: R.t0, b: R.zero, to: `${name}.load` }],
    ["sw", { a: R.a2, b: R.a1, imm: 0 }],
    ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
    `${name}.load`,
    ["lw", { a: R.t1, b: R.a1, imm: 0 }],
    ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
    `${name}.byte`,
    ["andi", { a: R.t0, b: R.a2, imm: 1 }],
    ["beq", { a: R.t0, b: R.zero, to: `${name}.lb` }],
    ["sb", { a: R.a2, b: R.a1, imm: 0 }],
    ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
    `${name}.lb`,
    ["lbu", { a: R.t1, b: R.a1, imm: 0 }],
    ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
  ];
  return [
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: CR.tvec, b: R.t0 }],
    ["addi", { a: R.s0, b: R.zero, imm: 0 }],
    ...li(R.s1, TABLE),
    ["lw", { a: R.s2, b: R.s1, imm: 0 }],
    ["addi", { a: R.s1, b: R.s1, imm: 4 }],
    "loop",
    ["beq", { a: R.s0, b: R.s2, to: "done" }],
    ["lw", { a: R.a1, b: R.s1, imm: 0 }],
    ["lw", { a: R.a2, b: R.s1, imm: 4 }],
    ["andi", { a: R.t0, b: R.a2, imm: 2 }],
    ["bne", { a: R.t0, b: R.zero, to: "viaA" }],
    ["jal", { a: R.lr, to: "accessK" }],
    ["jal", { a: R.zero, to: "next" }],
    "viaA",
    ["jal", { a: R.lr, to: "accessA" }],
    "next",
    ["addi", { a: R.s1, b: R.s1, imm: 8 }],
    ["addi", { a: R.s0, b: R.s0, imm: 1 }],
    ["jal", { a: R.zero, to: "loop" }],
    "done",
    ["out", { imm: 0xf0, b: R.zero }],
    "handler",
    ["mfcr", { a: R.t0, imm: CR.cause }],
    ["slli", { a: R.t1, b: R.s0, imm: 2 }],
    ...li(R.a3, RESULTS),
    ["add", { a: R.t1, b: R.t1, c: R.a3 }],
    ["sw", { a: R.t0, b: R.t1, imm: 0 }],
    ["mfcr", { a: R.t0, imm: CR.badva }],
    ["sw", { a: R.t0, b: R.t1, imm: 0x4000 }],
    ["mfcr", { a: R.t0, imm: CR.epc }],
    ["addi", { a: R.t0, b: R.t0, imm: 4 }],
    ["mtcr", { imm: CR.epc, b: R.t0 }],
    ["iret", {}],
    ...access("accessK"),
    ...access("accessA"),
  ];
}

interface Case {
  grants: { domain: number; pa: number; bytes: number; perm: Perm }[];
  accesses: { addr: number; kind: number }[];
}

function randomCase(seed: number): Case {
  const rand = rng(seed);
  const grants: Case["grants"] = [];
  for (let g = 0; g < 24; g++) {
    const whole = rand() < 0.25;
    const word = whole ? Math.floor(rand() * REGION_FRAMES) * 1024 : Math.floor(rand() * REGION_FRAMES * 1024);
    const words = Math.min(whole ? 1024 : 1 + Math.floor(rand() * 64), REGION_FRAMES * 1024 - word);
    grants.push({ domain: rand() < 0.5 ? 0 : 1, pa: REGION + word * 4, bytes: words * 4, perm: Math.floor(rand() * 4) as Perm });
  }
  const accesses: Case["accesses"] = [];
  for (let k = 0; k < 300; k++) {
    // Around the region too (unchecked frames on both sides), and often right at a granted word.
    const near = rand() < 0.5 ? grants[Math.floor(rand() * grants.length)] : undefined;
    const word = near ? (near.pa - REGION) / 4 + Math.floor(rand() * (near.bytes / 4)) : Math.floor(rand() * (REGION_FRAMES + 2) * 1024) - 1024;
    const kind = Math.floor(rand() * 8);
    accesses.push({ addr: REGION + word * 4 + (kind & 4 ? Math.floor(rand() * 4) : 0), kind });
  }
  return { grants, accesses };
}

/** Which accesses the reference (a plain array per domain and word) refuses. */
function reference(c: Case): boolean[] {
  const perms = [0, 1].map(() => new Uint8Array((REGION_FRAMES + 2) * 1024).fill(PERM.RW));
  for (const g of c.grants) perms[g.domain].fill(g.perm, (g.pa - REGION) / 4 + 1024, (g.pa - REGION + g.bytes) / 4 + 1024);
  return c.accesses.map(({ addr, kind }) => {
    const p = perms[(kind >> 1) & 1][((addr - REGION) >> 2) + 1024];
    return (p & (kind & 1 ? PERM.W : PERM.R)) === 0;
  });
}

function runCase(c: Case, engine: "interp" | "jit") {
  const items = accessProgram();
  const img = image(items, 0x1000, [{ addr: TABLE, bytes: wordsToBytes([c.accesses.length, ...c.accesses.flatMap((a) => [a.addr, a.kind])]) }]);
  const setup: Monitor = {
    name: "protection-test",
    attach(m: Machine) {
      const [start, end] = domainARange(items);
      const a = m.protection.defineDomain("a", [{ start, end }]);
      for (const g of c.grants) m.protection.grant(g.domain === 0 ? 0 : a, g.pa, g.bytes, g.perm);
    },
  };
  return runImage(img, { monitor: setup, engine, jitThreshold: 1, maxCycles: 50_000_000 });
}

/** The address range of `accessA`'s code (to the end of the program). */
function domainARange(items: Item[]): [number, number] {
  let pc = 0x1000;
  let start = 0;
  for (const it of items) {
    if (typeof it === "string") {
      if (it === "accessA") start = pc;
      continue;
    }
    pc += !("word" in it) && it[0] === "la" ? 8 : 4;
  }
  return [start, pc];
}

describe("guest loads and stores under two domains", () => {
  for (const seed of [11, 12, 13, 14]) {
    it(`fault exactly where the reference says, the same in the interpreter and the JIT (seed ${seed})`, () => {
      const c = randomCase(seed);
      const expected = reference(c);
      const runs = (["interp", "jit"] as const).map((e) => runCase(c, e));
      for (const r of runs) {
        expect(r.result).toMatchObject({ kind: "poweroff", exitCode: 0 });
        const mem = r.machine.memory;
        const got = c.accesses.map((_, i) => mem.i32[(RESULTS >> 2) + i]);
        expect(got.map((cause) => cause === CAUSE.PROTECTION_FAULT)).toEqual(expected);
        expect(got.every((cause) => cause === 0 || cause === CAUSE.PROTECTION_FAULT)).toBe(true);
        c.accesses.forEach((a, i) => {
          if (expected[i]) expect(mem.i32[((RESULTS + 0x4000) >> 2) + i] >>> 0).toBe(a.addr >>> 0);
        });
        expect(r.stats.exceptions["protection-fault"]).toBe(expected.filter(Boolean).length);
      }
      expect(expected.some(Boolean) && expected.some((x) => !x)).toBe(true);
      expect(runs[1].stats).toEqual(runs[0].stats);
      expect(runs[0].stats.events.permissionRef).toBeGreaterThan(0);
      expect(runs[0].stats.counts["protection.checks"]).toBeGreaterThan(0);
    });
  }

  it("a program that touches no restricted frame runs exactly as with no domains (no check, no cycle)", () => {
    const c = randomCase(21);
    const far = { ...c, accesses: c.accesses.map((a) => ({ ...a, addr: a.addr + 0x100000 })) };
    const with_ = runCase(far, "interp");
    const without = runCase({ ...far, grants: [] }, "interp");
    expect(with_.stats).toEqual(without.stats);
    expect(with_.stats.counts["protection.checks"]).toBeUndefined();
  });
});

describe("atomics under protection", () => {
  // amoadd needs both permissions on its word: write-only and read-only words refuse it.
  const text = (addr: number) => `
    .text
    .global _start
_start:
    la   t0, handler
    mtcr tvec, t0
    li   a1, ${addr}
    li   t1, 5
    amoadd t2, t1, 0(a1)
    li   a0, 0
    out  0xF0, a0
handler:
    mfcr a0, cause
    out  0xF0, a0
`;
  const setup = (perm: Perm): Monitor => ({
    name: "atomics",
    attach(m: Machine) {
      m.protection.grant(0, 0x40000, 4, perm);
    },
  });
  for (const engine of ["interp", "jit"] as const) {
    it(`read-write: allowed; read-only or write-only: cause 10 (${engine})`, async () => {
      const { assemble } = await import("../../src/guest-isa/assembler/index.js");
      const img = assemble([{ file: "amo.s", text: text(0x40000) }]);
      const go = (perm: Perm) => runImage(img, { monitor: setup(perm), engine, jitThreshold: 1, maxCycles: 100_000 });
      const rw = go(PERM.RW);
      expect(rw.result).toEqual({ kind: "poweroff", exitCode: 0 });
      expect(rw.machine.memory.i32[0x40000 >> 2]).toBe(5);
      for (const perm of [PERM.R, PERM.W, PERM.NONE] as Perm[]) {
        const out = go(perm);
        expect(out.result).toEqual({ kind: "poweroff", exitCode: CAUSE.PROTECTION_FAULT });
        expect(out.machine.memory.i32[0x40000 >> 2]).toBe(0);
      }
    });
  }
});
