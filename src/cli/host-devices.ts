// The machine's devices backed by the host (Node only, so they live in the
// CLI, not in src/machine, which runs in a browser too): a disk image file for
// `--disk IMG`, and the process's stdin as console input. Each implements the
// machine's backing interface (DiskBacking, ConsoleInput) that in-memory
// images and byte strings implement as well.

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { NO_INPUT, type ConsoleInput } from "../machine/devices/console.js";
import { SECTOR_SIZE, type DiskBacking } from "../machine/devices/disk.js";
import { UserError } from "../guest-isa/diagnostics.js";
import { fileError } from "./file-error.js";
import { checkInputFile } from "./files.js";

/**
 * `--disk IMG` of run, resume and migrate (undefined without one): the file
 * checked (a directory or a missing file is one line) and opened as a disk.
 */
export function openDisk(path: unknown): DiskBacking | undefined {
  if (typeof path !== "string") return undefined;
  checkInputFile(path);
  try {
    return fileDisk(path);
  } catch (e) {
    throw fileError(path, e);
  }
}

/**
 * `--nvdisk IMG` of run (and run --snapshot-at): an image of at least one
 * sector. The machine attaches an empty one (every request completes with an
 * error, and a snapshot records it), but from the command line an empty file
 * is far more likely a mistake than a disk meant to have no sector.
 */
export function openNvdisk(path: unknown): DiskBacking | undefined {
  const disk = openDisk(path);
  if (disk && disk.sectors === 0) {
    disk.close?.();
    throw new UserError(`${String(path)}: ${NVDISK_EMPTY}`);
  }
  return disk;
}

/** Why an empty nvdisk image is refused (here and in a --domains file's "nvdisk"). */
export const NVDISK_EMPTY = "an nvdisk image must hold at least one 512-byte sector";

/** A file-backed disk; writes go straight to the file (reads are served from a cache of what was read: fdDisk). */
export function fileDisk(path: string): DiskBacking {
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch {
    fd = openSync(path, "r"); // read-only image: writes will fail with ERROR
  }
  return fdDisk(fd);
}

/** Sectors read from the file at once into the read cache (64 KiB). */
const CHUNK_SECTORS = 128;
const CHUNK_BYTES = CHUNK_SECTORS * SECTOR_SIZE;
/** The most the read cache holds (chunks); past it, it starts again empty. */
const MAX_CHUNKS = 1024;

/**
 * The disk on an open file descriptor. A sector's read copies it from a
 * cache of the file's 64 KiB chunks, each read from the file once, at the
 * first read of one of its sectors: a read was a syscall per 512-byte
 * sector (3,200 in `mixed` at scale 200). A write goes to the file first, as
 * before (a failed write is the guest's ERROR, and the file is complete at
 * every moment), then into the cached chunk, if any: the cache is always
 * what the file holds, since the process writes the image only through
 * this backing (checkDistinctFiles refuses two devices on one image).
 */
function fdDisk(fd: number): DiskBacking {
  const sectors = Math.floor(fstatSync(fd).size / SECTOR_SIZE);
  let chunks = new Map<number, Uint8Array>();
  const chunk = (c: number): Uint8Array => {
    let bytes = chunks.get(c);
    if (bytes === undefined) {
      bytes = new Uint8Array(CHUNK_BYTES);
      // A short read past the file's end leaves zeros there (no sector of the disk lies beyond its last whole one).
      for (let off = 0; off < CHUNK_BYTES; ) {
        const n = readSync(fd, bytes, off, CHUNK_BYTES - off, c * CHUNK_BYTES + off);
        if (n === 0) break;
        off += n;
      }
      if (chunks.size >= MAX_CHUNKS) chunks = new Map();
      chunks.set(c, bytes);
    }
    return bytes;
  };
  return {
    sectors,
    readSector: (s, into) => {
      const at = (s % CHUNK_SECTORS) * SECTOR_SIZE;
      into.set(chunk(Math.floor(s / CHUNK_SECTORS)).subarray(at, at + SECTOR_SIZE));
    },
    writeSector: (s, from) => {
      writeSync(fd, from, 0, SECTOR_SIZE, s * SECTOR_SIZE);
      chunks.get(Math.floor(s / CHUNK_SECTORS))?.set(from.subarray(0, SECTOR_SIZE), (s % CHUNK_SECTORS) * SECTOR_SIZE);
    },
    close: () => closeSync(fd),
  };
}

/**
 * A file-backed disk that keeps its writes in memory until commit(): what
 * `previrt resume --disk IMG` gives the restore, which writes the snapshot's
 * image into it before its last checks (a --pcpus the back end refuses, …);
 * a refused resume then leaves IMG as it was. It has the snapshot's
 * `sectors` whatever the file's size (the guest sees the disk it had; a
 * longer file keeps its tail, a shorter one grows). After commit() writes go
 * straight to the file.
 */
export function heldFileDisk(path: string, sectors: number): DiskBacking & { commit(): void } {
  // Opened for writing, with no read-only fallback: the snapshot's image must go in (a read-only file is refused now).
  const file = fdDisk(openSync(path, "r+"));
  let held: Map<number, Uint8Array> | undefined = new Map();
  return {
    sectors,
    readSector: (s, into) => {
      const h = held?.get(s);
      if (h) into.set(h);
      else file.readSector(s, into);
    },
    writeSector: (s, from) => {
      if (held) held.set(s, from.slice(0, SECTOR_SIZE));
      else file.writeSector(s, from);
    },
    close: () => file.close?.(),
    commit: () => {
      const writes = held!;
      held = undefined;
      for (const [s, bytes] of writes) file.writeSector(s, bytes);
    },
  };
}

/** Process stdin, read on first demand in chunks. */
export function stdinInput(fd = 0): ConsoleInput {
  let buf = new Uint8Array(0);
  let pos = 0;
  let eof = false;
  const fill = () => {
    if (pos < buf.length || eof) return;
    const chunk = new Uint8Array(4096);
    for (;;) {
      try {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) eof = true;
        buf = chunk.subarray(0, n);
        pos = 0;
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") return; // non-blocking stream with nothing yet: not ready
        if (code === "EOF") {
          eof = true;
          return;
        }
        // Standard input that cannot be read (`< /`, a directory): one line, not an internal error.
        throw fileError("standard input", e);
      }
    }
  };
  return {
    ready: () => {
      fill();
      return pos < buf.length;
    },
    read: () => {
      fill();
      return pos < buf.length ? buf[pos++] : NO_INPUT;
    },
  };
}
