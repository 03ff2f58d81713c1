// The tests' rebuild of the playground (test/web/rebuild-web.ts) skips a build only when nothing it was made
// from has changed: on the record scripts/build-web.mjs writes of this tree's last build, and on a copy of such a
// record in a scratch tree whose inputs and outputs are then touched, removed or cut short, one at a time.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { webUpToDate } from "./rebuild-web.js";

const root = new URL("../../", import.meta.url).pathname;

describe("dist/web's build record", () => {
  it("names what the bundle was built from: the app's sources, the toolchain's, node_modules', the fixtures, the script", () => {
    const inputs = JSON.parse(readFileSync(join(root, "dist", "web-inputs.json"), "utf8"));
    for (const f of ["src/web/main.ts", "src/web/worker.ts", "src/web/index.html", "src/guest-isa/assembler/index.ts", "src/guest-isa/code-frame.web.ts", "fixtures/kernel/kernel.ts", "scripts/build-web.mjs", "package.json"]) {
      expect(inputs.files).toContain(f);
    }
    expect(inputs.files.some((f: string) => /node_modules\/@codemirror\//.test(f))).toBe(true);
    expect(inputs.dirs).toContain("fixtures/kernel");
    expect(Object.keys(inputs.outputs).sort()).toEqual(["app.js", "index.html", "style.css", "worker.js"]);
  });

  it("is up to date until an input changes or goes, a folder of fixtures gains a file, or an output is missing or cut", () => {
    const tree = mkdtempSync(join(tmpdir(), "previrt-web-record-"));
    try {
      const past = Date.now() / 1000 - 60;
      for (const d of ["src/web", "fixtures/kernel", "dist/web"]) mkdirSync(join(tree, d), { recursive: true });
      for (const f of ["src/web/main.ts", "fixtures/kernel/kernel.ts"]) writeFileSync(join(tree, f), "x");
      for (const f of ["src/web/main.ts", "fixtures/kernel/kernel.ts", "fixtures/kernel"]) utimesSync(join(tree, f), past, past);
      writeFileSync(join(tree, "dist/web/app.js"), "12345");
      const record = { startedMs: Date.now() - 1000, files: ["src/web/main.ts", "fixtures/kernel/kernel.ts"], dirs: ["fixtures/kernel"], outputs: { "app.js": 5 } };
      writeFileSync(join(tree, "dist/web-inputs.json"), JSON.stringify(record));
      expect(webUpToDate(tree)).toBe(true);

      const now = Date.now() / 1000;
      utimesSync(join(tree, "src/web/main.ts"), now, now);
      expect(webUpToDate(tree), "an input edited").toBe(false);
      utimesSync(join(tree, "src/web/main.ts"), past, past);
      writeFileSync(join(tree, "fixtures/kernel/new.s"), "");
      expect(webUpToDate(tree), "a fixture added").toBe(false);
      utimesSync(join(tree, "fixtures/kernel"), past, past);
      expect(webUpToDate(tree)).toBe(true);
      rmSync(join(tree, "fixtures/kernel/kernel.ts"));
      expect(webUpToDate(tree), "an input gone").toBe(false);
      writeFileSync(join(tree, "fixtures/kernel/kernel.ts"), "x");
      utimesSync(join(tree, "fixtures/kernel/kernel.ts"), past, past);
      utimesSync(join(tree, "fixtures/kernel"), past, past);
      expect(webUpToDate(tree)).toBe(true);
      writeFileSync(join(tree, "dist/web/app.js"), "123");
      expect(webUpToDate(tree), "an output cut short").toBe(false);
      rmSync(join(tree, "dist/web/app.js"));
      expect(webUpToDate(tree), "an output gone").toBe(false);
      writeFileSync(join(tree, "dist/web/app.js"), "12345");
      expect(webUpToDate(tree)).toBe(true);
      rmSync(join(tree, "dist/web-inputs.json"));
      expect(webUpToDate(tree), "no record").toBe(false);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
