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

/** A file-system error as the one-line UserError the CLI prints; anything else is rethrown as is. */
export function fileError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !code.startsWith("E")) return e as Error;
  return new UserError(`${path}: ${REASONS[code] ?? code.toLowerCase()}`);
}

