// `--json [file]`, one meaning for every command that reports (run, resume,
// migrate, matrix, bench, inject, drivers; main.ts declares the option):
// FILE, or standard output for no value or `-`. Commander gives an optional
// value the next word, so in `previrt matrix --json k.elf --hv xen` the ELF
// became --json's file and the command has no positional argument: the
// commands with one ask withPositional, which reads that as the flag, then
// the file. What goes where once the document takes stdout (the table, the
// guest console: to stderr) is each command's. README.md "Outputs, for scripts".

import { UserError } from "../guest-isa/diagnostics.js";
import type { CliIO } from "./io.js";

/** Where `--json`'s document goes: "-" (standard output) for a bare `--json` or `--json -`, else its file; undefined when not asked. */
export function jsonTarget(value: unknown): string | undefined {
  return value === true || value === "-" ? "-" : typeof value === "string" ? value : undefined;
}

/** Where the text a command prints goes: stdout, or stderr when the --json document takes stdout (`json` from jsonTarget). */
export function textOutput(io: CliIO, json: string | undefined): (text: string) => void {
  return json === "-" ? (t) => io.err(t) : (t) => io.out(t);
}

/**
 * A command's one positional argument (`name`, for commander's own error)
 * and where its --json document goes. When the positional is missing and
 * --json took a value, that value was the positional (`run --json k.elf`).
 */
export function withPositional(args: readonly string[], json: unknown, name: string): { file: string; json: string | undefined } {
  let [file] = args;
  if (file === undefined && typeof json === "string") [file, json] = [json, true];
  // Commander's own words and status for a missing argument (objdump with no file), now that the argument is optional.
  if (file === undefined) throw new UserError(`missing required argument '${name}'`, 2);
  return { file, json: jsonTarget(json) };
}
