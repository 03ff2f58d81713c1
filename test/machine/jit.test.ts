// The JIT (src/machine/jit) against the interpreter, on the machine alone:
// random programs, self-modifying code (in the running block and in
// another page), code written by disk DMA, code re-patched by a monitor at
// run time (raw typed-array writes and machine.memory writes), page-table
// changes under code, and timer interrupts with periods of 1, 7 and 10,000
// cycles. Each runs under both engines — the JIT translating every address
// the first time it is reached (jitThreshold 1), the harshest setting — and
// everything the guest or a user can observe must be identical: result and
// diagnosis, registers, pc, psr, control registers, the trace ring, every
// counter, the console and the data memory.
import { describe, expect, it } from "vitest";
import { Machine, type Engine } from "../../src/machine/machine.js";
import type { Monitor } from "../../src/machine/monitor.js";
import { memoryDisk } from "../../src/machine/devices/disk.js";
import { defaultCostModel } from "../../src/machine/cost-model.js";
import { R, addAndReturn, encodeWords, li, pageTables, pagedEpcSumPrologue, pagingOn, powerOff, wordsToBytes, type Item } from "./program.js";
import { DATA_PA, DATA_PAGES, DATA_VA, randomProgram } from "./random-program.js";
import { runAtDefaultThreshold, runOn, same } from "./engine-pair.js";


describe("jit = interpreter on random programs", () => {
  for (const paging of [false, true]) {
    it(`40 random ALU/load/store/branch programs, paging ${paging ? "on" : "off"}`, () => {
      const map: [number, number, number][] = [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2]];
      for (let p = 0; p < DATA_PAGES; p++) map.push([DATA_VA + p * 4096, DATA_PA + p * 4096, 2]);
      let translations = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const r = same({ items: randomProgram(seed * 104_729 + (paging ? 1 : 0), paging), data: paging ? [pageTables(0x10_0000, map)] : [] });
        expect(r.result.kind, `seed ${seed}`).toBe("poweroff");
        translations += r.host.jit!.translations;
      }
      expect(translations).toBeGreaterThan(40);
    });
  }
});

