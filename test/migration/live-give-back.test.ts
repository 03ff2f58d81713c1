// Whose RAM goes back around a live move (src/migration/live.ts, route.ts):
// a move the target refuses after pre-copy has built it (a site the guest
// rewrote: restoreInto refuses the state) leaves no machine behind — the
// target goes back in restoreGuest (giveBackIfThrows), the source in the
// route — and a move that happens leaves exactly one, the guest the route
// ends on, which the caller owns; a caller's onHop that throws after the
// move leaves none either. The machines are the ones
// takeLiveMemories lists (test/written-record.ts turns the list on): made
// since the last call and not recycled. Taken in the same synchronous run as
// the move, so none has been collected (a WeakRef's target is kept alive
// until the job that made it ends). A real guest on the real emulator.
import { describe, expect, it } from "vitest";
import { annotate } from "../../src/annotator/index.js";
import { assemble } from "../../src/guest-isa/assembler/index.js";
import { readElf, writeElf } from "../../src/guest-isa/elf.js";
import { DEFAULT_RAM_SIZE, takeLiveMemories } from "../../src/machine/memory.js";
import { migrateRoute } from "../../src/migration/route.js";

// Loops over a cli/sti pair 2,000 times, then overwrites the cli site's first word, spins, prints O (cli-frictions.test.ts's guest).
const SRC =
  "    .text\n    .global _start\n_start:\n    li   s0, 0\n.Lloop:\n    cli\n    sti\n    addi s0, s0, 1\n    li   t0, 2000\n    bne  s0, t0, .Lloop\n" +
  "    la   t0, _start\n    lw   t1, 0(t0)\n    la   t2, .Lloop\n    sw   t1, 0(t2)\n    li   s0, 0\n.Lspin:\n    addi s0, s0, 1\n    li   t0, 20000\n    bne  s0, t0, .Lspin\n" +
  "    li   t0, 79\n    out  0x10, t0\n    out  0xF0, zero\n";
const elf = writeElf(assemble([{ file: "site-smc.s", text: annotate("site-smc.s", SRC).text }]));
const image = readElf(elf);
const MAX_CYCLES = 10_000_000;

/** The machines' memories made since the last call and not given back (not the JIT's 64 KiB warm-up scratch, jit/warm.ts: no machine's). */
const leftOver = () => takeLiveMemories().filter((m) => m.size === DEFAULT_RAM_SIZE);

describe("a live move's machines", () => {
  it("refused by the target after pre-copy (a rewritten site): the error, and both the target and the source given back", () => {
    takeLiveMemories(); // forget the machines before this test
    expect(() => migrateRoute(elf, image, ["xen", "l4"], [90_000], { live: true, maxCycles: MAX_CYCLES })).toThrow(/the site at 0x1004 was modified while it ran/);
    expect(leftOver().length).toBe(0);
  });

  it("that happens: only the guest the route ends on is left, the caller's", () => {
    takeLiveMemories();
    const r = migrateRoute(elf, image, ["xen", "l4"], [1_000], { live: true, maxCycles: MAX_CYCLES });
    expect(r.reports[0].migrated).toBe(true);
    expect(r.result).toEqual({ kind: "poweroff", exitCode: 0 });
    expect(r.guest.console).toBe("O");
    const left = leftOver();
    expect(left.length).toBe(1);
    expect(left[0]).toBe(r.guest.machine.memory);
    r.guest.machine.memory.recycle();
  });

  it("whose report's onHop throws (the caller's callback): that error, and the target given back with the source", () => {
    takeLiveMemories();
    const onHop = () => {
      throw new Error("the caller's onHop");
    };
    expect(() => migrateRoute(elf, image, ["xen", "l4"], [1_000], { live: true, maxCycles: MAX_CYCLES, onHop })).toThrow("the caller's onHop");
    expect(leftOver().length).toBe(0);
  });
});
