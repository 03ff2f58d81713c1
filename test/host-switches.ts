// Run before every test file (vitest.config.ts setupFiles). Test files share
// their worker process (isolate: false), so a host switch one file turns off
// and leaves off (mmuOptions.refill, translateOptions.wasm, …) would change
// how every later file in that worker runs. Each switch object's values are
// read when the file starts; after its last test they must be the same — and
// so must the working directory, the engine's environment variable and the
// number of SIGINT listeners (a command's Ctrl-C handler left behind answers
// the next file's SIGINT, and at its second one exits the worker). The
// file's scratch directories must be under the run's temporary root, which
// the run removes at its end (test/temp-root.ts).
import { tmpdir } from "node:os";
import { basename, dirname } from "node:path";
import { afterAll, expect } from "vitest";
import { TEMP_ROOT_PREFIX } from "./temp-root.js";
import { memoryOptions } from "../src/machine/memory.js";
import { mmuOptions } from "../src/machine/mmu/mmu.js";
import { translateOptions } from "../src/machine/jit/translate.js";
import { xenHostOptions } from "../src/hypervisors/xen/xen-monitor.js";
import { wedgeHostOptions } from "../src/hypervisors/common/wedge-monitor.js";
import { sharedPageOptions } from "../src/hypervisors/domains/services.js";

const SWITCHES: Record<string, object> = { memoryOptions, mmuOptions, translateOptions, xenHostOptions, wedgeHostOptions, sharedPageOptions };
const atStart = JSON.stringify(SWITCHES);
const cwdAtStart = process.cwd();
const engineAtStart = process.env.PREVIRT_ENGINE;
const sigintListenersAtStart = process.listenerCount("SIGINT");

afterAll(() => {
  expect(JSON.parse(JSON.stringify(SWITCHES)), "a host switch left changed: set it back in afterEach").toEqual(JSON.parse(atStart));
  expect(process.cwd(), "the working directory left changed: chdir back in a finally").toBe(cwdAtStart);
  expect(process.env.PREVIRT_ENGINE, "PREVIRT_ENGINE left changed: vi.stubEnv and unstub").toBe(engineAtStart);
  expect(process.listenerCount("SIGINT"), "a SIGINT listener left behind (a command's stopOnSigint not disposed on some path)").toBe(sigintListenersAtStart);
  expect(basename(tmpdir()).startsWith(TEMP_ROOT_PREFIX), "scratch files outside the run's temporary root (vitest.config.ts globalSetup)").toBe(true);
  expect(basename(dirname(tmpdir())).startsWith(TEMP_ROOT_PREFIX), "the run's temporary root nested in another (test/temp-root.ts)").toBe(false);
});