describe("jit = interpreter on self-modifying code", () => {
  it("a store rewrites the very next instruction of the running block", () => {
    // `patch` follows the store in the same basic block: the JIT must leave the block after the store.
    const r = same({
      items: [
        ...li(R.t0, 3),
        ["la", { a: R.t1, to: "patch" }],
        ...li(R.t3, encodeWords([["addi", { a: R.a0, b: R.a0, imm: 100 }]])[0]),
        "loop",
        ["sw", { a: R.t3, b: R.t1, imm: 0 }],
        "patch",
        ["addi", { a: R.a0, b: R.a0, imm: 1 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        powerOff(R.a0),
      ],
    });
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 300 & 0xff });
    expect(r.host.jit!.storeExits).toBeGreaterThan(0);
  });

  it("amoadd rewrites the very next instruction of the running block (and amoswap puts it back)", () => {
    // amoadd adds 1 << 14 to the immediate of `patch` (imm 1, 2, 3, …); the JIT must leave the block after it.
    const r = same({
      items: [
        ...li(R.t0, 5),
        ["la", { a: R.t1, to: "patch" }],
        ...li(R.t3, 1 << 14),
        "loop",
        ["amoadd", { a: R.t2, b: R.t1, c: R.t3, imm: 0 }],
        "patch",
        ["addi", { a: R.a0, b: R.a0, imm: 1 }],
        ["pause"],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        ["amoswap", { a: R.t4, b: R.t1, c: R.t2, imm: 0 }],
        "again",
        ["jal", { a: R.lr, to: "patch2" }],
        powerOff(R.a0),
        "patch2",
        ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
      ],
    });
    // 2 + 3 + 4 + 5 + 6 = 20.
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 20 });
    expect(r.host.jit!.storeExits).toBeGreaterThan(0);
    expect(r.stats.counts.pauses).toBe(5);
  });

  it("an atomic on a monitor-watched frame reaches onWatchedStore with the new value, rd gets the old one", () => {
    const seen: number[] = [];
    const monitor = (m: Machine): Monitor => ({
      name: "watcher",
      attach: () => m.watchFrame(0x5000),
      onWatchedStore: (pa, value, size) => {
        seen.push(pa, value, size);
        m.memory.write32(pa, value ^ 1);
      },
    });
    const r = same({
      items: [
        ...li(R.s0, 0x5000),
        ...li(R.t0, 10),
        ...li(R.t1, 3),
        "loop",
        ["amoadd", { a: R.a1, b: R.s0, c: R.t1, imm: 8 }],
        ["add", { a: R.a0, b: R.a0, c: R.a1 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        ["andi", { a: R.a0, b: R.a0, imm: 255 }],
        powerOff(R.a0),
      ],
      monitor: (m) => {
        seen.length = 0;
        return monitor(m);
      },
    });
    // The word goes 0 → 3^1=2 → 5^1=4 → 7^1=6 …: old values 0, 2, 4, …, 18 sum to 90.
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 90 });
    expect(seen.slice(0, 6)).toEqual([0x5008, 3, 4, 0x5008, 5, 4]);
  });

  it("a loop rewrites a function in another page between calls", () => {
    // f at 0x3000: `addi a0, a0, k; jalr zero, ra`; each pass calls f twice, then sets k = k + 1.
    const f = addAndReturn;
    const r = same({
      items: [
        ...li(R.s0, 0x3000),
        ...li(R.t0, 20),
        ...li(R.t2, f(1)[0]),
        "loop",
        ["sw", { a: R.t2, b: R.s0, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["addi", { a: R.t2, b: R.t2, imm: 1 << 14 }], // imm field of the addi: k + 1
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        ["andi", { a: R.a0, b: R.a0, imm: 255 }],
        powerOff(R.a0),
      ],
      data: [{ addr: 0x3000, bytes: wordsToBytes(f(1)) }],
    });
    // Σ 2k for k = 1..20 = 420.
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 420 & 0xff });
  });

  it("the interpreter's slow-path store rewrites a translated function (no monitor)", () => {
    // Paging on. f at 0x3000 is also mapped at Y = 0x405000, whose TLB slot (5) a load from Z = 0x805000
    // takes over on every pass: so every store through Y misses the TLB and the interpreter performs it,
    // while f's own TLB entry (slot 3) stays — nothing but that store tells the JIT f changed.
    const Y = 0x0040_5000, Z = 0x0080_5000, PD = 0x10_0000;
    const f = addAndReturn;
    const r = same({
      items: [
        ...pagingOn(PD),
        ...li(R.s0, 0x3000),
        ...li(R.s1, Y),
        ...li(R.s2, Z),
        ...li(R.t0, 10),
        ...li(R.t2, f(1)[0]),
        "loop",
        ["lw", { a: R.t4, b: R.s2, imm: 0 }],
        ["sw", { a: R.t2, b: R.s1, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["addi", { a: R.t2, b: R.t2, imm: 1 << 14 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        powerOff(R.a0),
      ],
      data: [pageTables(PD, [[0x1000, 0x1000, 2], [0x3000, 0x3000, 2], [Y, 0x3000, 2], [Z, 0x6000, 2]]), { addr: 0x3000, bytes: wordsToBytes(f(0)) }],
    });
    // Σ k for k = 1..10.
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 55 });
    expect(r.stats.tlbMisses).toBeGreaterThan(20);
  });

  it("disk DMA overwrites translated code", () => {
    // Sector i holds `addi a0, a0, 10^i; jalr zero, ra`; the guest loads sector (pass & 1) to 0x5000 and calls it 3 times.
    const disk = new Uint8Array(2 * 512);
    for (const [i, k] of [[0, 1], [1, 10]]) {
      new Int32Array(disk.buffer, i * 512, 2).set(addAndReturn(k));
    }
    const r = same({
      items: [
        ...li(R.s0, 0x5000),
        ...li(R.s1, 6), // passes
        "pass",
        ["andi", { a: R.t0, b: R.s1, imm: 1 }],
        ["out", { imm: 0x30, b: R.t0 }], // sector
        ["out", { imm: 0x31, b: R.s0 }], // DMA address
        ["addi", { a: R.t0, b: R.zero, imm: 1 }],
        ["out", { imm: 0x32, b: R.t0 }], // read
        "wait",
        ["in", { a: R.t1, imm: 0x33 }],
        ["andi", { a: R.t1, b: R.t1, imm: 2 }],
        ["beq", { a: R.t1, b: R.zero, to: "wait" }],
        ["out", { imm: 0x33, b: R.zero }], // acknowledge
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["addi", { a: R.s1, b: R.s1, imm: -1 }],
        ["bne", { a: R.s1, b: R.zero, to: "pass" }],
        powerOff(R.a0),
      ],
      options: { disk: memoryDisk(disk), diskLatency: 500 },
    });
    // Passes 6..1: odd passes load sector 1 (+10 × 3), even ones sector 0 (+1 × 3): 3 × 30 + 3 × 3 = 99.
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 99 });
  });

  for (const how of ["raw typed-array writes", "machine.memory.write32"] as const) {
    it(`a monitor re-patches a called function at run time (${how})`, () => {
      // hcall 1: the monitor replaces f's first instruction with `addi a0, a0, k`, k = its call count.
      const monitor = (m: Machine): Monitor => {
        let k = 0;
        return {
          name: "patcher",
          onHcall: () => {
            const w = encodeWords([["addi", { a: R.a0, b: R.a0, imm: ++k }]])[0];
            if (how === "machine.memory.write32") m.memory.write32(0x3000, w);
            else {
              m.memory.i32[0x3000 >>> 2] = w;
              m.memory.markWritten(0x3000, 4); // for recycling only (memory.ts written): the JIT is told nothing
            }
            return "advance";
          },
        };
      };
      const f = addAndReturn(0);
      const r = same({
        items: [
          ...li(R.s0, 0x3000),
          ...li(R.t0, 10),
          "loop",
          ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
          ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
          ["hcall", { imm: 1 }],
          ["addi", { a: R.t0, b: R.t0, imm: -1 }],
          ["bne", { a: R.t0, b: R.zero, to: "loop" }],
          powerOff(R.a0),
        ],
        data: [{ addr: 0x3000, bytes: wordsToBytes(f) }],
        monitor,
      });
      // Pass p (0-based) calls f twice with k = p: Σ 2p for p = 0..9 = 90.
      expect(r.result).toEqual({ kind: "poweroff", exitCode: 90 });
    });
  }
});

