import { describe, expect, it } from "vitest";
import { runElf } from "../../src/hypervisors/index.js";
import { R, image, li, powerOff } from "./program.js";

describe("smoke", () => {
  it("adds and powers off with the sum", () => {
    const out = runElf(image([...li(R.a0, 40), ["addi", { a: R.a0, b: R.a0, imm: 2 }], powerOff(R.a0)]));
    expect(out.result).toEqual({ kind: "poweroff", exitCode: 42 });
    expect(out.stats.instructions).toBe(4);
  });
});
