// The CLI's files: every path a command reads (sources, ELF files, disk
// images, cost models) and every output it writes (-o, --json, --html,
// --map) goes through here, so a bad path is always one line —
// `previrt: error: PATH: is a directory` (no such file or directory,
// permission denied, …) — and `-` always means standard output for an output.

import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { UserError } from "../guest-isa/diagnostics.js";
import { readElf } from "../guest-isa/elf.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { parseCostModel, type CostModel } from "../machine/cost-model.js";
import { fileError } from "./file-error.js";
import type { CliIO } from "./io.js";

export { fileError };

/** Checks that `path` names a readable regular file (a directory or a device is refused) before something opens it. */
export function checkInputFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw fileError(path, e);
  }
  if (!isFile) throw new UserError(`${path}: ${statSync(path).isDirectory() ? "is a directory" : "not a regular file"}`);
}

/** Reads an input file's bytes. */
export function readInput(path: string): Uint8Array {
  checkInputFile(path);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw fileError(path, e);
  }
}

/** Reads an input file as UTF-8 text. */
export function readInputText(path: string): string {
  return new TextDecoder().decode(readInput(path));
}

/** Reads and parses an ELF file; a malformed one is `PATH: what is wrong`. */
export function readElfInput(path: string): ElfImage {
  return readElfInputWithBytes(path).image;
}

/** readElfInput, keeping the file's bytes too (a snapshot carries the binary). */
export function readElfInputWithBytes(path: string): { bytes: Uint8Array; image: ElfImage } {
  const bytes = readInput(path);
  try {
    return { bytes, image: readElf(bytes) };
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${path}: ${e.message}`, e.exitCode);
    throw e;
  }
}

/**
 * JSON.parse's complaint on one line: V8 quotes the start of the text, line
 * breaks included (`Unexpected token 'x', "{"alu": x\n}" is not valid JSON`),
 * and an error is one line.
 */
export function jsonProblem(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, " ");
}

/** Reads and validates `--cost-model FILE` (docs/cost-model.md). */
export function readCostModel(path: string): CostModel {
  const text = readInputText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON: ${jsonProblem(e)}`);
  }
  return parseCostModel(json, path);
}

/** Writes an output: to the file `path`, or to standard output when `path` is `-`. */
export function writeOutput(path: string, data: string | Uint8Array, io: CliIO): void {
  if (path === "-") return io.out(data);
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw fileError(path, e);
  }
}

/**
 * Writes an output that comes in chunks (`previrt annotate`'s text), each as
 * it comes, so the whole is never held: to the file `path`, or to standard
 * output when `path` is `-`.
 */
export function writeOutputChunks(path: string, produce: (write: (chunk: string) => void) => void, io: CliIO): void {
  if (path === "-") return produce((chunk) => io.out(chunk));
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    produce((chunk) => {
      const bytes = Buffer.from(chunk, "utf8");
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    });
  } catch (e) {
    throw fileError(path, e);
  } finally {
    closeSync(fd);
  }
}

