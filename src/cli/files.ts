// The CLI's files: every path a command reads (sources, ELF files, disk
// images, cost models) and every output it writes (-o, --json, --html,
// --map, --snapshot) goes through here, so a bad path is always one line —
// `previrt: error: PATH: is a directory` (no such file or directory,
// permission denied, …) — and `-` always means standard output for an output.
//
// Nothing is lost: a command checks its outputs before it does any work
// (checkOutputs: the folder exists, the path is not a directory, not one of
// the command's inputs, not given to two options), and an output file is
// written to a temporary next to it and renamed over it, so a command that
// fails leaves a file that existed as it was, never truncated or half-written.

import { accessSync, closeSync, constants, fchmodSync, fstatSync, openSync, readFileSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DiagnosticError, UserError } from "../guest-isa/diagnostics.js";
import { hasElfMagic, readElf } from "../guest-isa/elf.js";
import type { ElfImage } from "../guest-isa/elf-types.js";
import { parseCostModel, type CostModel } from "../machine/cost-model.js";
import { fileError } from "./file-error.js";
import type { CliIO } from "./io.js";

export { fileError };

/** Checks that `path` names a readable regular file (a directory or a device is refused) before something opens it. */
export function checkInputFile(path: string): void {
  if (path === "") throw new UserError("'' is not a file name"); // (the shell's empty variable: `previrt run "$ELF"`)
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

/**
 * Reads an input file as UTF-8 text: `what` it should be (a source file, a
 * JSON file). An ELF or a snapshot, the binaries a user has at hand, is
 * named as such rather than parsed as text (its bytes echoed in errors); a
 * file that is not UTF-8 is refused at its first bad byte.
 */
export function readInputText(path: string, what = "a source file"): string {
  const bytes = readInput(path);
  const binary = binaryKindOf(bytes);
  if (binary) throw new UserError(`${path}: ${binary}, not ${what}`);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw notUtf8(path, bytes);
  }
}

/** Refuses what is not UTF-8: a lenient decoder would turn a Latin-1 `é` into U+FFFD and assemble those three bytes. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** `FILE:LINE:COL: error: not UTF-8 text: byte 0xE9 …` at the first byte that does not begin a valid UTF-8 sequence. */
function notUtf8(path: string, bytes: Uint8Array): DiagnosticError {
  const at = firstNonUtf8(bytes);
  // lastIndexOf(x, -1) would search from the end: a bad first byte is on line 1.
  const lineStart = at === 0 ? 0 : bytes.lastIndexOf(0x0a, at - 1) + 1;
  const lineEnd = bytes.indexOf(0x0a, at);
  const lenient = new TextDecoder();
  return new DiagnosticError([
    {
      file: path,
      line: bytes.subarray(0, lineStart).filter((b) => b === 0x0a).length + 1,
      col: strictUtf8.decode(bytes.subarray(lineStart, at)).length + 1,
      message: `not UTF-8 text: byte 0x${bytes[at].toString(16).toUpperCase().padStart(2, "0")} (save the file as UTF-8)`,
      sourceLine: lenient.decode(bytes.subarray(lineStart, lineEnd < 0 ? bytes.length : lineEnd)),
    },
  ]);
}

/** The offset of the first byte that does not begin a well-formed UTF-8 sequence (the Encoding Standard's ranges). */
function firstNonUtf8(bytes: Uint8Array): number {
  const cont = (i: number, lo = 0x80, hi = 0xbf) => i < bytes.length && bytes[i] >= lo && bytes[i] <= hi;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let n: number;
    if (b < 0x80) n = 1;
    else if (b >= 0xc2 && b <= 0xdf) n = cont(i + 1) ? 2 : 0;
    else if (b >= 0xe0 && b <= 0xef) n = cont(i + 1, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf) && cont(i + 2) ? 3 : 0;
    else if (b >= 0xf0 && b <= 0xf4) n = cont(i + 1, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else n = 0;
    if (n === 0) return i;
    i += n;
  }
  return bytes.length;
}

/** Reads and parses an ELF file; a malformed one is `PATH: what is wrong`. */
export function readElfInput(path: string): ElfImage {
  return readElfInputWithBytes(path).image;
}

