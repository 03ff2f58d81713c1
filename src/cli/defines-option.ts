// `-D NAME[=VALUE]` of `previrt build` and `previrt as`: assembler symbols
// given on the command line (assemble()'s `defines`, docs/assembly.md).
// Its own module, light to load: `as` of a complete program loads neither
// the compiler nor a back end (test/cli/start-up.test.ts).

import { UserError } from "../guest-isa/diagnostics.js";

/**
 * The `-D` list as assembler defines: VALUE decimal or 0x hexadecimal,
 * optionally negative, in 32 bits as a number in the source must be (the
 * assembler would otherwise truncate it silently); NAME alone is 1.
 */
export function definesOption(list: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of list) {
    const m = /^([A-Za-z_.$][\w.$]*)(?:=(-?(?:0[xX][0-9a-fA-F]+|[0-9]+)))?$/.exec(d);
    const value = m ? (m[2]?.startsWith("-") ? -Number(m[2].slice(1)) : Number(m[2] ?? "1")) : NaN;
    if (!m || !(value >= -0x80000000 && value <= 0xffffffff)) throw new UserError(`bad -D value '${d}' (expected NAME=INTEGER, a 32-bit value)`);
    out[m[1]] = value;
  }
  return out;
}