describe("jit = interpreter when the page tables change under code", () => {
  // Virtual page 0x400000 maps frame A (`addi a0, a0, 1; jalr`) or frame B (`addi a0, a0, 10; jalr`); the guest
  // switches the PTE between calls, sometimes invalidating the TLB entry (the new frame runs) and sometimes not
  // (the stale translation keeps running, deterministically).
  const V = 0x0040_0000, A = 0x0020_0000, B = 0x0020_1000, PD = 0x10_0000;
  const snippet = addAndReturn;
  // The tables themselves are mapped (identity) so the guest can store into them.
  const pts = pageTables(PD, [[0x1000, 0x1000, 2], [V, A, 2], [PD, PD, 2], [PD + 0x1000, PD + 0x1000, 2], [PD + 0x2000, PD + 0x2000, 2]]);
  const pteAddr = (() => {
    // pageTables puts the first page table right after the directory.
    const pde = new DataView(pts.bytes.buffer).getInt32((V >>> 22) * 4, true);
    return ((pde & ~0xfff) >>> 0) + ((V >>> 12) & 0x3ff) * 4;
  })();
  for (const flush of ["tlbinv", "none", "ptbr"] as const) {
    it(`PTE switched between calls, invalidation: ${flush}`, () => {
      const items: Item[] = [
        ...pagingOn(PD),
        ...li(R.s0, V),
        ...li(R.s1, pteAddr),
        ...li(R.s2, (A | 7) >>> 0),
        ...li(R.a3, (B | 7) >>> 0),
        ...li(R.t0, 8),
        "loop",
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
        ["andi", { a: R.t1, b: R.t0, imm: 1 }],
        ["beq", { a: R.t1, b: R.zero, to: "even" }],
        ["sw", { a: R.s2, b: R.s1, imm: 0 }],
        ["jal", { a: R.zero, to: "switched" }],
        "even",
        ["sw", { a: R.a3, b: R.s1, imm: 0 }],
        "switched",
        ...(flush === "tlbinv" ? ([["tlbinv", { b: R.s0 }]] as Item[]) : flush === "ptbr" ? ([...li(R.t2, PD), ["mtcr", { imm: 5, b: R.t2 }]] as Item[]) : []),
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        powerOff(R.a0),
      ];
      const r = same({ items, data: [pts, { addr: A, bytes: wordsToBytes(snippet(1)) }, { addr: B, bytes: wordsToBytes(snippet(10)) }] });
      expect(r.result.kind).toBe("poweroff");
      if (flush !== "none") expect(r.result).toEqual({ kind: "poweroff", exitCode: (2 * (1 + 10 + 1 + 10 + 1 + 10 + 1 + 10)) & 0xff });
    });
  }
});

