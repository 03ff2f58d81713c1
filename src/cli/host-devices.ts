// The machine's devices backed by the host (Node only, so they live in the
// CLI, not in src/machine, which runs in a browser too): a disk image file for
// `--disk IMG`, and the process's stdin as console input. Each implements the
// machine's backing interface (DiskBacking, ConsoleInput) that in-memory
// images and byte strings implement as well.

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { NO_INPUT, type ConsoleInput } from "../machine/devices/console.js";
import { SECTOR_SIZE, type DiskBacking } from "../machine/devices/disk.js";

/** A file-backed disk; writes go straight to the file. */
export function fileDisk(path: string): DiskBacking {
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch {
    fd = openSync(path, "r"); // read-only image: writes will fail with ERROR
  }
  const sectors = Math.floor(fstatSync(fd).size / SECTOR_SIZE);
  return {
    sectors,
    readSector: (s, into) => void readSync(fd, into, 0, SECTOR_SIZE, s * SECTOR_SIZE),
    writeSector: (s, from) => void writeSync(fd, from, 0, SECTOR_SIZE, s * SECTOR_SIZE),
    close: () => closeSync(fd),
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
        throw e;
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
