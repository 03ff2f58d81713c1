// `previrt playground [--port N]`: serves the playground (docs/playground.md)
// on 127.0.0.1 with node:http until interrupted; `previrt playground
// --export DIR` writes the same files to DIR, a static site anyone can host.
// The app itself is dist/web (built from src/web by scripts/build-web.mjs at
// `npm run build` and in the published package's `prepare`); this command
// only serves or copies it — the toolchain runs in the browser, in a Web
// Worker, and the server does no work but sending files.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { UserError } from "../../guest-isa/diagnostics.js";
import { fileError, writeOutput } from "../files.js";
import type { CommandRunner } from "../main.js";
import { packageRoot } from "../package-info.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
};

/** The built app's folder: dist/web under previrt's package root. */
export function webDir(): string {
  const root = packageRoot();
  const dir = root ? join(root, "dist", "web") : undefined;
  if (!dir || !existsSync(join(dir, "index.html"))) {
    throw new UserError("the playground is not built (no dist/web/index.html): run `npm run build` in previrt's folder");
  }
  return dir;
}

/** The app's files, name → bytes (a flat folder: nothing else can be asked for). */
function appFiles(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const name of readdirSync(dir)) if (statSync(join(dir, name)).isFile()) files.set(name, readFileSync(join(dir, name)));
  return files;
}

/** What every playground page holds (src/web/index.html starts its worker so): a folder whose index.html has it was exported. */
const EXPORT_MARK = "window.previrtWorker";

/**
 * Refuses, before anything is written, to replace a file in `target` that an
 * earlier export did not write: `--export .` in the user's own site would
 * otherwise replace its index.html and style.css without a word. Exporting
 * again into an exported folder (its index.html is a playground page)
 * updates it; a file that already holds the bytes to write is no loss either.
 */
function refuseForeignFiles(target: string, files: ReadonlyMap<string, Uint8Array>): void {
  const existing = (name: string) => {
    const path = join(target, name);
    return existsSync(path) ? readFileSync(path) : undefined;
  };
  if (existing("index.html")?.includes(EXPORT_MARK)) return;
  for (const [name, bytes] of files) {
    const there = existing(name);
    if (there && !there.equals(bytes)) throw new UserError(`${join(target, name)}: exists and is not from a playground export: --export would replace it (give a new or empty folder)`);
  }
}

function exportApp(target: string, io: Parameters<CommandRunner>[2]): number {
  // As every output option takes them (files.ts checkOutputs): '' was ': no such file or directory', and `-` made a folder named '-'.
  if (target === "") throw new UserError("--export: '' is not a folder name");
  if (target === "-") throw new UserError("--export: the playground is several files, which standard output cannot hold: give a folder");
  const files = appFiles(webDir());
  try {
    if (existsSync(target) && !statSync(target).isDirectory()) throw new UserError(`${target}: not a directory`);
    mkdirSync(target, { recursive: true });
  } catch (e) {
    throw fileError(target, e);
  }
  refuseForeignFiles(target, files);
  // Each written to a temporary beside it and renamed, as every output is: a failed export leaves the files that were there whole.
  for (const [name, bytes] of files) writeOutput(join(target, name), bytes, io);
  io.out(`previrt playground: wrote ${files.size} files to ${target} (open index.html through any static web server)\n`);
  return 0;
}

/**
 * The path of a request's target, its query and fragment dropped: the name
 * looked up among the app's files (anything else is a 404). Not `new URL`:
 * it throws on a target such as `//` or `//[` (a protocol-relative URL with
 * no host), and a throw in the request handler ended the server with a stack
 * trace — any page in the user's browser could do that with one fetch.
 */
function requestPath(target: string | undefined): string {
  const t = target ?? "/";
  const end = t.search(/[?#]/);
  return end < 0 ? t : t.slice(0, end);
}

export const run: CommandRunner = async (_args, options, io) => {
  if (typeof options.export === "string") {
    if (options.port !== undefined) throw new UserError("--port is for serving; --export writes the files instead: give one");
    return exportApp(options.export, io);
  }
  const port = (options.port as number | undefined) ?? 8089;
  if (port > 65535) throw new UserError(`--port must be from 0 to 65535, not ${port}`);
  const files = appFiles(webDir());
  const server: Server = createServer((req, res) => {
    const path = requestPath(req.url);
    const name = path === "/" ? "index.html" : path.slice(1);
    const body = files.get(name);
    if ((req.method !== "GET" && req.method !== "HEAD") || !body) {
      res.writeHead(req.method === "GET" || req.method === "HEAD" ? 404 : 405, { "content-type": "text/plain" });
      res.end(body ? "method not allowed\n" : "not found\n");
      return;
    }
    const ext = name.slice(name.lastIndexOf("."));
    res.writeHead(200, { "content-type": TYPES[ext] ?? "application/octet-stream", "content-length": body.length, "cache-control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new UserError(`port ${port} is in use (try --port N, or --port 0 for any free one)`) : e.code === "EACCES" ? new UserError(`port ${port}: permission denied`) : e),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  io.out(`previrt playground: http://127.0.0.1:${actual}/ (Ctrl-C stops it)\n`);
  // Serve until interrupted, then close and exit 0.
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.closeAllConnections();
      server.close(() => resolve());
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return 0;
};
