// Run before every test file (vitest.config.ts setupFiles, before
// host-switches.ts, which then expects the switch to stay on): turns on the
// check of physical memory's written-chunk record (src/machine/memory.ts
// `written`, which lets `recycle` compare and clear only the chunks a run may
// have written). A nonzero byte in a chunk no write path recorded — which a
// recycled buffer would carry into the next machine — fails the test:
//
// - at every recycle, in every file (the suite's `released` and the bench's
//   runs): the check scans what recycling scanned before the record existed;
// - after each test, every memory made during it that is still alive, in
//   the files below that run many different guests and write paths (the
//   kernel's workloads under both engines, SMP, driver domains, migration
//   and snapshots, the fuzzers, the bench). Only there: a machine's first
//   scan maps each of its 16,384 untouched pages (~0.2 s), too much for
//   every machine of the suite.
import { afterEach, expect } from "vitest";
import { memoryOptions, takeLiveMemories } from "../src/machine/memory.js";

memoryOptions.verifyWritten = true;

/** Test files whose machines are all checked after each test. */
const CHECKED_AFTER_EACH = /\/test\/(bench|kernel|domains|migration|fuzz|smp-virtualization)\/|\/test\/machine\/(differential|smp[-\w]*|written-record)\.test\.ts$/;

afterEach(() => {
  const live = takeLiveMemories();
  if (CHECKED_AFTER_EACH.test(expect.getState().testPath ?? "")) for (const m of live) m.verifyWritten();
}, 300_000);
