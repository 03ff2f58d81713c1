// dist/web rebuilt from src/web for the tests that serve it (playground-browser.ts for the browser tests,
// playground-cli.test.ts), which run in parallel on the suite's workers. Consumes scripts/build-web.mjs;
// produces dist/web, with a file rewritten only where its bytes changed.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

/**
 * Rebuilds dist/web from src/web without rewriting a file whose bytes are already there: the browser test files
 * (and playground-cli) run in parallel on the suite's workers, and one rewriting app.js while another's server
 * reads it could serve half a file. The bundle is built into a scratch folder; only what differs is copied.
 */
export function rebuildWeb(): void {
  const scratch = mkdtempSync(join(tmpdir(), "previrt-web-"));
  try {
    execFileSync("node", [join(root, "scripts/build-web.mjs"), scratch], { stdio: "ignore" });
    const dist = join(root, "dist", "web");
    mkdirSync(dist, { recursive: true });
    for (const f of readdirSync(scratch)) {
      const fresh = readFileSync(join(scratch, f));
      let old: Buffer | undefined;
      try {
        old = readFileSync(join(dist, f));
      } catch {
        // not built yet
      }
      if (!old?.equals(fresh)) writeFileSync(join(dist, f), fresh);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
