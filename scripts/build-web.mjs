// Bundles the playground (src/web, docs/playground.md) with esbuild into
// dist/web: index.html, style.css, app.js (the page) and worker.js (the
// toolchain, run in a Web Worker). The toolchain is the library's own
// TypeScript sources, bundled for the browser platform (a Node builtin is an
// error); the fixtures the samples and the bundled kernel need are bundled as
// strings through the virtual module "previrt-web:fixtures". Run by
// `npm run build`, `npm test` and `prepare` (so the published package ships
// the bundle); `previrt playground` only serves or copies dist/web.
//
// Usage: node scripts/build-web.mjs [OUTDIR] [--inputs FILE]   (default dist/web; FILE default dist/web-inputs.json
// with the default OUTDIR, none otherwise): FILE records what the build read and wrote (the tests' rebuild,
// test/web/rebuild-web.ts, skips a build whose inputs have not changed since). Outside dist/web: the playground
// serves and exports every file there.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const web = join(root, "src", "web");

/** The fixture files the page bundles, by their path in the repository, and the folders walked for them. */
function fixtureFiles() {
  const files = ["fixtures/guests/hello.s", "fixtures/guests/psr-hole.s", "fixtures/guests/pv-kernel.ts"];
  const dirs = [];
  const walk = (dir) => {
    dirs.push(dir);
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = `${dir}/${name}`;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (/\.(s|ts)$/.test(name)) files.push(rel);
    }
  };
  walk("fixtures/kernel");
  return { files, dirs };
}

/** The plugin that bundles the fixtures as strings (`previrt-web:fixtures`); `bundled` gets what it read. */
function fixturesPlugin(bundled) {
  return {
    name: "previrt-fixtures",
    setup(b) {
      b.onResolve({ filter: /^previrt-web:fixtures$/ }, (args) => ({ path: args.path, namespace: "previrt-fixtures" }));
      b.onLoad({ filter: /.*/, namespace: "previrt-fixtures" }, () => {
        const { files, dirs } = fixtureFiles();
        Object.assign(bundled, { files, dirs });
        const entries = files.map((f) => `  ${JSON.stringify(f)}: ${JSON.stringify(readFileSync(join(root, f), "utf8"))},`);
        return { contents: `export const FIXTURES = {\n${entries.join("\n")}\n};\n`, loader: "js", watchFiles: files.map((f) => join(root, f)) };
      });
    },
  };
}

export async function buildWeb(outDir = join(root, "dist", "web")) {
  mkdirSync(outDir, { recursive: true });
  // Before anything is read: an input changed during the build is newer than this.
  const startedMs = Date.now();
  const fixtures = { files: [], dirs: [] };
  const result = await build({
    entryPoints: { app: join(web, "main.ts"), worker: join(web, "worker.ts") },
    outdir: outDir,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    plugins: [fixturesPlugin(fixtures)],
  });
  for (const f of ["index.html", "style.css"]) copyFileSync(join(web, f), join(outDir, f));
  const bytes = Object.fromEntries(Object.entries(result.metafile.outputs).map(([f, o]) => [relative(outDir, resolve(root, f)), o.bytes]));
  // What the bundle was made from: every module esbuild read (node_modules' too), the fixtures the plugin bundled
  // and the folders it listed for them (a fixture added changes its folder), the pages copied, this script and
  // package.json (its "browser" field steers resolution).
  const files = [
    // esbuild names them from the working folder; recorded from the repository's root.
    ...Object.keys(result.metafile.inputs).filter((f) => !f.includes(":")).map((f) => relative(root, resolve(f))),
    ...fixtures.files,
    ...["index.html", "style.css"].map((f) => `src/web/${f}`),
    "scripts/build-web.mjs",
    "package.json",
  ];
  const outputs = { ...bytes, ...Object.fromEntries(["index.html", "style.css"].map((f) => [f, statSync(join(outDir, f)).size])) };
  return { outDir, bytes, inputs: { startedMs, files: [...new Set(files)].sort(), dirs: fixtures.dirs, outputs } };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--inputs");
  const inputsFile = at >= 0 ? resolve(args.splice(at, 2)[1]) : args[0] ? undefined : join(root, "dist", "web-inputs.json");
  const { outDir, bytes, inputs } = await buildWeb(args[0] ? resolve(args[0]) : undefined);
  if (inputsFile) writeFileSync(inputsFile, JSON.stringify(inputs, null, 1) + "\n");
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  console.log(`build-web: ${relative(process.cwd(), outDir) || "."}: ${Object.entries(bytes).map(([f, n]) => `${f} ${(n / 1024).toFixed(0)} KiB`).join(", ")} (${(total / 1024).toFixed(0)} KiB)`);
}
