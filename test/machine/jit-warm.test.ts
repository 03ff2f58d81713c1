// The JIT's warm-up (src/machine/jit/warm.ts): every function translate.ts
// compiles first runs each of its blocks on a scratch machine state, for V8's
// type feedback. Nothing of it may reach a machine: a program whose
// translations hold every kind of instruction the warm-up runs — loads and
// stores of every size at low addresses (where the scratch pages are), both
// atomics with the machine's amo hook set, `pause` with a pause hook, the
// translated system instructions, a self-loop, a call and its return — must
// give the interpreter's results with the warm-up on and off, and the hooks
// must see only the guest's own calls. A cost table with a free instruction
// is not warmed (only cycles bound the warm-up's loops).
import { afterEach, describe, expect, it } from "vitest";
import { translate, translateOptions, translatorStats } from "../../src/machine/jit/translate.js";
import { same as sameOn, type EngineSetup } from "./engine-pair.js";
import { R, encodeWords, li, powerOff, type Item } from "./program.js";

/** Both engines, observing the low pages these programs store into (0x3000–0x4fff). */
const same = (s: EngineSetup) => sameOn({ memory: [0x3000, 0x5000], ...s });

/** The amo hook's calls (pc, word, old, new, cycles), recorded per machine. */
function recordAmo(): { calls: number[]; setup: Pick<EngineSetup, "prepare"> } {
  const calls: number[] = [];
  return { calls, setup: { prepare: (m) => (m.cpu.amoHook = (pc, word, old, value, cycles) => void calls.push(pc, word, old, value, cycles)) } };
}

/**
 * s0 = 0x3000. A self-loop over 300 iterations that loads and stores words,
 * halfwords and bytes at small offsets, runs both atomics and `pause`; then
 * a call into a function of system instructions (cli, mfcr, mtcr, rdpsr,
 * wrpsr, sti) that returns with jalr; powers off with a checksum. `k` varies
 * the code (translate.ts reuses a function compiled before for the same words).
 */
const program = (k: number): Item[] => [
  ...li(R.s0, 0x3000),
  ...li(R.t0, 300),
  ["addi", { a: R.s2, b: R.zero, imm: 1 }],
  "loop",
  ["andi", { a: R.t1, b: R.t0, imm: 60 }],
  ["add", { a: R.t1, b: R.t1, c: R.s0 }],
  ["lw", { a: R.t2, b: R.t1, imm: 0 }],
  ["add", { a: R.t2, b: R.t2, c: R.t0 }],
  ["sw", { a: R.t2, b: R.t1, imm: 0 }],
  ["lh", { a: R.t3, b: R.t1, imm: 64 }],
  ["lhu", { a: R.t4, b: R.t1, imm: 66 }],
  ["sub", { a: R.t3, b: R.t3, c: R.t4 }],
  ["addi", { a: R.t3, b: R.t3, imm: -k }],
  ["sh", { a: R.t3, b: R.t1, imm: 64 }],
  ["lb", { a: R.t4, b: R.t1, imm: 129 }],
  ["lbu", { a: R.t3, b: R.t1, imm: 130 }],
  ["xor", { a: R.t4, b: R.t4, c: R.t3 }],
  ["addi", { a: R.t4, b: R.t4, imm: 5 }],
  ["sb", { a: R.t4, b: R.t1, imm: 129 }],
  ["amoadd", { a: R.t3, b: R.s0, c: R.s2, imm: 256 }],
  ["amoswap", { a: R.t4, b: R.s0, c: R.t0, imm: 260 }],
  ["add", { a: R.a2, b: R.a2, c: R.t4 }],
  ["pause"],
  ["addi", { a: R.t0, b: R.t0, imm: -1 }],
  ["bne", { a: R.t0, b: R.zero, to: "loop" }],
  ["jal", { a: R.lr, to: "sys" }],
  ["lw", { a: R.a0, b: R.s0, imm: 256 }],
  ["add", { a: R.a0, b: R.a0, c: R.a2 }],
  ["add", { a: R.a0, b: R.a0, c: R.a3 }],
  powerOff(R.a0),
  "sys",
  ["cli"],
  ["mfcr", { a: R.t1, imm: 6 }],
  ["addi", { a: R.t1, b: R.t1, imm: k }],
  ["mtcr", { imm: 6, b: R.t1 }],
  ["rdpsr", { a: R.t2 }],
  ["xori", { a: R.t2, b: R.t2, imm: 0x100 }],
  ["wrpsr", { b: R.t2 }],
  ["rdpsr", { a: R.a3 }],
  ["sti"],
  ["cli"],
  ["jalr", { a: R.zero, b: R.lr, imm: 0 }],
];

describe("jit = interpreter with the warm-up of fresh translations", () => {
  afterEach(() => {
    translateOptions.warm = true;
  });

  it("warmed and not warmed: the interpreter's results, and the hooks see only the guest's calls", () => {
    for (const warm of [true, false]) {
      translateOptions.warm = warm;
      const generated = translatorStats.generated;
      const warmed = translatorStats.warmed;
      const tails = translatorStats.tails;
      const interpAmo = recordAmo();
      const jitAmo = recordAmo();
      // runOn builds the interpreter's machine first: one hook recorder each.
      let first = true;
      const r = same({
        items: program(warm ? 3 : 5),
        pauseEvery: 7,
        prepare: (m) => {
          (first ? interpAmo : jitAmo).setup.prepare!(m);
          first = false;
        },
      });
      expect(r.result).toMatchObject({ kind: "poweroff" });
      expect(jitAmo.calls).toEqual(interpAmo.calls);
      expect(interpAmo.calls.length).toBe(5 * 600);
      expect(r.pauses.length).toBe(2 * 300);
      // Every function compiled here was warmed, or none was — but tails (one block from a
      // mid-block entry to its end, run once per such entry), which are never warmed.
      const made = translatorStats.generated - generated;
      expect(made).toBeGreaterThan(0);
      expect(translatorStats.warmed - warmed).toBe(warm ? made - (translatorStats.tails - tails) : 0);
    }
  });

  it("a cost table with a free instruction is not warmed (only cycles bound the warm-up's loops)", () => {
    // A self-loop `addi t0, t0, 1; bne t0, zero, loop` at heap byte 4096, translated directly.
    const buffer = new ArrayBuffer(3 * 4096);
    const heap = { heap32: new Int32Array(buffer), heap16: new Uint16Array(buffer), heap8: new Uint8Array(buffer), codePages: new Uint8Array(3) };
    heap.heap32.set(encodeWords(["loop", ["addi", { a: R.t0, b: R.t0, imm: 1 }], ["bne", { a: R.t0, b: R.zero, to: "loop" }]]), 1024);
    const free = new Float64Array(64).fill(1);
    free[heap.heap32[1024] & 63] = 0; // addi costs nothing
    const warmed = translatorStats.warmed;
    expect(translate(heap, 4096, 4096, free)).not.toBeNull();
    expect(translatorStats.warmed).toBe(warmed);
    // The same loop at whole costs is warmed (and the warm-up ends).
    const whole = new Float64Array(64).fill(1);
    expect(translate(heap, 4096, 4096, whole)).not.toBeNull();
    expect(translatorStats.warmed).toBe(warmed + 1);
  });
});
