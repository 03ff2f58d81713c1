// `-D NAME[=VALUE]` of `previrt build` and `previrt as`: assembler symbols
// given on the command line (assemble()'s `defines`, docs/assembly.md).
// Its own module, light to load: `as` of a complete program loads neither
// the compiler nor a back end (test/cli/start-up.test.ts).

import { UserError } from "../guest-isa/diagnostics.js";
import { parseRegister } from "../guest-isa/registers.js";

/**
 * The `-D` list as assembler defines: VALUE decimal or 0x hexadecimal,
 * optionally negative, in 32 bits as a number in the source must be (the
 * assembler would otherwise truncate it silently); NAME alone is 1. A
 * register name (no expression can use it) and a NAME given two values (the
 * last silently won) are refused.
 */
export function definesOption(list: readonly string[] = []): Record<string, number> {
  const given = new Map<string, { text: string; value: number }>();
  for (const d of list) {
    const m = /^([A-Za-z_.$][\w.$]*)(?:=(-?(?:0[xX][0-9a-fA-F]+|[0-9]+)))?$/.exec(d);
    const value = m ? (m[2]?.startsWith("-") ? -Number(m[2].slice(1)) : Number(m[2] ?? "1")) : NaN;
    if (!m || !(value >= -0x80000000 && value <= 0xffffffff)) throw new UserError(`bad -D value '${d}' (expected NAME=INTEGER, a 32-bit value)`);
    const name = m[1];
    if (parseRegister(name) !== undefined) throw new UserError(`bad -D name '${name}' (a register name cannot be a symbol)`);
    const earlier = given.get(name);
    if (earlier !== undefined && (earlier.value | 0) !== (value | 0)) throw new UserError(`-D ${name} given two values ('${earlier.text}' and '${d}')`);
    given.set(name, { text: d, value });
  }
  // Own properties whatever the name (`-D __proto__=5` set the object's prototype and was lost).
  return Object.fromEntries([...given].map(([name, { value }]) => [name, value]));
}
