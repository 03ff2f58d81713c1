// The places that must name every registered back end but cannot take the
// registry's list (src/hypervisors/backend-names.ts) themselves, checked
// against it — README "Adding a back end" names this test: a back end added
// to the registry and not to one of these fails here, saying where.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIGURATIONS } from "../../src/cli/bench/configurations.js";
import { PASSTHROUGH_BACKENDS } from "../../src/hypervisors/common/bypass.js";
import { BACKEND_NAMES } from "../../src/hypervisors/index.js";

const doc = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), "utf8");

/** The first column of the table in `section` of a markdown document, the backquotes stripped. */
function tableNames(text: string, section: string): string[] {
  const start = text.indexOf(`\n${section}`);
  expect(start, `${section} exists`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start + 1).split(/\n## /)[0];
  return body
    .split("\n")
    .filter((l) => /^\| `[^`]+` \|/.test(l))
    .map((l) => /^\| `([^`]+)`/.exec(l)![1]);
}

describe("every registered back end is where the registry's list cannot reach", () => {
  it("has a row in docs/design.md §4's table, in registry order", () => {
    expect(tableNames(doc("docs/design.md"), "## 4. Back ends")).toEqual([...BACKEND_NAMES]);
  });

  it("has a configuration in `previrt bench` (src/cli/bench/configurations.ts)", () => {
    for (const name of BACKEND_NAMES) expect(CONFIGURATIONS.some((c) => c.backend === name), name).toBe(true);
    for (const c of CONFIGURATIONS) expect(BACKEND_NAMES, c.id).toContain(c.backend);
  });

  it("--passthrough names registered back ends only (common/bypass.ts)", () => {
    for (const name of PASSTHROUGH_BACKENDS) expect(BACKEND_NAMES).toContain(name);
  });
});
