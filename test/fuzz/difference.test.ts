// The campaigns' shared "first field where two observations differ"
// (scripts/fuzz/generators/oracles.ts `difference`): protection's words by
// default, nvdisk's style naming a word's address and a disk byte — the
// messages each campaign wrote before they shared it.
import { describe, expect, it } from "vitest";
import { difference } from "../../scripts/fuzz/generators/oracles.js";
import { STYLE as NVDISK } from "../../scripts/fuzz/nvdisk.js";

const obs = (o: Record<string, unknown>) => JSON.stringify(o);
const base = { ending: { kind: "poweroff", exitCode: 0 }, console: "ok", words: [1, 2, 3], disk: [7, 8] };

describe("difference", () => {
  it("names the first differing field, an array's first differing element", () => {
    expect(difference(obs(base), obs(base))).toBe("the same");
    expect(difference(obs(base), obs({ ...base, words: [1, -5, 4] }))).toBe("words[1] -5 instead of 2");
    expect(difference(obs(base), obs({ ...base, ending: { kind: "stopped", reason: "fault-loop" }, words: [0] }))).toBe('ending {"kind":"stopped","reason":"fault-loop"} instead of {"kind":"poweroff","exitCode":0}');
    expect(difference(obs(base), obs({ ...base, console: "x".repeat(100) }))).toBe(`console "${"x".repeat(79)} instead of "ok"`);
    expect(difference(obs(base), obs({ ...base, words: [1, 2, 3, 4] }))).toBe("words[3] 4 instead of undefined"); // longer, the same start
  });
  it("in nvdisk's style: a word by its address (the queues start at 0x10000), a disk byte by its offset, its separator and width elsewhere", () => {
    expect(difference(obs(base), obs({ ...base, words: [1, 2, -1] }), NVDISK)).toBe("the word at 0x10008: 0xffffffff instead of 0x3");
    expect(difference(obs(base), obs({ ...base, disk: [7, 9] }), NVDISK)).toBe("the disk's byte 1: 0x9 instead of 0x8");
    expect(difference(obs({ ...base, errors: 0 }), obs({ ...base, errors: 2 }), NVDISK)).toBe("errors: 2 instead of 0");
    expect(difference(obs(base), obs({ ...base, console: "y".repeat(100) }), NVDISK)).toBe(`console: "${"y".repeat(59)} instead of "ok"`);
  });
});
