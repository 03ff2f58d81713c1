// `previrt build` of assembly alone does not load the compiler (issue 16:
// its TypeScript parser was a fifth of a second of every such build's
// start-up). Runs the compiled CLI (bin/previrt.js → dist/) in a child
// process with a module-load hook that lists every module the process
// loads; a .ts build is the control, showing that the hook sees the compiler.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;
const programs = new URL("../../fixtures/programs/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "previrt-build-modules-"));

/** Runs `previrt build ARGS -o OUT.elf`; returns the URLs of the modules it loaded. */
function modulesLoaded(args: string[]): string[] {
  const list = join(dir, `loaded-${args.length}-${Math.random().toString(36).slice(2)}.txt`);
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(hooks, `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + "\\n"); return next(url, context); }\n`);
  const register = join(dir, `register-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, bin, "build", ...args, "-o", join(dir, "out.elf")], { encoding: "utf8", timeout: 60_000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return readFileSync(list, "utf8").split("\n").filter(Boolean);
}

// The compiler, and the module that loads Babel's parser (compiler/babel-parser.ts: with `require`, which this ES-module hook does not see).
const compiler = (urls: string[]) => urls.filter((u) => /\/src\/compiler\/index\.js$|\/src\/compiler\/babel-parser\.js$/.test(u));

describe("previrt build's start-up", () => {
  it("loads neither the compiler nor its TypeScript parser for assembly inputs", () => {
    const s = join(dir, "tiny.s");
    writeFileSync(s, "\t.global main\nmain:\n\tli a0, 0\n\tret\n");
    const urls = modulesLoaded([s]);
    expect(compiler(urls)).toEqual([]);
    expect(urls.some((u) => u.endsWith("/src/guest-isa/assembler/index.js"))).toBe(true);
  });

  it("loads them for a .ts input (the control)", () => {
    const urls = modulesLoaded([join(programs, "fib.ts"), join(programs, "lib/print.ts")]);
    expect(compiler(urls).length).toBe(2);
  });
});
