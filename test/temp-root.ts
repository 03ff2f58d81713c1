// Vitest's global setup (vitest.config.ts globalSetup): one temporary
// directory for the whole run, removed when the run ends. Test files make
// their scratch directories with mkdtempSync(join(tmpdir(), …)); pointing
// TMPDIR here before the workers start puts all of them — and those of the
// CLI processes the tests spawn, which inherit the environment — under this
// one root, so `npm test` leaves nothing behind in the system's /tmp (it
// used to leave some fifty directories, disk images among them, per run).
//
// Vitest calls a global setup once for the root configuration and once per
// project that extends it: the first call makes the root, the others find
// it in TMPDIR and keep it (nesting roots would lengthen every path past
// what a Unix socket's name may hold: Chromium's singleton socket lives in
// TMPDIR).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** The prefix of the run's root; test/host-switches.ts checks every file's tmpdir() has it. */
export const TEMP_ROOT_PREFIX = "previrt-test-";

export default function setup(): () => void {
  if (basename(tmpdir()).startsWith(TEMP_ROOT_PREFIX)) return () => {};
  const root = mkdtempSync(join(tmpdir(), TEMP_ROOT_PREFIX));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
