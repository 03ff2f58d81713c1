// Shared by the compiler tests: build guest programs (compile + start-up +
// assemble) and run them on the emulated machine, or run the same sources
// natively under Node against the host implementation of previrt/guest.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect } from "vitest";
import { buildSources } from "../../src/cli/build-pipeline.js";
import { compile } from "../../src/compiler/index.js";
import { DiagnosticError, type Diagnostic } from "../../src/guest-isa/diagnostics.js";
import { runImage } from "../../src/machine/index.js";
import * as guest from "previrt/guest";

/** The repository root (this file also runs compiled, from dist/test/compiler). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const PROGRAMS = join(ROOT, "fixtures/programs");

export interface Source {
  file: string;
  text: string;
}

/** The entry file plus every guest file it imports (relative imports, transitively). */
export function programFiles(entry: string): Source[] {
  const seen = new Map<string, Source>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(file, "utf8");
    seen.set(file, { file, text });
    for (const m of text.matchAll(/^import\s[^;]*?from\s+"(\.[^"]+)"/gm)) visit(resolve(dirname(file), m[1].replace(/\.js$/, ".ts")));
  };
  visit(entry);
  return [...seen.values()];
}

export interface EmulatedRun {
  exitCode: number;
  console: string;
  instructions: number;
  stopped?: string;
}

export function runSources(sources: Source[], maxCycles = 2e8): EmulatedRun {
  const { image } = buildSources(sources);
  const out = runImage(image, { maxCycles });
  const r = out.result;
  return {
    exitCode: r.exitCode,
    console: out.console,
    instructions: out.stats.instructions,
    stopped: r.kind === "stopped" ? `${r.reason}: ${r.message}` : undefined,
  };
}

/** Compiles TS snippets (file a.ts, b.ts, …) and returns the assembly of the first. */
export function asmOf(text: string, file = "t.ts"): string {
  return compile([{ file, text }])[0].asm;
}

/** Instruction lines only (no labels, comments, directives), trimmed. */
export function instructions(asm: string): string[] {
  return asm
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l && !l.endsWith(":") && !l.startsWith("."));
}

/** The body of one function in the generated assembly. */
export function functionBody(asm: string, name: string): string[] {
  const lines = asm.split("\n");
  const start = lines.findIndex((l) => l === `${name}:`);
  if (start < 0) throw new Error(`no function ${name}`);
  const out: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (/^[A-Za-z_$][\w.$]*:$/.test(l) || /^\s+\.(global|data|bss|rodata|text)/.test(l) || l === "") break;
    out.push(l);
  }
  return instructions(out.join("\n"));
}

export interface HostRun {
  exitCode: number;
  console: string;
}

/** Runs a program on the emulator and under Node, which must end it alike (console, exit status); its console. */
export function expectSameBothWays(sources: Source[]): string {
  const emulated = runSources(sources);
  expect(emulated.stopped).toBeUndefined();
  const native = runOnHost(sources);
  expect(emulated.console).toBe(native.console);
  expect(emulated.exitCode).toBe(native.exitCode);
  return native.console;
}

/** Runs a program natively: each file transpiled to CommonJS, previrt/guest = guest/index.js. */
export function runOnHost(sources: Source[]): HostRun {
  return loadOnHost(sources)();
}

/**
 * Loads a program for native runs (transpiled to CommonJS, previrt/guest =
 * guest/index.js); each call of the result runs main() on a fresh host machine.
 */
export function loadOnHost(sources: Source[]): () => HostRun {
  const byFile = new Map(sources.map((s) => [resolve(s.file), s]));
  const compiled = new Map<string, string>();
  const js = (file: string) => {
    let code = compiled.get(file);
    if (code === undefined) {
      code = ts.transpileModule(byFile.get(file)!.text, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
        fileName: file,
      }).outputText;
      compiled.set(file, code);
    }
    return code;
  };
  const load = () => {
    const cache = new Map<string, Record<string, unknown>>();
    const requireFrom = (from: string) => (spec: string): unknown => {
      if (spec === "previrt/guest") return guest;
      const file = resolve(dirname(from), spec.replace(/\.js$/, ".ts"));
      let exports = cache.get(file);
      if (!exports) {
        exports = {};
        cache.set(file, exports);
        new Function("exports", "require", "module", js(file))(exports, requireFrom(file), { exports });
      }
      return exports;
    };
    const entry = resolve(sources[0].file);
    return requireFrom(entry)(entry) as { main: () => number };
  };
  return () => guest.host.run(load().main);
}

/** The diagnostics of a compile: [] when it succeeds; anything but a DiagnosticError thrown fails the test. */
export function compileDiagnostics(text: string, file = "g.ts"): Diagnostic[] {
  try {
    compile([{ file, text }]);
  } catch (e) {
    if (e instanceof DiagnosticError) return [...e.diagnostics];
    throw e;
  }
  return [];
}
