// Differential tests: every guest program in fixtures/programs runs on the
// emulated machine (previrt cc → start-up → assembler → bare machine) and
// natively under Node (transpiled, with guest/index.js as previrt/guest);
// console output and exit status must be identical.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectSameBothWays, PROGRAMS, programFiles } from "./helpers.js";

const programs = readdirSync(PROGRAMS).filter((f) => f.endsWith(".ts")).sort();

describe("guest programs: emulated run equals native run", () => {
  it("has programs to compare", () => {
    expect(programs.length).toBeGreaterThanOrEqual(8);
  });

  for (const name of programs) {
    it(name, () => {
      expect(expectSameBothWays(programFiles(join(PROGRAMS, name))).length).toBeGreaterThan(0);
    });
  }
});
