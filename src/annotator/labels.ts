// The annotator's reserved label namespace. Every label it writes starts with
// LABEL_PREFIX: `.L` makes it local to the file (no clash across files, not in
// the symbol table), `__` follows C's reserved-identifier convention so no
// hand-written or compiled label uses it. Input that defines a label with this
// prefix is treated as already annotated (annotate.ts refuses it).

export const LABEL_PREFIX = ".L__sl_";

/**
 * The name a site's label statement carries in a build that streams site
 * labels as slots (ast.ts LabelStatement.slot): the assembler knows such a
 * label by its number only, so the quarter of a million `siteLabel(n)`
 * strings of a million-line build are never made.
 */
export const SLOT_LABEL = `${LABEL_PREFIX}slot`;

/** Label on site n's original instruction. */
export const siteLabel = (n: number): string => `${LABEL_PREFIX}${n}`;
/** Labels bracketing exempt (`.noannotate`) piece n. */
export const regionStartLabel = (n: number): string => `${LABEL_PREFIX}x${n}`;
export const regionEndLabel = (n: number): string => `${LABEL_PREFIX}x${n}_end`;
