// For the Ctrl-C tests (test/cli/interrupt.test.ts, test/domains/interrupt.test.ts):
// runs `previrt ARGS` as a real process in `cwd`, sends it SIGINT once its
// stdout has shown `ready` (so its handler is in place), and returns how it
// ended.
import { spawn } from "node:child_process";

const bin = new URL("../bin/previrt.js", import.meta.url).pathname;

export interface Ended {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export function interrupted(args: string[], cwd: string): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (!sent && stdout.includes("ready")) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
