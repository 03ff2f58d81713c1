// A mistyped option or command: commander's suggestion joins the one error
// line (`previrt resume F --cpus 2` said `unknown option '--cpus'\n(Did you
// mean --pcpus?)` with the newline escaped, as if the user had typed it),
// status 2, nothing on stdout; `help X` for no command X says so too. An
// option that takes one value, given twice, is the same kind of usage error
// (commander kept the last silently: `run --hv xen --hv bare` ran on bare).
import { describe, expect, it } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

async function previrt(...args: string[]) {
  const io = bufferIO();
  const status = await main(args, io);
  return { status, out: io.stdout, err: io.stderr };
}

describe("commander's suggestions", () => {
  it.each([
    [["resume", "k.snap", "--hv", "xen", "--cpus", "2"], "previrt: error: unknown option '--cpus' (did you mean --pcpus?)\n"],
    [["migrate", "k.elf", "--form", "xen"], "previrt: error: unknown option '--form' (did you mean --from?)\n"],
    [["migrat", "k.elf"], "previrt: error: unknown command 'migrat' (did you mean migrate?)\n"],
    // `help X` for no command X printed the whole help and no error (a user after the docs' snapshots)
    [["help", "snapshot"], "previrt: error: unknown command 'snapshot'\n"],
    [["help", "resum"], "previrt: error: unknown command 'resum' (did you mean resume?)\n"],
  ])("previrt %j: one line", async (args, err) => {
    expect(await previrt(...args)).toEqual({ status: 2, out: "", err });
  });

  it("a newline the user typed is still escaped", async () => {
    expect((await previrt("run", "k.elf", "--zzz\nx")).err).toBe("previrt: error: unknown option '--zzz\\nx'\n");
  });
});

describe("an option that takes one value, given twice", () => {
  it.each([
    [["run", "k.elf", "--hv", "xen", "--hv", "bare"], "--hv given twice ('xen', then 'bare')"],
    [["run", "k.elf", "--hv=xen", "--max-cycles", "5", "--max-cycles=6", "--hv", "xen"], "--max-cycles given twice ('5', then '6')"],
    [["run", "--json", "--json", "out.json", "k.elf", "--hv", "bare"], "--json given twice (no value, then 'out.json')"],
    [["cc", "a.ts", "-o", "a.s", "--output", "b.s"], "--output given twice ('a.s', then 'b.s')"],
    [["resume", "k.snap", "--hv", "xen", "--engine", "jit", "--engine", "interp"], "--engine given twice ('jit', then 'interp')"],
    [["bench", "--scale", "2", "--scale", "3"], "--scale given twice ('2', then '3')"],
    // No -o: with the check gone the command must not write into the working tree (it then says "nothing to do").
    [["kernel", "--workload", "io", "--workload", "compute"], "--workload given twice ('io', then 'compute')"],
    [["drivers", "--hv", "xen", "--hv", "l4"], "--hv given twice ('xen', then 'l4')"],
  ])("previrt %j: refused before anything runs", async (args, what) => {
    expect(await previrt(...args)).toEqual({ status: 2, out: "", err: `previrt: error: ${what}: it takes one value\n` });
  });

  it("repeatable options still join their values, and a flag with no value may be repeated", async () => {
    // matrix's --hv list and -D join (the run then fails on the missing file, after parsing: status 1, not 2).
    const joined = await previrt("matrix", "missing.elf", "--hv", "xen", "--hv", "l4");
    expect(joined.status).toBe(1);
    expect(joined.err).toMatch(/^previrt: error: missing\.elf: /);
    const defines = await previrt("as", "missing.s", "-o", "x.elf", "-D", "A=1", "-D", "B=2");
    expect(defines.status).toBe(1);
    expect(defines.err).toMatch(/^previrt: error: missing\.s: /);
    const guests = await previrt("run", "--guest", "a.elf", "--guest", "b.elf", "--hv", "xen", "--stats", "--stats");
    expect(guests.status).toBe(1);
    expect(guests.err).toMatch(/^previrt: error: a\.elf: /);
  });
});