describe("jit = interpreter on the trace ring of loops that branch to themselves", () => {
  // A translated self-loop counts its back edges and writes the trace pairs when it is left
  // (translate.ts): 1, 31, 32, 33 and 70 iterations (fewer, exactly, and more than the ring's 32
  // pairs), left by falling through, then more branches; the ring and its index must be the
  // interpreter's. Paging on and a stride of 1 KiB: the loop's load misses the TLB every 4th
  // iteration while it first walks the data pages (the translation exits mid-body, pending pairs written, the interpreter takes the
  // miss, the loop goes on).
  const map: [number, number, number][] = [[0x1000, 0x1000, 2]];
  for (let p = 0; p < DATA_PAGES; p++) map.push([DATA_VA + p * 4096, DATA_PA + p * 4096, 2]);
  const program = (iterations: number, stride: number): Item[] => [
    ...pagingOn(0x10_0000),
    ...li(R.s0, DATA_VA),
    ...li(R.t0, iterations),
    "loop",
    ["add", { a: R.t2, b: R.s0, c: R.s1 }],
    ["lw", { a: R.t1, b: R.t2, imm: 0 }],
    ["add", { a: R.a0, b: R.a0, c: R.t1 }],
    ["addi", { a: R.a0, b: R.a0, imm: 3 }],
    ["addi", { a: R.s1, b: R.s1, imm: stride }],
    ["andi", { a: R.s1, b: R.s1, imm: DATA_PAGES * 4096 - 4 }], // inside the mapped pages
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    ["jal", { a: R.lr, to: "f" }],
    ["jal", { a: R.zero, to: "end" }],
    "f",
    ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
    "end",
    powerOff(R.a0),
  ];
  for (const iterations of [1, 31, 32, 33, 70]) {
    it(`${iterations} iterations`, () => {
      for (const stride of [4, 1024]) {
        const r = same({ items: program(iterations, stride), data: [pageTables(0x10_0000, map)] });
        expect(r.result).toEqual({ kind: "poweroff", exitCode: (3 * iterations) & 0xff });
        if (stride === 1024 && iterations > 4) expect(r.stats.tlbMisses).toBeGreaterThan(1);
      }
    });
  }
});

describe("jit = interpreter with timer interrupts", () => {
  // The handler acknowledges (and, re-arming, stops) the timer and counts; the main loop does ALU work and
  // memory traffic. Re-armed before each inner loop, a short period lands the interrupt at a different
  // instruction each time; a long one ticks periodically through the loops.
  const program = (period: number, rearm: boolean): Item[] => [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }],
    ...(rearm ? ([["out", { imm: 0x20, b: R.zero }]] as Item[]) : []),
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["iret"],
    "start",
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: 0, b: R.t0 }],
    ...li(R.a3, period),
    ...li(R.s0, DATA_PA),
    ...li(R.s1, 60),
    ...(rearm ? [] : ([["out", { imm: 0x20, b: R.a3 }]] as Item[])),
    ["sti"],
    "outer",
    ...(rearm ? ([["out", { imm: 0x20, b: R.a3 }]] as Item[]) : []),
    ["addi", { a: R.t0, b: R.s1, imm: 40 }],
    "inner",
    ["addi", { a: R.t1, b: R.t1, imm: 1 }],
    ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
    ["add", { a: R.t3, b: R.t3, c: R.t2 }],
    ["andi", { a: R.t4, b: R.t1, imm: 1020 }],
    ["add", { a: R.t4, b: R.t4, c: R.s0 }],
    ["sw", { a: R.t3, b: R.t4, imm: 0 }],
    ["lw", { a: R.a1, b: R.t4, imm: 4 }],
    ["add", { a: R.a2, b: R.a2, c: R.a1 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "inner" }],
    ["addi", { a: R.s1, b: R.s1, imm: -1 }],
    ["bne", { a: R.s1, b: R.zero, to: "outer" }],
    ["cli"],
    powerOff(R.s2),
  ];
  for (const period of [1, 7, 10_000]) {
    it(`period ${period}`, () => {
      for (const rearm of period === 10_000 ? [false] : [true, false]) {
        const r = same({ items: program(period, rearm), maxCycles: 3_000_000 });
        expect(r.stats.interrupts[0] ?? 0).toBeGreaterThan(rearm || period === 10_000 ? 5 : 100);
      }
    });
  }
});

describe("engine selection", () => {
  it("runs the JIT for every valid cost model (whole cycles); the interpreter when asked", () => {
    // Block costs are summed ahead: exact for whole numbers, which are all the cost model admits.
    expect(() => new Machine({ ramSize: 1024 * 1024, engine: "jit", costModel: { ...defaultCostModel(), alu: 1.5 } })).toThrow(/whole number/);
    expect(new Machine({ ramSize: 1024 * 1024, engine: "jit", costModel: { ...defaultCostModel(), alu: 3, load: 7 } }).engine).toBe("jit");
    expect(new Machine({ ramSize: 1024 * 1024, engine: "jit" }).engine).toBe("jit");
    expect(new Machine({ ramSize: 1024 * 1024, engine: "interp" }).engine).toBe("interp");
  });
});