/** readElfInput, keeping the file's bytes too (a snapshot carries the binary). */
export function readElfInputWithBytes(path: string): { bytes: Uint8Array; image: ElfImage } {
  const bytes = readInput(path);
  // The other file a user has at hand: say what it is and which command takes it.
  if (isSnapshotFile(bytes)) throw new UserError(`${path}: a previrt snapshot, not an ELF file (previrt resume continues it)`);
  try {
    return { bytes, image: readElf(bytes) };
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${path}: ${e.message}`, e.exitCode);
    throw e;
  }
}

/**
 * Whether `bytes` begin like a snapshot ("PVSNAP", migration/codec.ts
 * SNAPSHOT_MAGIC and hasSnapshotMagic). Not imported from there: every
 * command loads this file, and `run` loads no migration code unless asked
 * (test/cli/start-up.test.ts).
 */
function isSnapshotFile(bytes: Uint8Array): boolean {
  return String.fromCharCode(...bytes.subarray(0, 6)) === "PVSNAP";
}

/**
 * JSON.parse's complaint on one line: V8 quotes the start of the text, line
 * breaks included (`Unexpected token 'x', "{"alu": x\n}" is not valid JSON`),
 * and an error is one line.
 */
function jsonProblem(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, " ");
}

/** A JSON input file's value (a cost model, a --domains configuration), or its refusal on one line. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readInputText(path, "a JSON file");
  } catch (e) {
    // Not UTF-8: the position in the one line, as a configuration's other refusals are.
    if (!(e instanceof DiagnosticError)) throw e;
    const [d] = e.diagnostics;
    throw new UserError(`${path}: line ${d.line}, column ${d.col}: ${d.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON: ${jsonProblem(e)}`);
  }
}

/** Reads and validates `--cost-model FILE` (docs/cost-model.md). */
export function readCostModel(path: string): CostModel {
  return parseCostModel(readJsonFile(path), path);
}

/** A file's identity (device and inode): two paths name the same file when theirs are equal. */
const fileId = (st: Stats) => `${st.dev}:${st.ino}`;

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(path, e);
  }
}

/** A regular file's identity, or undefined (no such file, not a regular file). */
export function regularFileId(path: string): string | undefined {
  const st = statOrUndefined(path);
  return st?.isFile() ? fileId(st) : undefined;
}

/**
 * Checks that no source file is given twice (`build a.s ./a.s`): every
 * symbol would be defined twice and every error reported twice, under two
 * names for one file.
 */
export function checkDistinctInputs(inputs: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const id = regularFileId(input);
    if (id === undefined) continue;
    const first = seen.get(id);
    if (first !== undefined) throw new UserError(`${input}: given twice${first === input ? "" : ` (also as ${first})`}`);
    seen.set(id, input);
  }
}

/**
 * Checks that files a command writes in place (disk images: `--disk`,
 * `--nvdisk`) are distinct, and none of them is one of `inputs` (the ELF
 * file or snapshot it runs, the cost model): two devices on one image would
 * overwrite each other's sectors, and the guest's writes would overwrite the
 * binary or snapshot (`run k.elf --disk k.elf`).
 */
export function checkDistinctFiles(files: readonly (readonly [flag: string, path: unknown])[], inputs: readonly unknown[] = []): void {
  const inputIds = new Map<string, string>();
  for (const input of inputs) {
    if (typeof input !== "string") continue;
    const id = regularFileId(input);
    if (id !== undefined && !inputIds.has(id)) inputIds.set(id, input);
  }
  const seen = new Map<string, string>();
  for (const [flag, path] of files) {
    if (typeof path !== "string") continue;
    const id = regularFileId(path);
    if (id === undefined) continue;
    const input = inputIds.get(id);
    if (input !== undefined) throw new UserError(`${path}: ${flag} would overwrite ${input === path ? "an input" : `the input ${input}`}`);
    const other = seen.get(id);
    if (other !== undefined) throw new UserError(`${path}: given to both ${other} and ${flag}`);
    seen.set(id, flag);
  }
}

/**
 * What an output holds, for checkOutputs: `binary` (an ELF file or a
 * snapshot) replaces only a binary or an empty file; `text` (a report,
 * assembly, a map) never replaces a binary or a TypeScript source (previrt
 * writes none). `--json` and `--html` are text without saying so; an output
 * of another kind (a disk image) is not checked.
 */
export type OutputKind = "binary" | "text";
const REPORTS = new Set(["--json", "--html"]);

/** "an ELF file" or "a previrt snapshot" when `bytes` begin like one: the binaries a user has at hand, never text. */
function binaryKindOf(bytes: Uint8Array): string | undefined {
  return hasElfMagic(bytes) ? "an ELF file" : isSnapshotFile(bytes) ? "a previrt snapshot" : undefined;
}

/**
 * binaryKindOf the file's first bytes (null: the file cannot be read). A report written over one is a slip
 * (`previrt bench --json k.elf`, `run --json k.elf --guest a.elf`), never
 * what was meant.
 */
function binaryKind(path: string): string | undefined | null {
  const head = new Uint8Array(8);
  let n = 0;
  try {
    const fd = openSync(path, "r");
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null; // unreadable: neither kind can be told (the write's own check says why it fails, if it does)
  }
  return binaryKindOf(head.subarray(0, n));
}

/**
 * Checks a command's outputs before it does any work, so that a refused
 * output costs nothing (no run whose result cannot be written, no disk image
 * changed for it): each output, `[flag, path, kind]` (`-` and undefined
 * skipped), must be writable in an existing folder, must not be a directory,
 * must not be one of `inputs` (ELF files, sources, disk images, snapshots: an
 * input is never overwritten), must not be another output's file, and must
 * not replace an existing file of another kind (OutputKind: `build p.ts -o
 * main.ts`, a slip for main.elf, would lose a source).
 */
export function checkOutputs(outputs: readonly (readonly [flag: string, path: unknown, kind?: OutputKind])[], inputs: readonly unknown[] = []): void {
  const inputIds = new Map<string, string>();
  for (const input of inputs) {
    if (typeof input !== "string" || input === "-") continue;
    const st = statOrUndefined(input);
    if (st?.isFile()) inputIds.set(fileId(st), input);
  }
  // Standard output takes one of them: two would interleave (`kernel -o - --disk -`). A path naming it
  // (`-o /dev/stdout`, writeOutput writes it as -) counts too, unless standard output is a device (a
  // terminal, /dev/null), which takes several outputs as any device does (below).
  const stdout = outputs.filter(([, path]) => path === "-" || (typeof path === "string" && isStandardOutput(path) && !standardOutputIsDevice()));
  if (stdout.length > 1) {
    const flags = stdout.map(([flag]) => flag).join(" and ");
    throw new UserError(stdout.every(([, path]) => path === "-") ? `only one of ${flags} can be - (standard output)` : `only one of ${flags} can write to standard output (${stdout.map(([flag, path]) => `${flag} ${path}`).join(", ")})`);
  }
  const seen = new Map<string, string>();
  for (const [flag, path, declared] of outputs) {
    // Standard output, as - or by a name (`-o /dev/stdout >> log`): written through, never replaced
    // (writeOutput), so what a file there holds is appended to, and none of the checks below apply.
    if (typeof path !== "string" || path === "-" || isStandardOutput(path)) continue;
    if (path === "") throw new UserError(`${flag}: '' is not a file name`);
    const st = statOrUndefined(path);
    if (st?.isDirectory()) throw new UserError(`${path}: is a directory`);
    const input = st && inputIds.get(fileId(st));
    if (input !== undefined) throw new UserError(`${path}: ${flag} would overwrite ${input === path ? "an input" : `the input ${input}`}`);
    const kind = declared ?? (REPORTS.has(flag) ? "text" : undefined);
    if (st?.isFile() && kind !== undefined) {
      const binary = binaryKind(path);
      if (kind === "text" && binary) throw new UserError(`${path}: ${binary}; ${flag} would overwrite it with ${REPORTS.has(flag) ? "a report (give the report another name)" : "text (give the output another name)"}`);
      if (kind === "binary" && binary === undefined && st.size > 0) throw new UserError(`${path}: not an ELF file or previrt snapshot; ${flag} would overwrite it (give the output another name, or remove the file first)`);
      // No output of previrt is TypeScript: `cc a.ts -o b.ts` is a slip for b.s.
      if (kind === "text" && st.size > 0 && /\.[cm]?tsx?$/i.test(path)) throw new UserError(`${path}: a TypeScript source; ${flag} would overwrite it (give the output another name)`);
    }
    if (st && !st.isFile()) {
      // A device or a pipe (/dev/null): written in place, and may take several outputs.
      try {
        accessSync(path, constants.W_OK);
      } catch (e) {
        throw fileError(path, e);
      }
      continue;
    }
    // The temporary replaceFile writes goes into the folder (the link's target's, for a symbolic link).
    const folder = dirname(st ? realpathSync(path) : resolve(path));
    const folderStat = statOrUndefined(folder);
    if (!folderStat) throw new UserError(`${path}: no such file or directory`);
    if (!folderStat.isDirectory()) throw new UserError(`${path}: a component of the path is not a directory`);
    try {
      accessSync(folder, constants.W_OK);
    } catch (e) {
      throw fileError(path, e);
    }
    // An existing file by identity; a new one by its folder's real path and its name.
    const key = st ? fileId(st) : join(realpathSync(folder), basename(path));
    const other = seen.get(key);
    if (other !== undefined) throw new UserError(`${path}: given to both ${other} and ${flag}`);
    seen.set(key, flag);
  }
}

/**
 * Writes a file so that a failure loses nothing: into a temporary next to it,
 * renamed over it once complete (keeping an existing file's mode; a symbolic
 * link is written through). A device or a pipe (`-o /dev/null`) has nothing
 * to replace and is written in place. `write` gets the open descriptor.
 */
export function replaceFile(path: string, write: (fd: number) => void): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // a new file (or a dangling link): written where it is named
  }
  const st = statOrUndefined(target);
  if (st && !st.isFile()) {
    const fd = openSync(target, "w");
    try {
      write(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.previrt-tmp`);
  const fd = openSync(tmp, "w");
  let open = true;
  try {
    write(fd);
    if (st) fchmodSync(fd, st.mode & 0o7777);
    closeSync(fd);
    open = false;
    renameSync(tmp, target);
  } catch (e) {
    if (open) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Whether `path` is this process's standard output (`/dev/stdout`, or the
 * file a shell redirected it to): written through it, as `-`, not replaced —
 * a rename would take the file from under what was already written to it.
 */
function isStandardOutput(path: string): boolean {
  try {
    const a = statSync(path);
    const b = fstatSync(1);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * Whether an output path names no file to put a name beside (`annotate -o X
 * --map` writes X.map): `-`, standard output by a name (`/dev/stdout`), or
 * a device or a pipe (`/dev/null`, whose X.map would be a file in /dev).
 */
export function namesNoFile(path: string): boolean {
  if (path === "-" || isStandardOutput(path)) return true;
  try {
    return !statSync(path).isFile();
  } catch {
    return false; // a new file
  }
}

/** Whether this process's standard output is a device (a terminal, /dev/null) rather than a file or a pipe. */
function standardOutputIsDevice(): boolean {
  try {
    return fstatSync(1).isCharacterDevice();
  } catch {
    return false;
  }
}

/** Writes an output: to the file `path` (replaceFile), or to standard output when `path` is `-` (or names it). */
export function writeOutput(path: string, data: string | Uint8Array, io: CliIO): void {
  if (path === "-" || isStandardOutput(path)) return io.out(data);
  try {
    replaceFile(path, (fd) => writeAll(fd, data));
  } catch (e) {
    throw fileError(path, e);
  }
}

/**
 * Writes an output that comes in chunks (`previrt annotate`'s text), each as
 * it comes, so the whole is never held: to the file `path` (replaceFile), or
 * to standard output when `path` is `-`.
 */
export function writeOutputChunks(path: string, produce: (write: (chunk: string) => void) => void, io: CliIO): void {
  if (path === "-" || isStandardOutput(path)) return produce((chunk) => io.out(chunk));
  try {
    replaceFile(path, (fd) => produce((chunk) => writeAll(fd, chunk)));
  } catch (e) {
    throw fileError(path, e);
  }
}
