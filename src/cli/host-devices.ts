// The machine's devices backed by the host (Node only, so they live in the
// CLI, not in src/machine, which runs in a browser too): a disk image file for
// `--disk IMG`, and the process's stdin as console input. Each implements the
// machine's backing interface (DiskBacking, ConsoleInput) that in-memory
// images and byte strings implement as well.

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { NO_INPUT, type ConsoleInput } from "../machine/devices/console.js";
import { SECTOR_SIZE, type DiskBacking } from "../machine/devices/disk.js";
import { fileError } from "./file-error.js";

/** A file-backed disk, its sectors cached in memory and its writes written into the file at close (fdDisk). */
export function fileDisk(path: string): DiskBacking {
  let fd: number;
  let writable = true;
  try {
    fd = openSync(path, "r+");
  } catch {
    fd = openSync(path, "r"); // read-only image: writes will fail with ERROR
    writable = false;
  }
  return fdDisk(fd, writable, path);
}

/** Sectors a cache chunk holds: read from the file at once, written back at once (64 KiB). */
const CHUNK_SECTORS = 128;
const CHUNK_BYTES = CHUNK_SECTORS * SECTOR_SIZE;
/** The most chunks the cache holds; past it, the dirty ones are written and it starts again empty. */
const MAX_CHUNKS = 1024;

/** A cached chunk of the image, and the sectors of it written since it was last written back (lo..hi, none when lo > hi). */
interface Chunk {
  readonly bytes: Uint8Array;
  lo: number;
  hi: number;
}

/**
 * The disk on an open file descriptor, through a cache of the file's
 * 64 KiB chunks: each chunk is read from the file once (at the first access
 * to one of its sectors), and the sectors written since are written back in
 * one call per chunk when the disk is closed (or the cache is full). A
 * syscall per 512-byte sector cost ~40 ms of host time in `mixed` at scale
 * 200 (3,200 reads, 3,200 writes). Every command closes its disks when it
 * ends, in a `finally` (on an error too), so the image is complete then —
 * not before: the file is not read by anything else while the disk is open
 * (one device per image: checkDistinctFiles, the domains' configuration).
 * A read-only image fails every write at once (the guest's ERROR), as an
 * unbuffered write did; a write-back that fails at close is the command's
 * error, one line naming the image (the guest had been told DONE).
 */
function fdDisk(fd: number, writable: boolean, path: string): DiskBacking {
  const sectors = Math.floor(fstatSync(fd).size / SECTOR_SIZE);
  let chunks = new Map<number, Chunk>();
  const writeBack = (): void => {
    for (const [c, k] of chunks) {
      if (k.lo > k.hi) continue;
      const from = k.lo * SECTOR_SIZE;
      const to = (k.hi + 1) * SECTOR_SIZE;
      for (let off = from; off < to; ) off += writeSync(fd, k.bytes, off, to - off, c * CHUNK_BYTES + off);
      k.lo = CHUNK_SECTORS;
      k.hi = -1;
    }
  };
  const chunk = (c: number): Chunk => {
    let k = chunks.get(c);
    if (k === undefined) {
      const bytes = new Uint8Array(CHUNK_BYTES);
      // A short read past the file's end leaves zeros there (no sector of the disk lies beyond its last whole one).
      for (let off = 0; off < CHUNK_BYTES; ) {
        const n = readSync(fd, bytes, off, CHUNK_BYTES - off, c * CHUNK_BYTES + off);
        if (n === 0) break;
        off += n;
      }
      if (chunks.size >= MAX_CHUNKS) {
        writeBack();
        chunks = new Map();
      }
      chunks.set(c, (k = { bytes, lo: CHUNK_SECTORS, hi: -1 }));
    }
    return k;
  };
  return {
    sectors,
    readSector: (s, into) => {
      const at = (s % CHUNK_SECTORS) * SECTOR_SIZE;
      into.set(chunk(Math.floor(s / CHUNK_SECTORS)).bytes.subarray(at, at + SECTOR_SIZE));
    },
    writeSector: (s, from) => {
      if (!writable) throw new Error("read-only disk image");
      const k = chunk(Math.floor(s / CHUNK_SECTORS));
      const i = s % CHUNK_SECTORS;
      k.bytes.set(from.subarray(0, SECTOR_SIZE), i * SECTOR_SIZE);
      if (i < k.lo) k.lo = i;
      if (i > k.hi) k.hi = i;
    },
    close: () => {
      try {
        writeBack();
      } catch (e) {
        throw fileError(path, e);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * A file-backed disk that keeps its writes in memory until commit(): what
 * `previrt resume --disk IMG` gives the restore, which writes the snapshot's
 * image into it before its last checks (a --pcpus the back end refuses, …);
 * a refused resume then leaves IMG as it was. It has the snapshot's
 * `sectors` whatever the file's size (the guest sees the disk it had; a
 * longer file keeps its tail, a shorter one grows). After commit() writes go
 * to the file disk (fdDisk: its cache, written back at close).
 */
export function heldFileDisk(path: string, sectors: number): DiskBacking & { commit(): void } {
  // Opened for writing, with no read-only fallback: the snapshot's image must go in (a read-only file is refused now).
  const file = fdDisk(openSync(path, "r+"), true, path);
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
