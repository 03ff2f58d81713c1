// `previrt playground` as a command (src/cli/commands/playground.ts): it
// serves the built app (dist/web) on 127.0.0.1 — the page, the app and the
// worker with their content types, nothing outside the app — stops cleanly on
// SIGTERM, refuses a port in use with one error line, and `--export DIR`
// writes the same files. Needs dist/ (tsc) and dist/web (scripts/build-web.mjs),
// which `npm test` builds first.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { rebuildWeb } from "./rebuild-web.js";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "bin", "previrt.js");
const previrt = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 30_000 });

describe("previrt playground", () => {
  beforeAll(() => {
    rebuildWeb();
  }, 60_000);

  it("serves the app on 127.0.0.1 and stops on SIGTERM with status 0", async () => {
    const child = spawn(process.execPath, [bin, "playground", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) resolve(m[0]);
      });
      child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    const page = await fetch(url);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toBe(readFileSync(join(root, "dist/web/index.html"), "utf8"));
    for (const f of ["app.js", "worker.js"]) {
      const r = await fetch(url + f);
      expect(r.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(join(root, "dist/web", f)))).toBe(true);
    }
    for (const bad of ["../package.json", "%2e%2e/package.json", "nothing.js", "src/web/main.ts"]) expect((await fetch(url + bad)).status, bad).toBe(404);
    expect((await fetch(url, { method: "POST" })).status).toBe(405);
    // Request targets `new URL` cannot parse (`//`, a protocol-relative URL with no host) ended the server with a
    // stack trace; they are 404s, a query is dropped, and the server goes on serving.
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => request(url, { path }, (r) => (r.resume(), resolve(r.statusCode!))).on("error", reject).end());
    for (const bad of ["//", "//[", "//x/index.html", "/[", "/%"]) expect(await raw(bad), bad).toBe(404);
    expect(await raw("/index.html?x=1")).toBe(200);
    expect(await raw("/?//[")).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.once("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    expect(code).toBe(0);
  });

  it("refuses a port in use with one error line", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    const r = previrt("playground", "--port", String(port));
    blocker.close();
    expect(r.stderr).toBe(`previrt: error: port ${port} is in use (try --port N, or --port 0 for any free one)\n`);
    expect(r.status).toBe(1);
  });

  it("--export DIR writes the app's files; a file as DIR is one error line", () => {
    const dir = mkdtempSync(join(tmpdir(), "previrt-playground-"));
    const r = previrt("playground", "--export", join(dir, "site"));
    expect(r.status).toBe(0);
    for (const f of ["index.html", "style.css", "app.js", "worker.js"]) expect(readFileSync(join(dir, "site", f)).equals(readFileSync(join(root, "dist/web", f))), f).toBe(true);
    // Exported again into an exported folder: updated. Into a folder with the user's own index.html: refused, nothing written.
    writeFileSync(join(dir, "site", "app.js"), "stale");
    expect(previrt("playground", "--export", join(dir, "site")).status).toBe(0);
    expect(readFileSync(join(dir, "site", "app.js")).equals(readFileSync(join(root, "dist/web/app.js")))).toBe(true);
    mkdirSync(join(dir, "mine"));
    writeFileSync(join(dir, "mine", "index.html"), "<p>my own page</p>");
    const mine = previrt("playground", "--export", join(dir, "mine"));
    expect(mine.stderr).toBe(`previrt: error: ${join(dir, "mine", "index.html")}: exists and is not from a playground export: --export would replace it (give a new or empty folder)\n`);
    expect(mine.status).toBe(1);
    expect(readdirSync(join(dir, "mine"))).toEqual(["index.html"]);
    expect(readFileSync(join(dir, "mine", "index.html"), "utf8")).toBe("<p>my own page</p>");
    writeFileSync(join(dir, "file"), "x");
    const bad = previrt("playground", "--export", join(dir, "file"));
    expect(bad.stderr).toBe(`previrt: error: ${join(dir, "file")}: not a directory\n`);
    expect(bad.status).toBe(1);
  });
});
