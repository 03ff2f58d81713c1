// The project's own fixtures as fuzzing material: assembly and TypeScript
// sources read once per thread, and real ELF files built from them once (the
// pipeline a user's binary takes: annotate → assemble → writeElf). Consumed
// by the campaigns; produces texts, bytes and images.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { annotate } from "../../../src/annotator/index.js";
import { buildSources } from "../../../src/cli/build-pipeline.js";
import { assemble } from "../../../src/guest-isa/assembler/index.js";
import { readElf, writeElf } from "../../../src/guest-isa/elf.js";
import type { ElfImage } from "../../../src/guest-isa/elf-types.js";

/** The repository root (this file also runs compiled, from dist/scripts/fuzz/generators). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

export interface SourceText {
  /** Path relative to the repository root. */
  file: string;
  text: string;
}

function listFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext)) out.push(p);
    }
  };
  walk(join(ROOT, dir));
  return out.sort().map((p) => relative(ROOT, p));
}

const read = (file: string): SourceText => ({ file, text: readFileSync(join(ROOT, file), "utf8") });

let asmSources: SourceText[] | undefined;
/** Every assembly fixture (and the in-place VMMs' sources, which use most directives). */
export function assemblySources(): SourceText[] {
  return (asmSources ??= [...listFiles("fixtures", ".s"), ...listFiles("src/hypervisors", ".s")].map(read));
}

let tsSources: SourceText[] | undefined;
/** Every TypeScript guest fixture. */
export function typescriptSources(): SourceText[] {
  return (tsSources ??= listFiles("fixtures", ".ts").filter((f) => !f.endsWith(".d.ts")).map(read));
}

/** The files a TypeScript fixture imports (relative imports, transitively), itself excluded. */
export function importsOf(entry: SourceText): SourceText[] {
  const seen = new Map<string, SourceText>();
  const visit = (s: SourceText) => {
    for (const m of s.text.matchAll(/^import\s[^;]*?from\s+"(\.[^"]+)"/gm)) {
      const file = relative(ROOT, join(ROOT, dirname(s.file), m[1].replace(/\.js$/, ".ts")));
      if (seen.has(file) || file === entry.file || !existsSync(join(ROOT, file))) continue;
      const t = read(file);
      seen.set(file, t);
      visit(t);
    }
  };
  visit(entry);
  return [...seen.values()];
}

export interface BuiltElf {
  name: string;
  bytes: Uint8Array;
  image: ElfImage;
  annotated: boolean;
}

/** Small guests of each kind, annotated and plain: fast to run, and between them every section kind and many site kinds. */
const ELF_ASM = [
  "fixtures/guests/psr-hole.s",
  "fixtures/guests/window-poke.s",
  "fixtures/guests/scribble.s",
  "fixtures/isa-tests/privilege.s",
  "fixtures/isa-tests/paging.s",
  "fixtures/isa-tests/traps.s",
  "fixtures/isa-tests/timer.s",
  "fixtures/isa-tests/load-store.s",
  "fixtures/isa-tests/console.s",
];
const ELF_TS = ["fixtures/programs/strings.ts", "fixtures/programs/globals.ts"];

let elfs: BuiltElf[] | undefined;
/** Real ELF files built from the fixtures (annotated, and two plain ones). */
export function fixtureElfs(): BuiltElf[] {
  if (elfs) return elfs;
  const out: BuiltElf[] = [];
  const add = (name: string, image: ElfImage, annotated: boolean) => {
    const bytes = writeElf(image);
    out.push({ name, bytes, image: readElf(bytes), annotated });
  };
  for (const file of ELF_ASM) {
    const s = read(file);
    add(file, assemble([{ file, text: annotate(file, s.text).text }]), true);
  }
  for (const file of ELF_ASM.slice(0, 2)) {
    const s = read(file);
    add(`${file} (plain)`, assemble([s]), false);
  }
  for (const file of ELF_TS) {
    const s = read(file);
    add(file, buildSources([s, ...importsOf(s)]).image, true);
  }
  return (elfs = out);
}
