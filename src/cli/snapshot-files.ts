// Snapshot files (docs/migration.md "Snapshot format") for the CLI's `run
// --snapshot-at`, `resume` and the migration figures: the container of
// src/migration/codec.ts with node:zlib as its compression, written to and
// read from disk. The library core takes and gives bytes (encodeSnapshot,
// parseSnapshot) with the compression passed in, so it runs where Node's
// zlib and files do not (the playground's worker); this is the Node side.

import { readFileSync, writeSync } from "node:fs";
import { deflateSync, inflateSync } from "node:zlib";
import { UserError } from "../guest-isa/diagnostics.js";
import { encodeSnapshot, type Zlib } from "../migration/codec.js";
import { parseSnapshot, type Snapshot } from "../migration/snapshot.js";
import { hasElfMagic } from "../guest-isa/elf.js";
import { replaceFile } from "./files.js";

/** node:zlib as the snapshot container's compression. */
export const nodeZlib: Zlib = {
  deflate: (data, level) => deflateSync(data, { level }),
  inflate: (data, maxLength) => inflateSync(data, { maxOutputLength: maxLength }),
};

/** A snapshot file's bytes (the container, compressed with node:zlib). */
export function snapshotBytes(snap: Snapshot): Uint8Array {
  return encodeSnapshot(snap, nodeZlib);
}

/** Writes a snapshot file whole or not at all (replaceFile: a temporary renamed over it); returns its size. */
export function writeSnapshotFile(file: string, snap: Snapshot): number {
  const bytes = snapshotBytes(snap);
  replaceFile(file, (fd) => {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
  });
  return bytes.length;
}

/** Reads, checks and parses a snapshot file; a UserError naming the file for anything wrong. */
export function readSnapshotFile(file: string): Snapshot {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read snapshot: ${code === "ENOENT" ? "no such file or directory" : (code ?? (e as Error).message)}`);
  }
  if (hasElfMagic(bytes)) throw new UserError(`${file}: an ELF file, not a previrt snapshot (previrt run runs it)`);
  return parseSnapshot(bytes, file, nodeZlib);
}
