// A mistyped option or command: commander's suggestion joins the one error
// line (`previrt resume F --cpus 2` said `unknown option '--cpus'\n(Did you
// mean --pcpus?)` with the newline escaped, as if the user had typed it),
// status 2, nothing on stdout; `help X` for no command X says so too.
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
