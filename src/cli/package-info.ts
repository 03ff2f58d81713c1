// Facts about the installed previrt package itself, found from this module's
// location (src/cli in a checkout, dist/src/cli in a build or an installed
// package): its root folder, its version (`previrt --version`, reports) and
// the commit of previrt's own checkout for the benchmark report — never the
// commit of a repository previrt happens to be installed into.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface PackageJson {
  name?: string;
  version?: string;
}

let root: { dir: string; pkg: PackageJson } | null | undefined;

/** The nearest parent folder holding previrt's package.json, with that file; undefined if there is none. */
function findRoot(): { dir: string; pkg: PackageJson } | undefined {
  if (root !== undefined) return root ?? undefined;
  root = null;
  let dir = new URL("./", import.meta.url);
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as PackageJson;
      if (pkg.name === "previrt") return (root = { dir: fileURLToPath(dir), pkg });
    } catch {
      // no (readable) package.json here: go up
    }
    dir = new URL("../", dir);
  }
  return undefined;
}

/** previrt's root folder (where package.json, fixtures/ and dist/ are). */
export function packageRoot(): string | undefined {
  return findRoot()?.dir;
}

/** previrt's version, from its package.json ("unknown" if it cannot be found). */
export function packageVersion(): string {
  return findRoot()?.pkg.version ?? "unknown";
}

/**
 * The commit previrt was built from: `git rev-parse --short HEAD` in `dir`
 * only when `dir` is itself the top of a git work tree (a checkout of
 * previrt). Installed as a dependency, previrt sits inside the user's
 * repository, whose commit says nothing about previrt: undefined then.
 */
export function checkoutCommit(dir: string): string | undefined {
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    if (resolve(git("rev-parse", "--show-toplevel")) !== resolve(dir)) return undefined;
    return git("rev-parse", "--short", "HEAD") || undefined;
  } catch {
    return undefined; // not a git work tree, or no git
  }
}

/** What a report names as previrt's build: the checkout's commit, else `v` + the package version. */
export function buildIdentity(): string {
  const dir = packageRoot();
  return (dir && checkoutCommit(dir)) ?? `v${packageVersion()}`;
}
