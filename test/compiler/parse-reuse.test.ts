// The compiler hands a file parsed before (same name, same text) to a later
// compile instead of parsing it again (compiler/parse.ts; issue 16: the
// bundled kernel compiles ulib.ts with each user program and the kernel both
// natively and para-virtualized in one thread). The later stages must only
// read the tree: here every compile that takes kept trees is checked, output
// for output, against the same compile from trees parsed afresh — a stage
// that changed a tree would make the second compile of that file differ.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { compileSources } from "../../src/cli/build-pipeline.js";
import { KERNEL_FILES, USER_PROGRAMS } from "../../src/cli/kernel-recipe.js";
import { forgetParsedFiles, parseCounts, parseSource } from "../../src/compiler/parse.js";
import type { Diagnostic } from "../../src/guest-isa/diagnostics.js";

const kernelFile = (name: string) => ({ file: `fixtures/kernel/${name}`, text: readFileSync(new URL(`../../fixtures/kernel/${name}`, import.meta.url), "utf8") });
const kernel = (paravirt?: string) => ({ inputs: KERNEL_FILES.filter((f) => f.endsWith(".ts")).map(kernelFile), paravirt });
const userProgram = (name: string) => ({ inputs: ["user/crt0.s", "user/ulib.ts", `user/${name}.ts`].map(kernelFile), paravirt: undefined });
const compileOf = ({ inputs, paravirt }: { inputs: { file: string; text: string }[]; paravirt?: string }) => compileSources(inputs, { paravirt }).compiled;

describe("compiler: parsed files handed out again", () => {
  it("compiles the kernel and the user programs from kept trees exactly as from fresh ones", () => {
    // The order of the bench's threads: ulib.ts in every user program, the kernel's files twice.
    const builds = [...USER_PROGRAMS.map(userProgram), kernel(), kernel("xen")];
    forgetParsedFiles();
    const reusedBefore = parseCounts.reused;
    const kept = builds.map(compileOf);
    expect(parseCounts.reused - reusedBefore).toBeGreaterThanOrEqual(USER_PROGRAMS.length - 1 + 9);
    const fresh = builds.map((b) => {
      forgetParsedFiles();
      return compileOf(b);
    });
    expect(kept).toEqual(fresh);
  });

  it("parses a file again when its text changed, and keeps no file with a diagnostic", () => {
    forgetParsedFiles();
    const a = parseSource({ file: "a.ts", text: "export const x = 1;\n" }, []);
    expect(parseSource({ file: "a.ts", text: "export const x = 1;\n" }, [])).toBe(a);
    const b = parseSource({ file: "a.ts", text: "export const x = 2;\n" }, []);
    expect(b).not.toBe(a);
    expect(b?.text).toBe("export const x = 2;\n");
    const first: Diagnostic[] = [];
    const second: Diagnostic[] = [];
    expect(parseSource({ file: "bad.ts", text: "export const = ;\n" }, first)).toBeUndefined();
    expect(parseSource({ file: "bad.ts", text: "export const = ;\n" }, second)).toBeUndefined();
    expect(second).toEqual(first);
    expect(second.length).toBe(1);
  });
});
