// Where the browser tests find a Chromium (test/web/playground-browser.ts, test/bench/report-chromium.test.ts):
// Debian's chromium, which .ci/run installs, or another on PATH. Consumes PATH; produces the executable's path,
// or undefined, where those tests skip with a message.
import { execFileSync } from "node:child_process";

export function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      // try the next name
    }
  }
  return undefined;
}
