// XBZRLE page deltas (src/migration/xbzrle.ts) and the page sender that
// uses them (page-sender.ts): every delta decodes, onto the old page, to
// exactly the new page — for random pages changed in random ways and for
// the bundled kernel's own pages as they change while it runs; the format
// is QEMU's (pinned on hand-computed examples); a malformed delta is
// refused before the page changes; and the sender prices what it sends,
// and estimates a page's next send from its last record.
import { describe, expect, it } from "vitest";
import { PAGE_SIZE } from "../../src/machine/memory.js";
import { DELTA_HEADER_BYTES, PageSender } from "../../src/migration/page-sender.js";
import { nonZeroPages } from "../../src/migration/snapshot.js";
import { decodeDelta, DeltaError, encodeDelta } from "../../src/migration/xbzrle.js";
import { rng } from "../machine/random-program.js";
import { boot, kernel } from "./helpers.js";

const out = new Uint8Array(PAGE_SIZE);

/** Encodes new against old, decodes onto a copy of old, and checks the result is new. Returns the encoded length. */
function roundTrip(old: Uint8Array, cur: Uint8Array): number {
  const len = encodeDelta(old, cur, out);
  expect(len).toBeGreaterThanOrEqual(0);
  const page = old.slice();
  decodeDelta(out.subarray(0, len), page);
  expect(Buffer.compare(page, cur)).toBe(0);
  return len;
}

describe("XBZRLE deltas", () => {
  it("the format: QEMU's runs, ULEB128 lengths, no trailing zero run", () => {
    const old = new Uint8Array(PAGE_SIZE);
    const cur = old.slice();
    expect(encodeDelta(old, cur, out)).toBe(0); // unchanged: nothing
    cur[100] = 0xaa;
    expect([...out.subarray(0, encodeDelta(old, cur, out))]).toEqual([100, 1, 0xaa]);
    cur[0] = 7; // a change at offset 0: an empty first zero run
    expect([...out.subarray(0, encodeDelta(old, cur, out))]).toEqual([0, 1, 7, 99, 1, 0xaa]);
    cur.fill(0);
    cur[300] = 1;
    cur[302] = 2; // one equal byte between two changes rides inside the nzrun
    cur[4095] = 3;
    expect([...out.subarray(0, encodeDelta(old, cur, out))]).toEqual([0xac, 0x02, 3, 1, 0, 2, 0xd0, 0x1d, 1, 3]);
    roundTrip(old, cur);
  });

  it("random pages changed at random: every delta decodes to the new page (2,000 cases)", () => {
    const next = rng(0x13b);
    let sparse = 0;
    for (let n = 0; n < 2000; n++) {
      const old = new Uint8Array(PAGE_SIZE);
      for (let i = 0; i < PAGE_SIZE; i++) old[i] = next() % 4 === 0 ? next() & 0xff : 0; // mostly zero, as kernel pages are
      const cur = old.slice();
      const kind = n % 5;
      const edits = kind === 0 ? 0 : kind === 1 ? 1 + (next() % 4) : kind === 2 ? 1 + (next() % 64) : kind === 3 ? 1 + (next() % 2000) : 1;
      for (let e = 0; e < edits; e++) {
        const at = next() % PAGE_SIZE;
        const len = kind === 4 ? 1 + (next() % PAGE_SIZE) : 1 + (next() % 8); // kind 4: one long run
        for (let i = at; i < Math.min(PAGE_SIZE, at + len); i++) cur[i] = next() & 0xff;
      }
      const len = encodeDelta(old, cur, out);
      if (len < 0) continue; // did not fit: the sender sends the page whole
      roundTrip(old, cur);
      expect(len === 0).toBe(Buffer.compare(old, cur) === 0);
      if (kind === 1 && len > 0 && len <= 64) sparse++;
    }
    expect(sparse).toBeGreaterThan(300); // a few changed words cost tens of bytes
  });

  it("a delta that does not fit the room given is refused (-1), never truncated", () => {
    const next = rng(7);
    const old = new Uint8Array(PAGE_SIZE);
    const cur = new Uint8Array(PAGE_SIZE).map(() => (next() & 0xff) | 1); // every byte changed
    expect(encodeDelta(old, cur, new Uint8Array(PAGE_SIZE - DELTA_HEADER_BYTES))).toBe(-1);
    expect(encodeDelta(old, cur, new Uint8Array(PAGE_SIZE + 3))).toBe(PAGE_SIZE + 3); // 0, 4096 as 2 bytes, the page
    cur[0] = 0;
    expect(encodeDelta(old, cur, new Uint8Array(2))).toBe(-1); // the lengths themselves do not fit
  });

  it("the kernel's own pages as it runs: each version is the delta of the one before (mixed and ctxsw)", () => {
    for (const w of ["mixed", "ctxsw"] as const) {
      const k = kernel(w);
      const g = boot(k, "xen");
      const m = g.machine;
      const last = new Map<number, Uint8Array>();
      let deltas = 0;
      let small = 0;
      for (let t = 200_000; t < k.bare.cycles && !m.runUntil(t); t += 20_000) {
        for (const f of nonZeroPages(m.memory, 0, m.memory.guestLimit / PAGE_SIZE)) {
          const cur = m.memory.u8.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
          const old = last.get(f);
          if (old && Buffer.compare(old, cur) !== 0) {
            const len = encodeDelta(old, cur, out);
            if (len >= 0) {
              roundTrip(old, cur);
              deltas++;
              if (len < 128) small++;
            }
          }
          last.set(f, cur.slice());
        }
      }
      expect(deltas, w).toBeGreaterThan(50);
      expect(small / deltas, w).toBeGreaterThan(0.5); // the writable working set changes a few words at a time
    }
  });

  it("a malformed delta is refused and leaves the page as it was", () => {
    const page = new Uint8Array(PAGE_SIZE).fill(9);
    const bad: [string, number[]][] = [
      ["truncated zrun length", [0x80]],
      ["missing nzrun length", [5]],
      ["truncated nzrun", [5, 3, 1, 2]],
      ["empty nzrun", [5, 0]],
      ["empty zrun after the start", [0, 1, 7, 0, 1, 8]],
      ["zrun past the page", [0x81, 0x20, 1, 1]], // 4097
      ["nzrun past the page", [0xff, 0x1f, 2, 1, 1]], // 4095 + 2
      ["overlong length", [0x80, 0x80, 0x80, 0x01, 1, 1]],
    ];
    for (const [what, bytes] of bad) {
      const before = page.slice();
      expect(() => decodeDelta(Uint8Array.from(bytes), page), what).toThrow(DeltaError);
      expect(Buffer.compare(page, before), what).toBe(0);
    }
    decodeDelta(Uint8Array.from([0xff, 0x1f, 1, 4]), page); // the last byte: fine
    expect(page[4095]).toBe(4);
  });
});

