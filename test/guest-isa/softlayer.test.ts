import { describe, expect, it } from "vitest";
import {
  MEMORY_SITE_KINDS,
  SITE_KINDS,
  SoftlayerFormatError,
  mergeSoftlayerTables,
  parseSoftlayerTable,
  parseSoftlayerTables,
  serializeSoftlayerTable,
  type SiteRecord,
} from "../../src/guest-isa/index.js";

const rec = (addr: number, file: string, kind = SITE_KINDS.get("cli")!): SiteRecord => ({
  addr, length: 12, kind, flags: 0, regA: 1, regB: 2, imm: 0x10, line: addr >> 2, file,
});

describe(".softlayer table format", () => {
  it("has a kind for every sensitive instruction and the memory kinds", () => {
    for (const name of ["cli", "sti", "hlt", "iret", "tlbflush", "tlbinv", "mfcr", "mtcr", "in", "out", "rdpsr", "wrpsr"]) {
      expect(SITE_KINDS.has(name), name).toBe(true);
    }
    for (const name of Object.keys(MEMORY_SITE_KINDS)) expect(SITE_KINDS.has(name)).toBe(true);
    expect(SITE_KINDS.has("add")).toBe(false);
  });

  it("round-trips records through bytes", () => {
    const records = [rec(0x1000, "a.s"), rec(0x1010, "b.ts", MEMORY_SITE_KINDS["pte-store"])];
    expect(parseSoftlayerTable(serializeSoftlayerTable(records)).records).toEqual(records);
  });

  it("merges per-file tables laid end to end into one sorted table", () => {
    const a = serializeSoftlayerTable([rec(0x2000, "a.s"), rec(0x2010, "a.s")]);
    const b = serializeSoftlayerTable([rec(0x1000, "b.s")]);
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    expect(parseSoftlayerTables(both)).toHaveLength(2);
    const merged = parseSoftlayerTable(mergeSoftlayerTables(both));
    expect(merged.records.map((r) => [r.addr, r.file])).toEqual([[0x1000, "b.s"], [0x2000, "a.s"], [0x2010, "a.s"]]);
  });

  it("merges exactly as sorting the records stably by address, then flags, and serializing them", () => {
    // Reference: the object path (every record an object, one sort, serializeSoftlayerTable).
    let seed = 16;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 20; round++) {
      const tables = Array.from({ length: 1 + rnd(4) }, (_, t) =>
        serializeSoftlayerTable(
          Array.from({ length: rnd(40) }, (_, i) => ({
            ...rec(0x1000 + rnd(32) * 4, ["a.s", "b.ts", "ü.s", `t${t}.s`][rnd(4)]),
            flags: rnd(2), kind: rnd(200), regA: i & 15, imm: rnd(0x10000), line: 0xfffffff0 + rnd(16), addr: rnd(3) ? 0x1000 + rnd(32) * 4 : 0xfffff000,
          })),
        ),
      );
      const bytes = new Uint8Array(tables.reduce((n, t) => n + t.length, 0));
      tables.reduce((at, t) => (bytes.set(t, at), at + t.length), 0);
      const records = parseSoftlayerTables(bytes).flatMap((t) => t.records);
      records.sort((a, b) => a.addr - b.addr || a.flags - b.flags);
      expect(Buffer.from(mergeSoftlayerTables(bytes)).equals(Buffer.from(serializeSoftlayerTable(records)))).toBe(true);
    }
  });

  it("refuses truncated, unversioned and corrupt tables with a format error", () => {
    const good = serializeSoftlayerTable([rec(0x1000, "a.s")]);
    expect(() => parseSoftlayerTable(good.subarray(0, 10))).toThrow(/truncated header/);
    expect(() => parseSoftlayerTable(good.subarray(0, 30))).toThrow(/truncated/);
    const v2 = good.slice();
    v2[4] = 2;
    expect(() => parseSoftlayerTable(v2)).toThrow(/unknown version 2/);
    const badMagic = good.slice();
    badMagic[0] ^= 0xff;
    expect(() => parseSoftlayerTable(badMagic)).toThrow(SoftlayerFormatError);
    // Every truncation is refused with a format error, never another exception.
    for (let n = 0; n < good.length; n++) {
      expect(() => parseSoftlayerTable(good.subarray(0, n))).toThrow(SoftlayerFormatError);
    }
  });
});

describe(".softlayer file names cost memory in proportion to the table (issue 12)", () => {
  it("records pointing at distinct offsets inside one long file name are refused, not decoded one by one", () => {
    // 20,000 records (400 KB) whose names each start one byte further into a 100 KB name: 2 GB of strings.
    const long = "f".repeat(100_000);
    const records = Array.from({ length: 20_000 }, (_, i) => rec(0x1000 + 4 * i, long));
    const bytes = serializeSoftlayerTable(records);
    const v = new DataView(bytes.buffer);
    for (let i = 0; i < records.length; i++) v.setUint32(16 + 20 * i + 16, i, true);
    expect(() => parseSoftlayerTable(bytes)).toThrow(SoftlayerFormatError);
    expect(() => parseSoftlayerTable(bytes)).toThrow(/file names overlap so much/);
  });

  it("any number of records naming the same long file read fine (each distinct name is decoded once)", () => {
    const long = "g".repeat(100_000);
    const table = parseSoftlayerTable(serializeSoftlayerTable(Array.from({ length: 20_000 }, (_, i) => rec(0x1000 + 4 * i, long))));
    expect(table.records).toHaveLength(20_000);
    expect(table.records[19_999].file).toBe(long);
  });
});