describe("jit = interpreter when a machine reuses the process's translations of a page hot before", () => {
  // The default threshold (a page is translated after 512 reaches), not jitThreshold 1: the first
  // machine interprets until the loop's page is hot; a second machine with the same page contents
  // looks the compiled translations up at the first reach of each entry (cache.ts hotPages).
  const loop = (salt: number): Item[] => [
    ...li(R.t0, 300_000),
    ...li(R.s0, DATA_PA), // paging off
    "loop",
    ["addi", { a: R.t1, b: R.t1, imm: salt }],
    ["xor", { a: R.t2, b: R.t2, c: R.t1 }],
    ["andi", { a: R.t3, b: R.t2, imm: 1020 }],
    ["add", { a: R.t3, b: R.t3, c: R.s0 }],
    ["sw", { a: R.t2, b: R.t3, imm: 0 }],
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "loop" }],
    powerOff(R.zero),
  ];
  const run = (engine: Engine, items: Item[]) => {
    const r = runAtDefaultThreshold(engine, items);
    return { observed: { ...r.observed, data: Array.from(r.machine.memory.i32.subarray(DATA_PA >>> 2, (DATA_PA + 4096) >>> 2)) }, host: r.host };
  };

  it("the second run starts translated, with identical results; a page with other contents waits to get hot", () => {
    const items = loop(7_919);
    const reference = run("interp", items).observed;
    const first = run("jit", items);
    const second = run("jit", items);
    expect(first.observed).toEqual(reference);
    expect(second.observed).toEqual(reference);
    // The first machine interprets 512 slices before translating; the second almost nothing.
    expect(first.host.jit!.interpreted).toBeGreaterThan(100_000);
    expect(second.host.jit!.translations).toBeGreaterThan(0);
    expect(second.host.jit!.interpreted).toBeLessThan(first.host.jit!.interpreted / 20);
    // The `compiled` counter: the first machine compiles; the second may compile a block's tail where
    // its look-up lands inside a known block; a third finds every function it needs compiled.
    expect(first.host.jit!.compiled).toBeGreaterThan(0);
    const third = run("jit", items);
    expect(third.observed).toEqual(reference);
    expect(third.host.jit!.translations).toBeGreaterThan(0);
    expect(third.host.jit!.compiled).toBe(0);
    // One word different in the page: no look-up applies; the results are still the interpreter's.
    const other = loop(7_907);
    const otherRun = run("jit", other);
    expect(otherRun.observed).toEqual(run("interp", other).observed);
    expect(otherRun.host.jit!.interpreted).toBeGreaterThan(100_000);
    expect(otherRun.host.jit!.compiled).toBeGreaterThan(0);
  });
});

