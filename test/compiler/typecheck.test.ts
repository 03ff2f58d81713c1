// Guest code type-checks with tsc against the shipped declarations
// (guest/index.d.ts), as it would in an editor: fixtures/tsconfig.json.
// And the three views of the intrinsics agree: the compiler's table, the
// declarations, the host implementation.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GUEST_CONSTANTS, INTRINSIC_NAMES } from "../../src/compiler/intrinsics.js";
import * as guest from "../../guest/index.js";
import { ROOT } from "./helpers.js";

describe("previrt/guest declarations", () => {
  it("fixtures type-check with tsc --noEmit -p fixtures/tsconfig.json", () => {
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "--noEmit", "-p", join(ROOT, "fixtures/tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe("");
  });

  it("declare every intrinsic and constant namespace the compiler knows, and the host implements them", () => {
    const dts = readFileSync(join(ROOT, "guest/index.d.ts"), "utf8");
    for (const name of INTRINSIC_NAMES) {
      expect(dts, name).toMatch(new RegExp(`export declare function ${name}\\(`));
      expect(typeof (guest as Record<string, unknown>)[name], name).toBe("function");
    }
    for (const [ns, members] of Object.entries(GUEST_CONSTANTS)) {
      expect(dts).toContain(`export declare const ${ns}:`);
      expect({ ...(guest as unknown as Record<string, object>)[ns] }).toEqual(members);
      for (const [k, v] of Object.entries(members)) expect(dts, `${ns}.${k}`).toMatch(new RegExp(`readonly ${k}: (${v}|0x${v.toString(16)})\\b`));
    }
  });
});
