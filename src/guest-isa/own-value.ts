// One lookup for the name tables (registers, control registers, the
// assembler's hints) keyed by a word from the user's input: the table's own
// entries only. `table[word]` also finds what every object inherits, so
// `constructor` was a register and `mtcr constructor, a0` assembled.
// Used by registers.ts and assembler/hints.ts.

/** The value `table` itself holds for `key`, or undefined (never an inherited `constructor`, `__proto__`, `toString`). */
export function ownValue<V>(table: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
