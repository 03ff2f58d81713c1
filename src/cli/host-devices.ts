// The machine's devices backed by the host (Node only, so they live in the
// CLI, not in src/machine, which runs in a browser too): a disk image file for
// `--disk IMG`, and the process's stdin as console input. Each implements the
// machine's backing interface (DiskBacking, ConsoleInput) that in-memory
// images and byte strings implement as well.

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { NO_INPUT, type ConsoleInput } from "../machine/devices/console.js";
import { SECTOR_SIZE, type DiskBacking } from "../machine/devices/disk.js";
import { fileError } from "./file-error.js";

/** A file-backed disk; writes go straight to the file. */
export function fileDisk(path: string): DiskBacking {
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch {
    fd = openSync(path, "r"); // read-only image: writes will fail with ERROR
  }
  return fdDisk(fd);
}

/** The disk on an open file descriptor. */
function fdDisk(fd: number): DiskBacking {
  const sectors = Math.floor(fstatSync(fd).size / SECTOR_SIZE);
  return {
    sectors,
    readSector: (s, into) => void readSync(fd, into, 0, SECTOR_SIZE, s * SECTOR_SIZE),
    writeSector: (s, from) => void writeSync(fd, from, 0, SECTOR_SIZE, s * SECTOR_SIZE),
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