describe("the page sender", () => {
  const cost = { pageTransfer: 6554, deltaEncode: 1280 };

  it("first sends whole, re-sends as priced deltas, an unchanged page for the encoder's pass alone; the receiver follows", () => {
    const ram = new Uint8Array(4 * PAGE_SIZE);
    const s = new PageSender(ram, cost, true);
    ram[PAGE_SIZE + 10] = 1;
    expect(s.estimate(1)).toBe(1280 + 6554); // never sent: a whole page
    expect(s.send(1)).toEqual({ bytes: PAGE_SIZE, cycles: 1280 + 6554, delta: false });
    expect(s.estimate(1)).toBe(1280 + 6554); // last sent whole: expected whole again
    expect(s.send(1)).toEqual({ bytes: 0, cycles: 1280, delta: true }); // unchanged: nothing on the wire
    expect(s.estimate(1)).toBe(1280);
    ram.fill(5, PAGE_SIZE + 100, PAGE_SIZE + 140); // 40 bytes: zrun, nzrun lengths and 40 bytes = 42
    const bytes = DELTA_HEADER_BYTES + 42;
    const cycles = 1280 + Math.ceil((bytes * 6554) / PAGE_SIZE);
    expect(s.send(1)).toEqual({ bytes, cycles, delta: true });
    expect(s.estimate(1)).toBe(cycles); // the last record's size, whatever the page holds now
    expect(Buffer.compare(s.received.get(1)!, ram.subarray(PAGE_SIZE, 2 * PAGE_SIZE))).toBe(0);
    ram.fill(0xee, PAGE_SIZE, 2 * PAGE_SIZE); // a delta no smaller than the page: whole
    expect(s.estimate(1)).toBe(cycles);
    expect(s.send(1)).toEqual({ bytes: PAGE_SIZE, cycles: 1280 + 6554, delta: false });
    expect(s.estimate(1)).toBe(1280 + 6554);
    expect(Buffer.compare(s.received.get(1)!, ram.subarray(PAGE_SIZE, 2 * PAGE_SIZE))).toBe(0);
  });

  it("with deltas off every page goes whole at pageTransfer, nothing else charged", () => {
    const ram = new Uint8Array(2 * PAGE_SIZE);
    const s = new PageSender(ram, cost, false);
    ram[5] = 1;
    expect(s.send(0)).toEqual({ bytes: PAGE_SIZE, cycles: 6554, delta: false });
    ram[6] = 1;
    expect(s.send(0)).toEqual({ bytes: PAGE_SIZE, cycles: 6554, delta: false });
    expect(s.estimate(0)).toBe(6554);
    expect(s.received.get(0)![6]).toBe(1);
  });
});