describe("jit = interpreter on system instructions run inside translations", () => {
  // cli, sti, mfcr, mtcr (not ptbr/pgctl), rdpsr and wrpsr are translated (translate.ts): the
  // machine's semantics and charges, a check of supervisor mode and of the monitor's exit mask, and
  // a return to the machine loop after sti and wrpsr. The loop below runs them thousands of times
  // between timer interrupts of period 1, 7 and 10,000 cycles: an interrupt must land after the
  // same sti, and every register, control register, psr bit, cycle and counter must be the interpreter's.
  // (ALU work after sti and wrpsr, so that the translations entered there run long enough per call
  // not to be left to the interpreter: engine.ts judges them after 32 calls.)
  const work: Item[] = Array.from({ length: 12 }, (_, i): Item => ["addi", { a: R.s0, b: R.s0, imm: i + 1 }]);
  const SYS_LOOP: Item[] = [
    "outer",
    ["addi", { a: R.t0, b: R.s1, imm: 20 }],
    "inner",
    ["cli"],
    ["mfcr", { a: R.t1, imm: 6 }], // scratch
    ["addi", { a: R.t1, b: R.t1, imm: 3 }],
    ["mtcr", { imm: 6, b: R.t1 }],
    ["mtcr", { imm: 4, b: R.t0 }], // badva: a plain register for the guest
    ["mfcr", { a: R.t2, imm: 4 }],
    ["add", { a: R.a2, b: R.a2, c: R.t2 }],
    ["rdpsr", { a: R.t3 }],
    ["xori", { a: R.t3, b: R.t3, imm: 0x100 }], // flips a user flag, keeps SU and IE=0
    ["wrpsr", { b: R.t3 }],
    ["rdpsr", { a: R.t4 }],
    ["add", { a: R.a2, b: R.a2, c: R.t4 }],
    ...work,
    ["sti"],
    ...work,
    ["addi", { a: R.t0, b: R.t0, imm: -1 }],
    ["bne", { a: R.t0, b: R.zero, to: "inner" }],
    ["addi", { a: R.s1, b: R.s1, imm: -1 }],
    ["bne", { a: R.s1, b: R.zero, to: "outer" }],
    ["cli"],
    ["mfcr", { a: R.a0, imm: 6 }],
    ["add", { a: R.a0, b: R.a0, c: R.s2 }],
    ["add", { a: R.a0, b: R.a0, c: R.a2 }],
    ["add", { a: R.a0, b: R.a0, c: R.s0 }],
    powerOff(R.a0),
  ];
  const program = (period: number): Item[] => [
    ["jal", { a: R.zero, to: "start" }],
    "handler",
    ["out", { imm: 0x21, b: R.zero }],
    ["mfcr", { a: R.k0, imm: 1 }], // epc, read inside the handler's translation
    ["add", { a: R.s2, b: R.s2, c: R.k0 }],
    ["addi", { a: R.s2, b: R.s2, imm: 1 }],
    ["iret"],
    "start",
    ["la", { a: R.t0, to: "handler" }],
    ["mtcr", { imm: 0, b: R.t0 }],
    ...li(R.a3, period),
    ...li(R.s1, 60),
    ["out", { imm: 0x20, b: R.a3 }],
    ["sti"],
    ...SYS_LOOP,
  ];

  for (const period of [1, 7, 10_000]) {
    it(`timer period ${period}: interrupts after the same sti, the same psr, control registers and cycles`, () => {
      const r = same({ items: program(period), maxCycles: 3_000_000 });
      expect(r.stats.interrupts[0] ?? 0).toBeGreaterThan(period === 10_000 ? 3 : 100);
      if (period === 10_000) {
        expect(r.result.kind).toBe("poweroff");
        // 60 × 20 iterations of 11 system instructions and 30 others: the JIT runs them inside
        // translations; the interpreter, one at a time, would interpret more than a quarter of them.
        expect(r.host.jit!.interpreted).toBeLessThan(r.stats.instructions / 10);
      }
    });
  }

  it("in user mode: rdpsr shows SU=0, wrpsr changes only the user flags, mfcr and cli fault as privileged", () => {
    // The handler counts the faults and skips the faulting instruction; the user program runs the
    // system instructions in a loop, so its translation meets them many times.
    const r = same({
      items: [
        ["jal", { a: R.zero, to: "start" }],
        "handler",
        ["mfcr", { a: R.k0, imm: 3 }], // cause
        ["add", { a: R.s2, b: R.s2, c: R.k0 }],
        ["mfcr", { a: R.k0, imm: 1 }],
        ["addi", { a: R.k0, b: R.k0, imm: 4 }],
        ["mtcr", { imm: 1, b: R.k0 }],
        ["addi", { a: R.k0, b: R.zero, imm: 0 }], // epsr: user mode, IE=0
        ["mtcr", { imm: 2, b: R.k0 }],
        ["iret"],
        "start",
        ["la", { a: R.t0, to: "handler" }],
        ["mtcr", { imm: 0, b: R.t0 }],
        ["la", { a: R.t0, to: "user" }],
        ["mtcr", { imm: 1, b: R.t0 }],
        ["mtcr", { imm: 2, b: R.zero }],
        ["iret"],
        "user",
        ...li(R.t0, 500),
        "uloop",
        ["rdpsr", { a: R.t1 }],
        ["add", { a: R.a2, b: R.a2, c: R.t1 }],
        ...li(R.t2, 0x7fff),
        ["wrpsr", { b: R.t2 }], // user: only UF changes (SU and IE stay 0)
        ["rdpsr", { a: R.t3 }],
        ["add", { a: R.a2, b: R.a2, c: R.t3 }],
        ["wrpsr", { b: R.zero }],
        ["mfcr", { a: R.t4, imm: 6 }], // privileged: fault, skipped by the handler
        ["cli"], // privileged: fault
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "uloop" }],
        ["add", { a: R.a0, b: R.a2, c: R.s2 }],
        ["syscall"],
      ],
      maxCycles: 3_000_000,
    });
    expect(r.stats.exceptions["privileged-instruction"]).toBe(1000);
  });

  it("a monitor that asks exits for cli and mfcr sees every one of them, with the same results", () => {
    // onExit emulates mfcr scratch itself (a value of its own) and lets cli run natively every other time.
    const seen = { interp: 0, jit: 0 };
    const monitor = (engine: Engine) => (m: Machine): Monitor => ({
      name: "exits",
      exits: ["cli", "mfcr"],
      onExit: (mn, word, pc) => {
        seen[engine]++;
        if (mn === "mfcr") {
          m.regs[(word >>> 6) & 15] = pc ^ seen[engine];
          return "advance";
        }
        return seen[engine] % 2 === 0 ? "native" : "advance";
      },
    });
    const items: Item[] = [
      ...li(R.t0, 400),
      "loop",
      ["cli"],
      ["mfcr", { a: R.t1, imm: 6 }],
      ["add", { a: R.a0, b: R.a0, c: R.t1 }],
      ["mtcr", { imm: 6, b: R.a0 }],
      ["rdpsr", { a: R.t2 }],
      ["addi", { a: R.t0, b: R.t0, imm: -1 }],
      ["bne", { a: R.t0, b: R.zero, to: "loop" }],
      powerOff(R.a0),
    ];
    const interp = runOn("interp", { items, monitor: monitor("interp") });
    const jit = runOn("jit", { items, monitor: monitor("jit") });
    expect(jit.observed).toEqual(interp.observed);
    expect(seen.jit).toBe(800);
    expect(seen.interp).toBe(800);
    expect(jit.host.jit!.dispatches).toBeGreaterThan(0);
  });

  it("wrpsr leaving supervisor mode and mtcr of ptbr are left where they must be (the mode's TLB tags, the flush)", () => {
    // Paging on; the loop switches the page directory between two identical copies (mtcr ptbr: the
    // interpreter's, a TLB flush) and drops to user mode with wrpsr at the end (a return to the machine loop).
    const map: [number, number, number][] = [[0x1000, 0x1000, 6], [0x2000, 0x2000, 6]]; // user pages: the code runs on after wrpsr
    const r = same({
      items: [
        ["jal", { a: R.zero, to: "start" }],
        "handler",
        ["mfcr", { a: R.a0, imm: 3 }],
        ["add", { a: R.a0, b: R.a0, c: R.a2 }],
        powerOff(R.a0),
        "start",
        ["la", { a: R.t0, to: "handler" }],
        ["mtcr", { imm: 0, b: R.t0 }],
        ...li(R.s0, 0x10_0000),
        ...li(R.s1, 0x12_0000),
        ["mtcr", { imm: 5, b: R.s0 }],
        ["addi", { a: R.t0, b: R.zero, imm: 1 }],
        ["mtcr", { imm: 7, b: R.t0 }],
        ...li(R.t0, 300),
        "loop",
        ["mtcr", { imm: 5, b: R.s1 }],
        ["mfcr", { a: R.t1, imm: 5 }],
        ["addi", { a: R.t1, b: R.t1, imm: 1 }],
        ["mtcr", { imm: 6, b: R.t1 }],
        ["mtcr", { imm: 5, b: R.s0 }],
        ["add", { a: R.a2, b: R.a2, c: R.t1 }],
        ["addi", { a: R.t0, b: R.t0, imm: -1 }],
        ["bne", { a: R.t0, b: R.zero, to: "loop" }],
        ["rdpsr", { a: R.t2 }],
        ["andi", { a: R.t2, b: R.t2, imm: -3 }], // SU off
        ["wrpsr", { b: R.t2 }],
        ["mfcr", { a: R.t3, imm: 6 }], // now a privileged-instruction fault
        powerOff(R.zero),
      ],
      data: [pageTables(0x10_0000, map), pageTables(0x12_0000, map)],
      maxCycles: 3_000_000,
    });
    expect(r.stats.exceptions).toEqual({ "privileged-instruction": 1 });
    expect(r.stats.tlbFlushes).toBeGreaterThan(500);
  });
});

