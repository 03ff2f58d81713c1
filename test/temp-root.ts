// Vitest's global setup (vitest.config.ts globalSetup): one temporary
// directory for the whole run, removed when the run ends. Test files make
// their scratch directories with mkdtempSync(join(tmpdir(), …)); pointing
// TMPDIR here before the workers start puts all of them — and those of the
// CLI processes the tests spawn, which inherit the environment — under this
// one root, so `npm test` leaves nothing behind in the system's /tmp (it
// used to leave some fifty directories, disk images among them, per run).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "previrt-test-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
