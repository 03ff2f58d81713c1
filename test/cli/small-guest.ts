// What test/cli/json-option.test.ts and matrix-json.test.ts share: the
// commands run in process with empty console input, and a small guest every
// back end runs — it prints "h\n" and powers off with status 3, built by
// `previrt build` (annotated: its `out`s are sites).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { bufferIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

/** Runs `previrt ARGV…` in process: its status, stdout and stderr. */
export async function cli(...argv: string[]) {
  const io = bufferIO(new Uint8Array());
  return { status: await main(argv, io), out: io.stdout, err: io.stderr };
}

/** Builds the small guest into DIR/hi.elf; returns that path. */
export async function buildSmallGuest(dir: string): Promise<string> {
  const source = join(dir, "hi.s");
  const elf = join(dir, "hi.elf");
  writeFileSync(source, "    .text\n    .global _start\n_start:\n    addi t0, zero, 0x68\n    out 0x10, t0\n    addi t0, zero, 0x0a\n    out 0x10, t0\n    addi a0, zero, 3\n    out 0xF0, a0\n");
  const built = await cli("build", source, "-o", elf);
  expect(built.status, built.err).toBe(0);
  return elf;
}
