// Run before every test file (vitest.config.ts setupFiles, before
// host-switches.ts, which then expects the switch to stay on): turns on the
// check of physical memory's written-chunk record (src/machine/memory.ts
// `written`, which lets `recycle` compare and clear only the chunks a run may
// have written). A nonzero byte in a chunk no write path recorded — which a
// recycled buffer would carry into the next machine — fails the test:
//
// - at every recycle, in every file (the suite's `released` and the bench's
//   runs): the check scans what recycling scanned before the record existed;
// - at every snapshot (nonZeroPages), in every file;
// - after each test, every memory made during it that is still alive, in
//   the few files below whose machines are neither recycled nor snapshotted
//   and write RAM by paths of their own (pages copied between guests, DMA
//   through a passed-through device; the differential machine tests; the
//   SMP machine tests recycle their runs, checked there, and any machine
//   they leave is checked here). Only there: a machine's first scan
//   maps each of its 16,384 untouched pages (~0.2 s, mostly the kernel's
//   time); checking every machine of test/kernel, domains, migration, fuzz
//   and bench so made the suite 130 s (30%) slower.
//
// And nothing may write through a memory after its recycle: a spare buffer's
// state region and code-page marks must still be zero when it is handed out
// again, dropped from the spares, or at the end of each file (verifySpares).
import { afterAll, afterEach, expect } from "vitest";
import { memoryOptions, takeLiveMemories, verifySpares } from "../src/machine/memory.js";

memoryOptions.verifyWritten = true;

/** Test files whose machines are all checked after each test. */
const CHECKED_AFTER_EACH = /\/test\/domains\/(transitive|bypass)\.test\.ts$|\/test\/machine\/(differential|smp|written-record)\.test\.ts$/;

afterEach(() => {
  const live = takeLiveMemories();
  if (CHECKED_AFTER_EACH.test(expect.getState().testPath ?? "")) for (const m of live) m.verifyWritten();
}, 300_000);

afterAll(() => verifySpares());
