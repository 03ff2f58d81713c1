// A file-system error as the CLI prints it: one line naming the path and the
// reason (files.ts's readers and writers use it; main.ts too, for a path that
// slipped past them). Its own module so that main.ts, which every command
// loads, does not bring files.ts's ELF reader and cost-model parser to
// commands that read no ELF (`--version`, `kernel`, `bench`'s start).

import { UserError } from "../guest-isa/diagnostics.js";

const REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a component of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EMFILE: "too many open files",
  // Node reads a file whole into one buffer of at most 2 GiB (matrix --disk, an ELF, a source).
  ERR_FS_FILE_TOO_LARGE: "too large to read whole (2 GiB at most)",
};

/**
 * Node decodes the command line as UTF-8 and puts U+FFFD for each byte that
 * is not: a file whose name is not UTF-8 (`f\xe9.ts`, Latin-1) can never be
 * named to it, and "no such file" alone would leave the user looking for a
 * typo in a name that looks right in their shell.
 */
const NOT_UTF8_NAME = " (a name that is not UTF-8 reaches previrt with U+FFFD in place of its bad bytes, as Node reads the command line: rename such a file)";

/** A file-system error as the one-line UserError the CLI prints; anything else is rethrown as is. */
export function fileError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !code.startsWith("E")) return e as Error;
  const why = code === "ENOENT" && path.includes("\uFFFD") ? NOT_UTF8_NAME : "";
  return new UserError(`${path}: ${REASONS[code] ?? code.toLowerCase()}${why}`);
}

