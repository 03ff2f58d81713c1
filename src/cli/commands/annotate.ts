// `previrt annotate IN.s -o OUT.s [--map [OUT.s.map]]` (docs/design.md §6): the
// afterburner pass (src/annotator). Reads one assembly file, writes the
// annotated file and, with --map, a v3 source map from the output back to
// the input — or, for `previrt cc` output, to the TypeScript lines named by
// its `# FILE.ts:LINE` comments (docs/annotator.md). Problems come back as a
// DiagnosticError (`file:line:col: error: …`, every one of them).

import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve } from "node:path";
import { annotate } from "../../annotator/annotate.js";
import { UserError } from "../../guest-isa/diagnostics.js";
import { checkOutputs, namesNoFile, readInputText, writeOutputChunks } from "../files.js";
import type { CommandRunner } from "../main.js";

export const run: CommandRunner = (args, options, io) => {
  const input = args[0];
  const output = String(options.output);
  // `--map` alone names the map after the output; standard output has no name to give it, nor has a
  // device (`-o /dev/stdout --map` wrote /dev/stdout.map, a file in /dev).
  if (options.map === true && namesNoFile(output)) throw new UserError(`--map needs a file name when -o is ${output === "-" ? "- (standard output)" : `${output} (not a file)`}`);
  const mapPath = options.map === undefined || options.map === false ? undefined : typeof options.map === "string" ? options.map : `${output}.map`;
  checkOutputs([["-o", output, "text"], ["--map", mapPath, "text"]], [input]);
  const result = annotate(input, readInputText(input));
  // Chunk by chunk: the annotated text of a million-line kernel is never held whole, nor its map.
  writeOutputChunks(output, (write) => result.writeText(write), io);
  if (mapPath !== undefined) {
    writeOutputChunks(mapPath, (write) => (writeAnnotatedSourceMap(result, input, output, mapPath, write), write("\n")), io);
  }
  return 0;
};

/**
 * Writes the map as it goes next to the output: `file` and `sources`
 * relative to the map's folder. Origin `.ts` names are as `previrt cc` was
 * given them: they are resolved against the working directory, else the
 * input's folder, and their text is included when found.
 */
export function writeAnnotatedSourceMap(result: ReturnType<typeof annotate>, input: string, output: string, mapPath: string, write: (chunk: string) => void): void {
  const mapDir = dirname(resolve(mapPath));
  const rel = (p: string) => relative(mapDir, resolve(p)).split("\\").join("/");
  const originPath = (f: string) => (isAbsolute(f) || existsSync(f) ? resolve(f) : resolve(dirname(input), f));
  const contentOf = (source: string) => {
    const p = resolve(mapDir, source);
    return existsSync(p) ? readFileSync(p, "utf8") : null;
  };
  result.writeSourceMap(write, { file: basename(output), source: rel(input), originSource: (f) => rel(originPath(f)), contentOf });
}
