// The package as npm would ship it (`npm pack --dry-run`'s file list), laid
// out as an install into someone else's project (node_modules/previrt inside
// a git repository of its own) and run from there: the in-place VMMs of xen
// and l4 must come with it (nothing read from src/, which is not shipped),
// --version must work, and the benchmark report must not claim the user's
// commit. The real pack-and-install (registry, npx) is scripts/check-package.sh.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };

function packedFiles(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--ignore-scripts", "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

describe("the published package", () => {
  let files: string[];
  const project = mkdtempSync(join(tmpdir(), "previrt-user-project-"));
  const installed = join(project, "node_modules", "previrt");
  const previrt = (...args: string[]) =>
    spawnSync(process.execPath, [join(installed, "bin", "previrt.js"), ...args], { cwd: project, encoding: "utf8", timeout: 120_000 });

  beforeAll(() => {
    files = packedFiles();
    for (const f of files) {
      mkdirSync(dirname(join(installed, f)), { recursive: true });
      cpSync(join(root, f), join(installed, f));
    }
    // The dependencies, as npm would install them next to previrt.
    for (const dep of Object.keys(pkg.dependencies)) {
      mkdirSync(dirname(join(project, "node_modules", dep)), { recursive: true });
      symlinkSync(join(root, "node_modules", dep), join(project, "node_modules", dep));
    }
    const git = (...a: string[]) => execFileSync("git", ["-C", project, "-c", "user.name=t", "-c", "user.email=t@localhost", ...a], { stdio: "ignore" });
    git("init", "-q");
    git("commit", "-q", "--allow-empty", "-m", "the user's project");
  }, 120_000);

  it("ships the build, the fixtures and a LICENSE; no compiled tests, benchmarks or source maps", () => {
    expect(files).toContain("LICENSE");
    expect(files).toContain("bin/previrt.js");
    expect(files).toContain("dist/src/cli/main.js");
    expect(files).toContain("fixtures/kernel/kernel.ts");
    expect(files.filter((f) => /^dist\/(?!src\/|web\/)|\.map$|^src\//.test(f))).toEqual([]);
    // The playground's bundle (scripts/build-web.mjs, run by `prepare`).
    for (const f of ["index.html", "style.css", "app.js", "worker.js"]) expect(files).toContain(`dist/web/${f}`);
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the previrt authors\n/);
  });

  it("runs the bundled kernel on xen and l4 from the install (the in-place VMM comes with it)", () => {
    expect(previrt("kernel", "-o", "k.elf", "--disk", "disk.img").status).toBe(0);
    for (const hv of ["xen", "l4"]) {
      const r = previrt("run", "k.elf", "--hv", hv, "--disk", "disk.img");
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^selfcheck: ok$/m);
      expect(r.status).toBe(0);
    }
  }, 120_000);

  it("previrt playground --export writes the bundled app from the install", () => {
    const r = previrt("playground", "--export", "site");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const f of ["index.html", "app.js", "worker.js"]) expect(readFileSync(join(project, "site", f)).equals(readFileSync(join(root, "dist", "web", f))), f).toBe(true);
  });

  it("--version prints the package's version", () => {
    const r = previrt("--version");
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.status).toBe(0);
  });

  it("the bench report names previrt's version, not the commit of the project it is installed in", () => {
    const r = previrt("bench", "--workloads", "compute", "--hv", "bare-plain", "--scale", "1", "--repeats", "1", "--json", "-");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).commit).toBe(`v${pkg.version}`);
  }, 120_000);
});
