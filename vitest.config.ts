// The test suite's runner settings (`npm test` runs `vitest run` after the
// build). Two things make it fit in a few minutes on two cores:
//
// - One test file per core. Vitest leaves a core to its main process by
//   default, which on two cores means one file at a time; the main process
//   is idle while files run (transforms are cached), so every core runs one.
// - Files share their worker process (isolate: false) unless they test what
//   a process keeps: the JIT's start budget, its process-wide translations
//   and hot pages (src/machine/jit/cache.ts, translate.ts) and the
//   interpreter's once-per-process warm-up (src/machine/warm-up.ts). The
//   others import the project once per worker, not once per file, and reuse
//   what src keeps per process by design (the bundled kernel's compile and
//   assembly, compiled translations, recycled RAM), which never changes a
//   simulated result. Those that measure per-process state run isolated.
//   test/host-switches.ts fails a file that leaves a host switch changed;
//   test/written-record.ts checks physical memory's written-chunk record.
// - Scratch files go under one temporary directory per run, removed at its
//   end (test/temp-root.ts).
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/** Files whose assertions depend on the state of a fresh process (see above). */
const FRESH_PROCESS = ["test/machine/jit*.test.ts", "test/machine/default-engine.test.ts", "test/machine/warm-up.test.ts", "test/fuzz/thresholds.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: "forks",
    maxWorkers: availableParallelism(),
    setupFiles: ["test/written-record.ts", "test/host-switches.ts"],
    globalSetup: ["test/temp-root.ts"],
    projects: [
      { extends: true, test: { name: "fresh-process", include: FRESH_PROCESS, isolate: true } },
      { extends: true, test: { name: "shared-process", include: ["test/**/*.test.ts"], exclude: FRESH_PROCESS, isolate: false } },
    ],
  },
});
