// dist/web rebuilt from src/web for the tests that serve it (playground-browser.ts for the browser tests,
// playground-cli.test.ts), which run in parallel on the suite's workers — only when it is not up to date:
// `npm test` builds it just before, and each of those files rebuilt it again (an esbuild run of the whole
// toolchain apiece). Consumes scripts/build-web.mjs and the record of its last build (dist/web-inputs.json);
// produces dist/web, with a file rewritten only where its bytes changed, and that record.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

/** What scripts/build-web.mjs records of a build: when it began, the files and folders it read, the bytes it wrote. */
interface BuildInputs {
  startedMs: number;
  files: string[];
  dirs: string[];
  outputs: Record<string, number>;
}

/**
 * Whether `tree`'s dist/web is what building it now would give: its last build's record is there, no file or
 * folder that build read has changed (or gone) since it began, and every file it wrote is there at its size.
 */
export function webUpToDate(tree = root): boolean {
  let inputs: BuildInputs;
  try {
    inputs = JSON.parse(readFileSync(join(tree, "dist", "web-inputs.json"), "utf8"));
  } catch {
    return false;
  }
  try {
    if (![...inputs.files, ...inputs.dirs].every((f) => statSync(join(tree, f)).mtimeMs < inputs.startedMs)) return false;
    return Object.entries(inputs.outputs).every(([f, bytes]) => statSync(join(tree, "dist", "web", f)).size === bytes);
  } catch {
    return false; // an input or an output is gone
  }
}

/**
 * Rebuilds dist/web from src/web unless it is up to date (webUpToDate), without rewriting a file whose bytes are
 * already there: the browser test files (and playground-cli) run in parallel on the suite's workers, and one
 * rewriting app.js while another's server reads it could serve half a file. The bundle is built into a scratch
 * folder; only what differs is copied, and the build's record last.
 */
export function rebuildWeb(): void {
  if (webUpToDate()) return;
  const scratch = mkdtempSync(join(tmpdir(), "previrt-web-"));
  try {
    const record = join(scratch, "inputs.json");
    const out = join(scratch, "web");
    execFileSync("node", [join(root, "scripts/build-web.mjs"), out, "--inputs", record], { stdio: "ignore" });
    const dist = join(root, "dist", "web");
    mkdirSync(dist, { recursive: true });
    for (const f of readdirSync(out)) {
      const fresh = readFileSync(join(out, f));
      let old: Buffer | undefined;
      try {
        old = readFileSync(join(dist, f));
      } catch {
        // not built yet
      }
      if (!old?.equals(fresh)) writeFileSync(join(dist, f), fresh);
    }
    writeFileSync(join(root, "dist", "web-inputs.json"), readFileSync(record));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
