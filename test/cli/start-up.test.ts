// Start-up of the commands (issue 16): `previrt build`, `as` and `objdump`
// load neither the back ends (src/hypervisors: every hypervisor, and the
// assembler their in-place VMMs are built with) nor the machine (but for its
// cost-model parser); main.ts loads them for the help text only when help
// may be shown. `previrt run --hv X` loads back end X only (registry.ts's
// loadBackend): a bare run neither loads nor assembles an in-place VMM.
// Runs the compiled CLI (bin/previrt.js → dist/) in a child process with a
// module-load hook that lists every module the process loads; `run` is the
// control, showing that the hook sees them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { BACKEND_NAMES, backends, getBackend, loadBackend } from "../../src/hypervisors/index.js";

const bin = new URL("../../bin/previrt.js", import.meta.url).pathname;
/** The list an unknown --hv is refused with: every registered back end (src/hypervisors/backend-names.ts). */
const VALID = BACKEND_NAMES.join(", ");
const dir = mkdtempSync(join(tmpdir(), "previrt-start-up-"));
const source = join(dir, "tiny.s");
writeFileSync(source, "\t.global main\nmain:\n\tli a0, 0\n\tret\n");
const elf = join(dir, "tiny.elf");
const bare = join(dir, "start.s"); // for `as`, which adds no start-up
writeFileSync(bare, "\t.global _start\n_start:\n\tli a0, 0\n\tret\n");

