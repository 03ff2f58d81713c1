// The file-backed disk (src/cli/host-devices.ts fileDisk): it serves reads
// from a cache of the file's chunks and writes through to the file. Checked
// against the in-memory disk (memoryDisk) over the same random reads and
// writes: every read must give the memory disk's bytes — a cache that missed
// a write would give the old ones — and the file must end as the memory
// image, with a file whose size is no whole number of chunks (or sectors).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../scripts/fuzz/generators/rng.js";
import { fileDisk, heldFileDisk } from "../../src/cli/host-devices.js";
import { memoryDisk, SECTOR_SIZE } from "../../src/machine/devices/disk.js";

const dir = mkdtempSync(join(tmpdir(), "previrt-hostdisk-"));

describe("fileDisk: reads from its cache, writes through", () => {
  it("gives what an in-memory disk gives, and leaves the file as that disk's image", () => {
    // 300 sectors and 100 bytes: a partial chunk at the end (128 sectors a chunk) and a partial sector.
    const size = 300 * SECTOR_SIZE + 100;
    const initial = new Uint8Array(size);
    const gen = new Rng(7);
    const rand = (n: number) => gen.int(n);
    for (let i = 0; i < size; i++) initial[i] = rand(256);
    const path = join(dir, "random.img");
    writeFileSync(path, initial);
    const disk = fileDisk(path);
    const mem = memoryDisk(initial.slice(0, 300 * SECTOR_SIZE));
    expect(disk.sectors).toBe(300);
    const a = new Uint8Array(SECTOR_SIZE);
    const b = new Uint8Array(SECTOR_SIZE);
    const from = new Uint8Array(SECTOR_SIZE + 8);
    for (let op = 0; op < 1500; op++) {
      const s = rand(300);
      if (rand(3) === 0) {
        for (let i = 0; i < from.length; i++) from[i] = rand(256);
        disk.writeSector(s, from);
        mem.writeSector(s, from.subarray(0, SECTOR_SIZE));
      } else {
        disk.readSector(s, a);
        mem.readSector(s, b);
        if (!a.every((x, i) => x === b[i])) expect.fail(`sector ${s} differs from the memory disk's after ${op} operations`);
      }
    }
    disk.close?.();
    const after = readFileSync(path);
    expect(after.length).toBe(size);
    expect(new Uint8Array(after.subarray(0, 300 * SECTOR_SIZE))).toEqual(mem.image);
    expect(new Uint8Array(after.subarray(300 * SECTOR_SIZE))).toEqual(initial.subarray(300 * SECTOR_SIZE));
  });

  it("writes reach the file at once (not at close)", () => {
    const path = join(dir, "direct.img");
    writeFileSync(path, new Uint8Array(4 * SECTOR_SIZE));
    const disk = fileDisk(path);
    const into = new Uint8Array(SECTOR_SIZE);
    disk.readSector(2, into); // its chunk is cached now
    disk.writeSector(2, new Uint8Array(SECTOR_SIZE).fill(0x5a));
    expect(readFileSync(path)[2 * SECTOR_SIZE]).toBe(0x5a);
    disk.readSector(2, into);
    expect(into[511]).toBe(0x5a);
    disk.close?.();
  });

  it("a held disk reads its held writes, and after commit the file's", () => {
    const path = join(dir, "held.img");
    writeFileSync(path, new Uint8Array(4 * SECTOR_SIZE).fill(1));
    const disk = heldFileDisk(path, 4);
    const into = new Uint8Array(SECTOR_SIZE);
    disk.readSector(1, into);
    expect(into[0]).toBe(1);
    disk.writeSector(1, new Uint8Array(SECTOR_SIZE).fill(2));
    disk.readSector(1, into);
    expect(into[0]).toBe(2);
    expect(readFileSync(path)[SECTOR_SIZE]).toBe(1);
    disk.commit();
    expect(readFileSync(path)[SECTOR_SIZE]).toBe(2);
    disk.writeSector(1, new Uint8Array(SECTOR_SIZE).fill(3));
    disk.readSector(1, into);
    expect(into[0]).toBe(3);
    disk.close?.();
  });
});
