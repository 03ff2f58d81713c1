// The directives G32 assembly has, in one list. The parser reads it (a
// directive outside it is reported by name before its arguments are read:
// `.type f, @function` is refused as `.type`, not at `@`), pass 1
// (directives.ts) switches over its canonical names — the type checker
// refuses a name there without a case, or a case without a name here — and
// test/guest-isa/assembler-errors.test.ts holds docs/assembly.md's table to it.

/** Directives that switch to a standard section and take no arguments. */
export const SECTION_DIRECTIVES = [".text", ".rodata", ".data", ".bss"] as const;

/** Every other directive, by its canonical name. */
export const DIRECTIVES = [".section", ".global", ".equ", ".word", ".half", ".byte", ".ascii", ".asciz", ".space", ".align", ".sensitive", ".noannotate", ".annotate"] as const;

export type SectionDirective = (typeof SECTION_DIRECTIVES)[number];
export type Directive = (typeof DIRECTIVES)[number];

/** Other names for a directive (GNU as spellings G32 takes as they are). */
const ALIASES: Readonly<Record<string, Directive>> = {
  ".globl": ".global",
  ".set": ".equ",
  ".string": ".asciz",
  ".zero": ".space",
  ".short": ".half",
  ".long": ".word",
  ".int": ".word",
  ".balign": ".align",
};

const CANONICAL = new Map<string, SectionDirective | Directive>([...SECTION_DIRECTIVES, ...DIRECTIVES].map((d) => [d, d]));

/** A directive's canonical name (`.globl` → `.global`), or undefined when G32 has no such directive. `name` is lower case. */
export function canonicalDirective(name: string): SectionDirective | Directive | undefined {
  return CANONICAL.get(name) ?? (Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined);
}

export function isSectionDirective(name: SectionDirective | Directive): name is SectionDirective {
  return (SECTION_DIRECTIVES as readonly string[]).includes(name);
}

/** Every name `canonicalDirective` knows: canonical names and aliases. */
export const KNOWN_DIRECTIVES: ReadonlySet<string> = new Set([...CANONICAL.keys(), ...Object.keys(ALIASES)]);

/** `.sensitive CLASS`: a page-table or device access, a spinlock's acquire (amoswap) and release (sw), a ticket lock's take (amoadd). */
export const SENSITIVE_CLASSES = ["pte", "mmio", "lock", "unlock", "ticket"] as const;
export type SensitiveClass = (typeof SENSITIVE_CLASSES)[number];
export const isSensitiveClass = (c: string | undefined): c is SensitiveClass => (SENSITIVE_CLASSES as readonly (string | undefined)[]).includes(c);
/** The classes for a message: `pte, mmio, lock, unlock or ticket` (each wrapped by `quote`). */
export const sensitiveClassList = (quote = (c: string) => c): string => `${SENSITIVE_CLASSES.slice(0, -1).map(quote).join(", ")} or ${quote(SENSITIVE_CLASSES[SENSITIVE_CLASSES.length - 1])}`;