describe("jit = interpreter on fetches the TLB's fast tag cannot serve (the engine's fetch slow path)", () => {
  // Paging on. f and g sit at virtual pages 0x400000 and 0x800000, which share TLB slot 0: every call of
  // either misses the TLB on fetch, and the engine walks (charging the walk) and dispatches into the
  // translation there, as the interpreter walks and runs on. With timer periods of 1 and 7 the walk's
  // charge often reaches the next event; free-running periods of 1,999 and 3,001 cycles land the event
  // inside a walk's charge again and again. The interpreter then still runs that instruction (cpu.ts
  // `force`) before the interrupt. (Periods of 1 and 7 re-arm the timer once per pass, and the
  // handler stops it: free-running, a period shorter than the handler's ~1,400 cycles would never let the guest progress.)
  const PD = 0x10_0000, V1 = 0x0040_0000, V2 = 0x0080_0000, F1 = 0x0020_0000, F2 = 0x0020_1000;
  const fn = (op: "add" | "xor", n: number) =>
    encodeWords([
      ["addi", { a: R.t1, b: R.zero, imm: n }],
      "loop",
      [op, { a: R.a2, b: R.a2, c: R.t1 }],
      ["addi", { a: R.t1, b: R.t1, imm: -1 }],
      ["bne", { a: R.t1, b: R.zero, to: "loop" }],
      ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
    ]);
  const map: [number, number, number][] = [[0x1000, 0x1000, 2], [0x2000, 0x2000, 2], [V1, F1, 2], [V2, F2, 2]];
  const program = (period: number, rearm: boolean): Item[] => [
    // Sum the interrupted pcs: an interrupt taken one instruction early or late changes a0.
    ...pagedEpcSumPrologue(PD, rearm),
    ...li(R.a3, period),
    ...li(R.s0, V1),
    ...li(R.t3, V2),
    ...li(R.s1, 80),
    ...(rearm ? [] : ([["out", { imm: 0x20, b: R.a3 }]] as Item[])),
    ["sti"],
    "outer",
    ...(rearm ? ([["out", { imm: 0x20, b: R.a3 }]] as Item[]) : []),
    ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
    ["jalr", { a: R.lr, b: R.t3, imm: 0 }],
    ["addi", { a: R.s1, b: R.s1, imm: -1 }],
    ["bne", { a: R.s1, b: R.zero, to: "outer" }],
    ["cli"],
    ["xor", { a: R.a2, b: R.a2, c: R.s2 }],
    ["andi", { a: R.a2, b: R.a2, imm: 255 }],
    powerOff(R.a2),
  ];
  for (const period of [1, 7, 1999, 3001, 10_000]) {
    it(`TLB misses on fetch, timer period ${period}`, () => {
      const n = period === 10_000 ? 300 : 30; // loop iterations in f and g: a long period needs a longer run
      for (const rearm of [period < 100]) {
        const r = same({
          items: program(period, rearm),
          data: [pageTables(PD, map), { addr: F1, bytes: wordsToBytes(fn("add", n)) }, { addr: F2, bytes: wordsToBytes(fn("xor", n - 5)) }],
          maxCycles: 5_000_000,
        });
        expect(r.result.kind).toBe("poweroff");
        expect(r.stats.interrupts[0] ?? 0).toBeGreaterThan(5);
        expect(r.stats.tlbMisses).toBeGreaterThan(160); // two per pass
        expect(r.host.jit!.fetchWalks).toBeGreaterThan(40); // most of them walked by the engine
      }
    });
  }

  it("a fetch page fault, a fetch past RAM, and code in a protection-checked frame", () => {
    // h (in frame F3, mapped at V3) loops over a load of a word in its own frame, which a protection
    // grant restricts: the frame is checked, so it has no fast read tag — neither for fetch nor for
    // that load. The engine fetches through the TLB's fetch tag, as the interpreter does (before the
    // tenth round: through the MMU, a TLB hit, nothing charged or counted), and runs h's translation,
    // whose load (in a self-loop) exits to the interpreter's checked slow path. The handler adds the
    // cause and returns to the caller (epc = lr).
    const V3 = 0x00c0_0000, F3 = 0x0020_2000, UNMAPPED = 0x0100_0000, PAST_RAM = 0x0140_0000;
    const h = encodeWords([
      ["addi", { a: R.t1, b: R.zero, imm: 12 }],
      "loop",
      ["lw", { a: R.t2, b: R.a0, imm: 0 }],
      ["add", { a: R.a2, b: R.a2, c: R.t2 }],
      ["addi", { a: R.a2, b: R.a2, imm: 3 }],
      ["addi", { a: R.t1, b: R.t1, imm: -1 }],
      ["bne", { a: R.t1, b: R.zero, to: "loop" }],
      ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
    ]);
    const items: Item[] = [
      ["jal", { a: R.zero, to: "start" }],
      "handler",
      ["mfcr", { a: R.t4, imm: 3 }],
      ["add", { a: R.a3, b: R.a3, c: R.t4 }],
      ["addi", { a: R.s2, b: R.s2, imm: 1 }],
      ["mtcr", { imm: 1, b: R.lr }],
      ["iret"],
      "start",
      ...pagingOn(PD),
      ["la", { a: R.t0, to: "handler" }],
      ["mtcr", { imm: 0, b: R.t0 }],
      ...li(R.s0, V3),
      ...li(R.a0, V3 + 0xff0),
      ...li(R.t3, UNMAPPED),
      ...li(R.k0, PAST_RAM),
      ...li(R.s1, 20),
      "outer",
      ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
      ["jalr", { a: R.lr, b: R.t3, imm: 0 }],
      ["jalr", { a: R.lr, b: R.s0, imm: 0 }],
      ["jalr", { a: R.lr, b: R.k0, imm: 0 }],
      ["addi", { a: R.s1, b: R.s1, imm: -1 }],
      ["bne", { a: R.s1, b: R.zero, to: "outer" }],
      ["add", { a: R.a2, b: R.a2, c: R.a3 }],
      ["xor", { a: R.a2, b: R.a2, c: R.s2 }],
      ["andi", { a: R.a2, b: R.a2, imm: 255 }],
      powerOff(R.a2),
    ];
    const word = wordsToBytes([7]);
    const r = same({
      items,
      data: [
        pageTables(PD, [...map, [V3, F3, 2], [PAST_RAM, 0x0080_0000, 2]]),
        { addr: F1, bytes: wordsToBytes(fn("add", 3)) },
        { addr: F3, bytes: wordsToBytes(h) },
        { addr: F3 + 0xff0, bytes: word },
      ],
      prepare: (m) => m.protection.grant(0, F3 + 0xff0, 4, 1), // domain 0 may only read that word
      maxCycles: 5_000_000,
    });
    expect(r.result.kind).toBe("poweroff");
    // Per pass: a page fault and a bus error on fetch, each handled.
    expect(r.stats.exceptions).toEqual({ "page-fault-fetch": 20, "bus-error": 20 });
    expect(r.stats.counts["protection.checks"]).toBe(2 * 20 * 12);
    expect(r.host.jit!.dispatches).toBeGreaterThan(2 * 20);
  });
});