// The ELF most tests run. The first test builds it too (its subject), but a test run alone (-t) must not depend on that.
beforeAll(() => {
  const r = spawnSync(process.execPath, [bin, "build", source, "-o", elf], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
});

/** Runs `previrt ARGS`; returns its output and the URLs of the modules it loaded. */
function modulesLoaded(args: string[]): { stdout: string; urls: string[] } {
  const tag = Math.random().toString(36).slice(2);
  const list = join(dir, `loaded-${tag}.txt`);
  const hooks = join(dir, `hooks-${tag}.mjs`);
  writeFileSync(hooks, `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + "\\n"); return next(url, context); }\n`);
  const register = join(dir, `register-${tag}.mjs`);
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, bin, ...args], { encoding: "utf8", timeout: 60_000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return { stdout: r.stdout, urls: readFileSync(list, "utf8").split("\n").filter(Boolean) };
}

/** The back ends and the machine; not the cost model's parser (a leaf module files.ts reads --cost-model with). */
const guestSide = (urls: string[]) => urls.filter((u) => /\/src\/(hypervisors\/|machine\/(?!cost-model\.js$))/.test(u));

describe("start-up of the commands that run no guest", () => {
  it("build, as and objdump load no back end and no machine module", () => {
    for (const args of [["build", source, "-o", elf], ["as", bare, "-o", join(dir, "as.elf")], ["objdump", "-d", elf], ["--version"]]) {
      const { urls } = modulesLoaded(args);
      expect(guestSide(urls), args.join(" ")).toEqual([]);
      expect(urls.some((u) => u.endsWith("/src/cli/main.js"))).toBe(true);
    }
  });

  it("run loads them (the control), and --help still lists the back ends", () => {
    const { urls, stdout } = modulesLoaded(["run", "--hv", "xen", elf]);
    expect(stdout).toBe("");
    expect(urls.some((u) => u.endsWith("/src/hypervisors/xen/index.js"))).toBe(true);
    expect(urls.some((u) => u.endsWith("/src/machine/cpu.js"))).toBe(true);
    const help = modulesLoaded(["--help"]);
    expect(help.stdout).toMatch(/^Back ends \(--hv\):\n {2}bare +\S/m);
    expect(guestSide(help.urls).length).toBeGreaterThan(0);
  });
});

/** The modules under src/hypervisors/ a run loaded, relative to it (`xen/index.js`, `common/window.js`, …). */
const hypervisorModules = (urls: string[]) => urls.flatMap((u) => /\/src\/hypervisors\/(.+)$/.exec(u)?.[1] ?? []);

describe("start-up of run: only the back end it runs", () => {
  it("run --hv bare loads no other back end, no in-place VMM or assembler, no migration code", () => {
    const { urls, stdout } = modulesLoaded(["run", "--hv", "bare", elf]);
    expect(stdout).toBe("");
    const hv = hypervisorModules(urls);
    expect(hv).toContain("bare/index.js");
    // No other back end's directory, and not window.ts, the one module that assembles a VMM (so none is assembled).
    expect(hv.filter((m) => /^(hvm|trap|xen|l4)\/|^common\/(window|wedge-|vmm-)|^index\.js$/.test(m))).toEqual([]);
    // The assembler proper (its parser is the rewriter's, for templates): a VMM is what it would be loaded for.
    expect(urls.filter((u) => u.endsWith("/src/guest-isa/assembler/index.js"))).toEqual([]);
    // --snapshot-at's code (resume.ts and the migration modules) only when asked for.
    expect(urls.filter((u) => /\/src\/migration\/|\/cli\/commands\/resume\.js$/.test(u))).toEqual([]);
    expect(urls.some((u) => u.endsWith("/src/machine/cpu.js"))).toBe(true);
  });

  it("run --hv xen loads xen and its VMM, not hvm, trap or l4", () => {
    const hv = hypervisorModules(modulesLoaded(["run", "--hv", "xen", elf]).urls);
    expect(hv).toEqual(expect.arrayContaining(["xen/index.js", "xen/xen-monitor.js", "common/window.js", "common/wedge-monitor.js"]));
    expect(hv.filter((m) => /^(bare|hvm|trap)\/|^l4\/(index|l4-monitor)\.js$|^index\.js$/.test(m))).toEqual([]);
  });

  it("an unknown --hv is still one line naming the valid back ends", () => {
    const r = spawnSync(process.execPath, [bin, "run", "--hv", "nope", elf], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe(`previrt: error: unknown back end 'nope' (valid: ${VALID})\n`);
    expect(r.status).toBe(1);
  });

  it("loadBackend gives the registry's own objects, by the same names in the same order", async () => {
    expect(BACKEND_NAMES).toEqual([...backends.keys()]);
    for (const name of BACKEND_NAMES) {
      expect(await loadBackend(name)).toBe(backends.get(name));
      expect(backends.get(name)!.name, "the object registered under a name carries that name").toBe(name);
    }
    await expect(loadBackend("toString")).rejects.toThrow(`unknown back end 'toString' (valid: ${VALID})`);
    expect(() => getBackend("toString")).toThrow(`unknown back end 'toString' (valid: ${VALID})`);
  });
});

describe("start-up of load: only the back end it rewrites for", () => {
  it("load --hv bare loads no other back end and no in-place VMM or assembler", () => {
    const { urls, stdout } = modulesLoaded(["load", "--hv", "bare", elf]);
    expect(stdout).toMatch(/^bare: /);
    const hv = hypervisorModules(urls);
    expect(hv).toContain("bare/index.js");
    expect(hv.filter((m) => /^(hvm|trap|xen|l4)\/|^common\/(window|wedge-|vmm-)|^index\.js$/.test(m))).toEqual([]);
    expect(urls.filter((u) => u.endsWith("/src/guest-isa/assembler/index.js"))).toEqual([]);
  });

  it("load --hv xen loads xen and its VMM, not bare, hvm, trap or l4", () => {
    const { urls, stdout } = modulesLoaded(["load", "--hv", "xen", elf, "--show-sites"]);
    expect(stdout).toMatch(/^xen: /m);
    const hv = hypervisorModules(urls);
    expect(hv).toEqual(expect.arrayContaining(["xen/index.js", "common/window.js"]));
    expect(hv.filter((m) => /^(bare|hvm|trap)\/|^l4\/(index|l4-monitor)\.js$|^index\.js$/.test(m))).toEqual([]);
  });

  it("an unknown --hv is still one line naming the valid back ends, before the ELF is read", () => {
    const r = spawnSync(process.execPath, [bin, "load", "--hv", "nope", join(dir, "missing.elf")], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe(`previrt: error: unknown back end 'nope' (valid: ${VALID})\n`);
    expect(r.status).toBe(1);
  });
});

describe("start-up of matrix: only the back ends it names", () => {
  it("matrix --hv bare,hvm --jobs 1 loads bare and hvm, no other back end, no in-place VMM", () => {
    const { urls, stdout } = modulesLoaded(["matrix", "--hv", "bare,hvm", "--jobs", "1", elf]);
    expect(stdout).toMatch(/^bare +reference +exit 0 /m);
    expect(stdout).toMatch(/^hvm +same +exit 0 /m);
    const hv = hypervisorModules(urls);
    expect(hv).toEqual(expect.arrayContaining(["bare/index.js", "hvm/index.js"]));
    expect(hv.filter((m) => /^(trap|xen|l4)\/|^common\/(window|wedge-|vmm-)|^index\.js$/.test(m))).toEqual([]);
  });

  it("matrix --hv bare,xen --spinlocks pv --jobs 1 loads bare and xen, not hvm, trap or l4", () => {
    const { urls, stdout } = modulesLoaded(["matrix", "--hv", "bare,xen", "--spinlocks", "pv", "--jobs", "1", elf]);
    expect(stdout).toMatch(/^xen +same +exit 0 /m);
    const hv = hypervisorModules(urls);
    expect(hv).toEqual(expect.arrayContaining(["bare/index.js", "xen/index.js"]));
    expect(hv.filter((m) => /^(hvm|trap)\/|^l4\/(index|l4-monitor)\.js$|^index\.js$/.test(m))).toEqual([]);
  });

  it("an unknown --hv or --allow-diverge is still refused with the list, before the ELF is read", () => {
    for (const args of [["--hv", "bare,nope"], ["--allow-diverge", "nope"]]) {
      const r = spawnSync(process.execPath, [bin, "matrix", ...args, join(dir, "missing.elf")], { encoding: "utf8", timeout: 60_000 });
      expect(r.stderr).toBe(`previrt: error: unknown back end 'nope' (valid: ${VALID})\n`);
      expect(r.status).toBe(1);
    }
  });
});
